"""Opening accounts and reading balances and statements."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .errors import UnknownAccount
from .models import Account, AccountType, BalanceCheckpoint, Entry, Transaction, Unit
from .settled import settled_ids

log = logging.getLogger(__name__)

# Untracked system accounts: no stored balance (checkpoints plus later entries), so no row that every
# posting locks. Issuance may go negative (the amount in circulation); a sink and a supermarket till
# only receive, and a refund returns at most what its basket paid into the till.
SYSTEM_TYPES = {AccountType.ISSUANCE, AccountType.EXPIRY_SINK, AccountType.SUPERMARKET_TILL}


def account_code(type_: AccountType, owner_id: int, unit: Unit) -> str:
    return f"{type_.value}:{owner_id}:{unit.value}"


def open_account(
    session: Session,
    *,
    type: AccountType,
    unit: Unit,
    community_id: int,
    owner_id: int,
) -> Account:
    """Return the account of this type, owner and unit, creating it if needed.

    Wallets and provider accounts keep a stored balance and may not go negative. Issuance (may go
    negative: that is the amount in circulation), sinks and supermarket tills are untracked system
    accounts: every basket pays into its supermarket's till, which must not be one hot row.
    """
    code = account_code(type, owner_id, unit)
    existing = session.scalars(select(Account).where(Account.code == code)).first()
    if existing is not None:
        return existing
    system = type in SYSTEM_TYPES
    account = Account(
        code=code,
        type=type.value,
        unit=unit.value,
        community_id=community_id,
        owner_id=owner_id,
        allow_negative=type == AccountType.ISSUANCE,
        track_balance=not system,
        balance=0,
        version=0,
    )
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, code: str) -> Account:
    account = session.scalars(select(Account).where(Account.code == code)).first()
    if account is None:
        raise UnknownAccount("no such account", code=code)
    return account


def balance(session: Session, account_id: int) -> int:
    """O(1) for tracked accounts; checkpoint plus later entries for untracked system accounts."""
    # A column read, not session.get: an Account loaded earlier in a long-lived session may be stale.
    row = session.execute(select(Account.track_balance, Account.balance).where(Account.id == account_id)).first()
    if row is None:
        raise UnknownAccount("no such account", account_id=account_id)
    if row.track_balance:
        return int(row.balance)
    checkpoint = session.execute(
        select(BalanceCheckpoint.upto_entry_id, BalanceCheckpoint.balance)
        .where(BalanceCheckpoint.account_id == account_id)
        .order_by(BalanceCheckpoint.upto_entry_id.desc())
        .limit(1)
    ).first()
    upto, base = checkpoint if checkpoint else (0, 0)
    later = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0)).where(
            Entry.account_id == account_id, Entry.id > upto
        )
    )
    return int(base) + int(later)


def checkpoint_system_accounts(session: Session, *, wait_seconds: float = 60.0) -> int:
    """Write a balance checkpoint for each untracked account over the settled entries (those no
    open transaction can still add below, see ``ledger.settled``). Returns how many were written;
    none if open writers outlived ``wait_seconds`` (the next run catches up)."""
    settled = settled_ids(session.connection(), timeout=wait_seconds)
    if settled is None:
        log.warning("balance checkpoints skipped: a transaction stayed open over %s s", wait_seconds)
        return 0
    upto = settled.entry_id
    if not upto:
        return 0
    written = 0
    for account_id in session.scalars(select(Account.id).where(Account.track_balance.is_(False))):
        last = session.execute(
            select(BalanceCheckpoint.upto_entry_id, BalanceCheckpoint.balance)
            .where(BalanceCheckpoint.account_id == account_id)
            .order_by(BalanceCheckpoint.upto_entry_id.desc())
            .limit(1)
        ).first()
        since, base = last if last else (0, 0)
        if since >= upto:
            continue
        delta = session.scalar(
            select(func.coalesce(func.sum(Entry.amount), 0)).where(
                Entry.account_id == account_id, Entry.id > since, Entry.id <= upto
            )
        )
        session.add(BalanceCheckpoint(account_id=account_id, upto_entry_id=upto, balance=int(base) + int(delta)))
        written += 1
    session.flush()
    return written


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    transaction_id: int
    account_id: int
    unit: str
    amount: int
    balance_after: int | None
    created_at: dt.datetime
    kind: str
    memo: str
    actor_id: int | None
    location: str | None
    details: dict
    reverses_id: int | None


@dataclass(frozen=True)
class StatementPage:
    lines: list[StatementLine]
    next_cursor: int | None


@functools.cache
def _statement_query(paged: bool):
    """The statement's read, built once (a page is only bound): a new ``select`` each time cost more
    Python than the read itself."""
    query = (
        select(
            Entry.id, Entry.transaction_id, Entry.account_id, Entry.unit, Entry.amount, Entry.balance_after,
            Transaction.created_at, Transaction.kind, Transaction.memo, Transaction.actor_id, Transaction.location,
            Transaction.details, Transaction.reverses_id,
        )
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Entry.account_id.in_(bindparam("ids", expanding=True)))
        .order_by(Entry.id.desc())
        .limit(bindparam("limit"))
    )
    return query.where(Entry.id < bindparam("before")) if paged else query


def statement(
    session: Session, account_ids: int | Sequence[int], *, limit: int = 50, before: int | None = None
) -> StatementPage:
    """Entries of one or more accounts, newest first, keyset-paginated by entry id (``before`` is
    the previous page's ``next_cursor``), so any page costs the same however long the history."""
    ids = [account_ids] if isinstance(account_ids, int) else list(account_ids)
    params = {"ids": ids, "limit": limit + 1}
    if before is not None:
        params["before"] = before
    rows = session.execute(_statement_query(before is not None), params).all()
    lines = [StatementLine(*row) for row in rows[:limit]]
    return StatementPage(lines, lines[-1].entry_id if len(rows) > limit else None)
