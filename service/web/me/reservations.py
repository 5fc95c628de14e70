"""The resident reserves goods on the phone and shows the code at the counter (预约兑换)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

import ledger

from ...auth.access import access
from ...auth.models import Role
from ...extensions import db
from ...members.operations import get_member
from ...reservations.operations import held_coins, lapse_due, lines_for, list_reservations, reserve
from ..core import bp, principal
from ..forms import PROBLEMS, FormInvalid, failed, form_page, once
from .card import qr_svg
from .home import catalogue_for_community


@bp.route("/me/reservations", methods=["GET", "POST"])
@access(Role.RESIDENT)
def resident_reservations():
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            supermarket_id = request.form.get("supermarket_id", type=int)
            lines = [
                {"product_id": int(name.split("-", 1)[1]), "quantity": int(value)}
                for name, value in request.form.items()
                if name.startswith("qty-") and value.strip().isdigit() and int(value) > 0
            ]
            if not supermarket_id or not lines or any(ln["quantity"] > 99 for ln in lines):
                raise FormInvalid({"lines": ["Missing data for required field."]})
            payload = {"supermarket_id": supermarket_id, "lines": lines}
            once(payload, lambda s: {"id": reserve(s, who, **payload).id})
            flash(_("Reserved. Show the code at the counter before the deadline."), "ok")
            return redirect(url_for("web.resident_reservations"))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    db.run(lambda s: lapse_due(s, ledger.utcnow(), member_id=who.member_id))  # lapses by itself on access
    mine = list_reservations(db.session, who, limit=20)
    lines = lines_for(db.session, mine)
    return form_page(
        "resident/reservations.html",
        status,
        reservations=[(r, lines[r.id]) for r in mine],
        qr={r.id: qr_svg(r.code) for r in mine if r.status == "held"},
        held=held_coins(db.session, get_member(db.session, who.member_id)),
        shops=catalogue_for_community(db.session, who),
        error=error,
        field_errors=field_errors,
        values=values,
    )
