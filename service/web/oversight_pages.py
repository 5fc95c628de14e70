"""Administrator and supervisor pages that read and steer the other domains: indicators, the
catalogue, the monthly disclosure (积分公示: print-ready, CSV, XLSX), reconciliation and job status,
fraud alerts and supervisors' flags (flag an award; an administrator resolves it)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth.access import access
from ..auth.models import Role
from ..community.models import Supermarket
from ..errors import DomainError
from ..extensions import db
from .admin_pages import OFFICE, can_write, communities_for_switcher, page_community
from .core import ERROR_MESSAGES, FormInvalid, bp, error_text, form_values, load_form, principal

ERROR_MESSAGES.update(
    {
        "disclosure_not_published": _l("This month's disclosure is not published yet."),
        "award_already_flagged": _l("This award already has an open flag."),
        "flag_already_resolved": _l("This flag is already resolved."),
    }
)


def _office(template: str, status: int = 200, **context):
    context.setdefault("community", page_community())
    return render_template(template, can_write=can_write(), switcher=communities_for_switcher(), **context), status


def _outcome(exc: Exception, default_status: int = 422):
    if isinstance(exc, FormInvalid):
        return _("Some fields need attention."), exc.fields, form_values(), 422
    return error_text(exc), {}, form_values(), getattr(exc, "status", default_status)


# --- indicators -----------------------------------------------------------------------------------


@bp.route("/office/indicators", methods=["GET", "POST"])
@access(*OFFICE)
def admin_indicators():
    from ..conduct import operations as conduct
    from ..conduct.schemas import IndicatorCreateSchema

    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(community.id)
        try:
            if request.form.get("action") == "seed":
                db.run(lambda s: conduct.seed_default_indicators(s, community.id))
            elif request.form.get("action") == "toggle":
                indicator_id = request.form.get("indicator_id", type=int)
                active = request.form.get("active") == "1"
                db.run(lambda s: conduct.update_indicator(s, who, indicator_id, {"active": active}))
            else:
                data = load_form(IndicatorCreateSchema(), extra={"community_id": community.id})
                db.run(lambda s: conduct.create_indicator(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_indicators", community=community.id))
        except (FormInvalid, DomainError) as exc:
            error, field_errors, values, status = _outcome(exc)
    return _office(
        "admin/indicators.html",
        status,
        community=community,
        indicators=conduct.list_indicators(db.session, who, community_id=community.id),
        categories=conduct.DEFAULT_CATEGORIES,
        error=error,
        field_errors=field_errors,
        values=values,
    )


# --- catalogue ------------------------------------------------------------------------------------


@bp.route("/office/catalogue", methods=["GET", "POST"])
@access(*OFFICE)
def admin_catalogue():
    from ..market import operations as market
    from ..market.schemas import ProductCreateSchema, StockReceiptCreateSchema

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
        except (FormInvalid, DomainError) as exc:
            error, field_errors, values, status = _outcome(exc)
    shops = db.session.scalars(
        select(Supermarket).where(Supermarket.community_id == community.id).order_by(Supermarket.id)
    ).all()
    products = {
        shop.id: market.list_products(db.session, who, supermarket_id=shop.id, include_inactive=True) for shop in shops
    }
    return _office(
        "admin/catalogue.html",
        status,
        community=community,
        shops=shops,
        products=products,
        error=error,
        field_errors=field_errors,
        values=values,
    )


# --- monthly disclosure ---------------------------------------------------------------------------


def _this_month() -> str:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m")


def disclosure_body(community, month: str) -> tuple[dict, bool]:
    """The published disclosure of the month, or a live preview when it is not published yet."""
    from ..jobs import disclosure

    try:
        return disclosure.get(db.session, community.id, month), True
    except DomainError as exc:
        if exc.code != "disclosure_not_published":
            raise
    body = disclosure.build(db.session, community, month, current_app.config["TIMEZONE"])
    return {**body, "generated_at": None}, False


def _month_arg() -> str:
    from ..jobs import disclosure

    month = request.values.get("month") or _this_month()
    try:
        disclosure.parse_month(month)
    except Exception:  # noqa: BLE001 - any unparsable month falls back to this one
        month = _this_month()
    return month


@bp.route("/office/disclosure", methods=["GET", "POST"])
@access(*OFFICE)
def disclosure():
    """The month's disclosure, print-ready for the notice board; supervisors flag awards here."""
    from ..jobs import disclosure as published
    from ..jobs import supervision

    community = page_community()
    month = _month_arg()
    who = principal()
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        award_id = request.form.get("award_id", type=int)
        try:
            if not reason:
                raise FormInvalid({"reason": ["Missing data for required field."]})
            db.run(lambda s: supervision.flag_award(s, who, award_id=award_id, reason=reason))
            flash(_("Flagged: an administrator will keep or reverse the award."), "ok")
        except (FormInvalid, DomainError) as exc:
            flash(_outcome(exc)[0] if not isinstance(exc, FormInvalid) else _("Please give a reason."), "error")
        return redirect(url_for("web.disclosure", community=community.id, month=month))
    body, is_published = disclosure_body(community, month)
    return _office(
        "admin/disclosure.html",
        community=community,
        month=month,
        body=body,
        published=is_published,
        months=[d.month for d in published.months(db.session, community.id)],
        can_flag=who.role == Role.SUPERVISOR,
    )


@bp.get("/office/disclosure/<month>.csv")
@access(*OFFICE)
def disclosure_csv(month: str):
    from ..jobs import disclosure as published

    community = page_community()
    body, _published = disclosure_body(community, month)
    return Response(
        published.as_csv(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{community.code}-{month}.csv"'},
    )


def disclosure_xlsx(body: dict) -> bytes:
    """The disclosure as a workbook: one sheet of awards, one of supermarket totals, one of flags."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from ..jobs.disclosure import KIND_LABELS

    book = Workbook()
    awards = book.active
    awards.title = "积分公示"
    awards.append([f"{body['community_name']} {body['month']} 积分公示 disclosure"])
    awards["A1"].font = Font(bold=True, size=14)
    awards.append(["日期 date", "类别 kind", "姓名 name", "志愿者编号 volunteer no.", "指标 indicator", "分值 points"])
    for row in body["rows"]:
        awards.append([row["date"], KIND_LABELS.get(row["kind"], row["kind"]), row["name"],
                       row["volunteer_number"] or "", row["indicator"], row["points"]])
    shops = book.create_sheet("爱心超市")
    shops.append(["超市 supermarket", "兑换笔数 redemptions", "兑换绿币 coins", "退货笔数 refunds",
                  "退回绿币 coins refunded", "净额 net"])
    for s in body["supermarkets"]:
        shops.append([s["name"], s["redemptions"], s["coins_redeemed"], s["refunds"], s["coins_refunded"], s["net_coins"]])
    flags = book.create_sheet("监督异议")
    flags.append(["异议 flag", "奖励 award", "提出日期 flagged", "理由 reason", "结果 status", "处理日期 resolved", "说明 note"])
    for f in body["flags"]:
        flags.append([f["flag_id"], f["award_id"], f["flagged_on"], f["reason"], f["status"],
                      f["resolved_on"] or "", f["resolution_note"] or ""])
    for sheet in (awards, shops, flags):
        for column in sheet.columns:
            sheet.column_dimensions[column[-1].column_letter].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.get("/office/disclosure/<month>.xlsx")
@access(*OFFICE)
def disclosure_xlsx_download(month: str):
    community = page_community()
    body, _published = disclosure_body(community, month)
    return Response(
        disclosure_xlsx(body),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{community.code}-{month}.xlsx"'},
    )


# --- reconciliation and job status ----------------------------------------------------------------


@bp.route("/office/reconciliation", methods=["GET", "POST"])
@access(*OFFICE)
def reconciliation():
    from ..jobs import reconciliation as checks
    from ..jobs import runs
    from ..jobs.models import JobRun, Reconciliation

    who = principal()
    if request.method == "POST":
        if not who.is_city_admin:
            return render_template("error.html", message=_("You are not allowed to do this."), status=403), 403
        result = checks.run_reconciliation(db.factory, db.engine, mode="full", trigger=runs.MANUAL)
        flash(_("Reconciliation finished: %(status)s.", status=result.status if result else "-"), "ok")
        return redirect(url_for("web.reconciliation"))
    recent = db.session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(20)).all()
    job_runs = db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(30)).all()
    return _office(
        "admin/reconciliation.html",
        reconciliations=recent,
        latest=recent[0] if recent else None,
        job_runs=job_runs,
        can_run=who.is_city_admin,
    )


# --- fraud alerts and supervisors' flags ----------------------------------------------------------


@bp.route("/office/alerts", methods=["GET", "POST"])
@access(*OFFICE)
def alerts():
    from ..jobs import fraud, supervision
    from ..jobs.schemas import FlagResolveSchema

    community = page_community()
    who = principal()
    if request.method == "POST":
        flag_id = request.form.get("flag_id", type=int)
        try:
            data = load_form(FlagResolveSchema())
            db.run(lambda s: supervision.resolve_flag(s, who, flag_id, **data))
            flash(_("Resolved."), "ok")
        except (FormInvalid, DomainError) as exc:
            flash(_outcome(exc)[0], "error")
        return redirect(url_for("web.alerts", community=community.id))
    return _office(
        "admin/alerts.html",
        community=community,
        flags=supervision.list_flags(db.session, who, community_id=community.id, limit=100),
        alerts=fraud.list_alerts(db.session, who, community_id=community.id, limit=100),
    )
