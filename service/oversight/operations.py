"""What the supervision committee (村务监督委员会) checks, read-only: every service record and every
good-conduct award of its community, with who recorded and who approved it, the note, the evidence
and the flags raised on it; by month and by person, a keyset page at a time.

Supervisors and administrators only, each within their own community (a city administrator may name
any). Flagging stays with ``conduct.supervision``; this module only reads.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..auth.access import Principal
from ..auth.models import Role, Staff
from ..conduct.disclosure import parse_month
from ..conduct.models import ConductAward, DisputeFlag
from ..errors import Forbidden
from ..listing import keyset_page, role_scoped
from ..members.models import Household, Member
from ..volunteering.models import RecordStatus, ServiceRecord

OVERSEERS = (Role.ADMIN, Role.SUPERVISOR)


def list_service_records(session: Session, principal: Principal, **filters) -> list[dict]:
    """Service records, newest first, each with its recorder, verifier and approver. ``filters``:
    ``community_id``, ``month`` (YYYY-MM), ``member_id``, ``person``, ``limit``, ``before``."""
    records = _page(session, principal, ServiceRecord, ServiceRecord.service_date,
                    lambda members, _households: ServiceRecord.volunteer_id.in_(members), **filters)
    staff = _staff_names(session, [(r.recorded_by, r.verified_by, r.admin_approved_by, r.rejected_by, r.reversed_by)
                                   for r in records])
    members = _members(session, {r.volunteer_id for r in records})
    flags = _flags(session, DisputeFlag.service_record_id, [r.id for r in records])
    return [
        {
            "id": r.id, "community_id": r.community_id, "date": r.service_date, "status": r.status,
            "person": members.get(r.volunteer_id), "activity": r.activity_name, "minutes": r.minutes,
            "coins": r.coins, "late_entry": r.late_entry, "evidence": r.evidence,
            "recorded_by": _who(staff, r.recorded_by), "recorded_at": r.created_at,
            "verified_by": _who(staff, r.verified_by),
            "approved_by": _who(staff, r.admin_approved_by or r.verified_by)
            if r.status in (RecordStatus.APPROVED.value, RecordStatus.REVERSED.value) else None,
            "approved_at": r.approved_at,
            "rejected_by": _who(staff, r.rejected_by), "reject_reason": r.reject_reason,
            "reversed_by": _who(staff, r.reversed_by), "reversal_reason": r.reversal_reason,
            "flags": flags.get(r.id, []),
        }
        for r in records
    ]


def list_awards(session: Session, principal: Principal, **filters) -> list[dict]:
    """Good-conduct awards and deductions, newest first, filtered as ``list_service_records``. An
    award has no approver: it is announced (公示) and credited when its notice period ends unless a
    supervisor flags it."""
    awards = _page(
        session, principal, ConductAward, ConductAward.award_date,
        lambda members, households: or_(ConductAward.member_id.in_(members),
                                        ConductAward.earned_by_member_id.in_(members),
                                        ConductAward.household_id.in_(households)),
        **filters,
    )
    staff = _staff_names(session, [(a.awarded_by, a.reversed_by) for a in awards])
    members = _members(session, {a.member_id or a.earned_by_member_id for a in awards} - {None})
    households = dict(session.execute(
        select(Household.id, Household.name).where(Household.id.in_({a.household_id for a in awards} - {None}))
    ).all())
    flags = _flags(session, DisputeFlag.award_id, [a.id for a in awards])
    return [
        {
            "id": a.id, "community_id": a.community_id, "date": a.award_date, "status": a.status,
            "person": members.get(a.member_id or a.earned_by_member_id),
            "household": {"id": a.household_id, "name": households.get(a.household_id)} if a.household_id else None,
            "indicator": a.indicator_name, "indicator_code": a.indicator_code, "category": a.category,
            "points": a.points, "amount_posted": a.amount_posted, "shortfall": a.shortfall,
            "note": a.note, "evidence": a.evidence,
            "recorded_by": _who(staff, a.awarded_by), "recorded_at": a.created_at,
            "credit_due_on": a.credit_due_on, "credited_at": a.credited_at,
            "reversed_by": _who(staff, a.reversed_by), "reversal_reason": a.reversal_reason,
            "flags": flags.get(a.id, []),
        }
        for a in awards
    ]


def _page(session, principal: Principal, model, date_column, of_people, *, community_id=None, month=None,
          member_id=None, person=None, limit=50, before=None) -> list:
    """One keyset page of ``model`` the caller oversees, by month of ``date_column`` and by person
    (``of_people(member_ids, household_ids)`` is the condition for the people found)."""
    if principal.role not in OVERSEERS:
        raise Forbidden("only supervisors and administrators see this list")
    query = role_scoped(select(model), principal, model, community_id=community_id)
    if month:
        first, after = parse_month(month)
        query = query.where(date_column >= first, date_column < after)
    people = _people(session, principal, community_id, member_id, person)
    if people is not None:
        query = query.where(of_people(*people))
    return keyset_page(session, query, model, limit=limit, before=before)


def _people(session, principal, community_id, member_id, person) -> tuple[list[int], list[int]] | None:
    """The members (and households) a person filter names: an id, or a volunteer number or name."""
    if member_id is None and not person:
        return None
    query = role_scoped(select(Member.id, Member.household_id), principal, Member, community_id=community_id)
    if member_id is not None:
        query = query.where(Member.id == member_id)
    if person:
        text = person.strip()
        query = query.where(or_(Member.volunteer_number == text.upper(), Member.name == text))
    found = session.execute(query.limit(100)).all()
    return [m for m, _h in found], [h for _m, h in found if h is not None]


def _staff_names(session: Session, groups: list[tuple]) -> dict[int, str]:
    ids = {i for group in groups for i in group if i}
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())


def _who(names: dict[int, str], staff_id: int | None) -> dict | None:
    return {"id": staff_id, "name": names.get(staff_id, "")} if staff_id else None


def _members(session: Session, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = session.execute(select(Member.id, Member.name, Member.volunteer_number).where(Member.id.in_(ids))).all()
    return {i: {"id": i, "name": name, "volunteer_number": number} for i, name, number in rows}


def _flags(session: Session, column, ids: list[int]) -> dict[int, list[dict]]:
    if not ids:
        return {}
    found: dict[int, list[dict]] = {}
    for flag in session.scalars(select(DisputeFlag).where(column.in_(ids)).order_by(DisputeFlag.id)):
        found.setdefault(getattr(flag, column.key), []).append(
            {"id": flag.id, "status": flag.status, "reason": flag.reason, "flagged_at": flag.flagged_at}
        )
    return found


def flag_subjects(session: Session, flags: list[DisputeFlag]) -> dict[int, dict]:
    """What each flag is about, as the alerts page shows it: the date, the person (or household), and
    an award's indicator and points or a service record's activity and minutes."""
    award_ids = {f.award_id for f in flags if f.award_id}
    record_ids = {f.service_record_id for f in flags if f.service_record_id}
    awards = {a.id: a for a in session.scalars(select(ConductAward).where(ConductAward.id.in_(award_ids)))}
    records = {r.id: r for r in session.scalars(select(ServiceRecord).where(ServiceRecord.id.in_(record_ids)))}
    members = _members(session, ({a.member_id or a.earned_by_member_id for a in awards.values()}
                                 | {r.volunteer_id for r in records.values()}) - {None})
    households = dict(session.execute(select(Household.id, Household.name).where(
        Household.id.in_({a.household_id for a in awards.values()} - {None}))).all())
    subjects = {}
    for flag in flags:
        if flag.award_id in awards:
            a = awards[flag.award_id]
            subjects[flag.id] = {"kind": "award", "date": a.award_date, "person": members.get(a.member_id or a.earned_by_member_id),
                                 "household": households.get(a.household_id), "what": a.indicator_name, "points": a.points}
        elif flag.service_record_id in records:
            r = records[flag.service_record_id]
            subjects[flag.id] = {"kind": "service_record", "date": r.service_date, "person": members.get(r.volunteer_id),
                                 "household": None, "what": r.activity_name, "minutes": r.minutes}
    return subjects
