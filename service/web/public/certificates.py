"""Anyone checks a service record certificate by its number (no sign-in); the snapshot is masked."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from ...auth.access import public
from ...extensions import db
from ...volunteering.api import CERTIFICATE_NUMBER
from ...volunteering.certificates import certificate_by_number
from ..core import ERROR_MESSAGES, bp, render_error

ERROR_MESSAGES.update(
    {
        "certificate_not_found": _l("There is no certificate with this number."),
        "invalid_certificate_number": _l("This is not a certificate number."),
    }
)


@bp.get("/certificates/<number>")
@public
def certificate(number: str):
    """Anyone can check a certificate by its number (no sign-in); the snapshot is masked."""
    if not CERTIFICATE_NUMBER.fullmatch(number):
        return render_error(str(ERROR_MESSAGES["invalid_certificate_number"]), 404)
    return render_template("certificate.html", cert=certificate_by_number(db.session, number))


@bp.get("/certificates")
@public
def certificate_lookup():
    """Type a certificate's number to check it."""
    number = request.args.get("number", "").strip()
    if CERTIFICATE_NUMBER.fullmatch(number):
        return redirect(url_for("web.certificate", number=number))
    error = str(ERROR_MESSAGES["invalid_certificate_number"]) if number else None
    return render_template("certificate_lookup.html", error=error, number=number), 422 if error else 200
