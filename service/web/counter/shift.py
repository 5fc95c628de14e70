"""The cashier's shift at the counter: open it (nothing to count: coins are not cash), close it with the
basket receipts and refund slips counted (交班), and the close-out sheet of exactly that shift,
print-ready and as CSV. The counter asks for an open shift before the first basket."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from ...auth.access import access
from ...auth.models import Role
from ...errors import DomainError
from ...extensions import db
from ...market import operations as market
from ...market import shifts
from ...market.documents import close_out_csv
from ...market.shifts_api import MAX_SLIPS
from ..core import bp, error_text, principal
from ..forms import FormInvalid, form_values
from . import COUNTER, this_supermarket


def current_shift():
    return shifts.current_shift(db.session, principal(), supermarket_id=this_supermarket().id)


def shift_open_page(error: str | None = None, status: int = 200):
    """What the counter shows with no shift open: one button."""
    return render_template("counter/shift_open.html", supermarket=this_supermarket(), error=error), status


@bp.post("/counter/shift/open")
@access(*COUNTER)
def counter_shift_open():
    who = principal()
    try:
        db.run(lambda s: shifts.open_shift(s, who).id)
    except DomainError as exc:
        if exc.code != "shift_already_open":  # a double tap: the shift is open, go to the counter
            return shift_open_page(error_text(exc), exc.status)
    return redirect(url_for("web.counter"))


class CloseForm(Schema):
    declared_baskets = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SLIPS))
    declared_refunds = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SLIPS))
    note = fields.String(load_default="", validate=validate.Length(max=500))


@bp.route("/counter/shift/close", methods=["GET", "POST"])
@access(*COUNTER)
def counter_shift_close():
    """Count the paper first, then see the books: the form does not show the counts it checks."""
    shift = current_shift()
    if shift is None:
        return redirect(url_for("web.counter_close_out"))
    error, status, values = None, 200, {}
    if request.method == "POST":
        who = principal()
        try:
            try:
                data = CloseForm().load({k: (request.form.get(k) or "").strip() for k in
                                         ("declared_baskets", "declared_refunds", "note")})
            except ValidationError as exc:
                raise FormInvalid(exc.messages) from None
            closed = db.run(lambda s: shifts.close_shift(s, who, shift.id, **data).id)
            return redirect(url_for("web.counter_shift_sheet", shift_id=closed))
        except FormInvalid:
            error, status, values = error_text(DomainError("counts", code="shift_counts_required")), 422, form_values()
        except DomainError as exc:
            error, status, values = error_text(exc), exc.status, form_values()
    return render_template("counter/shift_close.html", shift=shifts.shift_view(shift), error=error,
                           values=values), status


@bp.get("/counter/shifts/<int:shift_id>/close-out")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_shift_sheet(shift_id: int):
    """One shift's close-out (交班), from opening to closing (or now), with the declared counts."""
    sheet = shifts.shift_close_out(db.session, principal(), shift_id)
    return render_template("counter/close_out.html", sheet=sheet, shift=sheet["shift"],
                           csv_url=url_for("web.counter_shift_sheet_csv", shift_id=shift_id))


@bp.get("/counter/shifts/<int:shift_id>/close-out.csv")
@access(Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
def counter_shift_sheet_csv(shift_id: int):
    return close_out_csv(shifts.shift_close_out(db.session, principal(), shift_id))


@bp.get("/counter/close-out")
@access(*COUNTER)
def counter_close_out():
    """The shift close-out (交班): the open shift so far, else the last shift; with no shift ever,
    today's baskets and refunds of this cashier."""
    who = principal()
    latest = shifts.list_shifts(db.session, who, limit=1)
    if latest:
        return counter_shift_sheet(latest[0].id)
    sheet = market.close_out(db.session, who, supermarket_id=this_supermarket().id)
    return render_template("counter/close_out.html", sheet=sheet, shift=None,
                           csv_url=url_for("web.counter_close_out_csv"))


@bp.get("/counter/close-out.csv")
@access(*COUNTER)
def counter_close_out_csv():
    return close_out_csv(market.close_out(db.session, principal(), supermarket_id=this_supermarket().id))
