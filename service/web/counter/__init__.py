"""The cashier counter of a love supermarket (爱心超市): find the resident by card code (a QR
scanner types it), see the masked name and coins, build a basket, redeem, print the receipt; refund;
the shift close-out. All rules are the market operations'."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...auth.models import Role
from ...errors import DomainError
from ...extensions import db
from ...market import operations as market
from ...members.cards import normalise_card_code
from ...members.models import Member
from ...proxies.operations import helped_elders
from ..core import ERROR_MESSAGES, error_message, principal

COUNTER = (Role.CASHIER,)

ERROR_MESSAGES.update(
    {
        "card_required": _l("Scan the member card first."),
        "member_not_found": _l("No resident of this community has this card."),
        "member_inactive": _l("This resident's card is deactivated."),
        "no_household": _l("This resident belongs to no household."),
        "empty_basket": _l("The basket is empty: scan or search a product first."),
        "invalid_quantity": _l("A quantity is not right: whole numbers from 1 to 1000 per line."),
        "barcode_taken": _l("This barcode is already in the catalogue."),
        "basket_refused": _l("The basket was not redeemed, nothing was taken."),
        "supermarket_inactive": _l("This supermarket is closed."),
        "out_of_stock": _l("not enough in stock"),
        "inactive_product": _l("not on sale"),
        "unknown_product": _l("unknown product"),
        "unknown_sku": _l("unknown product"),
        "wrong_supermarket": _l("from another supermarket"),
        "reason_required": _l("Please give the reason for the refund."),
        "already_refunded": _l("This basket has been refunded in full already."),
        "empty_refund": _l("Choose at least one item to refund."),
        "refund_refused": _l("The refund was not made, nothing was changed."),
        "line_already_refunded": _l("already refunded"),
        "refund_exceeds_quantity": _l("more than is left to refund"),
        "sku_taken": _l("This SKU is already in the catalogue."),
        "shift_required": _l("Open a shift first: nothing was redeemed."),
        "shift_counts_required": _l("Give both counts as whole numbers (0 or more)."),
        "shift_closed": _l("This shift was closed already with other counts."),
        "helper_cap_exceeded": _l("This basket would pass the helper's monthly limit: nothing was taken."),
        "helper_revoked": _l("This helper's authority was withdrawn: they can no longer act for this resident."),
        "not_a_helper": _l("This person is not a named helper of this resident."),
        "helper_not_found": _l("No resident of this community has this card."),
        "helper_member_wallet_only": _l("A helper spends only the resident's own coins."),
        "helper_is_elder": _l("A resident cannot act for themself."),
    }
)


def this_supermarket():
    return market.supermarket_for(db.session, principal(), None)


def lookup_resident(card_code: str) -> dict | None:
    """The resident behind a card code: masked name and coins only (as the API's look-up), and the
    elders they may act for as a named helper (代办)."""
    found = market.find_residents(db.session, this_supermarket(), card_code=normalise_card_code(card_code))
    if not found:
        return None
    helper = db.session.get(Member, found[0]["member_id"])
    return {**found[0], "acting_for": helped_elders(db.session, helper)}


def stock_level(stock: int) -> str:
    """有货 / 少量 / 缺货: what a resident or cashier needs to know, not the exact count."""
    if stock <= 0:
        return "out"
    return "low" if stock <= market.FEW_LEFT_AT else "in"


def problem_lines(exc: DomainError) -> list[str]:
    """One plain sentence per refused basket or refund line, plus the wallet's problem."""
    sentences = []
    for problem in exc.details.get("lines") or []:
        label = problem.get("name") or problem.get("sku") or problem.get("line_id") or ""
        sentences.append(f"{label}: {error_message(problem)}")
    if exc.code == "helper_cap_exceeded":
        sentences.append(_("%(left)s coins are left this month; the basket costs %(total)s.",
                           left=exc.details.get("left"), total=exc.details.get("required")))
    wallet = exc.details.get("wallet")
    if wallet:
        sentences.append(
            _("The wallet holds %(balance)s coins, the basket costs %(total)s.",
              balance=wallet.get("balance"), total=wallet.get("required"))
        )
    return sentences
