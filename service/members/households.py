"""Households (户) as the office keeps them: who belongs and who heads it. Every change is
audit-logged. (The household wallet with who earned and spent each coin reads conduct and the market,
domains above this one: ``service.flows.household_wallet_view``.)"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..errors import Conflict
from ..rows import get_row
from .models import Household, Member
from .operations import get_household, get_member, register_household


def household_in_scope(session: Session, principal: Principal, household_id: int, *, lock: bool = False) -> Household:
    household = get_row(session, Household, household_id, what="household", lock=lock)
    principal.require_community(household.community_id, what="household")
    return household


def create_household(session: Session, principal: Principal, *, community_id: int, name: str, address: str = "",
                     head_member_id: int | None = None) -> Household:
    principal.require_writer_in(community_id)
    household = register_household(session, community_id=community_id, name=name, address=address)
    record_audit(session, principal=principal, action="household.create", target_type="household",
                 target_id=household.id, community_id=community_id, after={"name": name, "address": address})
    if head_member_id is not None:
        add_member(session, principal, household.id, head_member_id)
        set_head(session, principal, household.id, head_member_id)
    return household


def list_households(session: Session, principal: Principal, *, community_id: int | None = None, q: str | None = None,
                    limit: int = 50, before: int | None = None) -> list[dict]:
    """Households newest first, with how many members each has; ``q`` matches the name or address."""
    community_id = principal.listing_community(community_id)
    counts = (
        select(Member.household_id, func.count().label("members")).where(Member.household_id.is_not(None))
        .group_by(Member.household_id).subquery()
    )
    query = (
        select(Household, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.household_id == Household.id)
        .order_by(Household.id.desc())
        .limit(limit)
    )
    if community_id is not None:
        query = query.where(Household.community_id == community_id)
    if before:
        query = query.where(Household.id < before)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Household.name.like(pattern), Household.address.like(pattern)))
    return [{"household": h, "member_count": int(n)} for h, n in session.execute(query).all()]


def members_of(session: Session, household: Household) -> list[Member]:
    return session.scalars(select(Member).where(Member.household_id == household.id).order_by(Member.id)).all()


def update_household(session: Session, principal: Principal, household_id: int, changes: dict) -> Household:
    household = household_in_scope(session, principal, household_id, lock=True)
    principal.require_writer_in(household.community_id)
    if "head_member_id" in changes:
        head = changes.pop("head_member_id")
        if head is None:
            _change_head(session, principal, household, None)
        else:
            set_head(session, principal, household.id, head)
    before = {k: getattr(household, k) for k in changes}
    for key, value in changes.items():
        setattr(household, key, value)
    session.flush()
    if changes and before != changes:
        record_audit(session, principal=principal, action="household.update", target_type="household",
                     target_id=household.id, community_id=household.community_id, before=before, after=changes)
    return household


def add_member(session: Session, principal: Principal, household_id: int, member_id: int) -> Member:
    """Put a resident of the same community into the household (moving them out of another one)."""
    household = household_in_scope(session, principal, household_id, lock=True)
    principal.require_writer_in(household.community_id)
    member = get_row(session, Member, member_id, what="member", lock=True)
    principal.require_community(member.community_id, what="member")
    if member.community_id != household.community_id:
        raise Conflict("the resident belongs to another community", code="member_other_community")
    if member.household_id == household.id:
        return member
    previous = member.household_id
    if previous is not None:
        _leave(session, principal, get_household(session, previous), member)
    member.household_id = household.id
    session.flush()
    record_audit(session, principal=principal, action="household.add_member", target_type="household",
                 target_id=household.id, community_id=household.community_id,
                 before={"member_id": member.id, "household_id": previous},
                 after={"member_id": member.id, "household_id": household.id})
    return member


def remove_member(session: Session, principal: Principal, household_id: int, member_id: int) -> Member:
    household = household_in_scope(session, principal, household_id, lock=True)
    principal.require_writer_in(household.community_id)
    member = get_row(session, Member, member_id, what="member", lock=True)
    if member.household_id != household.id:
        raise Conflict("the resident is not in this household", code="not_a_household_member")
    _leave(session, principal, household, member)
    member.household_id = None
    session.flush()
    record_audit(session, principal=principal, action="household.remove_member", target_type="household",
                 target_id=household.id, community_id=household.community_id,
                 before={"member_id": member.id, "household_id": household.id},
                 after={"member_id": member.id, "household_id": None})
    return member


def _leave(session: Session, principal: Principal, household: Household, member: Member) -> None:
    """A head who leaves leaves the household without a head until one is named."""
    if household.head_member_id == member.id:
        _change_head(session, principal, household, None)


def set_head(session: Session, principal: Principal, household_id: int, member_id: int) -> Household:
    household = household_in_scope(session, principal, household_id, lock=True)
    principal.require_writer_in(household.community_id)
    member = get_member(session, member_id)
    if member.household_id != household.id:
        raise Conflict("the head must be a member of the household", code="not_a_household_member")
    _change_head(session, principal, household, member.id)
    return household


def _change_head(session: Session, principal: Principal, household: Household, member_id: int | None) -> None:
    if household.head_member_id == member_id:
        return
    before = household.head_member_id
    household.head_member_id = member_id
    session.flush()
    record_audit(session, principal=principal, action="household.set_head", target_type="household",
                 target_id=household.id, community_id=household.community_id,
                 before={"head_member_id": before}, after={"head_member_id": member_id})
