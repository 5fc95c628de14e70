"""The office's community pages: overview, rates and caps, stations and supermarkets, staff,
residents. Writes are for administrators; supervisors see the same pages without forms."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...auth.access import access
from ...auth.models import Role, Staff
from ...auth.operations import create_staff, deactivate_staff, reactivate_staff, reset_staff_password
from ...auth.schemas import StaffCreateSchema
from ...community.models import Station, Supermarket
from ...community.operations import create_station, create_supermarket, get_community, update_community
from ...community.schemas import CommunitySettingsSchema, PlaceCreateSchema
from ...errors import Forbidden
from ...extensions import db
from ...members.models import Member
from ...members.operations import find_members, get_member, member_balance, member_statement
from ...privacy import mask_phone
from ...volunteering.certificates import list_certificates
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, load_form
from ..me.card import qr_svg
from ..me.statement import statement_rows
from . import OFFICE, office_page, page_community


@bp.get("/office")
@access(*OFFICE)
def admin_home():
    community = page_community()
    session = db.session
    counts = {
        "members": session.scalar(select(func.count(Member.id)).where(Member.community_id == community.id)),
        "stations": session.scalar(select(func.count(Station.id)).where(Station.community_id == community.id)),
        "supermarkets": session.scalar(
            select(func.count(Supermarket.id)).where(Supermarket.community_id == community.id)
        ),
        "staff": session.scalar(select(func.count(Staff.id)).where(Staff.community_id == community.id)),
    }
    return office_page("admin/home.html", community=community, counts=counts)


@bp.route("/office/settings", methods=["GET", "POST"])
@access(*OFFICE)
def admin_settings():
    community = page_community()
    error, field_errors, values, status = None, {}, None, 200
    if request.method == "POST":
        who = principal()
        who.require_admin_of(community.id)
        try:
            changes = load_form(CommunitySettingsSchema())
            db.run(lambda s: update_community(s, get_community(s, community.id), changes, principal=who))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_settings", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
            status = 422
    return office_page(
        "admin/settings.html", status, community=community, error=error, field_errors=field_errors, values=values
    )


@bp.route("/office/places", methods=["GET", "POST"])
@access(*OFFICE)
def admin_places():
    community = page_community()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        principal().require_admin_of(community.id)
        kind = request.form.get("kind")
        create = {"station": create_station, "supermarket": create_supermarket}.get(kind)
        try:
            if create is None:
                raise FormInvalid({"kind": ["Must be one of"]})
            data = load_form(PlaceCreateSchema(), extra={"community_id": community.id})
            db.run(lambda s: create(s, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_places", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    session = db.session
    return office_page(
        "admin/places.html",
        status,
        community=community,
        stations=session.scalars(select(Station).where(Station.community_id == community.id).order_by(Station.id)).all(),
        supermarkets=session.scalars(
            select(Supermarket).where(Supermarket.community_id == community.id).order_by(Supermarket.id)
        ).all(),
        error=error,
        field_errors=field_errors,
        values=values,
    )


@bp.route("/office/staff", methods=["GET", "POST"])
@access(*OFFICE)
def admin_staff():
    community = page_community()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        principal().require_admin_of(community.id)
        try:
            data = load_form(StaffCreateSchema(), extra={"community_id": community.id})

            def work(s):
                staff = create_staff(s, **data)
                if staff.community_id != community.id:  # a station or shop of another community
                    raise Forbidden("you can create staff of your own community only")
                return staff.username

            username = db.run(work)
            flash(_("Staff account %(name)s created.", name=username), "ok")
            return redirect(url_for("web.admin_staff", community=community.id))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
        values.pop("password", None)
    session = db.session
    return office_page(
        "admin/staff.html",
        status,
        community=community,
        staff=session.scalars(select(Staff).where(Staff.community_id == community.id).order_by(Staff.id)).all(),
        stations=session.scalars(select(Station).where(Station.community_id == community.id)).all(),
        supermarkets=session.scalars(select(Supermarket).where(Supermarket.community_id == community.id)).all(),
        roles=[Role.STATION_STAFF, Role.CASHIER, Role.SUPERVISOR, Role.ADMIN],
        error=error,
        field_errors=field_errors,
        values=values,
    )


@bp.get("/office/members")
@access(*OFFICE)
def admin_members():
    community = page_community()
    query = request.args.get("q", "").strip()
    members = find_members(
        db.session,
        community_id=community.id,
        name=query or None,
        limit=100,
        offset=max(0, request.args.get("offset", 0, type=int)),
    )
    return office_page("admin/members.html", community=community, members=members, q=query, mask_phone=mask_phone)


@bp.get("/office/members/<int:member_id>")
@access(*OFFICE, Role.STATION_STAFF)
def member_detail(member_id: int):
    """One resident as staff see them: balance, household, statement (read-only)."""
    member = get_member(db.session, member_id)
    principal().require_member(member.id, member.community_id)
    page = member_statement(db.session, member, unit=None, limit=30, before=request.args.get("before", type=int))
    # Card code, QR and phone only for the desk and administrators (SPEC §3), not supervisors.
    personal = principal().role in (Role.ADMIN, Role.STATION_STAFF)
    return render_template(
        "admin/member.html",
        member=member,
        personal=personal,
        balance=member_balance(db.session, member),
        rows=statement_rows(db.session, page.lines, member),
        next_cursor=page.next_cursor,
        qr=qr_svg(member.card_code) if personal else "",
        mask_phone=mask_phone,
        certificates=list_certificates(db.session, principal(), member.id),
    )


@bp.post("/office/staff/<int:staff_id>/<any(deactivate, reactivate):action>")
@access(Role.ADMIN)
def admin_staff_active(staff_id: int, action: str):
    """Deactivate (every sign-in of the account ends at once) or reactivate a staff account."""
    who = principal()
    change = deactivate_staff if action == "deactivate" else reactivate_staff
    staff = db.run(lambda s: change(s, who, staff_id))
    message = _("%(name)s can no longer sign in.") if action == "deactivate" else _("%(name)s can sign in again.")
    flash(message % {"name": staff.name}, "ok")
    return redirect(url_for("web.admin_staff", community=staff.community_id))


@bp.post("/office/staff/<int:staff_id>/password-reset")
@access(Role.ADMIN)
def admin_staff_password_reset(staff_id: int):
    """A one-time password, shown on this answer only (never put in the cookie or a URL)."""
    who = principal()
    staff, one_time = db.run(lambda s: reset_staff_password(s, who, staff_id))
    community = get_community(db.session, staff.community_id) if staff.community_id else page_community()
    response = make_response(
        office_page("admin/staff_password.html", 200, community=community, staff=staff, one_time_password=one_time)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
