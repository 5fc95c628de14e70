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
    }
)


def this_supermarket():
    return market.supermarket_for(db.session, principal(), None)


def lookup_resident(card_code: str) -> dict | None:
    """The resident behind a card code: masked name and coins only (as the API's look-up)."""
    found = market.find_residents(db.session, this_supermarket(), card_code=normalise_card_code(card_code))
    return found[0] if found else None


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
    wallet = exc.details.get("wallet")
    if wallet:
        sentences.append(
            _("The wallet holds %(balance)s coins, the basket costs %(total)s.",
              balance=wallet.get("balance"), total=wallet.get("required"))
        )
    return sentences
