"""Service record certificates (志愿服务记录证明, labelled 平台记录): a resident sees and issues their
own; the desk and an administrator issue one for a resident from the resident's page."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...auth.models import Role
from ...extensions import db
from ...volunteering.certificates import issue_certificate as issue
from ...volunteering.certificates import list_certificates
from ..core import bp, principal
from ..forms import PROBLEMS, failed, once

CERTIFICATE_ISSUERS = (Role.RESIDENT, Role.STATION_STAFF, Role.ADMIN)


@bp.get("/me/certificates")
@access(Role.RESIDENT)
def resident_certificates():
    member_id = principal().member_id
    return render_template(
        "resident/certificates.html", certificates=list_certificates(db.session, principal(), member_id)
    )


@bp.post("/members/<int:member_id>/certificates")
@access(*CERTIFICATE_ISSUERS)
def issue_certificate(member_id: int):
    """Issue a certificate (a resident: for themselves) and open its printable page. A double submit
    of the same form issues one."""
    who = principal()
    back = url_for("web.resident_certificates") if who.role == Role.RESIDENT else url_for(
        "web.member_detail", member_id=member_id
    )
    try:
        body = once({"member_id": member_id}, lambda s: {"number": issue(s, who, member_id).number})
    except PROBLEMS as exc:
        flash(failed(exc)[0], "error")
        return redirect(back)
    flash(_("Certificate issued."), "ok")
    return redirect(url_for("web.certificate", number=body["number"]))
