"""The station desk (志愿服务站): find or register a resident, log service hours (one record or a
sign-in sheet), approve or reject pending records (four-eyes), award or deduct an indicator."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth.access import access
from ..auth.models import Role
from ..community.operations import get_community
from ..errors import DomainError
from ..extensions import db
from ..members.operations import find_members, new_pin, register_member
from ..members.schemas import MemberCreateSchema
from ..privacy import mask_phone
from .core import FormInvalid, bp, error_text, form_values, load_form, once, principal

DESK = (Role.STATION_STAFF, Role.ADMIN)


def desk_community_id() -> int:
    who = principal()
    if who.community_id is None:
        raise DomainError("a city administrator works at the desk of a community", code="community_required")
    return who.community_id


def search_members(query: str):
    """Card code, phone, volunteer number or part of the name, in the desk's community."""
    query = query.strip()
    if not query:
        return []
    community_id = desk_community_id()
    for key in ("card_code", "volunteer_number", "phone"):
        found = find_members(db.session, community_id=community_id, **{key: query}, limit=20)
        if found:
            return found
    return find_members(db.session, community_id=community_id, name=query, limit=20)


@bp.get("/desk")
@access(*DESK)
def desk():
    community = get_community(db.session, desk_community_id())
    return render_template("desk/home.html", community=community)


@bp.route("/desk/members", methods=["GET", "POST"])
@access(*DESK)
def desk_members():
    q = request.args.get("q", "")
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        community_id = desk_community_id()
        try:
            data = load_form(MemberCreateSchema(), extra={"community_id": community_id})
            principal().require_writer_in(community_id)
            pin = data.pop("pin", None) or new_pin()
            shown_pin = pin if "pin" not in request.form or not request.form.get("pin") else None
            body = once(
                {k: str(v) for k, v in data.items()},
                lambda s: {"member_id": register_member(s, pin=pin, **data).id},
            )
            if shown_pin and not g.form_replayed:
                flash(_("Registered. The first PIN is %(pin)s: give it to the resident.", pin=shown_pin), "ok")
            else:
                flash(_("Registered."), "ok")
            return redirect(url_for("web.member_detail", member_id=body["member_id"]))
        except FormInvalid as exc:
            error, field_errors, values, status = _("Some fields need attention."), exc.fields, form_values(), 422
        except DomainError as exc:
            error, values, status = error_text(exc), form_values(), exc.status
    members = search_members(q)
    if request.headers.get("HX-Request") and request.method == "GET":
        return render_template("desk/_member_results.html", members=members, q=q, mask_phone=mask_phone)
    return render_template(
        "desk/members.html",
        q=q,
        members=members,
        mask_phone=mask_phone,
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


@bp.route("/desk/hours", methods=["GET", "POST"])
@access(*DESK)
def desk_hours():
    return render_template("unavailable.html", title=_("Log service hours"))


@bp.route("/desk/pending", methods=["GET", "POST"])
@access(*DESK)
def desk_pending():
    return render_template("unavailable.html", title=_("Pending records"))


@bp.route("/desk/conduct", methods=["GET", "POST"])
@access(*DESK)
def desk_conduct():
    return render_template("unavailable.html", title=_("Good conduct"))
