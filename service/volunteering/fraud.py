"""Fraud alerts for human review (never an automatic punishment).

Nightly, over a window ending on the business date, with each community's own thresholds
(community settings ``fraud_*``, defaults in brackets):

- ``frequent_crediting``: one staff member credited the same wallet at least
  ``fraud_frequent_credits`` (8) times in ``fraud_frequent_window_days`` (30) days (awards, approved
  hours, adjustments);
- ``two_stations_at_once``: one volunteer with overlapping service records at two stations;
- ``overlapping_records``: overlapping records of one volunteer at the same station;
- ``implausible_record``: one record longer than ``fraud_long_record_minutes`` (12 h), or more than
  ``fraud_day_total_minutes`` (16 h) logged for one volunteer on one day.

Each alert has a dedupe key, so a pattern is reported once however many nights it stays visible.
It names the records it is about (``details``: record, transaction, member and staff ids); an
administrator who has looked into it dismisses it with a reason, audit-logged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from ledger import AccountType
from ledger.models import Account, Entry, Transaction, utcnow

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..community.models import Community
from ..errors import Conflict
from ..listing import community_page
from ..localtime import midnight_utc
from ..rows import get_row
from .models import FraudAlert, ServiceRecord

JOB = "fraud_scan"
CREDIT_KINDS = ("conduct_award", "volunteer_hours", "adjustment", "opening_balance")
RECORD_WINDOW_DAYS = 7
# An alert lists at most this many of the transactions it is about.
MAX_LINKED_TRANSACTIONS = 50
OPEN, DISMISSED = "open", "dismissed"


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
    end = midnight_utc(business_date + dt.timedelta(days=1), timezone)
    created = 0
    for community in session.scalars(select(Community).order_by(Community.id)):
        start = end - dt.timedelta(days=community.fraud_frequent_window_days)
        credits = (
            select(Transaction.id, Transaction.actor_id, Account.type, Account.owner_id)
            .join(Entry, Entry.transaction_id == Transaction.id)
            .join(Account, Account.id == Entry.account_id)
            .where(
                Transaction.community_id == community.id,
                Transaction.created_at >= start,
                Transaction.created_at < end,
                Transaction.kind.in_(CREDIT_KINDS),
                Transaction.actor_id.is_not(None),
                Entry.amount > 0,
                Account.type.in_((AccountType.MEMBER_WALLET.value, AccountType.HOUSEHOLD_WALLET.value)),
            )
        ).subquery()
        rows = session.execute(
            select(credits.c.actor_id, credits.c.type, credits.c.owner_id, func.count(func.distinct(credits.c.id)))
            .group_by(credits.c.actor_id, credits.c.type, credits.c.owner_id)
            .having(func.count(func.distinct(credits.c.id)) >= community.fraud_frequent_credits)
        ).all()
        for actor_id, account_type, owner_id, count in rows:
            owner = "member" if account_type == AccountType.MEMBER_WALLET.value else "household"
            transaction_ids = session.scalars(
                select(func.distinct(credits.c.id))
                .where(credits.c.actor_id == actor_id, credits.c.type == account_type, credits.c.owner_id == owner_id)
                .order_by(credits.c.id)
                .limit(MAX_LINKED_TRANSACTIONS)
            ).all()
            created += _insert_alert(
                session,
                community_id=community.id,
                kind="frequent_crediting",
                subject=f"staff:{actor_id} -> {owner}:{owner_id}",
                dedupe_key=f"frequent_crediting:{actor_id}:{owner}:{owner_id}:{business_date:%Y-%m}",
                business_date=business_date,
                details={
                    "staff_id": actor_id, f"{owner}_id": owner_id, "credits": int(count),
                    "window_days": community.fraud_frequent_window_days,
                    "threshold": community.fraud_frequent_credits,
                    "transaction_ids": list(transaction_ids),
                },
                status=OPEN,
            )
    return created


def _service_records(session: Session, business_date: dt.date) -> int:
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
            status=OPEN,
        )
    for record, limit in session.execute(
        select(ServiceRecord, Community.fraud_long_record_minutes)
        .join(Community, Community.id == ServiceRecord.community_id)
        .where(live, in_window, ServiceRecord.minutes > Community.fraud_long_record_minutes)
    ).all():
        created += _insert_alert(
            session,
            community_id=record.community_id,
            kind="implausible_record",
            subject=f"member:{record.volunteer_id} record {record.id}",
            dedupe_key=f"implausible_record:{record.id}",
            business_date=business_date,
            details={"member_id": record.volunteer_id, "record_id": record.id, "minutes": record.minutes,
                     "limit_minutes": limit},
            status=OPEN,
        )
    days = session.execute(
        select(ServiceRecord.community_id, ServiceRecord.volunteer_id, ServiceRecord.service_date,
               func.sum(ServiceRecord.minutes), Community.fraud_day_total_minutes)
        .join(Community, Community.id == ServiceRecord.community_id)
        .where(live, in_window)
        .group_by(ServiceRecord.community_id, ServiceRecord.volunteer_id, ServiceRecord.service_date,
                  Community.fraud_day_total_minutes)
        .having(func.sum(ServiceRecord.minutes) > Community.fraud_day_total_minutes)
    ).all()
    for community_id, volunteer_id, day, minutes, limit in days:
        record_ids = session.scalars(
            select(ServiceRecord.id)
            .where(live, ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.service_date == day)
            .order_by(ServiceRecord.id)
        ).all()
        created += _insert_alert(
            session,
            community_id=community_id,
            kind="implausible_record",
            subject=f"member:{volunteer_id} on {day.isoformat()}",
            dedupe_key=f"implausible_day:{volunteer_id}:{day.isoformat()}",
            business_date=business_date,
            details={"member_id": volunteer_id, "date": day.isoformat(), "minutes": int(minutes),
                     "limit_minutes": limit, "record_ids": list(record_ids)},
            status=OPEN,
        )
    return created


def scan(session: Session, business_date: dt.date, timezone: str) -> dict:
    return {
        "frequent_crediting": _frequent_crediting(session, business_date, timezone),
        "service_records": _service_records(session, business_date),
    }


def list_alerts(session: Session, principal: Principal, *, kind=None, status=None, **page):
    filters = ([FraudAlert.kind == kind] if kind else []) + ([FraudAlert.status == status] if status else [])
    return community_page(session, principal, FraudAlert, *filters, **page)


def get_alert(session: Session, principal: Principal, alert_id: int, *, lock: bool = False) -> FraudAlert:
    alert = get_row(session, FraudAlert, alert_id, what="fraud alert", lock=lock)
    principal.require_community(alert.community_id, what="fraud alert")
    return alert


def dismiss_alert(session: Session, principal: Principal, alert_id: int, *, reason: str) -> FraudAlert:
    """An administrator who looked into an alert closes it with the reason (kept, audit-logged)."""
    alert = get_alert(session, principal, alert_id, lock=True)
    principal.require_admin_of(alert.community_id)
    if alert.status != OPEN:
        raise Conflict("this alert is already dismissed", code="alert_already_dismissed")
    alert.status = DISMISSED
    alert.dismissed_by = principal.staff_id
    alert.dismissed_at = utcnow()
    alert.dismissal_reason = reason
    session.flush()
    record_audit(
        session, principal=principal, action="fraud_alert.dismiss", target_type="fraud_alert", target_id=alert.id,
        community_id=alert.community_id, before={"status": OPEN}, after={"status": DISMISSED, "reason": reason},
    )
    return alert


def alert_links(alert: FraudAlert) -> list[dict]:
    """What the alert is about, as ``{"type", "id"}``: service records, transactions, the member or
    household, the staff member."""
    details = alert.details or {}
    links = [{"type": "service_record", "id": i} for i in details.get("record_ids", [])]
    if "record_id" in details:
        links.append({"type": "service_record", "id": details["record_id"]})
    links += [{"type": "transaction", "id": i} for i in details.get("transaction_ids", [])]
    for key, kind in (("member_id", "member"), ("household_id", "household"), ("staff_id", "staff")):
        if details.get(key) is not None:
            links.append({"type": kind, "id": details[key]})
    return links
