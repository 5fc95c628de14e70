"""The counter's basket: look the resident up by card code, pick quantities, redeem, print the receipt."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from ...auth.access import access
from ...auth.models import Role
from ...errors import DomainError
from ...extensions import db
from ...market import operations as market
from ...market.schemas import MarketRedemptionCreateSchema
from ..core import bp, error_text, principal
from ..forms import FormInvalid, form_values, ledger_key, once
from . import COUNTER, lookup_resident, problem_lines, this_supermarket


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


@bp.route("/counter", methods=["GET", "POST"])
@access(*COUNTER)
def counter():
    """Card look-up (htmx swaps in the resident panel) and the basket; POST redeems it."""
    who = principal()
    supermarket = this_supermarket()
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
                lambda s: {"id": market.redeem(s, who, idempotency_key=ledger_key(), **data).id},
            )
            return redirect(url_for("web.counter_receipt", redemption_id=body["id"]))
        except FormInvalid as exc:
            error, values, status = next(iter(exc.fields.values())), form_values(), 422
        except DomainError as exc:
            error, problems, values, status = error_text(exc), problem_lines(exc), form_values(), exc.status
    if card_code:
        try:
            resident = lookup_resident(card_code)
        except DomainError as exc:
            error = error or error_text(exc)
    products = market.list_products(db.session, who, supermarket_id=supermarket.id, include_inactive=False)
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
    redemption = market.get_redemption(db.session, principal(), redemption_id)
    return render_template("counter/receipt.html", receipt=market.redemption_receipt(db.session, redemption))


@bp.get("/counter/refund-receipts/<int:refund_id>")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_refund_receipt(refund_id: int):
    refund = market.get_refund(db.session, principal(), refund_id)
    return render_template("counter/receipt.html", receipt=market.refund_receipt(db.session, refund))
