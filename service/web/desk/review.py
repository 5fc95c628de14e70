"""Review at the desk: pending service records are approved (by a second staff member, four-eyes) or
rejected with a reason; approved ones are reversed with a reason (a ledger reversal of their hours
and coins, posted once per form)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...auth.models import Role
from ...extensions import db
from ...volunteering.operations import (
    approve_service_record,
    list_service_records,
    reject_service_record,
    reverse_service_record,
)
from ...volunteering.schemas import RecordReasonSchema
from ..core import bp, error_text, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page, load_form, once
from . import DESK, desk_community_id, member_names, staff_names

PAGE = 25


def review_many(action: str, record_ids: list[int], reason: str) -> None:
    """Approve or reject the ticked records, each on its own (four-eyes is checked per record, and one
    refusal does not stop the others); the person is told what happened to whom."""
    who = principal()
    if not record_ids:
        flash(_("Tick at least one record."), "error")
        return
    if action == "reject_selected" and not reason:
        flash(_("Please give the reason for rejecting."), "error")
        return
    names = member_names(r.volunteer_id for r in list_service_records(
        db.session, who, community_id=desk_community_id(), status="pending", limit=500))
    done, refused = 0, []
    for record_id in record_ids[:200]:
        try:
            if action == "approve_selected":
                db.run(lambda s, rid=record_id: approve_service_record(s, who, rid))
            else:
                db.run(lambda s, rid=record_id: reject_service_record(s, who, rid, reason=reason))
            done += 1
        except PROBLEMS as exc:
            refused.append((record_id, error_text(exc)))
    word = _("approved or verified") if action == "approve_selected" else _("rejected")
    flash(_("%(n)s records %(done)s.", n=done, done=word), "ok")
    pending = {r.id: r for r in list_service_records(db.session, who, community_id=desk_community_id(), status="pending", limit=500)}
    for record_id, text in refused:
        record = pending.get(record_id)
        person = names[record.volunteer_id].name if record and record.volunteer_id in names else f"#{record_id}"
        flash(f"{person}: {text}", "error")


def _pending_context():
    who = principal()
    station_id = who.station_id if who.role == Role.STATION_STAFF else None
    records = list_service_records(
        db.session, who, community_id=desk_community_id(), station_id=station_id, status="pending", limit=200
    )
    return {
        "records": records,
        "reasons": {r.id: r.review_reasons for r in records},
        "staff": staff_names([r.recorded_by for r in records] + [r.verified_by for r in records]),
        "volunteers": member_names(r.volunteer_id for r in records),
    }


@bp.route("/desk/pending", methods=["GET", "POST"])
@access(*DESK)
def desk_pending():
    """Pending service records: approve (a second staff member, four-eyes) or reject with a reason."""
    who = principal()
    if request.method == "POST":
        record_id = request.form.get("record_id", type=int)
        action = request.form.get("action")
        if action in ("approve_selected", "reject_selected"):
            review_many(action, request.form.getlist("record_ids", type=int), request.form.get("reason", "").strip())
            return redirect(url_for("web.desk_pending"))
        try:
            if action == "approve":
                body = once(
                    {"record_id": record_id, "action": "approve"},
                    lambda s: {"status": approve_service_record(s, who, record_id).status},
                )
                if body["status"] == "approved":
                    flash(_("Approved: the hours and coins are credited."), "ok")
                else:
                    flash(_("Verified: an administrator approves it next (late entry or over the daily cap)."), "ok")
            elif action == "reject":
                reason = request.form.get("reason", "").strip()
                if not reason:
                    raise FormInvalid({"reason": ["Missing data for required field."]})
                db.run(lambda s: reject_service_record(s, who, record_id, reason=reason))
                flash(_("Rejected."), "ok")
            else:
                raise FormInvalid({"action": ["Must be one of"]})
        except FormInvalid as exc:
            flash(next(iter(exc.fields.values())), "error")
        except PROBLEMS as exc:
            flash(error_text(exc), "error")
        return redirect(url_for("web.desk_pending"))
    return render_template("desk/pending.html", **_pending_context())


@bp.route("/desk/approved", methods=["GET", "POST"])
@access(*DESK)
def desk_approved():
    """Approved service records; station staff (their station) or an administrator reverse one with a
    reason: a ledger reversal of its hours and coins, posted once per form."""
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        record_id = request.form.get("record_id", type=int)
        try:
            if record_id is None:
                raise FormInvalid({"record_id": ["Missing data for required field."]})
            data = load_form(RecordReasonSchema())
            body = once(
                {"record_id": record_id, "action": "reverse", **data},
                lambda s: {"status": reverse_service_record(s, who, record_id, **data).status},
            )
            if body["status"] == "reversed":
                flash(_("Reversed: the hours and coins of this record are taken back."), "ok")
            return redirect(url_for("web.desk_approved"))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(
                exc, short_of=_("The volunteer has already used these hours or coins, so they cannot be taken back.")
            )
    station_id = who.station_id if who.role == Role.STATION_STAFF else None
    before = request.args.get("before", type=int)  # keyset paging: the last id of the page before
    if before is not None and before < 1:
        before = None
    records = list_service_records(
        db.session, who, community_id=desk_community_id(), station_id=station_id, status="approved",
        limit=PAGE + 1, before=before,
    )
    more, records = len(records) > PAGE, records[:PAGE]
    return form_page(
        "desk/approved.html",
        status,
        records=records,
        staff=staff_names([r.recorded_by for r in records] + [r.verified_by for r in records]),
        volunteers=member_names(r.volunteer_id for r in records),
        before=before,
        more=more,
        error=error,
        field_errors=field_errors,
        values=values,
    )
