"""Service records: logging, the rules of SPEC §2 "Volunteer hours", approval on the ledger,
rejection, reversal, sign-in-sheet batches and certificates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from .. import localtime
from ..auth.access import Principal
from ..auth.models import Role
from ..community.operations import get_community, get_station, issuance_account
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..listing import community_page, given
from ..members.cards import normalise_card_code
from ..members.lifecycle import require_active
from ..members.models import Member
from ..members.operations import get_member, member_wallet
from ..rows import get_row
from .models import Activity, RecordStatus, ServiceRecord

MAX_RECORD_MINUTES = 24 * 60
CLOCK_SKEW = dt.timedelta(minutes=5)  # a device clock slightly ahead is not "in the future"
DUPLICATE = "duplicate_service_record"


# --- activities ---------------------------------------------------------------------------


def create_activity(session: Session, principal: Principal, *, station_id: int, name: str, **fields) -> Activity:
    station = get_station(session, station_id)
    principal.require_station(station.id, station.community_id)
    _refuse_taken_name(session, station.id, name)
    activity = Activity(community_id=station.community_id, station_id=station.id, name=name, **fields)
    session.add(activity)
    session.flush()
    return activity


def _refuse_taken_name(session: Session, station_id: int, name: str) -> None:
    taken = select(Activity.id).where(Activity.station_id == station_id, Activity.name == name)
    if session.scalars(taken).first():
        raise Conflict("the station already lists this activity", code="activity_exists")


def list_activities(session: Session, principal: Principal, station_id: int, *, include_inactive=False):
    station = get_station(session, station_id)
    principal.require_community(station.community_id, what="station")
    query = select(Activity).where(Activity.station_id == station.id).order_by(Activity.id)
    if not include_inactive:
        query = query.where(Activity.active.is_(True))
    return session.scalars(query).all()


def update_activity(session: Session, principal: Principal, activity_id: int, changes: dict) -> Activity:
    activity = get_row(session, Activity, activity_id, what="activity")
    principal.require_station(activity.station_id, activity.community_id)
    if changes.get("name") not in (None, activity.name):
        _refuse_taken_name(session, activity.station_id, changes["name"])
    for key in ("name", "name_en", "description", "active"):
        if key in changes:
            setattr(activity, key, changes[key])
    session.flush()
    return activity


# --- service records ----------------------------------------------------------------------


def find_volunteer(
    session: Session, community_id: int, *, volunteer_id=None, volunteer_number=None, card_code=None, volunteer=None
) -> Member:
    """The volunteer by id, volunteer number (志愿者编号) or card code, within the community.
    ``volunteer`` (a sign-in sheet's column) may be either a volunteer number or a card code."""
    query = select(Member).where(Member.community_id == community_id)
    if volunteer_id is not None:
        query = query.where(Member.id == volunteer_id)
    elif volunteer_number:
        query = query.where(Member.volunteer_number == volunteer_number)
    elif card_code:
        query = query.where(Member.card_code == normalise_card_code(card_code))
    elif volunteer:
        query = query.where(
            (Member.volunteer_number == volunteer) | (Member.card_code == normalise_card_code(volunteer))
        )
    else:
        raise Invalid("name the volunteer (volunteer_id, volunteer_number or card_code)", code="volunteer_required")
    member = session.scalars(query).first()
    if member is None or not member.active:
        raise Invalid("no such volunteer in this community", code="unknown_volunteer")
    return member


def _overlapping_approved(session: Session, volunteer_id: int, start, end, exclude_id=None) -> ServiceRecord | None:
    query = select(ServiceRecord).where(
        ServiceRecord.volunteer_id == volunteer_id,
        ServiceRecord.status == RecordStatus.APPROVED.value,
        ServiceRecord.started_at < end,
        ServiceRecord.ended_at > start,
    )
    if exclude_id is not None:
        query = query.where(ServiceRecord.id != exclude_id)
    return session.scalars(query.limit(1)).first()


def create_service_record(
    session: Session,
    principal: Principal,
    *,
    station_id: int,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    minutes: int | None = None,
    activity_id: int | None = None,
    activity: str | None = None,
    evidence: str = "",
    now: dt.datetime | None = None,
    **volunteer,
) -> ServiceRecord:
    """Log service time as ``pending``. ``minutes`` (actual service time, travel excluded) defaults
    to the span from start to end and may not exceed it."""
    now = now or ledger.utcnow()
    station = get_station(session, station_id)
    principal.require_station(station.id, station.community_id)
    if principal.staff_id is None:
        raise Forbidden("only staff log service records")
    start, end = localtime.as_utc(started_at), localtime.as_utc(ended_at)
    if end <= start:
        raise Invalid("the end must be after the start", code="end_not_after_start")
    span = int((end - start).total_seconds() // 60)
    if span > MAX_RECORD_MINUTES:
        raise Invalid("one record covers at most 24 hours", code="record_too_long", minutes=span)
    if end > now + CLOCK_SKEW:
        raise Invalid("a service record cannot be in the future", code="record_in_future")
    minutes = span if minutes is None else minutes
    if type(minutes) is not int or minutes < 1:
        raise Invalid("the duration must be a positive number of minutes", code="invalid_minutes")
    if minutes > span:
        raise Invalid("the duration exceeds the time from start to end", code="minutes_exceed_span", span=span)
    member = find_volunteer(session, station.community_id, **volunteer)
    if activity_id is not None:
        chosen = session.get(Activity, activity_id)
        if chosen is None or chosen.station_id != station.id:
            raise Invalid("the activity is not on this station's list", code="unknown_activity")
        if not chosen.active:
            raise Invalid("the activity is no longer offered", code="activity_inactive")
        activity_name = chosen.name
    elif activity and activity.strip():
        chosen = session.scalars(
            select(Activity).where(Activity.station_id == station.id, Activity.name == activity.strip())
        ).first()
        activity_id, activity_name = (chosen.id if chosen else None), activity.strip()
    else:
        raise Invalid("name the activity (activity_id or free text)", code="activity_required")
    existing = session.scalars(
        select(ServiceRecord.id).where(
            ServiceRecord.volunteer_id == member.id,
            ServiceRecord.station_id == station.id,
            ServiceRecord.started_at == start,
            ServiceRecord.ended_at == end,
        )
    ).first()
    if existing is not None:
        raise Conflict("this service is already recorded", code=DUPLICATE, service_record_id=existing)
    clash = _overlapping_approved(session, member.id, start, end)
    if clash is not None:
        raise Invalid(
            "the volunteer has an approved record overlapping this time",
            code="overlapping_record",
            service_record_id=clash.id,
        )
    community = get_community(session, station.community_id)
    record = ServiceRecord(
        community_id=station.community_id,
        station_id=station.id,
        volunteer_id=member.id,
        activity_id=activity_id,
        activity_name=activity_name,
        started_at=start,
        ended_at=end,
        minutes=minutes,
        service_date=localtime.date_of(start),
        evidence=evidence or "",
        status=RecordStatus.PENDING.value,
        late_entry=(now - end) > dt.timedelta(days=community.late_entry_days),
        recorded_by=principal.staff_id,
        created_at=now,
    )
    session.add(record)
    session.flush()
    return record


def get_service_record(session: Session, principal: Principal, record_id: int) -> ServiceRecord:
    record = get_row(session, ServiceRecord, record_id, what="service record")
    if principal.role == Role.RESIDENT:
        if record.volunteer_id != principal.member_id:
            raise NotFound("service record not found")
    else:
        principal.require_community(record.community_id, what="service record")
    return record


def _locked_record(session: Session, principal: Principal, record_id: int) -> ServiceRecord:
    """The record under a row lock (read afresh), so concurrent approvals queue and see the result."""
    record = get_row(session, ServiceRecord, record_id, what="service record", lock=True)
    principal.require_station(record.station_id, record.community_id)
    return record


def list_service_records(
    session: Session,
    principal: Principal,
    *,
    community_id=None,
    station_id=None,
    volunteer_id=None,
    status=None,
    late_entry=None,
    needs_admin=None,
    limit=50,
    before=None,
):
    if principal.role == Role.RESIDENT and volunteer_id not in (None, principal.member_id):
        raise NotFound("member not found")
    filters = given(
        (ServiceRecord.station_id, station_id),
        (ServiceRecord.volunteer_id, volunteer_id),
        (ServiceRecord.status, status),
        (ServiceRecord.late_entry, late_entry),
        (ServiceRecord.needs_admin, needs_admin),
    )
    own = ServiceRecord.volunteer_id == principal.member_id
    return community_page(
        session, principal, ServiceRecord, *filters, community_id=community_id, own=own, limit=limit, before=before
    )


def approve_service_record(
    session: Session, principal: Principal, record_id: int, *, now: dt.datetime | None = None
) -> ServiceRecord:
    """Approve a pending record: four-eyes, no overlap, the daily cap; post hours and coins.

    A late entry (补录) or a day over the cap needs an administrator: station staff then only
    verify it (it stays pending); an administrator's approval posts it.
    """
    now = now or ledger.utcnow()
    record = _locked_record(session, principal, record_id)
    if record.status != RecordStatus.PENDING.value:
        raise Conflict(f"the record is {record.status}, not pending", code="not_pending", status=record.status)
    community = get_community(session, record.community_id)
    if community.four_eyes and principal.staff_id == record.recorded_by:
        raise Forbidden("another staff member must approve a record you logged", code="four_eyes")
    volunteer = get_member(session, record.volunteer_id)
    require_active(volunteer)  # deactivated after the record was logged: nothing is credited
    hour_wallet = member_wallet(session, volunteer, Unit.HOUR)
    coin_wallet = member_wallet(session, volunteer, Unit.COIN)
    # One volunteer's approvals queue on their HOUR wallet, so overlap and the daily cap hold.
    ledger.lock_accounts(session, [hour_wallet.id])
    clash = _overlapping_approved(session, record.volunteer_id, record.started_at, record.ended_at, record.id)
    if clash is not None:
        raise Invalid(
            "the volunteer has an approved record overlapping this time",
            code="overlapping_record",
            service_record_id=clash.id,
        )
    day_total = session.scalar(
        select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.volunteer_id == record.volunteer_id,
            ServiceRecord.service_date == record.service_date,
            ServiceRecord.status == RecordStatus.APPROVED.value,
        )
    )
    if int(day_total) + record.minutes > community.daily_cap_minutes:
        record.needs_admin = True
    if principal.role != Role.ADMIN and (record.late_entry or record.needs_admin):
        if record.verified_by is not None:
            raise Conflict(
                "verified already; an administrator must approve it", code="awaiting_admin_approval",
                reasons=record.review_reasons,
            )
        record.verified_by, record.verified_at = principal.staff_id, now
        session.flush()
        return record
    if principal.role == Role.ADMIN:
        record.admin_approved_by = principal.staff_id
        if record.verified_by is None:
            record.verified_by, record.verified_at = principal.staff_id, now
    else:
        record.verified_by, record.verified_at = principal.staff_id, now

    rate = community.coins_per_hour
    coins = record.minutes * rate // 60  # pro rata by minute, rounded down
    lines = [
        ledger.Line(hour_wallet.id, record.minutes),
        ledger.Line(issuance_account(session, community.id, Unit.HOUR).id, -record.minutes),
    ]
    if coins:
        lines += [
            ledger.Line(coin_wallet.id, coins),
            ledger.Line(issuance_account(session, community.id, Unit.COIN).id, -coins),
        ]
    station = get_station(session, record.station_id)
    posted = ledger.post(
        session,
        lines=lines,
        idempotency_key=f"service-record:{record.id}:approve",
        kind="volunteer_hours",
        community_id=community.id,
        memo=f"志愿服务 {record.activity_name}",
        actor_id=principal.staff_id,
        location=f"station:{station.id}",
        details={
            "description": f"{record.activity_name} · {station.name}",
            "service_record_id": record.id,
            "service_date": record.service_date.isoformat(),
            "minutes": record.minutes,
            "coins": coins,
            "coins_per_hour": rate,
            "volunteer_number": volunteer.volunteer_number,
        },
    )
    record.status = RecordStatus.APPROVED.value
    record.approved_at = now
    record.coins, record.coins_per_hour, record.transaction_id = coins, rate, posted.transaction_id
    session.flush()
    return record


def reject_service_record(session: Session, principal: Principal, record_id: int, *, reason: str) -> ServiceRecord:
    record = _locked_record(session, principal, record_id)
    if record.status != RecordStatus.PENDING.value:
        raise Conflict(f"the record is {record.status}, not pending", code="not_pending", status=record.status)
    record.status = RecordStatus.REJECTED.value
    record.rejected_by, record.reject_reason = principal.staff_id, reason
    session.flush()
    return record


def reverse_service_record(
    session: Session, principal: Principal, record_id: int, *, reason: str, now: dt.datetime | None = None
) -> ServiceRecord:
    """Undo an approved record with a ledger reversal (its hours then leave lifetime hours too)."""
    record = _locked_record(session, principal, record_id)
    if record.status != RecordStatus.APPROVED.value:
        raise Conflict(f"the record is {record.status}, not approved", code="not_approved", status=record.status)
    station = get_station(session, record.station_id)
    posted = ledger.reverse(
        session,
        transaction_id=record.transaction_id,
        idempotency_key=f"service-record:{record.id}:reverse",
        memo=reason,
        actor_id=principal.staff_id,
        location=f"station:{station.id}",
        details={
            "description": f"撤销 reversal: {record.activity_name} · {station.name}",
            "service_record_id": record.id,
            "reason": reason,
        },
    )
    record.status = RecordStatus.REVERSED.value
    record.reversed_by, record.reversed_at, record.reversal_reason = principal.staff_id, now or ledger.utcnow(), reason
    record.reversal_transaction_id = posted.transaction_id
    session.flush()
    return record
