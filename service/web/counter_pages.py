"""The cashier counter of a love supermarket (爱心超市): find the resident by card code, basket,
redeem, receipt, refund and the shift close-out."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from ..auth.access import access
from ..auth.models import Role
from .core import bp

COUNTER = (Role.CASHIER,)


@bp.route("/counter", methods=["GET", "POST"])
@access(*COUNTER)
def counter():
    return render_template("unavailable.html", title=_("Counter"))


@bp.route("/counter/refunds", methods=["GET", "POST"])
@access(*COUNTER)
def counter_refunds():
    return render_template("unavailable.html", title=_("Refund"))


@bp.route("/counter/close-out", methods=["GET", "POST"])
@access(*COUNTER)
def counter_close_out():
    return render_template("unavailable.html", title=_("Shift close-out"))
