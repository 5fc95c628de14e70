"""Optional annual coin expiry (年度清零), per community, posted as ordinary ledger transactions.

A community with ``coin_expiry_month_day = "MM-DD"`` clears, at the end of that local date each
year, every coin its member and household wallets earned up to then and have not spent. Spending
takes the oldest coins first, so the coins that expire are the wallet's balance at the end of the
expiry date minus what it spent since, i.e. ``balance now − coins credited after the expiry date``
(never below zero), where reversals and refunds are returns, not new coins, and a reversal of a
credit made after the date nets that credit out. The nightly run for the expiry date posts, per
wallet, ``wallet → expiry sink`` (kind ``coin_expiry``) under the key
``coin-expiry:<account>:<date>``. Hours never expire.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

import ledger
from ledger import AccountType, Unit
from ledger.bulk import Posting, post_groups
from ledger.models import Account, Entry, Transaction

from ..community.models import Community
from ..community.operations import expiry_sink
from ..localtime import midnight_utc
from ..members.models import Member
from ..members.operations import get_household, household_wallet, member_wallet

JOB = "coin_expiry"
KIND = "coin_expiry"
WARN_DAYS = 30
WALLET_TYPES = (AccountType.MEMBER_WALLET.value, AccountType.HOUSEHOLD_WALLET.value)


def expiry_date(month_day: str, year: int) -> dt.date:
    month, day = (int(part) for part in month_day.split("-"))
    if month == 2 and day == 29:
        try:
            return dt.date(year, 2, 29)
        except ValueError:
            return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def next_expiry(month_day: str | None, today: dt.date) -> dt.date | None:
    """The first expiry date on or after ``today`` (coins expire at the end of that local day)."""
    if not month_day:
        return None
    this_year = expiry_date(month_day, today.year)
    return this_year if this_year >= today else expiry_date(month_day, today.year + 1)


def _credited_since(session: Session, account_ids: list[int], cutoff: dt.datetime) -> dict[int, int]:
    """Coins credited to each wallet at or after ``cutoff``: newer than the expiring ones.

    Returns are not new coins: a reversal or a refund (a transaction that reverses or relates to an
    earlier one) gives back coins that were spent, and spending takes the oldest coins first. A
    reversal of a credit made after ``cutoff`` nets that credit out, so an adjustment and its
    reversal leave the expiring coins as they were.

    One query for all the wallets, each summed by its own correlated subqueries: the database walks
    each wallet's entries by the ``(account_id, id)`` index, as one query per wallet did, instead of
    being free to join every entry of the book once per chunk."""
    earlier = aliased(Transaction)
    wallet = Account.__table__.alias("wallet")
    credited = (
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(
            Entry.account_id == wallet.c.id, Entry.amount > 0, Transaction.created_at >= cutoff,
            Transaction.reverses_id.is_(None), Transaction.related_id.is_(None),
        )
        .scalar_subquery()
    )
    taken_back = (
        select(func.coalesce(func.sum(-Entry.amount), 0))
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .join(earlier, earlier.id == Transaction.reverses_id)
        .where(Entry.account_id == wallet.c.id, Entry.amount < 0, earlier.created_at >= cutoff)
        .scalar_subquery()
    )
    rows = session.execute(select(wallet.c.id, credited, taken_back).where(wallet.c.id.in_(account_ids))).all()
    return {account_id: max(int(late) - int(back), 0) for account_id, late, back in rows}


CHUNK = 2_000  # wallets locked, summed and posted together


def expire_coins(session: Session, business_date: dt.date, timezone: str) -> dict:
    """Post the expiry of every community whose expiry date is ``business_date``, ``CHUNK`` wallets
    at a time: locked in id order, their late credits summed in two queries, their expiries posted
    as one batch (``ledger.bulk.post_groups``); a wallet already expired for this date is skipped."""
    counts = {"communities": 0, "wallets": 0, "coins": 0}
    cutoff = midnight_utc(business_date + dt.timedelta(days=1), timezone)
    for community in session.scalars(select(Community).where(Community.coin_expiry_month_day.is_not(None))):
        if expiry_date(community.coin_expiry_month_day, business_date.year) != business_date:
            continue
        counts["communities"] += 1
        sink = expiry_sink(session, community.id)
        after = 0
        while wallets := _wallets_with_coins(session, community.id, after):
            after = wallets[-1]
            expired = _expire(session, community.id, sink.id, wallets, cutoff, business_date)
            counts["wallets"] += len(expired)
            counts["coins"] += sum(expired)
    return counts


def _wallets_with_coins(session: Session, community_id: int, after: int) -> list[int]:
    return session.scalars(
        select(Account.id)
        .where(
            Account.community_id == community_id,
            Account.unit == Unit.COIN.value,
            Account.type.in_(WALLET_TYPES),
            Account.balance > 0,
            Account.id > after,
        )
        .order_by(Account.id)
        .limit(CHUNK)
    ).all()


def _expire(session: Session, community_id: int, sink_id: int, wallets: list[int], cutoff: dt.datetime,
            business_date: dt.date) -> list[int]:
    """Expire these wallets' old coins; returns the amounts posted."""
    balances = ledger.lock_accounts(session, wallets)
    # Summed under the lock: a credit committed before it is in the balance and counted here.
    late = _credited_since(session, wallets, cutoff)
    keys = {account_id: f"coin-expiry:{account_id}:{business_date.isoformat()}" for account_id in wallets}
    done = set(session.scalars(select(Transaction.idempotency_key).where(Transaction.idempotency_key.in_(keys.values()))))
    amounts = {
        account_id: balances.get(account_id, 0) - late.get(account_id, 0)
        for account_id in wallets if keys[account_id] not in done
    }
    postings = [
        [Posting(
            lines=[ledger.Line(account_id, -amount), ledger.Line(sink_id, amount)],
            idempotency_key=keys[account_id],
            kind=KIND,
            community_id=community_id,
            memo=f"年度清零 annual coin expiry {business_date.isoformat()}",
            details={
                "description": f"年度清零 coins expired on {business_date.isoformat()}",
                "expiry_date": business_date.isoformat(),
            },
        )]
        for account_id, amount in amounts.items() if amount > 0
    ]
    for outcome in post_groups(session, postings):
        if isinstance(outcome, ledger.LedgerError):
            raise outcome  # nothing of this run is kept; the job reports the failure
    return [group[0].lines[1].amount for group in postings]


def expiring_soon(session: Session, member: Member, today: dt.date, *, within_days: int = WARN_DAYS) -> dict:
    """Coins of this resident (and their household) that expire within ``within_days`` unless spent."""
    community = session.get(Community, member.community_id)
    expires_on = next_expiry(community.coin_expiry_month_day if community else None, today)
    soon = expires_on is not None and (expires_on - today).days <= within_days
    household_coins = None
    if member.household_id is not None:
        household = household_wallet(session, get_household(session, member.household_id))
        household_coins = household.balance if soon else 0
    return {
        "member_id": member.id,
        "expires_on": expires_on,
        "coins": member_wallet(session, member, Unit.COIN).balance if soon else 0,
        "household_coins": household_coins,
        "within_days": within_days,
    }
