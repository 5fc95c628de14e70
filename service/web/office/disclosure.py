"""The monthly disclosure (积分公示): print-ready for the notice board, as CSV and as XLSX; supervisors
flag an award from it."""

from __future__ import annotations

import io

from flask import Response, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from ... import localtime
from ...auth.access import access
from ...auth.models import Role
from ...conduct import disclosure as published
from ...conduct import supervision
from ...errors import DomainError
from ...extensions import db
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed
from . import OFFICE, office_page, page_community

# --- monthly disclosure ---------------------------------------------------------------------------


def _this_month() -> str:
    return localtime.this_month()


def disclosure_body(community, month: str) -> tuple[dict, bool]:
    """The published disclosure of the month, or a live preview when it is not published yet."""
    try:
        return published.get(db.session, community.id, month), True
    except DomainError as exc:
        if exc.code != "disclosure_not_published":
            raise
    body = published.build(db.session, community, month, current_app.config["TIMEZONE"])
    return {**body, "generated_at": None}, False


def _month_arg() -> str:
    month = request.values.get("month") or _this_month()
    try:
        published.parse_month(month)
    except Exception:  # noqa: BLE001 - any unparsable month falls back to this one
        month = _this_month()
    return month


@bp.route("/office/disclosure", methods=["GET", "POST"])
@access(*OFFICE)
def disclosure():
    """The month's disclosure, print-ready for the notice board; supervisors flag awards here."""
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
        except PROBLEMS as exc:
            flash(failed(exc)[0] if not isinstance(exc, FormInvalid) else _("Please give a reason."), "error")
        return redirect(url_for("web.disclosure", community=community.id, month=month))
    body, is_published = disclosure_body(community, month)
    return office_page(
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
    community = page_community()
    body, _published = disclosure_body(community, month)
    return Response(
        published.as_csv(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{community.code}-{month}.csv"'},
    )


def disclosure_xlsx(body: dict) -> bytes:
    """The disclosure as a workbook: one sheet of awards, one of supermarket totals, one of flags."""
    book = Workbook()
    awards = book.active
    awards.title = "积分公示"
    awards.append([f"{body['community_name']} {body['month']} 积分公示 disclosure"])
    awards["A1"].font = Font(bold=True, size=14)
    awards.append(["日期 date", "类别 kind", "姓名 name", "志愿者编号 volunteer no.", "指标 indicator", "分值 points"])
    for row in body["rows"]:
        awards.append([row["date"], published.KIND_LABELS.get(row["kind"], row["kind"]), row["name"],
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
