"""Reconciliation and job status, fraud alerts and supervisors' flags (an administrator resolves a
flag)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...conduct import supervision
from ...conduct.schemas import FlagResolveSchema
from ...extensions import db
from ...jobs import operations as jobs
from ...jobs import reconciliation as checks
from ...jobs.api import request_reconciliation
from ...oversight.operations import flag_subjects
from ...volunteering import fraud
from ...volunteering.schemas import FraudAlertDismissSchema
from ..core import ERROR_MESSAGES, bp, principal
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
    "checkpoints": _l("Balance checkpoints"),
    "chain_valid": _l("hash chain"),
    "stock": _l("stock"),
    "redemptions": _l("baskets and refunds"),
    "done": _l("storing the result"),
}
MODE_LABELS = {"full": _l("whole book"), "incremental": _l("new postings")}


def job_label(job: str) -> str:
    return str(JOB_LABELS.get(job, job))


@bp.route("/office/reconciliation", methods=["GET", "POST"])
@access(*OFFICE)
def reconciliation():
    """Reconciliation status and job runs; a city-wide administrator starts a check, which runs in
    the background while this page follows its progress."""
    who = principal()
    if request.method == "POST":
        mode = checks.INCREMENTAL if request.form.get("mode") == checks.INCREMENTAL else checks.FULL
        run = request_reconciliation(mode, who)
        flash(_("The check has started; this page shows how far it is."), "ok")
        return redirect(url_for("web.reconciliation", run=run.id))
    followed = jobs.followed_run(db.session, request.args.get("run", type=int))
    return office_page(
        "admin/reconciliation.html",
        **jobs.overview(db.session, who),
        followed=followed,
        following=followed is not None and followed.status in jobs.UNFINISHED,
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
    flags = supervision.list_flags(db.session, who, community_id=community.id, limit=100)
    return office_page(
        "admin/alerts.html",
        community=community,
        flags=flags,
        subjects=flag_subjects(db.session, flags),
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
