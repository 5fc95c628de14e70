"""Reconciliation and job status, fraud alerts and supervisors' flags (an administrator resolves a
flag)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...auth.access import access
from ...conduct import supervision
from ...conduct.schemas import FlagResolveSchema
from ...extensions import db
from ...jobs import reconciliation as checks
from ...jobs import runs
from ...jobs.models import JobRun, Reconciliation
from ...volunteering import fraud
from ..core import ERROR_MESSAGES, bp, principal, render_error
from ..forms import PROBLEMS, failed, load_form
from . import OFFICE, office_page, page_community

ERROR_MESSAGES.update(
    {
        "disclosure_not_published": _l("This month's disclosure is not published yet."),
        "award_already_flagged": _l("This award already has an open flag."),
        "flag_already_resolved": _l("This flag is already resolved."),
    }
)


# --- reconciliation and job status ----------------------------------------------------------------


@bp.route("/office/reconciliation", methods=["GET", "POST"])
@access(*OFFICE)
def reconciliation():
    who = principal()
    if request.method == "POST":
        if not who.is_city_admin:
            return render_error(_("You are not allowed to do this."), 403)
        result = checks.run_reconciliation(db.factory, db.engine, mode="full", trigger=runs.MANUAL)
        flash(_("Reconciliation finished: %(status)s.", status=result.status if result else "-"), "ok")
        return redirect(url_for("web.reconciliation"))
    recent = db.session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(20)).all()
    job_runs = db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(30)).all()
    return office_page(
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
    community = page_community()
    who = principal()
    if request.method == "POST":
        flag_id = request.form.get("flag_id", type=int)
        try:
            data = load_form(FlagResolveSchema())
            db.run(lambda s: supervision.resolve_flag(s, who, flag_id, **data))
            flash(_("Resolved."), "ok")
        except PROBLEMS as exc:
            flash(failed(exc)[0], "error")
        return redirect(url_for("web.alerts", community=community.id))
    return office_page(
        "admin/alerts.html",
        community=community,
        flags=supervision.list_flags(db.session, who, community_id=community.id, limit=100),
        alerts=fraud.list_alerts(db.session, who, community_id=community.id, limit=100),
    )
