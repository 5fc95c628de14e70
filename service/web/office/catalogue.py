"""What the community awards and offers: good-conduct indicators, the supermarkets' catalogue and
stock, and issuance budgets (积分总额控制). Administrators write; supervisors read."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...auth.access import access
from ...community.models import Supermarket
from ...conduct import budgets, indicators
from ...conduct.schemas import BudgetCreateSchema, IndicatorCreateSchema
from ...extensions import db
from ...market import operations as market
from ...market.schemas import ProductCreateSchema, StockReceiptCreateSchema
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed, load_form
from . import OFFICE, office_page, page_community

ERROR_MESSAGES.update(
    {
        "invalid_period": _l("The period ends before it starts."),
        "budget_period_overlap": _l("Another budget already covers part of this period."),
    }
)


# --- indicators -----------------------------------------------------------------------------------


@bp.route("/office/indicators", methods=["GET", "POST"])
@access(*OFFICE)
def admin_indicators():
    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(community.id)
        try:
            if request.form.get("action") == "seed":
                db.run(lambda s: indicators.seed_default_indicators(s, community.id))
            elif request.form.get("action") == "toggle":
                indicator_id = request.form.get("indicator_id", type=int)
                active = request.form.get("active") == "1"
                db.run(lambda s: indicators.update_indicator(s, who, indicator_id, {"active": active}))
            else:
                data = load_form(IndicatorCreateSchema(), extra={"community_id": community.id})
                db.run(lambda s: indicators.create_indicator(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_indicators", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    return office_page(
        "admin/indicators.html",
        status,
        community=community,
        indicators=indicators.list_indicators(db.session, who, community_id=community.id),
        categories=indicators.DEFAULT_CATEGORIES,
        error=error,
        field_errors=field_errors,
        values=values,
    )


# --- catalogue ------------------------------------------------------------------------------------


@bp.route("/office/catalogue", methods=["GET", "POST"])
@access(*OFFICE)
def admin_catalogue():
    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(community.id)
        try:
            if request.form.get("action") == "stock":
                data = load_form(
                    StockReceiptCreateSchema(),
                    extra={"lines": [{"product_id": request.form.get("product_id", type=int),
                                      "quantity": request.form.get("quantity", type=int)}],
                           "supermarket_id": request.form.get("supermarket_id", type=int)},
                )
                db.run(lambda s: market.receive_stock(s, who, **data))
            else:
                data = load_form(ProductCreateSchema())
                db.run(lambda s: market.create_product(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_catalogue", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    shops = db.session.scalars(
        select(Supermarket).where(Supermarket.community_id == community.id).order_by(Supermarket.id)
    ).all()
    products = {
        shop.id: market.list_products(db.session, who, supermarket_id=shop.id, include_inactive=True) for shop in shops
    }
    return office_page(
        "admin/catalogue.html",
        status,
        community=community,
        shops=shops,
        products=products,
        error=error,
        field_errors=field_errors,
        values=values,
    )


# --- issuance budgets -------------------------------------------------------------------------------


@bp.route("/office/budgets", methods=["GET", "POST"])
@access(*OFFICE)
def admin_budgets():
    """Issuance budgets with what is used so far; administrators add one (supervisors read)."""
    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(community.id)
        try:
            data = load_form(BudgetCreateSchema(), extra={"community_id": community.id})
            db.run(lambda s: budgets.create_budget(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_budgets", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    return office_page(
        "admin/budgets.html",
        status,
        community=community,
        budgets=budgets.list_budgets(db.session, who, community.id),
        error=error,
        field_errors=field_errors,
        values=values,
    )
