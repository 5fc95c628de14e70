"""Households (户) in the office: find and create them, members in and out, the head, and the
household wallet with who earned and who spent each coin."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ...auth.access import access
from ...errors import Invalid
from ...extensions import db
from ...flows import household_wallet_view
from ...members import households
from ...members.cards import normalise_card_code
from ...members.models import Member
from ...members.schemas import HouseholdCreateSchema
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed, load_form
from . import OFFICE, office_page, page_community

ERROR_MESSAGES.update(
    {
        "not_a_household_member": _l("This resident is not a member of the household."),
        "member_other_community": _l("The resident belongs to another community."),
        "unknown_resident": _l("No resident with this volunteer number or card code in this community."),
    }
)


@bp.route("/office/households", methods=["GET", "POST"])
@access(*OFFICE)
def office_households():
    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            data = load_form(HouseholdCreateSchema(), extra={"community_id": community.id})
            household = db.run(lambda s: households.create_household(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.office_household", household_id=household.id, community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    query = request.args.get("q", "").strip()
    before = request.args.get("before", type=int)
    rows = households.list_households(db.session, who, community_id=community.id, q=query or None, limit=50,
                                      before=before)
    return office_page(
        "admin/households.html", status, community=community, rows=rows, q=query,
        next_before=rows[-1]["household"].id if len(rows) == 50 else None,
        error=error, field_errors=field_errors, values=values,
    )


def _resident(session, community_id: int, token: str) -> Member:
    """A resident of the community by volunteer number or card code (what the office has at hand)."""
    token = token.strip()
    member = session.scalars(
        select(Member).where(Member.community_id == community_id,
                             or_(Member.volunteer_number == token, Member.card_code == normalise_card_code(token)))
    ).first()
    if member is None:
        raise Invalid("no such resident", code="unknown_resident")
    return member


@bp.route("/office/households/<int:household_id>", methods=["GET", "POST"])
@access(*OFFICE)
def office_household(household_id: int):
    who = principal()
    household = households.household_in_scope(db.session, who, household_id)
    if request.method == "POST":
        action = request.form.get("action")
        member_id = request.form.get("member_id", type=int)
        try:
            if action == "add":
                def add(s):
                    member = _resident(s, household.community_id, request.form.get("resident", ""))
                    households.add_member(s, who, household.id, member.id)

                db.run(add)
            elif action == "remove":
                db.run(lambda s: households.remove_member(s, who, household.id, member_id))
            elif action == "head":
                db.run(lambda s: households.set_head(s, who, household.id, member_id))
            flash(_("Saved."), "ok")
        except PROBLEMS as exc:
            flash(failed(exc)[0], "error")
        return redirect(url_for("web.office_household", household_id=household.id, community=household.community_id))
    wallet = household_wallet_view(db.session, household, limit=30, before=request.args.get("before", type=int))
    return office_page(
        "admin/household.html",
        household=household,
        members=households.members_of(db.session, household),
        wallet=wallet,
    )
