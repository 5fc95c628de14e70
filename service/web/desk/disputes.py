"""Disputes at the desk: station staff and administrators answer residents' disputes by their
deadline (keep with a reason, or correct by a reversal); supervisors read them."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ... import flows
from ...auth.access import access
from ...auth.models import Role
from ...disputes.operations import list_disputes
from ...disputes.schemas import DisputeResolveSchema
from ...extensions import db
from ..core import bp, principal
from ..forms import PROBLEMS, failed, form_page, load_form, once
from ..me.dispute_lines import disputed_rows
from . import member_names, staff_names


@bp.route("/desk/disputes", methods=["GET", "POST"])
@access(Role.STATION_STAFF, Role.ADMIN, Role.SUPERVISOR)
def desk_disputes():
    """Open and escalated disputes first, then the answered ones."""
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            dispute_id = request.form.get("dispute_id", type=int)
            data = load_form(DisputeResolveSchema())
            once({"dispute_id": dispute_id, **data}, lambda s: {"id": flows.resolve_dispute(s, who, dispute_id, **data).id})
            flash(_("The answer was saved."), "ok")
            return redirect(url_for("web.desk_disputes"))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    disputes = list_disputes(db.session, who, limit=100)
    disputes.sort(key=lambda d: (d.status not in ("open", "escalated"), d.answer_due_at))
    return form_page(
        "desk/disputes.html",
        status,
        disputes=disputes,
        disputed=disputed_rows(db.session, disputes),
        members=member_names([d.member_id for d in disputes]),
        staff=staff_names([d.resolved_by for d in disputes]),
        can_answer=who.role in (Role.STATION_STAFF, Role.ADMIN),
        error=error,
        field_errors=field_errors,
        values=values,
    )
