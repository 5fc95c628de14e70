"""The pages' blueprint and what every page shares: sign-in state, access, CSRF, the error page.

Pages call the same operations as the API. Access is declared on every view with the API's own
``@access(...)`` / ``@public`` marks and checked before the view runs (fail closed); the signed-in
person is a ``Principal`` built from a browser session row (``api_tokens`` of kind ``web``) whose
random id is the only sign-in state in the cookie, so expiry, revocation and deactivated accounts
behave exactly as in the API, and a stolen cookie is no API bearer token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

import ledger

from ..auth.access import PUBLIC, declared_access, declared_before_password_change, principal_for_token
from ..auth.models import Role, TokenKind
from ..errors import DomainError

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)
csrf = CSRFProtect()
LANGUAGES = ("zh", "en")

# Plain words for the stable error codes of the operations and the ledger, in the person's language.
ERROR_MESSAGES = {
    "invalid_credentials": _l("The name or password is not right. Please try again."),
    "insufficient_balance": _l("There are not enough coins for this."),
    "idempotency_conflict": _l("This form was already sent with other values. Please start again."),
    "already_reversed": _l("This has already been reversed."),
    "not_reversible": _l("This cannot be reversed."),
    "transaction_not_found": _l("That transaction does not exist."),
    "weak_password": _l("The password needs at least 8 characters."),
    "cannot_deactivate_self": _l("You cannot deactivate your own account."),
    "same_password": _l("Choose a password different from the current one."),
    "username_taken": _l("This username is already taken."),
    "station_required": _l("Station staff need a station."),
    "supermarket_required": _l("A cashier needs a supermarket."),
    "community_required": _l("Choose a community."),
    "invalid_national_id": _l("The national ID number is not valid (17 digits and a digit or X)."),
    "national_id_taken": _l("A resident with this national ID number is already registered."),
    "card_code_taken": _l("This card code is already in use."),
    "household_other_community": _l("That household belongs to another community."),
    "invalid_birth_date": _l("The birth date is in the future."),
    "community_code_taken": _l("A community with this code already exists."),
    "station_code_taken": _l("A station with this code already exists."),
    "supermarket_code_taken": _l("A supermarket with this code already exists."),
    "not_found": _l("We could not find that."),
    "forbidden": _l("You are not allowed to do this."),
    "unauthorized": _l("Please sign in first."),
    "too_many_requests": _l("Too many attempts. Please wait a few minutes and try again."),
    "csrf": _l("This page was open too long. Please try again."),
    "validation_error": _l("Some fields need attention."),
    # volunteer hours
    "duplicate_service_record": _l("This service is already logged."),
    "four_eyes": _l("Another staff member must approve a record you logged yourself."),
    "not_pending": _l("This record is no longer pending."),
    "not_approved": _l("Only an approved record can be reversed."),
    "awaiting_admin_approval": _l("Already verified: an administrator must approve it now."),
    "overlapping_record": _l("The volunteer already has approved hours at this time."),
    "unknown_volunteer": _l("No volunteer with this number or card code in this community."),
    "volunteer_required": _l("Enter the volunteer number or card code."),
    "unknown_activity": _l("This activity is not on the station's list."),
    "activity_inactive": _l("This activity is no longer offered."),
    "activity_required": _l("Choose or type the activity."),
    "end_not_after_start": _l("The end time must be after the start time."),
    "record_too_long": _l("One record can cover at most 24 hours."),
    "record_in_future": _l("Hours cannot be logged for the future."),
    "invalid_minutes": _l("The minutes must be a positive whole number."),
    "minutes_exceed_span": _l("The minutes are more than the time from start to end."),
    "batch_too_large": _l("The sheet is too large (at most 500 rows)."),
    # good conduct
    "monthly_cap_reached": _l("This indicator has reached its monthly limit for this resident."),
    "indicator_inactive": _l("This indicator is no longer in use."),
    "household_required": _l("This indicator is for a household, and the resident has none."),
    "member_required": _l("This indicator is for a resident."),
    "issuance_budget_exceeded": _l("This would go over the community's coin budget for the period."),
    "beneficiary_other_community": _l("The resident belongs to another community."),
    "award_already_reversed": _l("This award has already been reversed."),
    "indicator_code_taken": _l("An indicator with this code already exists."),
}


def error_message(error: dict | None) -> str:
    """The plain words for an error given as ``{"code", "message"}`` (a batch row's result)."""
    error = error or {}
    known = ERROR_MESSAGES.get(error.get("code", ""))
    if known is not None:
        return str(known)
    if error.get("code") == "validation_error":
        return str(ERROR_MESSAGES["validation_error"])
    return _("It did not work: %(reason)s", reason=error.get("message", ""))


STATUS_LABELS = {
    "pending": _l("pending"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "reversed": _l("reversed"),
    "announced": _l("announced"),
    "credited": _l("credited"),
    "disputed": _l("disputed"),
    "refunded": _l("refunded"),
    "open": _l("open"),
    "dismissed": _l("dismissed"),
    "resolved": _l("resolved"),
    "escalated": _l("escalated"),
    "kept": _l("kept"),
    "corrected": _l("corrected"),
    "held": _l("held"),
    "picked_up": _l("picked up"),
    "lapsed": _l("lapsed"),
    "cancelled": _l("cancelled"),
    "ok": _l("sound"),
    "failed": _l("failed"),
    "passed": _l("sound"),
    "queued": _l("queued"),
    "running": _l("running"),
    "succeeded": _l("done"),
}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


def error_text(exc: Exception) -> str:
    """One sentence for the person, in their language; unknown codes keep the operation's message."""
    code = getattr(exc, "code", "")
    known = ERROR_MESSAGES.get(code)
    if known is not None:
        return str(known)
    message = getattr(exc, "message", str(exc))
    return _("It did not work: %(reason)s", reason=message)


# --- sign-in state -------------------------------------------------------------------------------


SESSION_KEY = "sid"  # the browser session's id; only its SHA-256 is stored (api_tokens, kind "web")


def sign_in(session_id: str) -> None:
    """Start a fresh cookie session (no fixation) holding only the id of a ``web`` session row,
    which the API refuses as a bearer token."""
    lang = session.get("lang")
    session.clear()
    session[SESSION_KEY] = session_id
    if lang:
        session["lang"] = lang
    session.permanent = False


def sign_out_here() -> str | None:
    """Forget the sign-in of this browser (keeping the language); returns the session id it had."""
    session_id = session.get(SESSION_KEY)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return session_id


def load_principal() -> None:
    session_id = session.get(SESSION_KEY)
    g.principal = principal_for_token(session_id, kind=TokenKind.WEB) if isinstance(session_id, str) else None
    if session_id and g.principal is None:
        session.pop(SESSION_KEY, None)


def principal():
    return g.get("principal")


def home_for(role: Role) -> str:
    return {
        Role.RESIDENT: "web.resident_home",
        Role.STATION_STAFF: "web.desk",
        Role.CASHIER: "web.counter",
        Role.ADMIN: "web.admin_home",
        Role.SUPERVISOR: "web.admin_home",
    }[role]


@bp.before_request
def _guard():
    """Fail closed: a view without an access declaration is refused; CSRF on every form post."""
    if request.endpoint == "web.static":
        return None  # assets need no sign-in (and no query)
    load_principal()
    view = current_app.view_functions.get(request.endpoint or "")
    policy = declared_access(view) if view else None
    if policy is None:
        return render_error(_("You are not allowed to do this."), 403)
    if policy != PUBLIC:
        who = principal()
        if who is None:
            return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
        if who.role not in policy:
            return render_error(_("You are not allowed to do this."), 403)
        if who.must_change_password and not declared_before_password_change(view):
            return redirect(url_for("web.own_password"))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        csrf.protect()
    return None


def render_error(message: str, status: int):
    """The one error page: the person's language, the phone layout, a way back and a way home."""
    return render_template("error.html", message=message, status=status), status


STATUS_MESSAGES = {
    400: _l("The request was not understood. Please go back and try again."),
    403: ERROR_MESSAGES["forbidden"],
    404: _l("There is no such page. The address may be mistyped, or the page has moved."),
    405: _l("This page cannot be opened this way. Please go back and try again."),
    413: _l("The file or form is too large."),
    429: ERROR_MESSAGES["too_many_requests"],
    500: _l("Something went wrong on our side. Nothing was saved. Please try again in a moment."),
}


def page_error(status: int, exc: Exception | None = None):
    """Errors outside a page's own handling (an unknown address, a crash), for a browser; the HTTP
    error's own headers (``Allow`` of a 405) are kept."""
    try:
        load_principal()
    except Exception:  # noqa: BLE001 - the error page must render even when the database is down
        g.principal = None
    message = STATUS_MESSAGES.get(status) or STATUS_MESSAGES[400 if status < 500 else 500]
    response = make_response(*render_error(str(message), status))
    if isinstance(exc, HTTPException):
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
    return response


@bp.errorhandler(CSRFError)
def _csrf_error(_exc):
    return render_error(str(ERROR_MESSAGES["csrf"]), 400)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return render_error(error_text(exc), exc.status)


@bp.errorhandler(ledger.LedgerError)
def _ledger_error(exc: ledger.LedgerError):
    return render_error(error_text(exc), 409)


@bp.errorhandler(429)
def _too_many(_exc):
    return render_error(str(ERROR_MESSAGES["too_many_requests"]), 429)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default
