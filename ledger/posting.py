"""Posting and reversing ledger transactions.

Concurrency design (PostgreSQL, READ COMMITTED; SQLite serialises writers with BEGIN IMMEDIATE):

1. The transaction row is inserted first with ``ON CONFLICT DO NOTHING``: the idempotency key is
   claimed before any balance is touched, so a concurrent duplicate waits on the unique index and
   then replays instead of racing for the same coins.
2. Tracked balances move by conditional ``UPDATE … WHERE allow_negative OR balance + d >= 0
   RETURNING`` in ascending account id, a stable lock order (no deadlock between opposing
   transfers). No read-modify-write, so no lost update, and ``FOR UPDATE`` (a no-op on SQLite) is
   never relied on.
3. Untracked system accounts get entries only, no row lock: awards from one issuance account and
   baskets into one supermarket till run in parallel.
4. On PostgreSQL every posting is one statement (data-modifying CTEs, same order: key, tracked
   accounts locked in ascending id, balances, entries); SQLite takes one statement per step.

A refused posting raises before commit; the caller's unit of work rolls back, so it leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import JSON, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from . import chain
from .db import send_straight
from .errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidPosting,
    NotReversible,
    TransactionNotFound,
    UnknownAccount,
)
from .models import Account, Entry, Transaction, UTCDateTime, utcnow
from .shapes import AccountShape, account_shapes

MAX_AMOUNT = 10**12  # far above any real balance, far below BIGINT overflow when summed
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Line:
    """A signed amount for one account: positive credits (raises the balance), negative debits."""

    account_id: int
    amount: int


@dataclass(frozen=True)
class Posted:
    transaction_id: int
    replayed: bool
    # Balance after this posting of every tracked account it touched (empty on replay).
    balances: dict[int, int]


# Statements built once: building and cache-keying ORM statements per posting cost more Python
# time than the database work (bench/ledger_bench.py). Executed on the session's connection.
_accounts = Account.__table__
_UPDATE_BALANCE = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account_id"))
    .where(_accounts.c.allow_negative | (_accounts.c.balance + bindparam("delta") >= 0))
    .values(balance=_accounts.c.balance + bindparam("delta"), version=_accounts.c.version + 1)
    .returning(_accounts.c.balance, _accounts.c.version)
)
# RETURNING makes SQLAlchemy send all entries as one multi-row INSERT ("insertmanyvalues"): one
# round trip instead of the driver's executemany.
_INSERT_ENTRIES = Entry.__table__.insert().returning(Entry.__table__.c.id)
_INSERT_TRANSACTION = {
    name: module.insert(Transaction.__table__).on_conflict_do_nothing().returning(Transaction.__table__.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


_TRANSACTION_COLUMNS = (
    "idempotency_key, request_hash, kind, community_id, memo, actor_id, location, details, reverses_id, "
    "related_id, created_at, content_hash"
)
_pg_one_statement: dict[int, object] = {}


def _pg_posting_statement(lines: int):
    """PostgreSQL: the whole posting as ONE statement (data-modifying CTEs), built once per number of
    lines: the transaction row (claiming the key, ``ON CONFLICT DO NOTHING``); only if it was inserted,
    the tracked accounts locked in ascending id (``locked``: the lock order of rule 2, so opposing
    transfers never deadlock; NO KEY UPDATE, the lock the UPDATE takes anyway, so a transaction that
    only holds a foreign key's KEY SHARE on an account never blocks it) and their conditional balance
    updates; and every entry. A refused balance update leaves that entry's ``balance_after`` NULL;
    the caller raises and its unit of work rolls back. ``:t{i}``: does line i's account keep a
    stored balance."""
    statement = _pg_one_statement.get(lines)
    if statement is None:
        rows = ", ".join(
            f"(CAST(:a{i} AS BIGINT), CAST(:u{i} AS VARCHAR), CAST(:m{i} AS BIGINT), CAST(:t{i} AS BOOLEAN))"
            for i in range(lines)
        )
        params = ", ".join(":" + c.strip() for c in _TRANSACTION_COLUMNS.split(","))
        statement = text(
            f"WITH tx AS (INSERT INTO ledger_transactions ({_TRANSACTION_COLUMNS}) VALUES ({params}) "
            "ON CONFLICT DO NOTHING RETURNING id), "
            f"v(account_id, unit, amount, tracked) AS (VALUES {rows}), "
            "locked AS (SELECT a.id FROM ledger_accounts a JOIN v ON v.account_id = a.id "
            "WHERE v.tracked AND EXISTS (SELECT 1 FROM tx) ORDER BY a.id FOR NO KEY UPDATE OF a), "
            "bal AS (UPDATE ledger_accounts a SET balance = a.balance + v.amount, version = a.version + 1 FROM v "
            "WHERE a.id = v.account_id AND a.id IN (SELECT id FROM locked) "
            "AND (a.allow_negative OR a.balance + v.amount >= 0) "
            "RETURNING a.id, a.balance, a.version) "
            "INSERT INTO ledger_entries (transaction_id, account_id, unit, amount, balance_after, account_version) "
            "SELECT tx.id, v.account_id, v.unit, v.amount, bal.balance, bal.version "
            "FROM tx CROSS JOIN v LEFT JOIN bal ON bal.id = v.account_id "
            "RETURNING transaction_id, account_id, balance_after, account_version"
        ).bindparams(bindparam("details", type_=JSON()), bindparam("created_at", type_=UTCDateTime()))
        _pg_one_statement[lines] = statement
    return statement


def _sync_loaded_account(session: Session, account_id: int, balance: int, version: int) -> None:
    """Balances move by Core UPDATE; an Account already loaded in this session gets the new values
    so nothing later in the unit of work reads a stale balance."""
    loaded = session.identity_map.get(identity_key(Account, account_id))
    if loaded is not None:
        set_committed_value(loaded, "balance", balance)
        set_committed_value(loaded, "version", version)


_posting_time: ContextVar[dt.datetime | None] = ContextVar("ledger_posting_time", default=None)


@contextmanager
def posting_time(moment: dt.datetime) -> Iterator[None]:
    """Stamp postings made inside the block with ``moment`` instead of the server clock.

    Only for history that happened before it reached the ledger: demo data and opening balances
    migrated from a scheme's old spreadsheet. Live requests always post at server time.
    """
    if moment.tzinfo is None:
        raise ValueError("posting_time needs a timezone-aware moment")
    token = _posting_time.set(moment)
    try:
        yield
    finally:
        _posting_time.reset(token)


def request_hash(**payload) -> str:
    return hashlib.sha256(chain.canonical_json(payload).encode()).hexdigest()


def _validate(lines: Sequence[Line], idempotency_key: str, kind: str) -> None:
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise InvalidPosting("an idempotency key of 1 to 200 characters is required")
    if not kind:
        raise InvalidPosting("a transaction kind is required")
    if len(lines) < 2:
        raise InvalidPosting("a transaction needs at least two entries", lines=len(lines))
    seen = set()
    for line in lines:
        amount = line.amount
        if type(amount) is not int:  # rejects bool, float, Decimal, str
            raise InvalidPosting("amounts must be integers", amount=repr(amount))
        if amount == 0:
            raise InvalidPosting("an entry amount cannot be zero", account_id=line.account_id)
        if abs(amount) > MAX_AMOUNT:
            raise InvalidPosting("amount out of range", amount=amount, max=MAX_AMOUNT)
        if line.account_id in seen:
            raise InvalidPosting("an account appears twice in one transaction", account_id=line.account_id)
        seen.add(line.account_id)


def post(
    session: Session,
    *,
    lines: Sequence[Line],
    idempotency_key: str,
    kind: str,
    community_id: int,
    memo: str = "",
    actor_id: int | None = None,
    location: str | None = None,
    details: dict | None = None,
    reverses_id: int | None = None,
    related_id: int | None = None,
) -> Posted:
    """Write one balanced transaction and its stored balances, or raise and write nothing.

    The same ``idempotency_key`` with the same payload returns the original transaction
    (``replayed=True``); with a different payload it raises ``IdempotencyConflict``.
    """
    _validate(lines, idempotency_key, kind)
    details = details or {}
    digest = request_hash(
        kind=kind,
        community_id=community_id,
        lines=sorted((ln.account_id, ln.amount) for ln in lines),
        memo=memo,
        actor_id=actor_id,
        location=location,
        details=details,
        reverses_id=reverses_id,
        related_id=related_id,
    )

    shapes = account_shapes(session, [ln.account_id for ln in lines])
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        shape = shapes.get(line.account_id)
        if shape is None:
            raise UnknownAccount("no such account", account_id=line.account_id)
        if shape.community_id != community_id:
            raise InvalidPosting(
                "all accounts of a transaction belong to its community",
                account_id=line.account_id,
                community_id=community_id,
            )
        sums[shape.unit] += line.amount
    unbalanced = {unit: total for unit, total in sums.items() if total != 0}
    if unbalanced:
        raise InvalidPosting("entries must sum to zero for each unit", unbalanced=unbalanced)

    created_at = _posting_time.get() or utcnow()
    chash = chain.content_hash(
        idempotency_key=idempotency_key,
        kind=kind,
        community_id=community_id,
        created_at=created_at,
        memo=memo,
        actor_id=actor_id,
        location=location,
        details=details,
        reverses_id=reverses_id,
        related_id=related_id,
        lines=[(ln.account_id, shapes[ln.account_id].unit, ln.amount) for ln in lines],
    )
    session.flush()  # pending ORM rows of the caller first, as session.execute would autoflush
    connection = session.connection()
    row = {
        "idempotency_key": idempotency_key,
        "request_hash": digest,
        "kind": kind,
        "community_id": community_id,
        "memo": memo,
        "actor_id": actor_id,
        "location": location,
        "details": details,
        "reverses_id": reverses_id,
        "related_id": related_id,
        "created_at": created_at,
        "content_hash": chash,
    }
    tracked = [ln for ln in lines if shapes[ln.account_id].track_balance]
    if connection.dialect.name == "postgresql":
        return _post_in_one_statement(session, connection, row, lines, shapes, digest, reverses_id)
    tx_id = connection.execute(_INSERT_TRANSACTION[connection.dialect.name], row).scalar()
    if tx_id is None:
        return _replay(session, idempotency_key, digest, reverses_id)

    balances: dict[int, int] = {}
    versions: dict[int, int] = {}
    for line in sorted(tracked, key=lambda ln: ln.account_id):
        row = connection.execute(_UPDATE_BALANCE, {"account_id": line.account_id, "delta": line.amount}).first()
        if row is None:
            _refuse_overdraft(session, line, shapes[line.account_id])
        balances[line.account_id], versions[line.account_id] = row
        _sync_loaded_account(session, line.account_id, *row)

    connection.execute(
        _INSERT_ENTRIES,
        [
            {
                "transaction_id": tx_id,
                "account_id": ln.account_id,
                "unit": shapes[ln.account_id].unit,
                "amount": ln.amount,
                "balance_after": balances.get(ln.account_id),
                "account_version": versions.get(ln.account_id),
            }
            for ln in lines
        ],
    )
    return Posted(tx_id, False, balances)


def _post_in_one_statement(session, connection, row, lines, shapes, digest, reverses_id) -> Posted:
    params = dict(row)
    for i, ln in enumerate(lines):
        shape = shapes[ln.account_id]
        params[f"a{i}"], params[f"u{i}"], params[f"m{i}"], params[f"t{i}"] = (
            ln.account_id, shape.unit, ln.amount, shape.track_balance
        )
    written = send_straight(connection, _pg_posting_statement(len(lines)), params).fetchall()
    if not written:
        return _replay(session, row["idempotency_key"], digest, reverses_id)
    by_account = {account: (balance, version) for _tx, account, balance, version in written}
    balances = {}
    for line in sorted(lines, key=lambda ln: ln.account_id):
        if not shapes[line.account_id].track_balance:
            continue
        balance, version = by_account[line.account_id]
        if balance is None:
            _refuse_overdraft(session, line, shapes[line.account_id])
        balances[line.account_id] = balance
        _sync_loaded_account(session, line.account_id, balance, version)
    return Posted(written[0][0], False, balances)


def _refuse_overdraft(session: Session, line: Line, shape: AccountShape):
    available = session.scalar(select(Account.balance).where(Account.id == line.account_id))
    raise InsufficientBalance(
        "insufficient balance",
        account_id=line.account_id,
        unit=shape.unit,
        balance=available,
        requested=-line.amount,
    )


def _replay(session: Session, idempotency_key: str, digest: str, reverses_id: int | None) -> Posted:
    existing = session.execute(
        select(Transaction.id, Transaction.request_hash).where(Transaction.idempotency_key == idempotency_key)
    ).first()
    if existing is None:
        # The insert conflicted on something other than the key: the one-reversal rule.
        prior = session.scalar(select(Transaction.id).where(Transaction.reverses_id == reverses_id))
        raise AlreadyReversed(
            "this transaction has already been reversed",
            transaction_id=reverses_id,
            reversal_id=prior,
        )
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "idempotency key already used with a different payload", transaction_id=existing.id
        )
    return Posted(existing.id, True, {})


def reverse(
    session: Session,
    *,
    transaction_id: int,
    idempotency_key: str,
    memo: str,
    actor_id: int | None = None,
    location: str | None = None,
    details: dict | None = None,
) -> Posted:
    """Post the exact opposite of a transaction, once. Reversals themselves cannot be reversed."""
    original = session.get(Transaction, transaction_id)
    if original is None:
        raise TransactionNotFound("no such transaction", transaction_id=transaction_id)
    if original.reverses_id is not None:
        raise NotReversible("a reversal cannot itself be reversed", transaction_id=transaction_id)
    entries = session.scalars(select(Entry).where(Entry.transaction_id == transaction_id)).all()
    return post(
        session,
        lines=[Line(e.account_id, -e.amount) for e in entries],
        idempotency_key=idempotency_key,
        kind=f"{original.kind}.reversal",
        community_id=original.community_id,
        memo=memo,
        actor_id=actor_id,
        location=location,
        details=details,
        reverses_id=transaction_id,
    )


def lock_accounts(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Lock tracked accounts in id order and return their balances (read-then-decide paths).

    On PostgreSQL this is ``SELECT … FOR UPDATE``; on SQLite the unit of work already holds the
    database write lock (BEGIN IMMEDIATE), so the plain read is equally safe.
    """
    rows = session.execute(
        select(Account.id, Account.balance)
        .where(Account.id.in_(sorted(set(account_ids))))
        .order_by(Account.id)
        .with_for_update()
    ).all()
    return dict(rows)
