"""Invariant checks of the book, used by tests after every step and by nightly reconciliation.

Each check returns a list of ``Discrepancy``; an empty list means the invariant holds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import chain
from .models import Account, ChainLink, Entry, Transaction, utcnow

BATCH = 5000


@dataclass(frozen=True)
class Discrepancy:
    check: str
    subject: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict:
        return asdict(self)


def _touched_accounts(since_entry_id: int):
    return select(Entry.account_id).where(Entry.id > since_entry_id).distinct()


def stored_balances(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """Every tracked account's stored balance and version equal the sum and count of its entries.

    With ``since_entry_id`` (incremental runs) only accounts that have entries after it are checked.
    """
    sums = select(Entry.account_id, func.sum(Entry.amount).label("total"), func.count().label("n"))
    if since_entry_id:
        sums = sums.where(Entry.account_id.in_(_touched_accounts(since_entry_id)))
    sums = sums.group_by(Entry.account_id).subquery()
    query = select(Account.id, Account.balance, Account.version, sums.c.total, sums.c.n)
    # A full run also sees accounts without entries (a stored balance set from nothing).
    query = query.join(sums, sums.c.account_id == Account.id) if since_entry_id else query.outerjoin(
        sums, sums.c.account_id == Account.id
    )
    found = []
    for account_id, stored, version, total, count in session.execute(query.where(Account.track_balance.is_(True))):
        total, count = int(total or 0), int(count or 0)
        if stored != total:
            found.append(Discrepancy("stored_balance", f"account:{account_id}", total, stored))
        if version != count:
            found.append(Discrepancy("account_version", f"account:{account_id}", count, version))
    return found


def transactions_balanced(session: Session, *, since_transaction_id: int = 0) -> list[Discrepancy]:
    """Each transaction sums to zero per unit and has at least two entries."""
    rows = session.execute(
        select(Entry.transaction_id, Entry.unit, func.sum(Entry.amount))
        .where(Entry.transaction_id > since_transaction_id)
        .group_by(Entry.transaction_id, Entry.unit)
        .having(func.sum(Entry.amount) != 0)
    ).all()
    found = [Discrepancy("transaction_sum", f"transaction:{t}:{u}", 0, int(s)) for t, u, s in rows]
    thin = session.execute(
        select(Transaction.id, func.count(Entry.id))
        .outerjoin(Entry, Entry.transaction_id == Transaction.id)
        .where(Transaction.id > since_transaction_id)
        .group_by(Transaction.id)
        .having(func.count(Entry.id) < 2)
    ).all()
    found += [Discrepancy("transaction_entries", f"transaction:{t}", ">=2", int(n)) for t, n in thin]
    return found


def units_balanced(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """Each unit sums to zero over all accounts (over the entries after ``since_entry_id``);
    entries carry their account's unit."""
    rows = session.execute(
        select(Entry.unit, func.sum(Entry.amount))
        .where(Entry.id > since_entry_id)
        .group_by(Entry.unit)
        .having(func.sum(Entry.amount) != 0)
    ).all()
    found = [Discrepancy("unit_sum", f"unit:{u}", 0, int(s)) for u, s in rows]
    mismatched = session.execute(
        select(Entry.id, Entry.unit, Account.unit)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.id > since_entry_id, Entry.unit != Account.unit)
    ).all()
    found += [Discrepancy("entry_unit", f"entry:{e}", a, u) for e, u, a in mismatched]
    return found


def no_negative_wallets(session: Session, *, since_entry_id: int = 0) -> list[Discrepancy]:
    """No account that may not go negative is below zero, by stored balance or by its entries
    (by entries: of the accounts with entries after ``since_entry_id``)."""
    stored = session.execute(
        select(Account.id, Account.balance).where(Account.allow_negative.is_(False), Account.balance < 0)
    ).all()
    found = [Discrepancy("negative_balance", f"account:{a}", ">=0", int(b)) for a, b in stored]
    derived = (
        select(Entry.account_id, func.sum(Entry.amount))
        .join(Account, Account.id == Entry.account_id)
        .where(Account.allow_negative.is_(False))
    )
    if since_entry_id:
        derived = derived.where(Entry.account_id.in_(_touched_accounts(since_entry_id)))
    rows = session.execute(derived.group_by(Entry.account_id).having(func.sum(Entry.amount) < 0)).all()
    found += [Discrepancy("negative_entries_sum", f"account:{a}", ">=0", int(s)) for a, s in rows]
    return found


_HASHED_COLUMNS = (
    Transaction.id, Transaction.idempotency_key, Transaction.kind, Transaction.community_id,
    Transaction.created_at, Transaction.memo, Transaction.actor_id, Transaction.location, Transaction.details,
    Transaction.reverses_id, Transaction.related_id, Transaction.content_hash,
)


def chain_valid(
    session: Session,
    *,
    sealed_within: dt.timedelta = dt.timedelta(minutes=1),
    after_seq: int = 0,
    prev_hash: str = chain.GENESIS_HASH,
) -> list[Discrepancy]:
    """Recompute every content hash and every link; every transaction older than
    ``sealed_within`` must be sealed, exactly once. ``after_seq`` with the ``prev_hash`` stored at
    that link verifies only the links after it (incremental reconciliation)."""
    found: list[Discrepancy] = []
    expected_seq, last_seq = after_seq + 1, after_seq
    while True:
        links = session.execute(
            select(ChainLink.seq, ChainLink.transaction_id, ChainLink.prev_hash, ChainLink.chain_hash)
            .where(ChainLink.seq > last_seq)
            .order_by(ChainLink.seq)
            .limit(BATCH)
        ).all()
        if not links:
            break
        ids = [link.transaction_id for link in links]
        # Plain rows, not ORM objects: this loop is most of a reconciliation's time.
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
        session.expunge_all()
        last_seq = links[-1].seq
    late = chain.unsealed_count(session, older_than=utcnow() - sealed_within)
    if late:
        found.append(Discrepancy("unsealed_transactions", "chain", 0, late))
    return found


def verify_all(session: Session) -> dict[str, list[Discrepancy]]:
    return {
        "stored_balances": stored_balances(session),
        "transactions_balanced": transactions_balanced(session),
        "units_balanced": units_balanced(session),
        "no_negative_wallets": no_negative_wallets(session),
        "chain_valid": chain_valid(session),
    }
