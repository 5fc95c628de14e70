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
from ...jobs.api import request_reconciliation
from ...jobs.models import JobRun, Reconciliation, RunStatus
from ...volunteering import fraud
from ...volunteering.schemas import FraudAlertDismissSchema
from ..core import ERROR_MESSAGES, bp, principal, render_error
from ..forms import PROBLEMS, failed, load_form
from . import OFFICE, office_page, page_community

ERROR_MESSAGES.update(
    {
        "disclosure_not_published": _l("This month's disclosure is not published yet."),
        "award_already_flagged": _l("This award already has an open flag."),
        "flag_already_resolved": _l("This flag is already resolved."),
        "alert_already_dismissed": _l("This alert is already dismissed."),
    }
)


# --- reconciliation and job status ----------------------------------------------------------------


JOB_LABELS = {
    "seal_chain": _l("Sealing the hash chain"),
    "system_checkpoints": _l("Balance checkpoints"),
    "notice_period": _l("Crediting awards after the notice period"),
    "coin_expiry": _l("Annual coin expiry"),
    "star_tiers": _l("Volunteer stars"),
    "disclosure": _l("Monthly disclosure"),
    "fraud_scan": _l("Fraud scan"),
    "reconciliation": _l("Reconciliation (new postings)"),
    "reconciliation_full": _l("Reconciliation (whole book)"),
}
STEP_LABELS = {
    None: _l("waiting for a worker"),
    "stored_balances": _l("stored balances"),
    "transactions_balanced": _l("each transaction sums to zero"),
    "units_balanced": _l("each unit sums to zero"),
    "no_negative_wallets": _l("no wallet below zero"),
    "chain_valid": _l("hash chain"),
    "stock": _l("stock"),
    "redemptions": _l("baskets and refunds"),
    "done": _l("storing the result"),
}
MODE_LABELS = {"full": _l("whole book"), "incremental": _l("new postings")}
UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def job_label(job: str) -> str:
    return str(JOB_LABELS.get(job, job))


def _followed_run(run_id: int | None) -> JobRun | None:
    """The reconciliation run the page follows: the one just started, else any still unfinished."""
    run = db.session.get(JobRun, run_id) if run_id else None
    if run is not None and run.job.startswith(checks.JOB):
        return run
    return db.session.scalars(
        select(JobRun).where(JobRun.status.in_(UNFINISHED), JobRun.job.startswith(checks.JOB))
        .order_by(JobRun.id.desc()).limit(1)
    ).first()


@bp.route("/office/reconciliation", methods=["GET", "POST"])
@access(*OFFICE)
def reconciliation():
    """Reconciliation status and job runs; a city-wide administrator starts a check, which runs in
    the background while this page follows its progress."""
    who = principal()
    if request.method == "POST":
        if not who.is_city_admin:
            return render_error(_("You are not allowed to do this."), 403)
        mode = checks.INCREMENTAL if request.form.get("mode") == checks.INCREMENTAL else checks.FULL
        run = request_reconciliation(mode, who)
        flash(_("The check has started; this page shows how far it is."), "ok")
        return redirect(url_for("web.reconciliation", run=run.id))
    followed = _followed_run(request.args.get("run", type=int))
    recent = db.session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(20)).all()
    job_runs = db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(30)).all()
    return office_page(
        "admin/reconciliation.html",
        reconciliations=recent,
        latest=recent[0] if recent else None,
        job_runs=job_runs,
        followed=followed,
        following=followed is not None and followed.status in UNFINISHED,
        can_run=who.is_city_admin,
        job_label=job_label,
        step_label=lambda step: str(STEP_LABELS.get(step, step)),
        mode_label=lambda mode: str(MODE_LABELS.get(mode, mode)),
    )


# --- fraud alerts and supervisors' flags ----------------------------------------------------------


@bp.route("/office/alerts", methods=["GET", "POST"])
@access(*OFFICE)
def alerts():
    community = page_community()
    who = principal()
    if request.method == "POST":
        try:
            if request.form.get("action") == "dismiss":
                alert_id = request.form.get("alert_id", type=int)
                data = load_form(FraudAlertDismissSchema())
                db.run(lambda s: fraud.dismiss_alert(s, who, alert_id, **data))
                flash(_("Alert dismissed."), "ok")
            else:
                flag_id = request.form.get("flag_id", type=int)
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
        alert_links=fraud.alert_links,
        alert_kind=lambda kind: str(ALERT_KINDS.get(kind, kind)),
    )


ALERT_KINDS = {
    "frequent_crediting": _l("one staff member credited one wallet often"),
    "two_stations_at_once": _l("at two stations at once"),
    "overlapping_records": _l("overlapping records"),
    "implausible_record": _l("implausibly long hours"),
}
