"""A basket redeemed by a named helper (代办) for an elder, at the counter.

The cashier scans the helper's card and chooses the elder the helper acts for (or the API names both).
The basket is charged to the elder's own coins (never the household's: a helper sees only the elder's
coins); the elder is the basket's resident, and the helper is recorded twice: as
``acted_by_member_id`` in the ledger posting (the elder's statement says "由X代办") and as a
``HelperAction`` of the grant. The grant row is locked before the basket, so a helper's concurrent
baskets for one elder queue, and the month's coins are summed after the basket's total is known: a
basket that would pass the monthly coin cap is refused (409) and nothing is written.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import Transaction

from ..auth.access import Principal
from ..errors import Invalid, NotFound
from ..members.models import Member
from ..proxies.operations import live_grant, record_helper_action, require_within_cap
from ..rows import get_row
from .counter import redeem
from .models import Redemption
from .scope import supermarket_for


def find_helper(session: Session, community_id: int, *, card_code: str | None = None,
                member_id: int | None = None) -> Member:
    """The helper, by card (as scanned) or id, among the active residents of the community."""
    if (card_code is None) == (member_id is None):
        raise Invalid("name the helper by exactly one of helper_card_code and helper_member_id",
                      code="one_helper_required")
    query = select(Member).where(Member.community_id == community_id)
    query = query.where(Member.card_code == card_code) if card_code else query.where(Member.id == member_id)
    helper = session.scalars(query).first()
    if helper is None:
        raise NotFound("no resident of this community has that card", code="helper_not_found")
    if not helper.active:
        raise Invalid("this helper's card is deactivated", code="member_inactive")
    return helper


def redeem_for_elder(
    session: Session,
    principal: Principal,
    *,
    lines: list[dict],
    idempotency_key: str,
    helper_card_code: str | None = None,
    helper_member_id: int | None = None,
    supermarket_id: int | None = None,
    member_id: int | None = None,
    card_code: str | None = None,
    paid_from: str = "member",
    note: str = "",
) -> Redemption:
    """Redeem a basket from the elder's coins on the helper's authority, within the monthly cap.
    The same key again answers the same basket (even if the helper was withdrawn since)."""
    if paid_from != "member":
        raise Invalid("a helper spends only the elder's own coins", code="helper_member_wallet_only")
    existing = session.scalar(
        select(Redemption.id).join(Transaction, Transaction.id == Redemption.transaction_id)
        .where(Transaction.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return redeem(session, principal, lines=lines, idempotency_key=idempotency_key, supermarket_id=supermarket_id,
                      member_id=member_id, card_code=card_code, paid_from=paid_from)
    supermarket = supermarket_for(session, principal, supermarket_id)
    helper = find_helper(session, supermarket.community_id, card_code=helper_card_code, member_id=helper_member_id)
    elder_query = select(Member.id).where(Member.community_id == supermarket.community_id)
    elder_query = elder_query.where(Member.id == member_id) if card_code is None else elder_query.where(
        Member.card_code == card_code)
    elder_id = session.scalar(elder_query)
    if elder_id is None:
        raise NotFound("no such resident in this supermarket's community", code="member_not_found")
    if elder_id == helper.id:
        raise Invalid("a resident cannot act for themself", code="helper_is_elder")
    grant = live_grant(session, elder_id=elder_id, helper_id=helper.id)
    redemption = redeem(
        session, principal, lines=lines, idempotency_key=idempotency_key, supermarket_id=supermarket.id,
        member_id=elder_id, paid_from="member", note=note,
        details={"acted_by_member_id": helper.id, "helper_grant_id": grant.id},
    )
    require_within_cap(session, grant, redemption.total)  # raising here rolls the basket back
    record_helper_action(session, grant, kind="redemption", transaction_id=redemption.transaction_id,
                         coins=redemption.total)
    redemption.acted_by_member_id = helper.id  # for the answer; the posting and the action keep it
    return redemption


def acted_by(session: Session, redemption: Redemption) -> Member | None:
    """The helper who redeemed this basket for its resident, if one did."""
    helper_id = (get_row(session, Transaction, redemption.transaction_id, what="transaction").details or {}).get(
        "acted_by_member_id")
    return session.get(Member, helper_id) if helper_id else None
