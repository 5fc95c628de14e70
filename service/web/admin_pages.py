"""Administrator (and read-only supervisor) pages: overview, rates and caps, stations and
supermarkets, staff, residents. Writes are for administrators; supervisors see the same pages
without forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..auth.access import access
from ..auth.models import Role, Staff
from ..auth.operations import create_staff
from ..auth.schemas import StaffCreateSchema
from ..community.models import Community, Station, Supermarket
from ..community.operations import create_station, create_supermarket, get_community, update_community
from ..community.schemas import CommunitySettingsSchema, PlaceCreateSchema
from ..errors import DomainError, Forbidden
from ..extensions import db
from ..members.models import Member
from ..members.operations import find_members, member_balance
from ..privacy import mask_phone
from .core import FormInvalid, bp, error_text, form_values, load_form, principal
from .resident_pages import qr_svg

OFFICE = (Role.ADMIN, Role.SUPERVISOR)


def page_community() -> Community:
    """The community the page is about: the person's own, or for a city administrator the one
    chosen with ``?community=`` (the first one otherwise)."""
    who = principal()
    if who.community_id is not None:
        return get_community(db.session, who.community_id)
    chosen = request.values.get("community", type=int)
    community = db.session.get(Community, chosen) if chosen else None
    community = community or db.session.scalars(select(Community).order_by(Community.id)).first()
    if community is None:
        raise DomainError("there is no community yet", code="not_found")
    return community


def can_write() -> bool:
    return principal().role == Role.ADMIN


def communities_for_switcher() -> list[Community]:
    if not principal().is_city_admin:
        return []
    return db.session.scalars(select(Community).order_by(Community.id)).all()


def _office(template: str, **context):
    context.setdefault("community", page_community())
    return render_template(
        template, can_write=can_write(), switcher=communities_for_switcher(), **context
    )


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
    return _office("admin/home.html", community=community, counts=counts)


@bp.route("/office/settings", methods=["GET", "POST"])
@access(*OFFICE)
def admin_settings():
    community = page_community()
    error, field_errors, values = None, {}, None
    if request.method == "POST":
        principal().require_admin_of(community.id)
        try:
            changes = load_form(CommunitySettingsSchema())
            db.run(lambda s: update_community(s, get_community(s, community.id), changes))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_settings", community=community.id))
        except FormInvalid as exc:
            error, field_errors, values = _("Some fields need attention."), exc.fields, form_values()
        except DomainError as exc:
            error, values = error_text(exc), form_values()
        status = 422
    else:
        status = 200
    return _office(
        "admin/settings.html", community=community, error=error, field_errors=field_errors, values=values
    ), status


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
        except FormInvalid as exc:
            error, field_errors, values, status = _("Some fields need attention."), exc.fields, form_values(), 422
        except DomainError as exc:
            error, values, status = error_text(exc), form_values(), exc.status
    session = db.session
    return _office(
        "admin/places.html",
        community=community,
        stations=session.scalars(select(Station).where(Station.community_id == community.id).order_by(Station.id)).all(),
        supermarkets=session.scalars(
            select(Supermarket).where(Supermarket.community_id == community.id).order_by(Supermarket.id)
        ).all(),
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


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
        except FormInvalid as exc:
            error, field_errors, values, status = _("Some fields need attention."), exc.fields, form_values(), 422
        except DomainError as exc:
            error, values, status = error_text(exc), form_values(), exc.status
        values.pop("password", None)
    session = db.session
    return _office(
        "admin/staff.html",
        community=community,
        staff=session.scalars(select(Staff).where(Staff.community_id == community.id).order_by(Staff.id)).all(),
        stations=session.scalars(select(Station).where(Station.community_id == community.id)).all(),
        supermarkets=session.scalars(select(Supermarket).where(Supermarket.community_id == community.id)).all(),
        roles=[Role.STATION_STAFF, Role.CASHIER, Role.SUPERVISOR, Role.ADMIN],
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


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
    return _office("admin/members.html", community=community, members=members, q=query, mask_phone=mask_phone)


@bp.get("/office/members/<int:member_id>")
@access(*OFFICE, Role.STATION_STAFF)
def member_detail(member_id: int):
    """One resident as staff see them: balance, household, statement (read-only)."""
    from ..bookkeeping.operations import describe_lines
    from ..members.operations import get_member, member_statement
    from ..volunteering.operations import list_certificates

    member = get_member(db.session, member_id)
    principal().require_member(member.id, member.community_id)
    page = member_statement(db.session, member, unit=None, limit=30, before=request.args.get("before", type=int))
    return render_template(
        "admin/member.html",
        member=member,
        balance=member_balance(db.session, member),
        lines=describe_lines(db.session, page.lines),
        next_cursor=page.next_cursor,
        qr=qr_svg(member.card_code),
        mask_phone=mask_phone,
        certificates=list_certificates(db.session, principal(), member.id),
    )
