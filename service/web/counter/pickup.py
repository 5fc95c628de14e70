"""Handing over goods reserved online: scan the reservation code, check, hand over (预约取货)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...extensions import db
from ...reservations.operations import find_for_counter, lines_of, pick_up
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed, form_page, once
from . import COUNTER

ERROR_MESSAGES.update(
    {
        "reservation_closed": _l("This reservation was already handed over, cancelled or has lapsed."),
        "reservation_lapsed": _l("This reservation was not picked up in time; its coins went back."),
    }
)


@bp.route("/counter/pickup", methods=["GET", "POST"])
@access(*COUNTER)
def counter_pickup():
    who = principal()
    code = (request.values.get("code") or "").strip().upper()
    error, values, status, found = None, {"code": code}, 200, None
    try:
        if request.method == "POST":
            body = once({"code": code}, lambda s: {"redemption_id": pick_up(s, who, code=code)[1].id})
            return redirect(url_for("web.counter_receipt", redemption_id=body["redemption_id"]))
        if code:
            found = find_for_counter(db.session, who, code)
    except PROBLEMS as exc:
        error, _fields, _values, status = failed(exc)
    return form_page(
        "counter/pickup.html", status, code=code, reservation=found,
        lines=lines_of(db.session, found) if found else [], error=error, values=values,
    )
