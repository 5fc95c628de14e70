"""At the counter: find the resident by card or phone, and what the cashier may see of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..community.models import Supermarket
from ..errors import Invalid, NotFound
from ..members.models import Member
from ..members.operations import Wallets, wallets_of
from ..privacy import mask_name


def find_residents(
    session: Session, supermarket: Supermarket, *, card_code: str | None = None, phone: str | None = None
) -> list[dict]:
    """Cashier look-up by card code (as the QR gives it) or phone: masked name and coins only."""
    if bool(card_code) == bool(phone):
        raise Invalid("give exactly one of card_code and phone", code="one_lookup_key_required")
    query = select(Member).where(Member.community_id == supermarket.community_id, Member.active.is_(True))
    query = query.where(Member.card_code == card_code) if card_code else query.where(Member.phone == phone)
    members = session.scalars(query.order_by(Member.id).limit(20)).all()
    if not members:
        raise NotFound("no resident of this community has that card or phone", code="member_not_found")
    wallets = wallets_of(session, [m.id for m in members])  # one read for a family's shared phone
    return [resident_summary(member, wallets[member.id]) for member in members]


def resident_summary(member: Member, wallets: Wallets) -> dict:
    """What the cashier sees of a resident: masked name, their coins and their household's."""
    return {
        "member_id": member.id,
        "masked_name": mask_name(member.name),
        "coins": wallets.coins,
        "household_id": member.household_id,
        "household_coins": wallets.household_coins if member.household_id else None,
    }
