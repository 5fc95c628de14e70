"""Sign-in (staff: username and password; residents: card code or phone number, and PIN), sign-out,
the account page (own password, sign out everywhere), language."""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from ...auth.access import EVERYONE, STAFF, access, before_password_change, public
from ...auth.api import sign_in_limits
from ...auth.identity import resident_identity, typed_resident_identity
from ...auth.models import TokenKind
from ...auth.operations import (
    SignInResult,
    change_own_password,
    login_resident,
    login_staff,
    revoke_token,
    sign_out_everywhere,
)
from ...errors import DomainError
from ...extensions import db
from ...http_security import cookies_secure
from .. import core
from ..core import LANGUAGES, SESSION_KEY, bp, error_text, home_for, principal, safe_next


@bp.get("/")
@public
def root():
    who = principal()
    return redirect(url_for(home_for(who.role)) if who else url_for("web.sign_in"))


@bp.get("/sign-in")
@public
def sign_in():
    return render_template("sign_in.html", next=request.args.get("next", ""))


def failure_text(result: SignInResult, default: str) -> str:
    """What the person reads after a refused sign-in: when they may try again, if locked."""
    if result.locked_until:
        return _(
            "Too many wrong attempts: this account is locked. You can try again after %(time)s.",
            time=format_datetime(result.locked_until, "yyyy-MM-dd HH:mm"),
        )
    return default


def _sign_in_form(template: str, login):
    values = request.form.to_dict()
    values.pop("password", None)
    values.pop("pin", None)
    if request.method == "GET":
        return render_template(template, values={}, next=request.args.get("next", ""))
    try:
        result = db.run(login)
    except DomainError as exc:
        return render_template(template, values=values, error=error_text(exc), next=values.get("next", "")), 400
    if not result.token:
        status = 429 if result.locked_until else 401
        error = failure_text(result, str(core.ERROR_MESSAGES["invalid_credentials"]))
        return render_template(template, values=values, error=error, next=values.get("next", "")), status
    core.sign_in(result.token)
    core.load_principal()
    if result.must_change_password:
        return redirect(url_for("web.own_password"))
    return redirect(safe_next(request.form.get("next"), url_for(home_for(principal().role))))


def _limited(view):
    """The API's sign-in limits, keyed the same way (address and the identity as looked up)."""
    for limit in reversed(sign_in_limits):
        view = limit(view)
    return view


@bp.route("/sign-in/staff", methods=["GET", "POST"])
@public
@_limited
def sign_in_staff():
    form = request.form
    return _sign_in_form(
        "sign_in_staff.html",
        lambda s: login_staff(s, form.get("username", ""), form.get("password", ""), kind=TokenKind.WEB),
    )


@bp.route("/sign-in/resident", methods=["GET", "POST"])
@public
@_limited
def sign_in_resident():
    form = request.form
    if "identity" in form:
        identity = typed_resident_identity(form.get("identity"))
    else:
        identity = resident_identity(card_code=form.get("card_code"), phone=form.get("phone"))
    return _sign_in_form(
        "sign_in_resident.html",
        lambda s: login_resident(
            s, form.get("identity", form.get("card_code")), form.get("pin", ""), identity=identity, kind=TokenKind.WEB
        ),
    )


@bp.post("/sign-out")
@access(*EVERYONE)
@before_password_change
def sign_out():
    session_id = core.sign_out_here()
    if session_id:
        db.run(lambda s: revoke_token(s, session_id, kind=TokenKind.WEB))
    return redirect(url_for("web.sign_in"))


@bp.get("/account")
@access(*EVERYONE)
def own_account():
    return render_template("account.html", values={})


@bp.post("/account/sign-out-everywhere")
@access(*EVERYONE)
@before_password_change
def own_sign_out_everywhere():
    who = principal()
    db.run(lambda s: sign_out_everywhere(s, who))
    core.sign_out_here()
    return redirect(url_for("web.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@access(*STAFF)
@before_password_change
def own_password():
    """Change one's own password; after an administrator's reset this is the only page open."""
    who = principal()
    if request.method == "GET":
        return render_template("account_password.html")
    new, repeated = request.form.get("new_password", ""), request.form.get("repeat_password", "")
    if new != repeated:
        return render_template("account_password.html", error=_("The two new passwords are not the same.")), 400
    keep = session.get(SESSION_KEY)
    try:
        result = db.run(
            lambda s: change_own_password(s, who, current=request.form.get("current_password", ""), new=new, keep=keep)
        )
    except DomainError as exc:
        return render_template("account_password.html", error=error_text(exc)), 400
    if not result.token:
        error = failure_text(result, _("The current password is not right."))
        return render_template("account_password.html", error=error), 429 if result.locked_until else 401
    return redirect(url_for(home_for(who.role)))


@bp.get("/lang/<code>")
@public
@before_password_change
def switch_language(code: str):
    """Switch the language of every page; kept in the session and, for the next visit, a cookie."""
    if code not in LANGUAGES:
        code = "zh"
    session["lang"] = code
    response = make_response(redirect(safe_next(request.args.get("next"), url_for("web.root"))))
    response.set_cookie(
        "lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, secure=cookies_secure(current_app)
    )
    return response
