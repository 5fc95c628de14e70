"""Sign-in (staff: username and password; residents: card code and PIN), sign-out, language."""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, session, url_for
from sqlalchemy import select

from ...auth.access import EVERYONE, access, public
from ...auth.models import ApiToken
from ...auth.operations import _token_digest, login_resident, login_staff
from ...errors import DomainError
from ...extensions import db, limiter
from .. import core
from ..core import LANGUAGES, bp, error_text, home_for, principal, safe_next


def _login_key() -> str:
    who = request.form.get("username") or request.form.get("card_code") or ""
    return f"web|{request.remote_addr}|{who[:64]}"


# As in the API, only failed attempts count against the limit.
_failed_login_limit = limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    key_func=_login_key,
    deduct_when=lambda response: response.status_code == 401,
    methods=["POST"],
)


@bp.get("/")
@public
def root():
    who = principal()
    return redirect(url_for(home_for(who.role)) if who else url_for("web.sign_in"))


@bp.get("/sign-in")
@public
def sign_in():
    return render_template("sign_in.html", next=request.args.get("next", ""))


def _sign_in_form(template: str, login):
    values = request.form.to_dict()
    if request.method == "GET":
        return render_template(template, values={}, next=request.args.get("next", ""))
    try:
        token, _expires = db.run(login)
    except DomainError as exc:
        values.pop("password", None)
        values.pop("pin", None)
        return render_template(template, values=values, error=error_text(exc), next=values.get("next", "")), 401
    core.sign_in(token)
    core.load_principal()
    return redirect(safe_next(request.form.get("next"), url_for(home_for(principal().role))))


@bp.route("/sign-in/staff", methods=["GET", "POST"])
@public
@_failed_login_limit
def sign_in_staff():
    form = request.form
    return _sign_in_form(
        "sign_in_staff.html", lambda s: login_staff(s, form.get("username", "").strip(), form.get("password", ""))
    )


@bp.route("/sign-in/resident", methods=["GET", "POST"])
@public
@_failed_login_limit
def sign_in_resident():
    form = request.form
    return _sign_in_form(
        "sign_in_resident.html", lambda s: login_resident(s, form.get("card_code", "").strip(), form.get("pin", ""))
    )


@bp.post("/sign-out")
@access(*EVERYONE)
def sign_out():
    token = session.get("token")

    def revoke(s):
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).first()
        if row is not None:
            row.revoked = True

    if token:
        db.run(revoke)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("web.sign_in"))


@bp.get("/lang/<code>")
@public
def switch_language(code: str):
    """Switch the language of every page; kept in the session and, for the next visit, a cookie."""
    if code not in LANGUAGES:
        code = "zh"
    session["lang"] = code
    response = make_response(redirect(safe_next(request.args.get("next"), url_for("web.root"))))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
