"""Posting a batch of transactions at once: migrations into the ledger (opening balances) at COPY speed.

Every transaction obeys the rules of ``post``: integer amounts, balanced per unit, all accounts in
its community, no tracked account below zero, an idempotency key that replays the same payload and
refuses another, the same request and content hashes. The checks run in Python over the whole
batch (one read of the keys already used, one locked read of the tracked balances in id order);
the writes are set-based: transaction ids drawn from their sequence, transactions and entries by
COPY on PostgreSQL (``executemany`` on SQLite), stored balances moved by one statement. With
``seal=True`` the batch is also linked into the hash chain before it commits, as the sealer would
link it (``chain.seal``'s lock, after whatever committed transactions still wait), so a migration
of millions of postings leaves no backlog for the sealer.

Postings come in *groups* that stand or fall together (an imported row's parts): a refused posting
refuses its group, whose result is then the error, and the other groups go on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from . import chain
from .errors import IdempotencyConflict, InsufficientBalance, InvalidPosting, LedgerError, UnknownAccount
from .models import ChainLink, Entry, Transaction, utcnow
from .posting import (
    AccountShape,
    Line,
    Posted,
    _posting_time,
    _sync_loaded_account,
    _validate,
    remember_shapes,
    request_hash,
)
from .posting import _shapes as _shape_cache

LOOKUP_CHUNK = 5000  # keys or ids per IN list (SQLite's parameter limit)
SEAL_LIMIT = 20_000


@dataclass(frozen=True)
class Posting:
    """One transaction of a batch; the fields of ``ledger.post`` (reversals go through ``reverse``)."""

    lines: Sequence[Line]
    idempotency_key: str
    kind: str
    community_id: int
    memo: str = ""
    actor_id: int | None = None
    location: str | None = None
    details: dict = field(default_factory=dict)
    related_id: int | None = None


@dataclass
class _Pending:
    posting: Posting
    digest: str
    entries: list[tuple[int, str, int, int | None, int | None]]  # account, unit, amount, balance, version
    transaction_id: int = 0


def _select_in(session: Session, columns: str, table: str, key: str, values: list, *, sql_type: str,
               lock: bool = False) -> list:
    """``SELECT columns FROM table WHERE key IN values`` (in ``key`` order): one array parameter on
    PostgreSQL (no statement with thousands of parameters to build), chunks of IN lists on SQLite.
    ``lock`` adds FOR UPDATE on PostgreSQL; SQLite's writer already holds the database lock."""
    if not values:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return connection.exec_driver_sql(
            f"SELECT {columns} FROM {table} WHERE {key} = ANY(CAST(%(values)s AS {sql_type}[])) ORDER BY {key}"
            + (" FOR UPDATE" if lock else ""),
            {"values": values},
        ).all()
    rows = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        rows += connection.exec_driver_sql(
            f"SELECT {columns} FROM {table} WHERE {key} IN ({', '.join('?' * len(chunk))}) ORDER BY {key}",
            tuple(chunk),
        ).all()
    return rows


def _shapes(session: Session, account_ids: list[int]) -> dict[int, AccountShape]:
    """Account shapes from ``post``'s per-process cache, the missing ones read in one query."""
    cache = _shape_cache.setdefault(session.get_bind(), {})
    found = {i: cache[i] for i in account_ids if i in cache}
    missing = sorted(i for i in account_ids if i not in found)
    read = [AccountShape(*row) for row in _select_in(
        session, "id, unit, community_id, allow_negative, track_balance", "ledger_accounts", "id", missing,
        sql_type="bigint",
    )]
    remember_shapes(session, read)
    found.update((shape.id, shape) for shape in read)
    return found


def _used_keys(session: Session, keys: list[str]) -> dict[str, tuple[int, str]]:
    """Idempotency keys already in the book: key -> (transaction id, request hash)."""
    rows = _select_in(session, "idempotency_key, id, request_hash", "ledger_transactions", "idempotency_key", keys,
                      sql_type="text")
    return {key: (tx_id, digest) for key, tx_id, digest in rows}


def _locked_balances(session: Session, account_ids: list[int]) -> dict[int, list[int]]:
    """Tracked accounts' balance and version, locked in id order (the lock order of ``post``), so
    nothing moves them between this read and the batch's write."""
    rows = _select_in(session, "id, balance, version", "ledger_accounts", "id", sorted(account_ids),
                      sql_type="bigint", lock=True)
    return {account_id: [int(balance), int(version)] for account_id, balance, version in rows}


def draw_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` new ids of ``table``: from its sequence on PostgreSQL; past the highest on SQLite,
    whose writers are serialised (BEGIN IMMEDIATE) so no one else draws them meanwhile."""
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        drawn = connection.execute(
            text("SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) FROM generate_series(1, :n)"),
            {"table": table, "n": count},
        ).scalar()
        return sorted(drawn)
    highest = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
    return list(range(highest + 1, highest + 1 + count))


def _check(posting: Posting, shapes) -> str:
    """``post``'s checks of one posting; its request hash."""
    _validate(posting.lines, posting.idempotency_key, posting.kind)
    sums: dict[str, int] = {}
    for line in posting.lines:
        shape = shapes.get(line.account_id)
        if shape is None:
            raise UnknownAccount("no such account", account_id=line.account_id)
        if shape.community_id != posting.community_id:
            raise InvalidPosting(
                "all accounts of a transaction belong to its community",
                account_id=line.account_id,
                community_id=posting.community_id,
            )
        sums[shape.unit] = sums.get(shape.unit, 0) + line.amount
    unbalanced = {unit: total for unit, total in sums.items() if total != 0}
    if unbalanced:
        raise InvalidPosting("entries must sum to zero for each unit", unbalanced=unbalanced)
    return request_hash(
        kind=posting.kind,
        community_id=posting.community_id,
        lines=sorted((ln.account_id, ln.amount) for ln in posting.lines),
        memo=posting.memo,
        actor_id=posting.actor_id,
        location=posting.location,
        details=posting.details,
        reverses_id=None,
        related_id=posting.related_id,
    )


def post_groups(
    session: Session, groups: Sequence[Sequence[Posting]], *, seal: bool = False
) -> list[list[Posted] | LedgerError]:
    """Post every group whose postings all pass, in order; per group its ``Posted`` list (``replayed``
    for a key posted before with the same payload, also earlier in this batch) or the
    ``LedgerError`` that refused it. Raises nothing for a refused group; writes nothing for it."""
    session.flush()  # the caller's pending ORM rows first, as post() does: the reads below are raw SQL
    postings = [p for group in groups for p in group]
    shapes = _shapes(session, list({ln.account_id for p in postings for ln in p.lines}))
    used = _used_keys(session, list({p.idempotency_key for p in postings}))
    balances = _locked_balances(session, [a for a, shape in shapes.items() if shape.track_balance])
    claimed: dict[str, _Pending] = {}  # keys first posted in this batch
    outcomes: list[list[tuple[bool, _Pending | Posted]] | LedgerError] = []
    accepted: list[_Pending] = []
    for group in groups:
        moved: dict[int, list[int]] = {}  # this group's balances, kept only if the whole group passes
        outcome: list[tuple[bool, _Pending | Posted]] = []  # (new, what)
        try:
            for posting in group:
                digest = _check(posting, shapes)
                earlier = used.get(posting.idempotency_key)
                if earlier is not None:
                    if earlier[1] != digest:
                        raise IdempotencyConflict(
                            "idempotency key already used with a different payload", transaction_id=earlier[0]
                        )
                    outcome.append((False, Posted(earlier[0], True, {})))
                    continue
                prior = claimed.get(posting.idempotency_key) or next(
                    (p for new, p in outcome if new and p.posting.idempotency_key == posting.idempotency_key), None
                )
                if prior is not None:
                    if prior.digest != digest:
                        raise IdempotencyConflict("idempotency key already used with a different payload")
                    outcome.append((False, prior))
                    continue
                outcome.append((True, _Pending(posting, digest, _entries(posting, shapes, balances, moved))))
        except LedgerError as exc:
            outcomes.append(exc)
            continue
        balances.update(moved)
        for new, pending in outcome:
            if new:
                claimed[pending.posting.idempotency_key] = pending
                accepted.append(pending)
        outcomes.append(outcome)

    if seal and accepted:
        _seal_waiting(session)
    _write(session, accepted, {a: balances[a] for p in accepted for a, *_ in p.entries if a in balances}, seal=seal)
    return [
        outcome if isinstance(outcome, LedgerError) else [_posted(new, item) for new, item in outcome]
        for outcome in outcomes
    ]


def _entries(posting: Posting, shapes, balances: dict, moved: dict) -> list[tuple]:
    """The posting's entries with the balance and version each tracked account reaches (``moved``
    collects the group's new balances); refuses an overdraft as ``post`` does."""
    entries = []
    for line in posting.lines:
        shape = shapes[line.account_id]
        if not shape.track_balance:
            entries.append((line.account_id, shape.unit, line.amount, None, None))
            continue
        balance, version = moved.get(line.account_id) or balances[line.account_id]
        if balance + line.amount < 0 and not shape.allow_negative:
            raise InsufficientBalance(
                "insufficient balance", account_id=line.account_id, unit=shape.unit, balance=balance,
                requested=-line.amount,
            )
        moved[line.account_id] = [balance + line.amount, version + 1]
        entries.append((line.account_id, shape.unit, line.amount, balance + line.amount, version + 1))
    return entries


def _posted(new: bool, item: _Pending | Posted) -> Posted:
    if isinstance(item, Posted):
        return item
    if not new:
        return Posted(item.transaction_id, True, {})
    return Posted(item.transaction_id, False, {a: b for a, _u, _m, b, _v in item.entries if b is not None})


_TX_COLUMNS = ("id", "idempotency_key", "request_hash", "kind", "community_id", "memo", "actor_id", "location",
               "details", "reverses_id", "related_id", "created_at", "content_hash")
# Entry ids come from the table's default in the order written: no one needs them back.
_ENTRY_COLUMNS = ("transaction_id", "account_id", "unit", "amount", "balance_after", "account_version")
_LINK_COLUMNS = ("seq", "transaction_id", "prev_hash", "chain_hash", "sealed_at")
_MOVE_BALANCES_PG = text(
    "UPDATE ledger_accounts AS a SET balance = a.balance + v.delta, version = a.version + v.n "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[]), CAST(:counts AS bigint[])) AS v(id, delta, n) "
    "WHERE a.id = v.id"
)
_MOVE_BALANCE = text(
    "UPDATE ledger_accounts SET balance = balance + :delta, version = version + :n WHERE id = :id"
)


_WAITING_ABOVE_HEAD = text(
    "SELECT 1 FROM ledger_transactions t WHERE t.id > :head "
    "AND NOT EXISTS (SELECT 1 FROM ledger_chain_links l WHERE l.transaction_id = t.id) LIMIT 1"
)


def _seal_waiting(session: Session) -> None:
    """Take the sealers' lock and link committed transactions waiting above the sealed head, so the
    batch follows them. (``chain.seal`` would also look back 100,000 ids for late committers on
    every batch; those stay the scheduled sealer's.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": chain._SEAL_LOCK_ID})
    head = chain.head(session).transaction_id or 0
    if session.execute(_WAITING_ABOVE_HEAD, {"head": head}).first() is not None:
        while chain.seal(session, limit=SEAL_LIMIT) == SEAL_LIMIT:
            pass


def _links(head: chain.ChainHead, transactions: list[tuple]) -> list[tuple]:
    """Chain links of the batch's transactions (id first, content hash last) after the sealed
    ``head``; the caller holds the sealers' lock since ``_seal_waiting``."""
    prev, now, links = head.chain_hash, utcnow(), []
    for seq, row in enumerate(transactions, start=head.seq + 1):
        linked = chain.link_hash(prev, row[-1])
        links.append((seq, row[0], prev, linked, now))
        prev = linked
    return links


def _transaction_rows(pending: list[_Pending], tx_ids: list[int], created_at) -> Iterator[tuple]:
    """The batch's transaction rows with their content hashes, made as they are written (on
    PostgreSQL the hashing then overlaps the database's work on the rows already sent)."""
    for item, tx_id in zip(pending, tx_ids, strict=True):
        posting = item.posting
        content = chain.content_hash(
            idempotency_key=posting.idempotency_key, kind=posting.kind, community_id=posting.community_id,
            created_at=created_at, memo=posting.memo, actor_id=posting.actor_id, location=posting.location,
            details=posting.details, reverses_id=None, related_id=posting.related_id,
            lines=[(a, u, m) for a, u, m, _b, _v in item.entries],
        )
        yield (tx_id, posting.idempotency_key, item.digest, posting.kind, posting.community_id, posting.memo,
               posting.actor_id, posting.location, posting.details, None, posting.related_id, created_at, content)


def _write(session: Session, pending: list[_Pending], final: dict[int, list[int]], *, seal: bool) -> None:
    """Transactions and entries of the accepted postings, and the stored balances they move."""
    if not pending:
        return
    tx_ids = draw_ids(session, "ledger_transactions", len(pending))
    created_at = _posting_time.get() or utcnow()
    entries = []
    deltas: dict[int, list[int]] = {}
    for item, tx_id in zip(pending, tx_ids, strict=True):
        item.transaction_id = tx_id
        for account_id, unit, amount, balance, version in item.entries:
            entries.append((tx_id, account_id, unit, amount, balance, version))
            if balance is not None:
                moved = deltas.setdefault(account_id, [0, 0])
                moved[0] += amount
                moved[1] += 1
    head = chain.head(session) if seal else None  # read before a COPY holds the connection
    transactions = []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY ledger_transactions ({', '.join(_TX_COLUMNS)}) FROM STDIN") as copy:
                for row in _transaction_rows(pending, tx_ids, created_at):
                    transactions.append(row)
                    copy.write_row((*row[:8], chain.canonical_json(row[8]), *row[9:]))
            with cursor.copy(f"COPY ledger_entries ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN") as copy:
                for row in entries:
                    copy.write_row(row)
            if head is not None:
                with cursor.copy(f"COPY ledger_chain_links ({', '.join(_LINK_COLUMNS)}) FROM STDIN") as copy:
                    for row in _links(head, transactions):
                        copy.write_row(row)
        if deltas:
            ids = list(deltas)
            connection.execute(_MOVE_BALANCES_PG, {
                "ids": ids, "deltas": [deltas[a][0] for a in ids], "counts": [deltas[a][1] for a in ids]
            })
    else:
        transactions = list(_transaction_rows(pending, tx_ids, created_at))
        connection.execute(Transaction.__table__.insert(), [dict(zip(_TX_COLUMNS, row, strict=True)) for row in transactions])
        connection.execute(Entry.__table__.insert(), [dict(zip(_ENTRY_COLUMNS, row, strict=True)) for row in entries])
        if head is not None:
            connection.execute(ChainLink.__table__.insert(),
                               [dict(zip(_LINK_COLUMNS, r, strict=True)) for r in _links(head, transactions)])
        if deltas:
            connection.execute(_MOVE_BALANCE, [{"id": a, "delta": d, "n": n} for a, (d, n) in deltas.items()])
    for account_id, (balance, version) in final.items():
        _sync_loaded_account(session, account_id, balance, version)
