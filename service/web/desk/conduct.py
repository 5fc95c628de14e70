"""Good conduct at the desk: award or deduct an indicator (积分) to a resident or their household."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...conduct.indicators import list_indicators
from ...conduct.operations import create_award, list_awards
from ...conduct.schemas import AwardCreateSchema
from ...extensions import db
from ...volunteering.operations import find_volunteer
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page, load_form, once
from . import DESK, desk_community_id, member_names


@bp.route("/desk/conduct", methods=["GET", "POST"])
@access(*DESK)
def desk_conduct():
    """Award or deduct a good-conduct indicator (积分) to a resident or their household."""
    who = principal()
    community_id = desk_community_id()
    error, field_errors, values, status = None, {}, {}, 200
    indicators = list_indicators(db.session, who, community_id=community_id, active=True)
    if request.method == "POST":
        try:
            indicator_id = request.form.get("indicator_id", type=int)
            indicator = next((i for i in indicators if i.id == indicator_id), None)
            if indicator is None:
                raise FormInvalid({"indicator_id": ["Must be one of"]})
            resident = request.form.get("resident", "").strip()
            if not resident:
                raise FormInvalid({"resident": ["Missing data for required field."]})
            member = find_volunteer(db.session, community_id, volunteer=resident)
            payload = {"indicator_id": indicator.id, "note": request.form.get("note", "").strip(),
                       "evidence": request.form.get("evidence", "").strip()}
            if indicator.beneficiary == "household" and member.household_id:
                payload.update(household_id=member.household_id, earned_by_member_id=member.id)
            else:
                payload["member_id"] = member.id
            data = load_form(AwardCreateSchema(), form={}, extra=payload)
            body = once(data, lambda s: {"id": create_award(s, who, **data).id})
            flash(_("Saved: %(points)s points for %(name)s.", points=indicator.points, name=member.name), "ok")
            return redirect(url_for("web.desk_conduct", last=body["id"]))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    recent = list_awards(db.session, who, community_id=community_id, limit=15)
    return form_page(
        "desk/conduct.html",
        status,
        indicators=indicators,
        recent=recent,
        members=member_names([a.member_id or a.earned_by_member_id for a in recent]),
        error=error,
        field_errors=field_errors,
        values=values,
    )
