"""The cashier counter of a love supermarket (爱心超市): find the resident by card code (a QR
scanner types it), see the masked name and coins, build a basket from the catalogue, redeem, print
the receipt; refund; the shift close-out. All rules are the market operations'."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..auth.access import access
from ..auth.models import Role
from ..errors import DomainError
from ..extensions import db
from .core import (
    ERROR_MESSAGES,
    FormInvalid,
    bp,
    error_message,
    error_text,
    form_values,
    ledger_key,
    once,
    principal,
)

COUNTER = (Role.CASHIER,)

ERROR_MESSAGES.update(
    {
        "card_required": _l("Scan or type the card code and press Find first."),
        "member_not_found": _l("No resident of this community has this card."),
        "member_inactive": _l("This resident's card is deactivated."),
        "no_household": _l("This resident belongs to no household."),
        "empty_basket": _l("The basket is empty: enter a quantity for at least one product."),
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


def _ops():
    from ..market import operations

    return operations


def _supermarket():
    return _ops().supermarket_for(db.session, principal(), None)


def _lookup(card_code: str) -> dict | None:
    """The resident behind a card code: masked name and coins only (as the API's look-up)."""
    found = _ops().find_residents(db.session, _supermarket(), card_code=card_code)
    return found[0] if found else None


def basket_lines(form) -> list[dict]:
    lines = []
    for name, value in form.items():
        if name.startswith("qty_") and value.strip() not in ("", "0"):
            product_id = name[4:]
            if not product_id.isdigit():
                continue
            quantity = int(value) if value.strip().isdigit() else value
            lines.append({"product_id": int(product_id), "quantity": quantity})
    return sorted(lines, key=lambda line: line["product_id"])


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


@bp.route("/counter", methods=["GET", "POST"])
@access(*COUNTER)
def counter():
    """Card look-up (htmx swaps in the resident panel) and the basket; POST redeems it."""
    from ..market.schemas import MarketRedemptionCreateSchema

    ops = _ops()
    who = principal()
    supermarket = _supermarket()
    card_code = (request.values.get("card_code") or "").strip()
    error, problems, values, status, resident = None, [], {}, 200, None
    if request.method == "POST":
        try:
            if not card_code:
                raise DomainError("no card", code="card_required")
            try:
                data = MarketRedemptionCreateSchema().load(
                    {"card_code": card_code, "paid_from": request.form.get("paid_from", "member"),
                     "lines": basket_lines(request.form)}
                )
            except ValidationError as exc:
                if "lines" in exc.messages:
                    raise DomainError("empty basket", code="empty_basket") from None
                raise FormInvalid(exc.messages) from None
            body = once(
                {"card_code": card_code, "paid_from": data["paid_from"], "lines": data["lines"]},
                lambda s: {"id": ops.redeem(s, who, idempotency_key=ledger_key(), **data).id},
            )
            return redirect(url_for("web.counter_receipt", redemption_id=body["id"]))
        except FormInvalid as exc:
            error, values, status = next(iter(exc.fields.values())), form_values(), 422
        except DomainError as exc:
            error, problems, values, status = error_text(exc), problem_lines(exc), form_values(), exc.status
    if card_code:
        try:
            resident = _lookup(card_code)
        except DomainError as exc:
            error = error or error_text(exc)
    products = ops.list_products(db.session, who, supermarket_id=supermarket.id, include_inactive=False)
    template = "counter/_resident.html" if request.headers.get("HX-Request") else "counter/counter.html"
    return render_template(
        template,
        supermarket=supermarket,
        card_code=card_code,
        resident=resident,
        products=products,
        error=error,
        problems=problems,
        values=values,
    ), status


@bp.get("/counter/receipts/<int:redemption_id>")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_receipt(redemption_id: int):
    ops = _ops()
    redemption = ops.get_redemption(db.session, principal(), redemption_id)
    return render_template("counter/receipt.html", receipt=ops.redemption_receipt(db.session, redemption))


@bp.get("/counter/refund-receipts/<int:refund_id>")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_refund_receipt(refund_id: int):
    ops = _ops()
    refund = ops.get_refund(db.session, principal(), refund_id)
    return render_template("counter/receipt.html", receipt=ops.refund_receipt(db.session, refund))


@bp.get("/counter/refunds")
@access(*COUNTER)
def counter_refunds():
    """Recent baskets of this supermarket, to pick the one to refund."""
    ops = _ops()
    supermarket = _supermarket()
    number = request.args.get("number", "").strip()
    redemptions = ops.list_redemptions(db.session, principal(), supermarket_id=supermarket.id, limit=30)
    views = [ops.redemption_view(db.session, r) for r in redemptions]
    if number:
        views = [v for v in views if number in v["number"]]
    return render_template("counter/refunds.html", redemptions=views, number=number)


@bp.route("/counter/refunds/<int:redemption_id>", methods=["GET", "POST"])
@access(*COUNTER)
def counter_refund(redemption_id: int):
    """Refund the whole basket or some items, with a reason; coins and stock go back."""
    ops = _ops()
    who = principal()
    error, problems, values, status = None, [], {}, 200
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        lines = [
            {"line_id": int(name[5:]), "quantity": int(value)}
            for name, value in sorted(request.form.items())
            if name.startswith("line_") and name[5:].isdigit() and value.strip().isdigit() and int(value) > 0
        ]
        whole = request.form.get("whole") == "1"
        try:
            if not reason:
                raise DomainError("reason", code="reason_required")
            if not whole and not lines:
                raise DomainError("empty", code="empty_refund")
            body = once(
                {"redemption_id": redemption_id, "reason": reason, "lines": None if whole else lines},
                lambda s: {
                    "id": ops.refund_redemption(
                        s, who, redemption_id=redemption_id, reason=reason,
                        idempotency_key=ledger_key(), lines=None if whole else lines,
                    ).id
                },
            )
            flash(_("Refunded: the coins are back in the wallet."), "ok")
            return redirect(url_for("web.counter_refund_receipt", refund_id=body["id"]))
        except DomainError as exc:
            error, problems, values, status = error_text(exc), problem_lines(exc), form_values(), exc.status
    redemption = ops.get_redemption(db.session, who, redemption_id)
    return render_template(
        "counter/refund.html",
        redemption=ops.redemption_view(db.session, redemption),
        error=error,
        problems=problems,
        values=values,
    ), status


@bp.get("/counter/close-out")
@access(*COUNTER)
def counter_close_out():
    """Shift close-out (交班): today's baskets and refunds of this cashier, print-ready."""
    sheet = _ops().close_out(db.session, principal(), supermarket_id=_supermarket().id)
    return render_template("counter/close_out.html", sheet=sheet)


@bp.get("/counter/close-out.csv")
@access(*COUNTER)
def counter_close_out_csv():
    from ..market.documents import close_out_csv

    return close_out_csv(_ops().close_out(db.session, principal(), supermarket_id=_supermarket().id))
