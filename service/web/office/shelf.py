"""The office keeps the shelf true: a product's page (rename, barcode, on or off sale, a new price from a
date) and the stock-take (盘点) of a supermarket, whose differences are recorded stock movements."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...errors import Invalid
from ...extensions import db
from ...market import operations as market
from ...market import shelf
from ...market.schemas import PriceChangeCreateSchema, ProductUpdateSchema
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed, load_form
from . import OFFICE, office_page

ERROR_MESSAGES.update(
    {
        "price_change_in_past": _l("A new price starts today or later; past baskets keep their price."),
        "stock_take_reason_mismatch": _l(
            "Damaged, expired or lost goods can only lower a count, found goods only raise it: count those "
            "products in a stock-take of their own."
        ),
        "empty_stock_take": _l("Enter the count of at least one product."),
    }
)
REASONS = {"damaged": _l("damaged"), "expired": _l("expired"), "lost": _l("lost"), "found": _l("found")}


@bp.route("/office/products/<int:product_id>", methods=["GET", "POST"])
@access(*OFFICE)
def office_product(product_id: int):
    who = principal()
    product = market.get_product(db.session, product_id)
    who.require_community(product.community_id, what="product")
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(product.community_id)
        try:
            if request.form.get("action") == "price":
                data = load_form(PriceChangeCreateSchema())
                db.run(lambda s: shelf.change_price(s, who, product.id, **data))
            else:
                changes = load_form(ProductUpdateSchema())
                if request.form.get("action") == "sale":
                    changes = {"active": not product.active}
                db.run(lambda s: market.update_product(s, who, product.id, changes))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.office_product", product_id=product.id, community=product.community_id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    return office_page(
        "admin/product.html", status, product=product, changes=shelf.price_changes(db.session, who, product.id),
        today=shelf.local_today(), error=error, field_errors=field_errors, values=values,
    )


@bp.route("/office/supermarkets/<int:supermarket_id>/stock-take", methods=["GET", "POST"])
@access(*OFFICE)
def office_stock_take(supermarket_id: int):
    who = principal()
    shop = market.get_supermarket(db.session, supermarket_id)
    who.require_community(shop.community_id, what="supermarket")
    products = market.list_products(db.session, who, supermarket_id=shop.id, include_inactive=True)
    error, status = None, 200
    if request.method == "POST":
        try:
            lines = [
                {"product_id": p.id, "counted": int(request.form[f"count-{p.id}"])}
                for p in products
                if request.form.get(f"count-{p.id}", "").strip().isdigit()
            ]
            if not lines:
                raise Invalid("no counts", code="empty_stock_take")
            reason = request.form.get("reason", "")
            note = request.form.get("note", "").strip()[:1000]
            db.run(lambda s: shelf.take_stock(s, who, supermarket_id=shop.id, reason=reason, lines=lines, note=note))
            flash(_("Stock-take recorded."), "ok")
            return redirect(url_for("web.office_stock_take", supermarket_id=shop.id, community=shop.community_id))
        except PROBLEMS as exc:
            error, _fields, _values, status = failed(exc)
    takes = [shelf.stock_take_view(db.session, t) for t in shelf.list_stock_takes(db.session, who, supermarket_id=shop.id, limit=10)]
    return office_page(
        "admin/stock_take.html", status, shop=shop, products=products, takes=takes, reasons=REASONS, error=error,
        names={p.id: p.name for p in products},
    )
