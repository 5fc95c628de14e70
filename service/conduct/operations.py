"""Awards and deductions (奖励与扣分): monthly caps, the budget check and the public notice period.

Indicators live in ``indicators.py``, issuance budgets in ``budgets.py``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from ..auth.access import Principal
from ..auth.models import Role
from ..community.operations import get_community, get_station, issuance_account
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..listing import community_page, given
from ..localtime import today as local_today
from ..members.lifecycle import require_active
from ..members.operations import get_household, get_member, household_wallet, member_wallet
from ..rows import get_row
from .budgets import check_budget
from .indicators import get_indicator
from .models import AwardStatus, Beneficiary, ConductAward

AWARD_WRITERS = (Role.ADMIN, Role.STATION_STAFF)


def _wallet_for(session: Session, award: ConductAward) -> ledger.Account:
    if award.household_id is not None:
        return household_wallet(session, get_household(session, award.household_id))
    return member_wallet(session, get_member(session, award.member_id), Unit.COIN)


def _month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def create_award(
    session: Session,
    principal: Principal,
    *,
    indicator_id: int,
    note: str,
    member_id: int | None = None,
    household_id: int | None = None,
    earned_by_member_id: int | None = None,
    evidence: str = "",
    station_id: int | None = None,
    today: dt.date | None = None,
) -> ConductAward:
    """Award (or deduct) an indicator's points to a member or household.

    The points are copied onto the award. With a notice period (公示期) the award is ``announced``
    and credited by ``credit_due_awards``; otherwise it is credited now.
    """
    today = today or local_today()
    indicator = get_indicator(session, principal, indicator_id)
    community = get_community(session, indicator.community_id)
    if principal.role not in AWARD_WRITERS:
        raise Forbidden("only station staff and administrators award points")
    if not indicator.active:
        raise Invalid("the indicator is not active", code="indicator_inactive")
    if principal.role == Role.STATION_STAFF:
        if station_id not in (None, principal.station_id):
            raise Forbidden("you can act only for your own station")
        station_id = principal.station_id
    if station_id is not None:
        station = get_station(session, station_id)
        if station.community_id != community.id:
            raise Invalid("the station belongs to another community", code="station_other_community")

    if indicator.beneficiary == Beneficiary.HOUSEHOLD.value:
        if household_id is None or member_id is not None:
            raise Invalid("this indicator credits a household: give household_id", code="household_required")
        owner = get_household(session, household_id)
        if earned_by_member_id is not None:
            earner = get_member(session, earned_by_member_id)
            if earner.household_id != owner.id:
                raise Invalid("the earner is not a member of the household", code="earner_not_in_household")
    else:
        if member_id is None or household_id is not None:
            raise Invalid("this indicator credits a member: give member_id", code="member_required")
        if earned_by_member_id not in (None, member_id):
            raise Invalid("earned_by_member_id is for household awards", code="earner_for_households_only")
        owner = get_member(session, member_id)
        require_active(owner)  # a deactivated resident earns nothing
        earned_by_member_id = None
    if owner.community_id != community.id:
        # Answered like an unknown id: another community's residents are not this desk's to see.
        raise NotFound("household not found" if household_id is not None else "member not found")

    award = ConductAward(
        community_id=community.id,
        indicator_id=indicator.id,
        indicator_code=indicator.code,
        indicator_name=indicator.name,
        category=indicator.category,
        points=indicator.points,
        member_id=member_id,
        household_id=household_id,
        earned_by_member_id=earned_by_member_id,
        note=note,
        evidence=evidence or "",
        station_id=station_id,
        awarded_by=principal.staff_id,
        award_date=today,
        credit_due_on=today + dt.timedelta(days=community.notice_period_days),
        status=AwardStatus.ANNOUNCED.value,
    )
    # Awards to one beneficiary queue on their wallet, so the monthly cap holds under concurrency.
    wallet = _wallet_for(session, award)
    ledger.lock_accounts(session, [wallet.id])
    if indicator.monthly_cap_points:
        first, last = _month_bounds(today)
        owner_column = ConductAward.household_id if household_id is not None else ConductAward.member_id
        given = session.scalar(
            select(func.coalesce(func.sum(func.abs(ConductAward.points)), 0)).where(
                ConductAward.indicator_id == indicator.id,
                owner_column == owner.id,
                ConductAward.award_date >= first,
                ConductAward.award_date <= last,
                ConductAward.status != AwardStatus.REVERSED.value,
            )
        )
        if int(given) + abs(indicator.points) > indicator.monthly_cap_points:
            raise Invalid(
                "the monthly cap of this indicator for this beneficiary is reached",
                code="monthly_cap_reached",
                cap=indicator.monthly_cap_points, given=int(given), points=indicator.points,
            )
    if indicator.points > 0:
        check_budget(session, community.id, today, indicator.points)
    session.add(award)
    session.flush()
    if community.notice_period_days <= 0:
        _credit(session, award)
    return award


def _credit(session: Session, award: ConductAward, *, now: dt.datetime | None = None) -> None:
    """Post the award. A deduction takes at most what the wallet holds; the rest is the shortfall."""
    wallet = _wallet_for(session, award)
    source = issuance_account(session, award.community_id, Unit.COIN)
    if award.points > 0:
        amount, kind = award.points, "conduct_award"
    else:
        held = ledger.lock_accounts(session, [wallet.id]).get(wallet.id, 0)
        amount, kind = -min(held, -award.points), "conduct_deduction"
        award.shortfall = -award.points + amount
    award.amount_posted = amount
    if amount:
        sign = "加分" if amount > 0 else "扣分"
        posted = ledger.post(
            session,
            lines=[ledger.Line(wallet.id, amount), ledger.Line(source.id, -amount)],
            idempotency_key=f"conduct-award:{award.id}:credit",
            kind=kind,
            community_id=award.community_id,
            memo=award.note,
            actor_id=award.awarded_by,
            location=f"station:{award.station_id}" if award.station_id else None,
            details={
                "description": f"{sign} {award.indicator_name} ({award.indicator_code})",
                "award_id": award.id,
                "indicator_code": award.indicator_code,
                "points": award.points,
                "shortfall": award.shortfall,
                "earned_by_member_id": award.earned_by_member_id,
            },
        )
        award.transaction_id = posted.transaction_id
    award.status = AwardStatus.CREDITED.value
    award.credited_at = now or ledger.utcnow()
    session.flush()


def credit_due_awards(session: Session, today: dt.date) -> int:
    """Credit every announced award whose notice period has ended by ``today`` (disputed ones wait).

    For the nightly worker; safe to run twice or concurrently (row locks, and each posting's ledger
    key derives from the award id). Returns how many awards were credited.
    """
    due = session.scalars(
        select(ConductAward)
        .where(ConductAward.status == AwardStatus.ANNOUNCED.value, ConductAward.credit_due_on <= today)
        .order_by(ConductAward.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    credited = 0
    for award in due:
        if award.status != AwardStatus.ANNOUNCED.value:
            continue
        _credit(session, award)
        credited += 1
    return credited


def get_award(session: Session, principal: Principal, award_id: int) -> ConductAward:
    award = get_row(session, ConductAward, award_id, what="award")
    if principal.role == Role.RESIDENT:
        member = get_member(session, principal.member_id)
        if award.member_id != member.id and (award.household_id is None or award.household_id != member.household_id):
            raise NotFound("award not found")
    else:
        principal.require_community(award.community_id, what="award")
    return award


def list_awards(
    session: Session, principal: Principal, *, community_id=None, member_id=None, household_id=None,
    indicator_id=None, status=None, limit=50, before=None,
):
    own = None
    if principal.role == Role.RESIDENT:
        member = get_member(session, principal.member_id)
        own = ConductAward.member_id == member.id
        if member.household_id is not None:
            own = own | (ConductAward.household_id == member.household_id)
    filters = given(
        (ConductAward.member_id, member_id),
        (ConductAward.household_id, household_id),
        (ConductAward.indicator_id, indicator_id),
        (ConductAward.status, status),
    )
    return community_page(
        session, principal, ConductAward, *filters, community_id=community_id, own=own, limit=limit, before=before
    )


def reverse_award(session: Session, principal: Principal, award_id: int, reason: str) -> ConductAward:
    """Reverse an award (an administrator): a credited one through a ledger reversal; an announced
    or disputed one that was never posted is simply withdrawn. Kept, never deleted."""
    award = get_row(session, ConductAward, award_id, what="award", lock=True)
    principal.require_admin_of(award.community_id)
    if award.status == AwardStatus.REVERSED.value:
        raise Conflict("the award is already reversed", code="award_already_reversed")
    if award.transaction_id is not None:
        posted = ledger.reverse(
            session,
            transaction_id=award.transaction_id,
            idempotency_key=f"conduct-award:{award.id}:reverse",
            memo=reason,
            actor_id=principal.staff_id,
            details={
                "description": f"撤销 reversal: {award.indicator_name} ({award.indicator_code})",
                "award_id": award.id,
                "reason": reason,
            },
        )
        award.reversal_transaction_id = posted.transaction_id
    award.status = AwardStatus.REVERSED.value
    award.reversed_by, award.reversed_at, award.reversal_reason = principal.staff_id, ledger.utcnow(), reason
    session.flush()
    return award
