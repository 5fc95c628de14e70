"""Service hours at the desk: one record, or a sign-in sheet with a result per row."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ...auth.access import access
from ...auth.models import Role
from ...community.models import Station
from ...extensions import db
from ...volunteering.operations import create_service_record, list_activities
from ...volunteering.schemas import ServiceRecordCreateSchema
from ...volunteering.sign_in_sheets import create_batch
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page
from . import DESK, desk_community_id
from .sheets import explain_batch, read_sheet


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
    who = principal()
    station_id = chosen_station_id()
    error, field_errors, values, status, batch = None, {}, {}, 200, None
    if request.method == "POST" and station_id is not None:
        try:
            if request.form.get("mode") == "sheet":
                upload = request.files.get("sheet")
                rows = read_sheet(upload.filename or "" if upload else "", upload.read(1_000_001) if upload else b"")
                batch = db.run(lambda s: create_batch(s, who, station_id, rows))
                batch["lines"] = explain_batch(db.session, batch, rows)
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
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    activities = list_activities(db.session, who, station_id) if station_id else []
    return form_page(
        "desk/hours.html",
        status,
        stations=desk_stations(),
        station_id=station_id,
        activities=activities,
        batch=batch,
        error=error,
        field_errors=field_errors,
        values=values,
    )
