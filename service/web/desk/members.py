"""The desk's home and residents: search by card code, phone, volunteer number or name; register."""

from __future__ import annotations

from flask import g, render_template, request

from ...auth.access import access
from ...community.operations import get_community
from ...extensions import db
from ...members.operations import new_pin, register_member
from ...privacy import mask_phone
from ..core import bp, principal
from ..forms import PROBLEMS, failed, form_page, once
from . import DESK, desk_community_id, search_members
from .member_cards import card_page, registration_context, registration_data


@bp.get("/desk")
@access(*DESK)
def desk():
    community = get_community(db.session, desk_community_id())
    return render_template("desk/home.html", community=community)


@bp.post("/desk/members/search")
@access(*DESK)
def desk_member_search():
    """The desk's search form: a POST, so a typed card code or phone stays out of URLs and logs."""
    q = request.form.get("q", "")
    members = search_members(q, by_card_or_phone=True)
    if request.headers.get("HX-Request"):
        return render_template("desk/_member_results.html", members=members, q=q, mask_phone=mask_phone)
    return form_page("desk/members.html", 200, q=q, members=members, mask_phone=mask_phone,
                     error=None, field_errors={}, values={}, **registration_context())


@bp.route("/desk/members", methods=["GET", "POST"])
@access(*DESK)
def desk_members():
    q = request.args.get("q", "")
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        community_id = desk_community_id()
        try:
            principal().require_writer_in(community_id)
            data = registration_data(community_id)
            pin = data.pop("pin", None) or new_pin()
            shown_pin = pin if not request.form.get("pin") else None
            body = once(
                {k: str(v) for k, v in data.items()},
                lambda s: {"member_id": register_member(s, pin=pin, **data).id},
            )
            # The card to print at once; a first PIN made here is on this answer only (a flash would
            # carry it in the signed, readable cookie), and not on a replayed submit.
            return card_page(body["member_id"], pin=None if g.form_replayed else shown_pin, registered=True)
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
        values.pop("pin", None)  # never echo a PIN back into the page
    members = search_members(q)
    if request.headers.get("HX-Request") and request.method == "GET":
        return render_template("desk/_member_results.html", members=members, q=q, mask_phone=mask_phone)
    return form_page(
        "desk/members.html",
        status,
        q=q,
        members=members,
        mask_phone=mask_phone,
        error=error,
        field_errors=field_errors,
        values=values,
        **registration_context(),
    )
