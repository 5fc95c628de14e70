"""Good conduct at the desk: award or deduct an indicator (积分) to a resident or their household."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...conduct.indicators import list_indicators
from ...conduct.operations import create_award, list_awards
from ...conduct.schemas import AwardCreateSchema
from ...extensions import db
from ...members.operations import get_household
from ...volunteering.operations import find_volunteer
from ..award_words import AwardPeople, taken_words
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page, load_form, once
from . import DESK, desk_community_id


def award_result(award) -> dict:
    return {"id": award.id, "status": award.status, "amount_posted": award.amount_posted,
            "shortfall": award.shortfall, "household": award.household_id is not None}


def saved_message(indicator, member, body: dict) -> str:
    """What the clerk needs to tell the resident: what actually moved, for whom, and any shortfall."""
    who = member.name
    if body["household"]:
        who = _("household %(name)s", name=get_household(db.session, member.household_id).name)
    moved = body["amount_posted"]
    if moved is None:  # announced: credited after the community's notice period
        return _("Saved: %(points)s points for %(who)s, credited after the notice period.",
                 points=indicator.points, who=who)
    if indicator.points >= 0:
        return _("Saved: %(points)s coins for %(who)s.", points=moved, who=who)
    if body["shortfall"]:
        return _("Deducted %(taken)s of %(asked)s coins from %(who)s: %(short)s could not be taken (not enough coins).",
                 taken=-moved, asked=-indicator.points, who=who, short=body["shortfall"])
    return _("Deducted %(taken)s coins from %(who)s.", taken=-moved, who=who)


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
            body = once(data, lambda s: award_result(create_award(s, who, **data)))
            flash(saved_message(indicator, member, body), "ok")
            return redirect(url_for("web.desk_conduct", last=body["id"]))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    recent = list_awards(db.session, who, community_id=community_id, limit=15)
    return form_page(
        "desk/conduct.html",
        status,
        indicators=indicators,
        recent=recent,
        people=AwardPeople.of(db.session, recent),
        taken_words=taken_words,
        error=error,
        field_errors=field_errors,
        values=values,
    )
