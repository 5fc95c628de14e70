"""Administrator and supervisor pages that read the other domains: indicators, catalogue, the
monthly disclosure (积分公示), reconciliation and job status, fraud alerts and supervisor flags."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from ..auth.access import access
from ..auth.models import Role
from .core import bp

OFFICE = (Role.ADMIN, Role.SUPERVISOR)


@bp.route("/office/indicators", methods=["GET", "POST"])
@access(*OFFICE)
def admin_indicators():
    return render_template("unavailable.html", title=_("Indicators"))


@bp.route("/office/catalogue", methods=["GET", "POST"])
@access(*OFFICE)
def admin_catalogue():
    return render_template("unavailable.html", title=_("Catalogue"))


@bp.route("/office/disclosure", methods=["GET", "POST"])
@access(*OFFICE)
def disclosure():
    return render_template("unavailable.html", title=_("Disclosure"))


@bp.get("/office/reconciliation")
@access(*OFFICE)
def reconciliation():
    return render_template("unavailable.html", title=_("Reconciliation"))


@bp.route("/office/alerts", methods=["GET", "POST"])
@access(*OFFICE)
def alerts():
    return render_template("unavailable.html", title=_("Alerts and flags"))
