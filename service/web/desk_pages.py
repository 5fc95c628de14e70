"""The station desk (志愿服务站): find or register a resident, log service hours (one record or a
sign-in sheet), approve or reject pending records (four-eyes), award or deduct an indicator."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.access import access
from ..auth.models import Role, Staff
from ..community.models import Station
from ..community.operations import get_community
from ..errors import DomainError
from ..extensions import db
from ..members.models import Member
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
        values.pop("pin", None)  # never echo a PIN back into the page
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




# --- service hours --------------------------------------------------------------------------------


def desk_stations() -> list[Station]:
    """Station staff work for their own station; an administrator picks one of the community."""
    who = principal()
    query = select(Station).where(Station.community_id == desk_community_id(), Station.active.is_(True))
    if who.role == Role.STATION_STAFF:
        query = query.where(Station.id == who.station_id)
    return db.session.scalars(query.order_by(Station.id)).all()


def chosen_station_id() -> int | None:
    stations = desk_stations()
    wanted = request.values.get("station_id", type=int)
    for station in stations:
        if station.id == wanted:
            return station.id
    return stations[0].id if stations else None


def record_payload(form, station_id: int) -> dict:
    """The API's record body from the desk form: local date and times become ISO date-times."""
    day = form.get("service_date", "").strip()
    payload = {
        "station_id": station_id,
        "volunteer": form.get("volunteer", "").strip() or None,
        "started_at": f"{day}T{form.get('start_time', '').strip()}" if day else None,
        "ended_at": f"{day}T{form.get('end_time', '').strip()}" if day else None,
        "evidence": form.get("evidence", "").strip(),
    }
    activity_id = form.get("activity_id", "").strip()
    if activity_id.isdigit():
        payload["activity_id"] = int(activity_id)
    else:
        payload["activity"] = form.get("activity", "").strip() or None
    minutes = form.get("minutes", "").strip()
    if minutes:
        payload["minutes"] = int(minutes) if minutes.isdigit() else minutes
    return {k: v for k, v in payload.items() if v is not None}


@bp.route("/desk/hours", methods=["GET", "POST"])
@access(*DESK)
def desk_hours():
    """Log one service record, or upload a sign-in sheet (CSV) with a result per row."""
    from marshmallow import ValidationError

    from ..volunteering.operations import (
        create_batch,
        create_service_record,
        list_activities,
        parse_sign_in_sheet,
    )
    from ..volunteering.schemas import ServiceRecordCreateSchema

    who = principal()
    station_id = chosen_station_id()
    error, field_errors, values, status, batch = None, {}, {}, 200, None
    if request.method == "POST" and station_id is not None:
        try:
            if request.form.get("mode") == "sheet":
                upload = request.files.get("sheet")
                raw = upload.read(1_000_001) if upload else b""
                if not raw.strip():
                    raise FormInvalid({"sheet": ["Missing data for required field."]})
                try:
                    rows = parse_sign_in_sheet(raw.decode("utf-8-sig"))
                except UnicodeDecodeError:
                    raise FormInvalid({"sheet": ["encoding"]}) from None
                batch = db.run(lambda s: create_batch(s, who, station_id, rows))
                flash(_("Sheet read: %(created)s logged, %(exists)s already there, %(error)s with a problem.",
                        created=batch["created"], exists=batch["exists"], error=batch["error"]), "ok")
            else:
                try:
                    data = ServiceRecordCreateSchema().load(record_payload(request.form, station_id))
                except ValidationError as exc:
                    raise FormInvalid(exc.messages) from None
                record = db.run(lambda s: create_service_record(s, who, **data))
                flash(_("Logged %(minutes)s minutes of %(activity)s: waiting for approval.",
                        minutes=record.minutes, activity=record.activity_name), "ok")
                return redirect(url_for("web.desk_hours", station_id=station_id))
        except FormInvalid as exc:
            error, field_errors, values, status = _("Some fields need attention."), exc.fields, form_values(), 422
        except DomainError as exc:
            error, values, status = error_text(exc), form_values(), exc.status
    activities = list_activities(db.session, who, station_id) if station_id else []
    return render_template(
        "desk/hours.html",
        stations=desk_stations(),
        station_id=station_id,
        activities=activities,
        batch=batch,
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


def staff_names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())


def member_names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}


def _pending_context():
    from ..volunteering.operations import list_service_records, review_reasons

    who = principal()
    station_id = who.station_id if who.role == Role.STATION_STAFF else None
    records = list_service_records(
        db.session, who, community_id=desk_community_id(), station_id=station_id, status="pending", limit=200
    )
    return {
        "records": records,
        "reasons": {r.id: review_reasons(r) for r in records},
        "staff": staff_names([r.recorded_by for r in records] + [r.verified_by for r in records]),
        "volunteers": member_names(r.volunteer_id for r in records),
    }


@bp.route("/desk/pending", methods=["GET", "POST"])
@access(*DESK)
def desk_pending():
    """Pending service records: approve (a second staff member, four-eyes) or reject with a reason."""
    from ..volunteering.operations import approve_service_record, reject_service_record

    who = principal()
    if request.method == "POST":
        record_id = request.form.get("record_id", type=int)
        action = request.form.get("action")
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
        except DomainError as exc:
            flash(error_text(exc), "error")
        return redirect(url_for("web.desk_pending"))
    return render_template("desk/pending.html", **_pending_context())


# --- good conduct ---------------------------------------------------------------------------------


@bp.route("/desk/conduct", methods=["GET", "POST"])
@access(*DESK)
def desk_conduct():
    """Award or deduct a good-conduct indicator (积分) to a resident or their household."""
    from ..conduct.operations import create_award, list_awards, list_indicators
    from ..conduct.schemas import AwardCreateSchema
    from ..volunteering.operations import find_volunteer

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
        except FormInvalid as exc:
            error, field_errors, values, status = _("Some fields need attention."), exc.fields, form_values(), 422
        except DomainError as exc:
            error, values, status = error_text(exc), form_values(), exc.status
    recent = list_awards(db.session, who, community_id=community_id, limit=15)
    return render_template(
        "desk/conduct.html",
        indicators=indicators,
        recent=recent,
        members=member_names([a.member_id or a.earned_by_member_id for a in recent]),
        error=error,
        field_errors=field_errors,
        values=values,
    ), status
