"""Whom time-bank hours may be given to (转赠时间): family only (SPEC §2, "a parent's care paid by a
child's hours"). The giver names the receiver's relation to them, or, for someone in the giver's own
household (户), the household is the relation: it is taken from the household register, not typed,
and checked here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Invalid
from ..members.models import Member

# The receiver's family relation to the giver, as the giver names it.
NAMED_RELATIONS = ("parent", "child", "spouse", "grandparent", "grandchild", "sibling", "parent_in_law", "child_in_law")
# The receiver lives in the giver's household: family by the household register (同户家人).
HOUSEHOLD = "household"
RELATIONS = (*NAMED_RELATIONS, HOUSEHOLD)


def check_family(giver: Member, receiver: Member, relation: str) -> None:
    """Refuse a relation outside the family rule, and "household" for someone of another household."""
    if relation not in RELATIONS:
        raise Invalid("unknown family relation", code="invalid_relation", allowed=list(RELATIONS))
    if relation == HOUSEHOLD and (giver.household_id is None or receiver.household_id != giver.household_id):
        raise Invalid("the receiver is not in the giver's household", code="not_same_household")


def household_receivers(session: Session, member: Member) -> list[Member]:
    """The other active residents of the member's household, whom they may give hours to."""
    if member.household_id is None:
        return []
    return list(session.scalars(
        select(Member)
        .where(Member.household_id == member.household_id, Member.id != member.id, Member.active.is_(True))
        .order_by(Member.name, Member.id)
    ))
