"""The shift close-out (交班) at the counter, print-ready and as CSV."""

from __future__ import annotations

from flask import render_template

from ...auth.access import access
from ...extensions import db
from ...market import operations as market
from ...market.documents import close_out_csv
from ..core import bp, principal
from . import COUNTER, this_supermarket


@bp.get("/counter/close-out")
@access(*COUNTER)
def counter_close_out():
    """Shift close-out (交班): today's baskets and refunds of this cashier, print-ready."""
    sheet = market.close_out(db.session, principal(), supermarket_id=this_supermarket().id)
    return render_template("counter/close_out.html", sheet=sheet)


@bp.get("/counter/close-out.csv")
@access(*COUNTER)
def counter_close_out_csv():
    return close_out_csv(market.close_out(db.session, principal(), supermarket_id=this_supermarket().id))
