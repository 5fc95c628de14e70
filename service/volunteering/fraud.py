"""Fraud alerts for human review (never an automatic punishment).

Nightly, over a window ending on the business date:

- ``frequent_crediting``: one staff member credited the same wallet at least ``FREQUENT_CREDITS``
  times in ``FREQUENT_WINDOW_DAYS`` days (awards, approved hours, adjustments);
- ``two_stations_at_once``: one volunteer with overlapping service records at two stations;
- ``overlapping_records``: overlapping records of one volunteer at the same station;
- ``implausible_record``: one record longer than ``LONG_RECORD_MINUTES``, or more than
  ``DAY_TOTAL_MINUTES`` logged for one volunteer on one day.

Each alert has a dedupe key, so a pattern is reported once however many nights it stays visible.
"""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from ledger import AccountType
from ledger.models import Account, Entry, Transaction

from ..auth.access import Principal
from ..jobs.runs import local_midnight_utc
from ..listing import community_page
from .models import FraudAlert

JOB = "fraud_scan"
FREQUENT_CREDITS = 8
FREQUENT_WINDOW_DAYS = 30
CREDIT_KINDS = ("conduct_award", "volunteer_hours", "adjustment", "opening_balance")
RECORD_WINDOW_DAYS = 7
LONG_RECORD_MINUTES = 12 * 60
DAY_TOTAL_MINUTES = 16 * 60


def _insert_alert(session: Session, **values) -> bool:
    """Insert unless its dedupe key exists; True when new."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        module.insert(FraudAlert.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(FraudAlert.id)
    ).scalar()
    return inserted is not None


def _frequent_crediting(session: Session, business_date: dt.date, timezone: str) -> int:
    end = local_midnight_utc(business_date + dt.timedelta(days=1), timezone)
    start = end - dt.timedelta(days=FREQUENT_WINDOW_DAYS)
    rows = session.execute(
        select(Transaction.community_id, Transaction.actor_id, Account.type, Account.owner_id, func.count())
        .join(Entry, Entry.transaction_id == Transaction.id)
        .join(Account, Account.id == Entry.account_id)
        .where(
            Transaction.created_at >= start,
            Transaction.created_at < end,
            Transaction.kind.in_(CREDIT_KINDS),
            Transaction.actor_id.is_not(None),
            Entry.amount > 0,
            Account.type.in_((AccountType.MEMBER_WALLET.value, AccountType.HOUSEHOLD_WALLET.value)),
        )
        .group_by(Transaction.community_id, Transaction.actor_id, Account.type, Account.owner_id)
        .having(func.count(func.distinct(Transaction.id)) >= FREQUENT_CREDITS)
    ).all()
    created = 0
    for community_id, actor_id, account_type, owner_id, count in rows:
        owner = "member" if account_type == AccountType.MEMBER_WALLET.value else "household"
        created += _insert_alert(
            session,
            community_id=community_id,
            kind="frequent_crediting",
            subject=f"staff:{actor_id} -> {owner}:{owner_id}",
            dedupe_key=f"frequent_crediting:{actor_id}:{owner}:{owner_id}:{business_date:%Y-%m}",
            business_date=business_date,
            details={
                "staff_id": actor_id, f"{owner}_id": owner_id, "credits": int(count),
                "window_days": FREQUENT_WINDOW_DAYS, "threshold": FREQUENT_CREDITS,
            },
            status="open",
        )
    return created


def _service_records(session: Session, business_date: dt.date) -> int:
    if not inspect(session.connection()).has_table("service_records"):
        return 0
    ServiceRecord = importlib.import_module("service.volunteering.models").ServiceRecord  # noqa: N806
    first = business_date - dt.timedelta(days=RECORD_WINDOW_DAYS - 1)
    live = ServiceRecord.status.in_(("pending", "approved"))
    in_window = ServiceRecord.service_date.between(first, business_date)
    created = 0
    a, b = aliased(ServiceRecord), aliased(ServiceRecord)
    pairs = session.execute(
        select(a.community_id, a.volunteer_id, a.id, a.station_id, b.id, b.station_id, a.started_at, b.started_at)
        .join(b, (b.volunteer_id == a.volunteer_id) & (b.id > a.id))
        .where(
            a.status.in_(("pending", "approved")),
            b.status.in_(("pending", "approved")),
            a.service_date.between(first, business_date),
            a.started_at < b.ended_at,
            b.started_at < a.ended_at,
        )
    ).all()
    for community_id, volunteer_id, a_id, a_station, b_id, b_station, a_start, b_start in pairs:
        kind = "two_stations_at_once" if a_station != b_station else "overlapping_records"
        created += _insert_alert(
            session,
            community_id=community_id,
            kind=kind,
            subject=f"member:{volunteer_id} records {a_id} and {b_id}",
            dedupe_key=f"{kind}:{a_id}:{b_id}",
            business_date=business_date,
            details={
                "member_id": volunteer_id, "record_ids": [a_id, b_id], "station_ids": [a_station, b_station],
                "started_at": [a_start.isoformat(), b_start.isoformat()],
            },
            status="open",
        )
    for record in session.scalars(
        select(ServiceRecord).where(live, in_window, ServiceRecord.minutes > LONG_RECORD_MINUTES)
    ):
        created += _insert_alert(
            session,
            community_id=record.community_id,
            kind="implausible_record",
            subject=f"member:{record.volunteer_id} record {record.id}",
            dedupe_key=f"implausible_record:{record.id}",
            business_date=business_date,
            details={"member_id": record.volunteer_id, "record_id": record.id, "minutes": record.minutes,
                     "limit_minutes": LONG_RECORD_MINUTES},
            status="open",
        )
    days = session.execute(
        select(ServiceRecord.community_id, ServiceRecord.volunteer_id, ServiceRecord.service_date,
               func.sum(ServiceRecord.minutes))
        .where(live, in_window)
        .group_by(ServiceRecord.community_id, ServiceRecord.volunteer_id, ServiceRecord.service_date)
        .having(func.sum(ServiceRecord.minutes) > DAY_TOTAL_MINUTES)
    ).all()
    for community_id, volunteer_id, day, minutes in days:
        created += _insert_alert(
            session,
            community_id=community_id,
            kind="implausible_record",
            subject=f"member:{volunteer_id} on {day.isoformat()}",
            dedupe_key=f"implausible_day:{volunteer_id}:{day.isoformat()}",
            business_date=business_date,
            details={"member_id": volunteer_id, "date": day.isoformat(), "minutes": int(minutes),
                     "limit_minutes": DAY_TOTAL_MINUTES},
            status="open",
        )
    return created


def scan(session: Session, business_date: dt.date, timezone: str) -> dict:
    return {
        "frequent_crediting": _frequent_crediting(session, business_date, timezone),
        "service_records": _service_records(session, business_date),
    }


def list_alerts(session: Session, principal: Principal, *, kind=None, **page):
    return community_page(session, principal, FraudAlert, *([FraudAlert.kind == kind] if kind else []), **page)
