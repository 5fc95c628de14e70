"""The activity roster (活动签到): pick the activity, the date (today by default) and the times once,
then add the volunteers one after another (scan the card, type the volunteer number or part of the
name); each row may change its own times. Saving sends one batch: a re-sent roster creates nothing
twice (a record is unique per volunteer, station, start and end), and every row answers with the
person's name."""

from __future__ import annotations

from flask import flash, jsonify, request
from flask_babel import gettext as _

from ...auth.access import access
from ...extensions import db
from ...localtime import today as local_today
from ...volunteering.operations import list_activities
from ...volunteering.sign_in_sheets import create_batch
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page, form_values
from . import DESK, search_members
from .hours import chosen_station_id, desk_stations
from .sheets import explain_batch

MAX_ROWS = 200


def resolve(value: str) -> tuple[str, str | None]:
    """A volunteer number for what the clerk typed or scanned, and a problem when it is not one person."""
    found = search_members(value, by_card_or_phone=True)
    if len(found) == 1:
        return found[0].volunteer_number or value, None
    if len(found) > 1:
        return value, _("%(n)s residents match “%(q)s”: type the volunteer number.", n=len(found), q=value)
    return value, None


def roster_rows(form) -> tuple[list[dict], list[dict]]:
    """The batch rows and, beside them, what to show when a row cannot be sent."""
    day = form.get("service_date", "").strip()
    start, end = form.get("start_time", "").strip(), form.get("end_time", "").strip()
    if not day or not start or not end:
        raise FormInvalid({"service_date" if not day else "start_time" if not start else "end_time":
                           ["Missing data for required field."]})
    activity_id = form.get("activity_id", "").strip()
    common = {"activity_id": int(activity_id)} if activity_id.isdigit() else {"activity": form.get("activity", "").strip() or None}
    minutes = form.get("minutes", "").strip()
    volunteers = [v.strip() for v in form.getlist("volunteer")][:MAX_ROWS]
    starts, ends = form.getlist("row_start"), form.getlist("row_end")
    rows, problems = [], []
    for index, value in enumerate(volunteers):
        if not value:
            continue
        number, problem = resolve(value)
        row_start = (starts[index].strip() if index < len(starts) else "") or start
        row_end = (ends[index].strip() if index < len(ends) else "") or end
        row = {"volunteer": number, "started_at": f"{day}T{row_start}", "ended_at": f"{day}T{row_end}", **common}
        if minutes.isdigit():
            row["minutes"] = minutes
        rows.append({k: v for k, v in row.items() if v is not None})
        problems.append({"typed": value, "problem": problem})
    if not rows:
        raise FormInvalid({"volunteer": ["Missing data for required field."]})
    return rows, problems


@bp.post("/desk/roster/person")
@access(*DESK)
def desk_roster_person():
    """Who a scanned card, volunteer number or name is (JSON for desk.js): the row shows the name and
    keeps the volunteer number, never the card code."""
    value = (request.form.get("q") or "").strip()
    found = search_members(value, by_card_or_phone=True) if value else []
    if len(found) != 1:
        problem = resolve(value)[1] if found else _("No volunteer with this number or card code in this community.")
        return jsonify(error=problem), 404 if not found else 409
    return jsonify(name=found[0].name, volunteer_number=found[0].volunteer_number)


@bp.route("/desk/roster", methods=["GET", "POST"])
@access(*DESK)
def desk_roster():
    who = principal()
    station_id = chosen_station_id()
    error, field_errors, values, status, lines = None, {}, {}, 200, None
    if request.method == "POST" and station_id is not None:
        try:
            rows, typed = roster_rows(request.form)
            sendable = [row for row, t in zip(rows, typed, strict=True) if not t["problem"]]
            batch = db.run(lambda s: create_batch(s, who, station_id, sendable)) if sendable else {"rows": [], "created": 0, "exists": 0, "error": 0}
            explained = iter(explain_batch(db.session, batch, sendable))
            lines = []
            for number, t in enumerate(typed, start=1):
                line = {"line": number, "status": "error", "person": t["typed"], "problems": [t["problem"]]} if t["problem"] else {**next(explained), "line": number}
                lines.append(line)
            failed_rows = sum(1 for line in lines if line["status"] == "error")
            flash(_("Roster saved: %(created)s logged, %(exists)s already there, %(error)s with a problem.",
                    created=batch["created"], exists=batch["exists"], error=failed_rows), "ok" if not failed_rows else "error")
            values = form_values()
            if failed_rows:
                status = 422
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    values.setdefault("service_date", local_today().isoformat())
    return form_page(
        "desk/roster.html",
        status,
        stations=desk_stations(),
        station_id=station_id,
        activities=list_activities(db.session, who, station_id) if station_id else [],
        lines=lines,
        error=error,
        field_errors=field_errors,
        values=values,
    )
