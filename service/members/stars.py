"""Lifetime volunteer hours and the volunteer star tiers (志愿者星级) applied nightly from them.

Lifetime minutes are summed from the HOUR entries of ``LIFETIME_HOUR_KINDS`` (approvals, their
reversals, migrated opening hours): spending or giving hours never lowers them, reversing a service
record does. Every change is kept in ``star_changes`` with the business date and the reason; a drop
names the reversal that caused it. ``lifetime_hour_entries`` is the one query of those entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ledger import AccountType, Unit
from ledger.models import Account, Entry, Transaction, utcnow

from ..jobs.models import JobRun
from .models import StarChange, VolunteerStar

JOB = "star_tiers"
# Ledger kinds whose HOUR credits count towards lifetime volunteer hours (stars). Spending and
# giving hours do not lower lifetime hours; only reversing the service record does.
LIFETIME_HOUR_KINDS = ("volunteer_hours", "volunteer_hours.reversal", "opening_lifetime_hours")
REVERSAL_KINDS = tuple(k for k in LIFETIME_HOUR_KINDS if k.endswith(".reversal"))


def lifetime_hour_entries(*columns, wallet_id: int | None = None) -> Select:
    """``select(*columns)`` over the entries that count towards lifetime hours: of one member's HOUR
    wallet, or (no ``wallet_id``) of every member's, joined to the wallet account."""
    query = (
        select(*columns)
        .select_from(Entry)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Transaction.kind.in_(LIFETIME_HOUR_KINDS))
    )
    if wallet_id is not None:
        return query.where(Entry.account_id == wallet_id)
    return query.join(Account, Account.id == Entry.account_id).where(
        Account.type == AccountType.MEMBER_WALLET.value, Account.unit == Unit.HOUR.value
    )


def lifetime_minutes(session: Session, wallet_id: int) -> int:
    """Lifetime volunteer minutes of one member, given their HOUR wallet."""
    return int(session.scalar(lifetime_hour_entries(func.coalesce(func.sum(Entry.amount), 0), wallet_id=wallet_id)))


STREAM_ROWS = 5_000  # volunteers fetched at a time by the star run


def _volunteers(session: Session):
    """``(member_id, lifetime minutes, star held or None)`` of every member with lifetime hours or a
    star, in member id order: the database joins the sums to the stars held, and on PostgreSQL the rows
    come a few thousand at a time (a server-side cursor), so the run's memory does not grow with the
    city. (SQLite reads them at once: a cursor open over a table being written is not safe there.)"""
    minutes = (
        lifetime_hour_entries(Account.owner_id.label("member_id"), func.sum(Entry.amount).label("minutes"))
        .group_by(Account.owner_id)
        .subquery("minutes")
    )
    held = VolunteerStar.__table__
    member_id = func.coalesce(minutes.c.member_id, held.c.member_id)
    query = (
        select(member_id, func.coalesce(minutes.c.minutes, 0), held.c.star)
        .select_from(minutes.outerjoin(held, held.c.member_id == minutes.c.member_id, full=True))
        .order_by(member_id)
    )
    if session.get_bind().dialect.name != "postgresql":
        return session.execute(query).all()
    return session.execute(query, execution_options={"yield_per": STREAM_ROWS})


def lifetime_credits_since(session: Session, wallet_id: int, since: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """``(minutes, posted_at)`` of each lifetime-hours entry of one wallet since ``since`` (reversals
    negative), for the resident's hours per month."""
    return [
        (int(amount), created_at)
        for amount, created_at in session.execute(
            lifetime_hour_entries(Entry.amount, Transaction.created_at, wallet_id=wallet_id).where(
                Transaction.created_at >= since
            )
        )
    ]


def star_for(minutes: int, thresholds_hours: tuple[int, ...] | None = None) -> int:
    """Volunteer star rating (志愿者星级): how many thresholds the lifetime hours have reached."""
    thresholds = thresholds_hours or current_app.config["STAR_THRESHOLDS_HOURS"]
    return sum(1 for hours in thresholds if minutes >= hours * 60)


def _latest_reversal(session: Session, member_id: int) -> Transaction | None:
    return session.scalars(
        select(Transaction)
        .join(Entry, Entry.transaction_id == Transaction.id)
        .join(Account, Account.id == Entry.account_id)
        .where(
            Account.type == AccountType.MEMBER_WALLET.value,
            Account.unit == Unit.HOUR.value,
            Account.owner_id == member_id,
            Transaction.kind.in_(REVERSAL_KINDS),
        )
        .order_by(Transaction.id.desc())
        .limit(1)
    ).first()


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes % 60 else f"{minutes // 60} h"


def change_reason(
    session: Session, member_id: int, old: int, new: int, minutes: int, thresholds: tuple[int, ...]
) -> tuple[str, int | None]:
    if new > old:
        return f"lifetime hours reached {_hours(minutes)}: ★{new} from {thresholds[new - 1]} h", None
    reversal = _latest_reversal(session, member_id)
    why = f"lifetime hours fell to {_hours(minutes)}, under the ★{old} threshold of {thresholds[old - 1]} h"
    if reversal is None:
        return why, None
    memo = f": {reversal.memo}" if reversal.memo else ""
    return f"{why}, after the reversal of transaction {reversal.reverses_id} (reversal {reversal.id}{memo})", reversal.id


def record_change(session: Session, change: StarChange) -> None:
    session.add(change)
    session.flush()


def apply_star_tiers(
    session: Session,
    run: JobRun | None,
    business_date: dt.date,
    thresholds: tuple[int, ...],
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Set every volunteer's star from their lifetime minutes; returns counts of what changed. Only the
    volunteers whose star changes are loaded as rows to change."""
    counts = {"volunteers": 0, "raised": 0, "lowered": 0}
    for member_id, minutes, star in _volunteers(session):
        minutes, old = int(minutes), star or 0
        new = star_for(minutes, thresholds)
        counts["volunteers"] += 1
        if progress:
            progress(1)
        if new == old:
            continue
        reason, transaction_id = change_reason(session, member_id, old, new, minutes, thresholds)
        held = session.get(VolunteerStar, member_id) if star is not None else None
        if held is None:
            session.add(VolunteerStar(member_id=member_id, star=new, lifetime_minutes=minutes, since=business_date))
        else:
            held.star, held.lifetime_minutes, held.since, held.updated_at = new, minutes, business_date, utcnow()
        record_change(
            session,
            StarChange(
                member_id=member_id,
                business_date=business_date,
                from_star=old,
                to_star=new,
                lifetime_minutes=minutes,
                reason=reason,
                transaction_id=transaction_id,
                job_run_id=run.id if run else None,
            ),
        )
        counts["raised" if new > old else "lowered"] += 1
    return counts


def member_stars(session: Session, member_id: int) -> dict:
    held = session.get(VolunteerStar, member_id)
    history = session.scalars(
        select(StarChange).where(StarChange.member_id == member_id).order_by(StarChange.id)
    ).all()
    return {
        "member_id": member_id,
        "star": held.star if held else 0,
        "lifetime_minutes": held.lifetime_minutes if held else 0,
        "since": held.since if held else None,
        "history": history,
    }
