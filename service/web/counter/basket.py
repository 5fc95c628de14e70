"""The counter's basket, built the way a cashier with a queue works: one scan field takes the member
card or a product (barcode, SKU, name or pinyin initials); lines get + / − / remove; the total and the
balance after stay in a bar at the bottom; problems (too few coins, too little stock) show while the
basket is built; redeeming needs one deliberate confirm; "next customer" clears everything.

The page's behaviour is ``static/counter.js`` (no inline script: the policy allows this site's files
only). The card look-up is a POST, so a card code never appears in an address or a log line."""

from __future__ import annotations

from functools import lru_cache

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from pypinyin import Style, lazy_pinyin

from ...auth.access import access
from ...auth.models import Role
from ...errors import DomainError
from ...extensions import db
from ...market import helped
from ...market import operations as market
from ...market.schemas import MAX_LINE_QUANTITY, MarketRedemptionCreateSchema
from ...privacy import mask_name
from ..core import bp, error_text, principal
from ..forms import FormInvalid, form_values, ledger_key, once
from . import COUNTER, lookup_resident, problem_lines, stock_level, this_supermarket
from .shift import current_shift, shift_open_page


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


@lru_cache(maxsize=4096)
def initials(name: str) -> str:
    """Pinyin initials of a product name (大米 -> dm), so a cashier can type a few letters."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()


def catalogue_rows(products) -> list[dict]:
    return [
        {"id": p.id, "name": p.name, "sku": p.sku, "barcode": p.barcode or "", "price": p.price, "stock": p.stock,
         "unit": p.unit, "initials": initials(p.name), "level": stock_level(p.stock)}
        for p in products
    ]


def counter_words() -> dict:
    """What counter.js says, in the person's language (kept here so one catalogue translates it)."""
    return {
        "not_found": _("No card and no product matches “%(q)s”."),
        "no_resident": _("Scan the member card first."),
        "short": _("Not enough coins: %(n)s short."),
        "stock_only": _("only %(n)s in stock"),
        "out": _("out of stock"),
        "more_than_line": _("at most %(n)s per line"),
        "remove": _("Remove %(name)s"),
        "less": _("One less %(name)s"),
        "more": _("One more %(name)s"),
        "quantity": _("Quantity of %(name)s"),
        "items": _("%(n)s items"),
        "camera_none": _("This device has no camera we may use. Type the code instead."),
        "found": _("Card found: %(name)s"),
        "added": _("Added: %(name)s"),
        "level_in": _("in stock"),
        "level_low": _("few left"),
        "level_out": _("out of stock"),
        "acting_for": _("Acting for %(elder)s · helper %(helper)s"),
        "act_for": _("%(name)s · %(coins)s coins, %(left)s left this month"),
        "over_cap": _("Over the helper's monthly limit: %(n)s coins left this month."),
        "for_elder": _("%(elder)s (by helper %(helper)s)"),
        "scan_helper": _("Now scan the helper's card."),
        "not_helper": _("This card is not a named helper of %(name)s: nothing changed."),
        "max_line": MAX_LINE_QUANTITY,
    }


@bp.route("/counter", methods=["GET", "POST"])
@access(*COUNTER)
def counter():
    """The basket page; POST (from the confirm step) redeems it once per form key. With no shift open
    the page asks for one (a basket made here always belongs to a shift)."""
    who = principal()
    supermarket = this_supermarket()
    shift = current_shift()
    if shift is None:
        if request.method == "POST":
            return shift_open_page(error_text(DomainError("no shift", code="shift_required")), 409)
        return shift_open_page()
    card_code = (request.form.get("card_code") or "").strip()
    acting_for = (request.form.get("acting_for") or "").strip()
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
                if "lines" in exc.messages and not basket_lines(request.form):
                    raise DomainError("empty basket", code="empty_basket") from None
                if "lines" in exc.messages:
                    raise DomainError("bad quantity", code="invalid_quantity") from None
                raise FormInvalid(exc.messages) from None
            body = once(
                {"card_code": card_code, "paid_from": data["paid_from"], "lines": data["lines"],
                 "acting_for": acting_for},
                lambda s: {"id": redeem_here(s, who, data, acting_for).id},
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
    restored = {
        "card_code": card_code if resident else "",
        "resident": resident,
        "acting_for": int(acting_for) if acting_for.isdigit() and resident else None,
        "paid_from": values.get("paid_from", "member"),
        "lines": [[line["product_id"], line["quantity"]] for line in basket_lines(request.form)
                  if isinstance(line["quantity"], int)] if request.method == "POST" else [],
        "form_key": values.get("form_key") or "",
    }
    return render_template(
        "counter/counter.html",
        supermarket=supermarket,
        shift=shift,
        catalogue=catalogue_rows(products),
        state=restored,
        words=counter_words(),
        error=error,
        problems=problems,
    ), status


def redeem_here(session, who, data: dict, acting_for: str):
    """The basket as the resident's own, or (``acting_for`` an elder's member id) by a named helper
    (代办): the scanned card is then the helper's and the elder's own coins pay."""
    if not acting_for:
        return market.redeem(session, who, idempotency_key=ledger_key(), **data)
    if not acting_for.isdigit():
        raise DomainError("acting for whom", code="member_not_found")
    return helped.redeem_for_elder(
        session, who, idempotency_key=ledger_key(), helper_card_code=data["card_code"], member_id=int(acting_for),
        lines=data["lines"], paid_from="member",
    )


@bp.post("/counter/resident")
@access(*COUNTER)
def counter_resident():
    """The resident behind a scanned card: masked name and coins (JSON for counter.js)."""
    card_code = (request.form.get("card_code") or "").strip()
    if not card_code:
        return jsonify(error=error_text(DomainError("no card", code="card_required"))), 422
    try:
        found = lookup_resident(card_code)
    except DomainError as exc:
        return jsonify(error=error_text(exc)), exc.status
    if found is None:
        return jsonify(error=error_text(DomainError("no member", code="member_not_found"))), 404
    return jsonify(resident={k: found.get(k) for k in ("member_id", "masked_name", "coins", "household_coins", "acting_for")},
                   card_code=card_code)


PAPER = {"58": "58", "80": "80"}


def receipt_page(receipt: dict):
    paper = PAPER.get(request.args.get("paper", ""), "80")
    return render_template("counter/receipt.html", receipt=receipt, paper=paper)


@bp.get("/counter/receipts/<int:redemption_id>")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_receipt(redemption_id: int):
    redemption = market.get_redemption(db.session, principal(), redemption_id)
    receipt = market.redemption_receipt(db.session, redemption)
    helper = helped.acted_by(db.session, redemption)
    return receipt_page({**receipt, "acted_by": mask_name(helper.name) if helper else None})


@bp.get("/counter/refund-receipts/<int:refund_id>")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_refund_receipt(refund_id: int):
    refund = market.get_refund(db.session, principal(), refund_id)
    return receipt_page(market.refund_receipt(db.session, refund))
