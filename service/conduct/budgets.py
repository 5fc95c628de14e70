"""Issuance budgets: how many bonus coins a community may award in a period, and what is used."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth.access import Principal
from ..community.operations import get_community
from ..errors import Conflict, Invalid
from .models import AwardStatus, ConductAward, IssuanceBudget


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


def check_budget(session: Session, community_id: int, day: dt.date, points: int) -> None:
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
