"""At the counter: find the resident by card or phone, and what the cashier may see of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from ..community.models import Supermarket
from ..errors import Invalid, NotFound
from ..members.models import Household, Member
from ..members.operations import household_wallet, member_wallet
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
    return [resident_summary(session, member) for member in members]


def resident_summary(session: Session, member: Member) -> dict:
    household_coins = None
    if member.household_id:
        household_coins = _fresh_balance(session, household_wallet(session, session.get(Household, member.household_id)).id)
    return {
        "member_id": member.id,
        "masked_name": mask_name(member.name),
        "coins": _fresh_balance(session, member_wallet(session, member, Unit.COIN).id),
        "household_id": member.household_id,
        "household_coins": household_coins,
    }


def _fresh_balance(session: Session, account_id: int) -> int:
    # A column read, not the ORM object: postings update balances behind the identity map.
    return int(session.scalar(select(ledger.Account.balance).where(ledger.Account.id == account_id)))
