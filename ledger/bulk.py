"""Posting a batch of transactions at once: migrations into the ledger (opening balances) at COPY speed.

Every transaction obeys the rules of ``post``: integer amounts, balanced per unit, all accounts in
its community, no tracked account below zero, an idempotency key that replays the same payload and
refuses another, the same request and content hashes. The checks run in Python over the whole
batch (one read of the keys already used, one locked read of the tracked balances in id order);
the writes are set-based: transaction ids drawn from their sequence; on PostgreSQL transactions
and entries COPYed into temporary tables and written from there, the request and content hashes
made by the database (``chain_sql.REQUEST_HASH``, ``chain_sql.CONTENT_HASH``; Python hashes a request
only to compare it with a key's earlier payload); on SQLite by ``executemany``, hashed in Python; stored
balances moved by one statement. With ``seal=True`` the batch is also linked into the hash chain before it commits, as the sealer would
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

from . import chain, chain_sql, copytext
from .errors import IdempotencyConflict, InsufficientBalance, InvalidPosting, LedgerError, UnknownAccount
from .lookups import draw_ids, shapes_and_balances, used_keys
from .models import ChainLink, Entry, Transaction, utcnow
from .posting import Line, Posted, _posting_time, _sync_loaded_account, _validate, request_hash

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
    entries: list[tuple[int, str, int, int | None, int | None]]  # account, unit, amount, balance, version
    transaction_id: int = 0
    digest: str | None = None  # the request hash, made in Python only where it is compared or stored

    def request_hash(self) -> str:
        if self.digest is None:
            self.digest = _request_hash(self.posting)
        return self.digest


def _check(posting: Posting, shapes) -> None:
    """``post``'s checks of one posting."""
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


def _request_hash(posting: Posting) -> str:
    """``post``'s request hash of the posting (on PostgreSQL a new one is made by the database,
    ``chain_sql.REQUEST_HASH``; this one is compared with a key's earlier payload)."""
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
    shapes, balances = shapes_and_balances(session, list({ln.account_id for p in postings for ln in p.lines}))
    used = used_keys(session, list({p.idempotency_key for p in postings}))
    claimed: dict[str, _Pending] = {}  # keys first posted in this batch
    outcomes: list[list[tuple[bool, _Pending | Posted]] | LedgerError] = []
    accepted: list[_Pending] = []
    for group in groups:
        moved: dict[int, list[int]] = {}  # this group's balances, kept only if the whole group passes
        outcome: list[tuple[bool, _Pending | Posted]] = []  # (new, what)
        mine: dict[str, _Pending] = {}  # keys first posted in this group
        try:
            for posting in group:
                _check(posting, shapes)
                key = posting.idempotency_key
                earlier = used.get(key)
                if earlier is not None:
                    if earlier[1] != _request_hash(posting):
                        raise IdempotencyConflict(
                            "idempotency key already used with a different payload", transaction_id=earlier[0]
                        )
                    outcome.append((False, Posted(earlier[0], True, {})))
                    continue
                prior = claimed.get(key) or mine.get(key)
                if prior is not None:
                    if prior.request_hash() != _request_hash(posting):
                        raise IdempotencyConflict("idempotency key already used with a different payload")
                    outcome.append((False, prior))
                    continue
                mine[key] = pending = _Pending(posting, _entries(posting, shapes, balances, moved))
                outcome.append((True, pending))
        except LedgerError as exc:
            outcomes.append(exc)
            continue
        balances.update(moved)
        claimed.update(mine)
        accepted.extend(mine.values())
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
_MOVE_BALANCE = text(
    "UPDATE ledger_accounts SET balance = balance + :delta, version = version + :n WHERE id = :id"
)

# PostgreSQL: the batch is COPYed into temporary tables (no WAL), and written from there with the
# request and content hashes made by the database in chain_sql's canonical forms, so Python hashes nothing but
# the chain links. Dropped at commit; recreated by a second batch in the same transaction.
_STAGE_PG = """
DROP TABLE IF EXISTS pg_temp.ledger_bulk_transactions, pg_temp.ledger_bulk_entries;
CREATE TEMP TABLE ledger_bulk_transactions (id bigint, idempotency_key text, kind text, community_id bigint,
  memo text, actor_id bigint, location text, details text, reverses_id bigint, related_id bigint,
  created_at timestamptz) ON COMMIT DROP;
CREATE TEMP TABLE ledger_bulk_entries (n bigint, transaction_id bigint, account_id bigint, unit text,
  amount bigint, balance_after bigint, account_version bigint) ON COMMIT DROP
"""
_STAGED_TX_COLUMNS = tuple(c for c in _TX_COLUMNS if c not in ("request_hash", "content_hash"))
_INSERT_TRANSACTIONS_PG = f"""
INSERT INTO ledger_transactions ({", ".join(_TX_COLUMNS)})
SELECT t.id, t.idempotency_key, {chain_sql.REQUEST_HASH}, t.kind, t.community_id, t.memo, t.actor_id, t.location,
       CAST(t.details AS json), t.reverses_id, t.related_id, t.created_at, {chain_sql.CONTENT_HASH}
FROM ledger_bulk_transactions t
LEFT JOIN (SELECT e.transaction_id, string_agg({chain_sql.LINE}, ',' ORDER BY {chain_sql.LINE_ORDER}) AS lines,
                  string_agg({chain_sql.REQUEST_LINE}, ',' ORDER BY {chain_sql.REQUEST_LINE_ORDER}) AS request_lines
           FROM ledger_bulk_entries e GROUP BY e.transaction_id) x ON x.transaction_id = t.id
ORDER BY t.id
RETURNING id, content_hash
"""
_INSERT_ENTRIES_PG = f"""
INSERT INTO ledger_entries ({", ".join(_ENTRY_COLUMNS)})
SELECT {", ".join(_ENTRY_COLUMNS)} FROM ledger_bulk_entries ORDER BY n
"""
_MOVE_BALANCES_PG = """
UPDATE ledger_accounts AS a SET balance = a.balance + v.delta, version = a.version + v.n
FROM (SELECT account_id, sum(amount) AS delta, count(*) AS n FROM ledger_bulk_entries
      WHERE account_version IS NOT NULL GROUP BY account_id) AS v
WHERE a.id = v.account_id
"""


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


def _links(head: chain.ChainHead, hashed: list[tuple[int, str]]) -> list[tuple]:
    """Chain links of the batch's transactions ((id, content hash) in id order) after the sealed
    ``head``; the caller holds the sealers' lock since ``_seal_waiting``."""
    prev, now, links = head.chain_hash, utcnow(), []
    for seq, (tx_id, content) in enumerate(hashed, start=head.seq + 1):
        linked = chain.link_hash(prev, content)
        links.append((seq, tx_id, prev, linked, now))
        prev = linked
    return links


def _transaction_rows(pending: list[_Pending], created_at) -> Iterator[tuple]:
    """The batch's transaction rows (``_TX_COLUMNS`` but the request and content hashes)."""
    for item in pending:
        posting = item.posting
        yield (item.transaction_id, posting.idempotency_key, posting.kind, posting.community_id, posting.memo,
               posting.actor_id, posting.location, posting.details, None, posting.related_id, created_at)


def _content_hash(item: _Pending, created_at) -> str:
    posting = item.posting
    return chain.content_hash(
        idempotency_key=posting.idempotency_key, kind=posting.kind, community_id=posting.community_id,
        created_at=created_at, memo=posting.memo, actor_id=posting.actor_id, location=posting.location,
        details=posting.details, reverses_id=None, related_id=posting.related_id,
        lines=[(a, u, m) for a, u, m, _b, _v in item.entries],
    )


def _write(session: Session, pending: list[_Pending], final: dict[int, list[int]], *, seal: bool) -> None:
    """Transactions and entries of the accepted postings, and the stored balances they move."""
    if not pending:
        return
    for item, tx_id in zip(pending, draw_ids(session, "ledger_transactions", len(pending)), strict=True):
        item.transaction_id = tx_id
    created_at = _posting_time.get() or utcnow()
    entries = [(item.transaction_id, *entry) for item in pending for entry in item.entries]
    head = chain.head(session) if seal else None
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        hashed = _write_pg(connection, pending, entries, created_at)
    else:
        hashed = []
        rows = []
        for item, row in zip(pending, _transaction_rows(pending, created_at), strict=True):
            content = _content_hash(item, created_at)
            hashed.append((item.transaction_id, content))
            rows.append(dict(zip(_STAGED_TX_COLUMNS, row, strict=True), request_hash=item.request_hash(),
                             content_hash=content))
        connection.execute(Transaction.__table__.insert(), rows)
        connection.execute(Entry.__table__.insert(), [dict(zip(_ENTRY_COLUMNS, e, strict=True)) for e in entries])
        deltas: dict[int, list[int]] = {}
        for _tx, account_id, _unit, amount, _balance, version in entries:
            if version is not None:
                moved = deltas.setdefault(account_id, [0, 0])
                moved[0] += amount
                moved[1] += 1
        if deltas:
            connection.execute(_MOVE_BALANCE, [{"id": a, "delta": d, "n": n} for a, (d, n) in deltas.items()])
    if head is not None:
        links = _links(head, hashed)
        if connection.dialect.name == "postgresql":
            sealed_at = links[0][4].isoformat() if links else None
            with connection.connection.driver_connection.cursor() as cursor:
                copytext.write_lines(cursor, f"COPY ledger_chain_links ({', '.join(_LINK_COLUMNS)}) FROM STDIN", (
                    f"{seq}\t{tx}\t{prev}\t{linked}\t{sealed_at}\n" for seq, tx, prev, linked, _at in links
                ))
        else:
            connection.execute(ChainLink.__table__.insert(), [dict(zip(_LINK_COLUMNS, r, strict=True)) for r in links])
    if session.identity_map:
        for account_id, (balance, version) in final.items():
            _sync_loaded_account(session, account_id, balance, version)


def _write_pg(connection, pending: list[_Pending], entries: list[tuple], created_at) -> list[tuple[int, str]]:
    """The batch through the staging tables; (id, content hash) of its transactions in id order."""
    canonical: dict[int, str] = {}  # details text per details object: an import shares a few
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(_STAGE_PG)
        texts: dict = {}  # kinds, memos, locations: a batch repeats a few

        def repeated(value) -> str:
            if value is None:
                return copytext.NULL
            if isinstance(value, int):
                return str(int(value))
            found = texts.get(value)
            if found is None:
                found = texts[value] = copytext.field(value)
            return found

        def details_text(details) -> str:
            found = canonical.get(id(details))
            if found is None:
                found = canonical[id(details)] = copytext.field(chain.canonical_json(details))
            return found

        at = created_at.isoformat()
        copytext.write_lines(cursor, f"COPY ledger_bulk_transactions ({', '.join(_STAGED_TX_COLUMNS)}) FROM STDIN", (
            f"{tx_id}\t{copytext.field(key)}\t{repeated(kind)}\t{repeated(community)}\t{repeated(memo)}\t{repeated(actor)}\t"
            f"{repeated(location)}\t{details_text(details)}\t{copytext.NULL}\t{repeated(related)}\t{at}\n"
            for tx_id, key, kind, community, memo, actor, location, details, _reverses, related, _at
            in _transaction_rows(pending, created_at)
        ))
        units = {unit: copytext.field(unit) for unit in {entry[2] for entry in entries}}
        copytext.write_lines(cursor, f"COPY ledger_bulk_entries (n, {', '.join(_ENTRY_COLUMNS)}) FROM STDIN", (
            f"{n}\t{tx}\t{account}\t{units[unit]}\t{amount}\t{copytext.NULL if balance is None else balance}\t"
            f"{copytext.NULL if version is None else version}\n"
            for n, (tx, account, unit, amount, balance, version) in enumerate(entries)
        ))
        hashed = sorted(cursor.execute(_INSERT_TRANSACTIONS_PG).fetchall())
        cursor.execute(_INSERT_ENTRIES_PG)
        cursor.execute(_MOVE_BALANCES_PG)
    return hashed
