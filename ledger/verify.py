"""Invariant checks of the book, used by tests after every step and by nightly reconciliation.

Each check returns a list of ``Discrepancy``; an empty list means the invariant holds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_, select, text, union
from sqlalchemy.orm import Session, aliased

from . import chain, chain_sql, merkle
from .models import Account, BalanceCheckpoint, ChainLink, Entry, Transaction, utcnow

BATCH = 5000


@dataclass(frozen=True)
class Discrepancy:
    check: str
    subject: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict:
        return asdict(self)


def _touched_accounts(session: Session, since_entry_id: int) -> list[int]:
    """The accounts with an entry after ``since_entry_id``, read from those entries alone."""
    return sorted(session.scalars(select(Entry.account_id).where(Entry.id > since_entry_id).distinct()))


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def stored_balances(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """Every tracked account's stored balance and version equal the sum and count of its entries.

    With ``since_entry_id`` (incremental runs) only the tracked accounts that have entries after it
    are checked, a batch of them at a time, each summed by its own entries (the ``(account_id, id)``
    index): the run reads what the day touched, not the book.
    """
    if since_entry_id:
        rows = (
            row
            for ids in _batches(_touched_accounts(session, since_entry_id))
            for row in session.execute(
                select(Account.id, Account.balance, Account.version, func.sum(Entry.amount), func.count(Entry.id))
                .join(Entry, Entry.account_id == Account.id)
                .where(Account.id.in_(ids), Account.track_balance.is_(True))
                .group_by(Account.id, Account.balance, Account.version)
            )
        )
    else:
        # A full run also sees accounts without entries (a stored balance set from nothing).
        sums = (
            select(Entry.account_id, func.sum(Entry.amount).label("total"), func.count().label("n"))
            .group_by(Entry.account_id)
            .subquery()
        )
        rows = session.execute(
            select(Account.id, Account.balance, Account.version, sums.c.total, sums.c.n)
            .outerjoin(sums, sums.c.account_id == Account.id)
            .where(Account.track_balance.is_(True))
        )
    found = []
    for account_id, stored, version, total, count in rows:
        total, count = int(total or 0), int(count or 0)
        if stored != total:
            found.append(Discrepancy("stored_balance", f"account:{account_id}", total, stored))
        if version != count:
            found.append(Discrepancy("account_version", f"account:{account_id}", count, version))
    return found


def transactions_balanced(
    session: Session, *, since_transaction_id: int = 0, since_entry_id: int = 0
) -> list[Discrepancy]:
    """Each transaction sums to zero per unit and has at least two entries.

    Incremental runs check the transactions after ``since_transaction_id`` and every transaction
    with an entry after ``since_entry_id``: a transaction that drew a lower id and committed late
    is found by its entries (entry ids are settled, see ``ledger.settled``).
    """
    if not (since_transaction_id or since_entry_id):
        return _unbalanced_transactions(session, None, None)
    return transactions_balanced_among(session, new_transactions(session, since_transaction_id, since_entry_id))


def new_transactions(session: Session, since_transaction_id: int, since_entry_id: int) -> list[int]:
    """The transactions after ``since_transaction_id`` and those with an entry after
    ``since_entry_id``, in id order: by two index range reads (one ``OR`` of the two, which no index
    answers, read every entry of the book)."""
    return sorted(session.scalars(
        union(select(Transaction.id).where(Transaction.id > since_transaction_id),
              select(Entry.transaction_id).where(Entry.id > since_entry_id))
    ))


def transactions_balanced_among(session: Session, transaction_ids: list[int]) -> list[Discrepancy]:
    """``transactions_balanced`` for the given transactions only (those a full pass found suspect)."""
    found: list[Discrepancy] = []
    for ids in _batches(transaction_ids):
        found += _unbalanced_transactions(session, Entry.transaction_id.in_(ids), Transaction.id.in_(ids))
    return found


def _unbalanced_transactions(session: Session, entries_where, transactions_where) -> list[Discrepancy]:
    sums = select(Entry.transaction_id, Entry.unit, func.sum(Entry.amount))
    if entries_where is not None:
        sums = sums.where(entries_where)
    rows = session.execute(
        sums.group_by(Entry.transaction_id, Entry.unit).having(func.sum(Entry.amount) != 0)
    ).all()
    found = [Discrepancy("transaction_sum", f"transaction:{t}:{u}", 0, int(s)) for t, u, s in rows]
    thin = select(Transaction.id, func.count(Entry.id)).outerjoin(Entry, Entry.transaction_id == Transaction.id)
    if transactions_where is not None:
        thin = thin.where(transactions_where)
    rows = session.execute(thin.group_by(Transaction.id).having(func.count(Entry.id) < 2)).all()
    found += [Discrepancy("transaction_entries", f"transaction:{t}", ">=2", int(n)) for t, n in rows]
    return found


# Each checkpoint with the one before it on its account (by ``upto_entry_id``, then id) and the sum
# of the account's entries between the two. All of them in one window pass (a full run) ...
_CHECKPOINTS_ALL = text(
    "WITH ordered AS ("
    " SELECT id, account_id, upto_entry_id, balance,"
    "  lag(upto_entry_id, 1, 0) OVER w AS prev_upto, lag(balance, 1, 0) OVER w AS prev_balance"
    " FROM ledger_balance_checkpoints"
    " WINDOW w AS (PARTITION BY account_id ORDER BY upto_entry_id, id))"
    " SELECT o.id, o.account_id, o.upto_entry_id, o.balance, o.prev_balance,"
    "  (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e"
    "   WHERE e.account_id = o.account_id AND e.id > o.prev_upto AND e.id <= o.upto_entry_id) AS delta"
    " FROM ordered o ORDER BY o.account_id, o.upto_entry_id, o.id"
)
# ... or only those past ``since``, each finding the one before it by the (account_id, upto_entry_id)
# index (an incremental run: the window over a year of nightly checkpoints would sort them all).
_CHECKPOINTS_SINCE = text(
    "SELECT o.id, o.account_id, o.upto_entry_id, o.balance, coalesce(p.balance, 0),"
    " (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e"
    "  WHERE e.account_id = o.account_id AND e.id > coalesce(p.upto_entry_id, 0) AND e.id <= o.upto_entry_id)"
    " FROM ledger_balance_checkpoints o"
    " LEFT JOIN ledger_balance_checkpoints p ON p.id = ("
    "  SELECT q.id FROM ledger_balance_checkpoints q WHERE q.account_id = o.account_id"
    "  AND (q.upto_entry_id < o.upto_entry_id OR (q.upto_entry_id = o.upto_entry_id AND q.id < o.id))"
    "  ORDER BY q.upto_entry_id DESC, q.id DESC LIMIT 1)"
    " WHERE o.upto_entry_id > :since ORDER BY o.account_id, o.upto_entry_id, o.id"
)


def checkpoints_valid(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """Each balance checkpoint of a system account equals the sum of its entries up to the
    checkpoint's ``upto_entry_id``.

    One pass over the system accounts' entries: each checkpoint adds the entries since the one
    before it. A full run sums from zero; an incremental run checks the checkpoints past
    ``since_entry_id`` against the checkpoint before each (checked by an earlier run).
    """
    rows = session.execute(_CHECKPOINTS_SINCE if since_entry_id else _CHECKPOINTS_ALL, {"since": since_entry_id})
    found: list[Discrepancy] = []
    account, running = None, 0
    for checkpoint_id, account_id, upto, stored, prev_balance, delta in rows:
        if since_entry_id:
            derived = int(prev_balance) + int(delta)
        else:
            running = (running if account_id == account else 0) + int(delta)
            account, derived = account_id, running
        if derived != int(stored):
            found.append(Discrepancy("checkpoint", f"checkpoint:{checkpoint_id}:account:{account_id}:upto:{upto}",
                                     derived, int(stored)))
    return found


def units_balanced(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """Each unit sums to zero over all accounts (over the entries after ``since_entry_id``);
    entries carry their account's unit. An entry whose account row is gone carries none: found too
    (its account's unit ``None``)."""
    rows = session.execute(
        select(Entry.unit, func.sum(Entry.amount))
        .where(Entry.id > since_entry_id)
        .group_by(Entry.unit)
        .having(func.sum(Entry.amount) != 0)
    ).all()
    found = [Discrepancy("unit_sum", f"unit:{u}", 0, int(s)) for u, s in rows]
    if since_entry_id:  # each new entry's account looked up by its key, not the accounts table hashed
        account_unit = select(Account.unit).where(Account.id == Entry.account_id).scalar_subquery()
        mismatched = session.execute(
            select(Entry.id, Entry.unit, account_unit)
            .where(Entry.id > since_entry_id, or_(account_unit.is_(None), Entry.unit != account_unit))
        ).all()
    else:
        mismatched = session.execute(
            select(Entry.id, Entry.unit, Account.unit)
            .outerjoin(Account, Account.id == Entry.account_id)
            .where(or_(Account.id.is_(None), Entry.unit != Account.unit))
            .order_by(Entry.id)
        ).all()
    found += [Discrepancy("entry_unit", f"entry:{e}", a, u) for e, u, a in mismatched]
    return found


def no_negative_wallets(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """No account that may not go negative is below zero, by stored balance or by its entries.

    With ``since_entry_id`` (incremental runs) only the accounts with entries after it, a batch at a
    time. The sum of an untracked one (a till, a sink) is its latest checkpoint (checked by this run's
    ``checkpoints_valid`` or an earlier run's) plus its entries after it, so a busy till costs its
    day, not its history. A tracked wallet's sum is what ``stored_balances`` compares with its stored
    balance, which may not be negative: a negative sum fails that check, so it is not summed twice."""
    if not since_entry_id:
        stored = session.execute(
            select(Account.id, Account.balance).where(Account.allow_negative.is_(False), Account.balance < 0)
        ).all()
        derived = session.execute(
            select(Entry.account_id, func.sum(Entry.amount))
            .join(Account, Account.id == Entry.account_id)
            .where(Account.allow_negative.is_(False))
            .group_by(Entry.account_id)
            .having(func.sum(Entry.amount) < 0)
        ).all()
    else:
        stored, derived = [], []
        for ids in _batches(_touched_accounts(session, since_entry_id)):
            stored += session.execute(
                select(Account.id, Account.balance)
                .where(Account.id.in_(ids), Account.allow_negative.is_(False), Account.balance < 0)
            ).all()
            derived += [(a, total) for a, total in session.execute(_sums_since_checkpoint(ids))
                        if total < 0]
    found = [Discrepancy("negative_balance", f"account:{a}", ">=0", int(b)) for a, b in stored]
    found += [Discrepancy("negative_entries_sum", f"account:{a}", ">=0", int(s)) for a, s in derived]
    return found


def _sums_since_checkpoint(account_ids: list[int]):
    """(account, sum of all its entries) for the untracked accounts of ``account_ids`` that may not go
    negative: its latest checkpoint (checked by this run or an earlier one) plus the entries after it."""
    earlier = aliased(BalanceCheckpoint)
    latest = (
        select(earlier.id)
        .where(earlier.account_id == Account.id)
        .order_by(earlier.upto_entry_id.desc(), earlier.id.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )
    after = func.coalesce(BalanceCheckpoint.upto_entry_id, 0)
    entries = (
        select(func.coalesce(func.sum(Entry.amount), 0))
        .where(Entry.account_id == Account.id, Entry.id > after)
        .scalar_subquery()
    )
    return (
        select(Account.id, func.coalesce(BalanceCheckpoint.balance, 0) + entries)
        .outerjoin(BalanceCheckpoint, BalanceCheckpoint.id == latest)
        .where(Account.id.in_(account_ids), Account.allow_negative.is_(False), Account.track_balance.is_(False))
    )


_HASHED_COLUMNS = (
    Transaction.id, Transaction.idempotency_key, Transaction.kind, Transaction.community_id,
    Transaction.created_at, Transaction.memo, Transaction.actor_id, Transaction.location, Transaction.details,
    Transaction.reverses_id, Transaction.related_id, Transaction.content_hash,
)


def _check_links(
    session: Session, links, prev_hash: str, expected_seq: int, found: list[Discrepancy]
) -> tuple[str, int]:
    """Check ``links`` (seq, transaction_id, prev_hash, chain_hash) in order with the canonical code,
    after a link with ``prev_hash`` whose successor is ``expected_seq``; returns the pair for the next."""
    ids = [link[1] for link in links]
    # Plain rows, not ORM objects.
    txs = {tx.id: tx for tx in session.execute(select(*_HASHED_COLUMNS).where(Transaction.id.in_(ids)))}
    entries: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for tx_id, account_id, unit, amount in session.execute(
        select(Entry.transaction_id, Entry.account_id, Entry.unit, Entry.amount).where(Entry.transaction_id.in_(ids))
    ):
        entries[tx_id].append((account_id, unit, amount))
    for seq, tx_id, stored_prev, stored_hash in links:
        subject = f"chain:{seq}"
        if seq != expected_seq:
            found.append(Discrepancy("chain_sequence", subject, expected_seq, seq))
        tx = txs.get(tx_id)
        if tx is None:
            found.append(Discrepancy("chain_transaction_missing", subject, tx_id, None))
            continue
        recomputed = chain.content_hash(
            idempotency_key=tx.idempotency_key, kind=tx.kind, community_id=tx.community_id,
            created_at=tx.created_at, memo=tx.memo, actor_id=tx.actor_id, location=tx.location,
            details=tx.details, reverses_id=tx.reverses_id, related_id=tx.related_id, lines=entries[tx_id],
        )
        if recomputed != tx.content_hash:
            found.append(Discrepancy("content_hash", f"transaction:{tx_id}", tx.content_hash, recomputed))
        if stored_prev != prev_hash:
            found.append(Discrepancy("chain_prev_hash", subject, prev_hash, stored_prev))
        link = chain.link_hash(prev_hash, recomputed)
        if link != stored_hash:
            found.append(Discrepancy("chain_hash", subject, link, stored_hash))
        prev_hash, expected_seq = stored_hash, seq + 1
    return prev_hash, expected_seq


def _links(session: Session, lo: int, hi: int | None = None, limit: int = BATCH):
    query = select(ChainLink.seq, ChainLink.transaction_id, ChainLink.prev_hash, ChainLink.chain_hash).where(
        ChainLink.seq > lo
    )
    if hi is not None:
        query = query.where(ChainLink.seq <= hi)
    return session.execute(query.order_by(ChainLink.seq).limit(limit)).all()


def recheck_links(session: Session, seqs: list[int]) -> list[Discrepancy]:
    """Check the links ``seqs`` (found suspect by a full pass) with the canonical code, each after
    the link stored before it, as the chunked check would."""
    found: list[Discrepancy] = []
    for seq in seqs:
        before = session.execute(
            select(ChainLink.seq, ChainLink.chain_hash).where(ChainLink.seq < seq).order_by(ChainLink.seq.desc()).limit(1)
        ).first()
        expected_prev, expected_seq = (before.chain_hash, before.seq + 1) if before else (chain.GENESIS_HASH, 1)
        _check_links(session, _links(session, seq - 1, seq, 1), expected_prev, expected_seq, found)
    return found


def _chain_in_python(session: Session, found: list, *, after_seq: int, prev_hash: str, upto_seq: int | None) -> None:
    expected_seq, last_seq = after_seq + 1, after_seq
    while links := _links(session, last_seq, upto_seq):
        prev_hash, expected_seq = _check_links(session, links, prev_hash, expected_seq, found)
        session.expunge_all()
        last_seq = links[-1].seq


def _chain_in_database(session: Session, found: list, *, after_seq: int, prev_hash: str) -> None:
    """PostgreSQL recomputes every hash; Python rechecks only the links it finds suspect."""
    upto_seq = chain.head(session).seq
    lo = after_seq
    while lo < upto_seq:
        hi = min(lo + chain_sql.CHUNK, upto_seq)
        suspects = chain_sql.suspect_links(session, lo=lo, hi=hi, prev_hash=prev_hash)
        if suspects is None:
            _chain_in_python(session, found, after_seq=lo, prev_hash=prev_hash, upto_seq=hi)
        else:
            for seq, _tx_id, _found, expected_prev, expected_seq in suspects:
                _check_links(session, _links(session, seq - 1, seq, 1), expected_prev, expected_seq, found)
        prev_hash, lo = chain_sql.stored_hash_at(session, hi) or prev_hash, hi


def chain_valid(
    session: Session,
    *,
    sealed_within: dt.timedelta | None = chain.SEAL_PROMISE,
    as_of: dt.datetime | None = None,
    after_seq: int = 0,
    prev_hash: str = chain.GENESIS_HASH,
) -> list[Discrepancy]:
    """Recompute every content hash and every link, and the Merkle blocks over them
    (``merkle_blocks_valid``); every transaction older than ``sealed_within`` at ``as_of`` (the time
    of the caller's snapshot; default now) must be sealed, exactly once (``None``: the caller judges
    lateness itself). ``after_seq`` with the ``prev_hash`` stored at that link verifies only the
    links after it (incremental reconciliation).

    On PostgreSQL the database recomputes the hashes (``ledger.chain_sql``); elsewhere Python does,
    in keyset chunks. Either way memory stays flat however long the chain."""
    found: list[Discrepancy] = []
    if chain.head(session).seq - after_seq >= chain_sql.MIN_LINKS and chain_sql.available(session):
        _chain_in_database(session, found, after_seq=after_seq, prev_hash=prev_hash)
    else:
        _chain_in_python(session, found, after_seq=after_seq, prev_hash=prev_hash, upto_seq=None)
    found += merkle_blocks_valid(session, after_seq=after_seq)
    if sealed_within is not None:
        late = chain.unsealed_count(session, older_than=(as_of or utcnow()) - sealed_within)
        if late:
            found.append(Discrepancy("unsealed_transactions", "chain", 0, late))
    return found


def merkle_blocks_valid(session: Session, *, after_seq: int = 0) -> list[Discrepancy]:
    """The Merkle blocks over the sealed chain (``ledger.merkle``) recomputed: each block's root from
    its links' content hashes, its hash, and its place after the block before. A transaction
    rewritten and the chain re-linked over it passes the chain check but changes its block's root;
    blocks with no link after ``after_seq`` (incremental runs) have only their hashes checked."""
    return [Discrepancy(check, f"merkle_block:{number}", expected, actual)
            for check, number, expected, actual in merkle.block_problems(session, after_seq=after_seq)]


def verify_all(session: Session) -> dict[str, list[Discrepancy]]:
    return {
        "stored_balances": stored_balances(session),
        "transactions_balanced": transactions_balanced(session),
        "units_balanced": units_balanced(session),
        "no_negative_wallets": no_negative_wallets(session),
        "checkpoints_valid": checkpoints_valid(session),
        "chain_valid": chain_valid(session),
    }
