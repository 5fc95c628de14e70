"""Indicators, awards and deductions, monthly caps, issuance budgets and the public notice period."""

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
from .models import AwardStatus, Beneficiary, ConductAward, Indicator, IssuanceBudget

# The default categories seen in the field (SPEC §2 "Good conduct"): code, 中文, English.
DEFAULT_CATEGORIES = [
    ("public_safety", "平安建设", "Public safety"),
    ("environment", "环境卫生", "Environment and hygiene"),
    ("public_welfare", "社会公益", "Public welfare"),
    ("neighbourliness", "邻里关系", "Neighbourliness"),
    ("family_harmony", "家庭和睦", "Family harmony"),
    ("elder_care", "孝老爱亲", "Caring for elders"),
    ("customs_reform", "移风易俗", "Reforming wasteful customs"),
]

# Example indicators a new community starts with (code, 名称, name, category, points, beneficiary,
# monthly cap in points); values follow the schemes in research/domain-rules.md, 1 point = 1 coin.
DEFAULT_INDICATORS = [
    ("PS-PATROL", "义务巡逻", "Voluntary patrol", "public_safety", 5, "member", 20),
    ("PS-REPORT", "举报安全隐患", "Reporting a hazard or crime", "public_safety", 10, "member", 30),
    ("PS-BRAVE", "见义勇为", "Acting bravely for others", "public_safety", 50, "member", None),
    ("PS-PACT", "违反村规民约", "Breaking the residents' pact", "public_safety", -50, "household", None),
    ("EN-TIDY", "家庭六齐", "A tidy household", "environment", 20, "household", 20),
    ("EN-SORT", "垃圾分类", "Sorting waste", "environment", 2, "household", 30),
    ("EN-DUMP", "乱倒垃圾", "Dumping rubbish", "environment", -20, "household", None),
    ("PW-BLOOD", "无偿献血", "Donating blood", "public_welfare", 20, "member", None),
    ("PW-DONATE", "爱心捐赠", "Charitable donation", "public_welfare", 10, "member", 30),
    ("NB-MEDIATE", "调解邻里纠纷", "Mediating a neighbours' dispute", "neighbourliness", 10, "member", 30),
    ("NB-MEETING", "参加村民会议", "Attending a village meeting", "neighbourliness", 2, "member", 4),
    ("FH-HARMONY", "和睦家庭", "A harmonious family", "family_harmony", 30, "household", 30),
    ("EC-CARE", "照料孤寡老人", "Caring for a lonely elder", "elder_care", 10, "member", 40),
    ("EC-NEGLECT", "不履行赡养义务", "Failing to support one's parents", "elder_care", -100, "household", None),
    ("CR-SIMPLE", "婚事新办丧事简办", "A simple wedding or funeral", "customs_reform", 30, "household", None),
    ("CR-BANQUET", "违规整酒", "A banned banquet", "customs_reform", -50, "household", None),
]

AWARD_WRITERS = (Role.ADMIN, Role.STATION_STAFF)


# --- indicators ---------------------------------------------------------------------------


def seed_default_indicators(session: Session, community_id: int) -> list[Indicator]:
    """Give a community the example indicators, once (a community that has any keeps its own)."""
    get_community(session, community_id)
    if session.scalars(select(Indicator.id).where(Indicator.community_id == community_id).limit(1)).first():
        return []
    made = [
        Indicator(
            community_id=community_id, code=code, name=name, name_en=name_en, category=category,
            points=points, beneficiary=beneficiary, monthly_cap_points=cap, active=True,
        )
        for code, name, name_en, category, points, beneficiary, cap in DEFAULT_INDICATORS
    ]
    session.add_all(made)
    session.flush()
    return made


def get_indicator(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    indicator = get_row(session, Indicator, indicator_id, what="indicator")
    principal.require_community(indicator.community_id, what="indicator")
    return indicator


def list_indicators(session: Session, principal: Principal, *, community_id=None, category=None, active=None):
    community_id = principal.listing_community(community_id)
    query = select(Indicator).order_by(Indicator.community_id, Indicator.id)
    for column, value in ((Indicator.community_id, community_id), (Indicator.category, category), (Indicator.active, active)):
        if value is not None:
            query = query.where(column == value)
    return session.scalars(query).all()


def create_indicator(session: Session, principal: Principal, *, community_id: int, code: str, **fields) -> Indicator:
    principal.require_admin_of(community_id)
    get_community(session, community_id)
    taken = select(Indicator.id).where(Indicator.community_id == community_id, Indicator.code == code)
    if session.scalars(taken).first():
        raise Conflict("the community already has an indicator with this code", code="indicator_code_taken")
    indicator = Indicator(community_id=community_id, code=code, **fields)
    session.add(indicator)
    session.flush()
    return indicator


def update_indicator(session: Session, principal: Principal, indicator_id: int, changes: dict) -> Indicator:
    """Change an indicator; past awards keep the points they were made with."""
    indicator = get_indicator(session, principal, indicator_id)
    principal.require_admin_of(indicator.community_id)
    for key in ("name", "name_en", "category", "points", "monthly_cap_points", "active", "beneficiary"):
        if key in changes:
            setattr(indicator, key, changes[key])
    session.flush()
    return indicator


# --- budgets ------------------------------------------------------------------------------


def budget_used(session: Session, budget: IssuanceBudget) -> int:
    """Bonus points awarded in the period and not reversed (announced ones included: promised)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(ConductAward.points), 0)).where(
                ConductAward.community_id == budget.community_id,
                ConductAward.points > 0,
                ConductAward.award_date >= budget.period_start,
                ConductAward.award_date <= budget.period_end,
                ConductAward.status != AwardStatus.REVERSED.value,
            )
        )
    )


def create_budget(
    session: Session, principal: Principal, *, community_id: int, period_start: dt.date, period_end: dt.date,
    coins: int, note: str = "",
) -> IssuanceBudget:
    principal.require_admin_of(community_id)
    get_community(session, community_id)
    if period_end < period_start:
        raise Invalid("the period ends before it starts", code="invalid_period")
    overlapping = select(IssuanceBudget.id).where(
        IssuanceBudget.community_id == community_id,
        IssuanceBudget.period_start <= period_end,
        IssuanceBudget.period_end >= period_start,
    )
    if session.scalars(overlapping).first():
        raise Conflict("another budget covers part of this period", code="budget_period_overlap")
    budget = IssuanceBudget(
        community_id=community_id, period_start=period_start, period_end=period_end, coins=coins, note=note,
        created_by=principal.staff_id,
    )
    session.add(budget)
    session.flush()
    return budget


def list_budgets(session: Session, principal: Principal, community_id: int | None):
    community_id = principal.listing_community(community_id)
    query = select(IssuanceBudget).order_by(IssuanceBudget.period_start)
    if community_id is not None:
        query = query.where(IssuanceBudget.community_id == community_id)
    return [budget_view(session, b) for b in session.scalars(query)]


def budget_view(session: Session, budget: IssuanceBudget) -> dict:
    used = budget_used(session, budget)
    return {
        "id": budget.id, "community_id": budget.community_id, "period_start": budget.period_start,
        "period_end": budget.period_end, "coins": budget.coins, "note": budget.note,
        "used": used, "remaining": budget.coins - used,
    }


def _check_budget(session: Session, community_id: int, day: dt.date, points: int) -> None:
    # The budget row is locked, so two awards racing for its last coins queue here.
    budget = session.scalars(
        select(IssuanceBudget)
        .where(
            IssuanceBudget.community_id == community_id,
            IssuanceBudget.period_start <= day,
            IssuanceBudget.period_end >= day,
        )
        .with_for_update()
    ).first()
    if budget is None:
        return
    used = budget_used(session, budget)
    if used + points > budget.coins:
        raise Conflict(
            "this award would exceed the community's issuance budget for the period",
            code="issuance_budget_exceeded",
            budget=budget.coins, used=used, requested=points, remaining=budget.coins - used,
            period_start=budget.period_start.isoformat(), period_end=budget.period_end.isoformat(),
        )


# --- awards -------------------------------------------------------------------------------


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
        _check_budget(session, community.id, today, indicator.points)
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
