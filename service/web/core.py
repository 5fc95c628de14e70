"""The pages' blueprint and what every page shares: sign-in state, access, CSRF, errors, forms.

Pages call the same operations as the API. Access is declared on every view with the API's own
``@access(...)`` / ``@public`` marks and checked before the view runs (fail closed); the signed-in
person is a ``Principal`` built from the API token kept in the session cookie, so expiry,
revocation and deactivated accounts behave exactly as in the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.orm import Session

import ledger

from ..auth.access import PUBLIC, declared_access
from ..auth.models import Role
from ..auth.operations import principal_for_token
from ..errors import DomainError
from ..idempotency import request_digest, run_once

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
    "resolved": _l("resolved"),
    "ok": _l("sound"),
    "failed": _l("failed"),
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


def sign_in(token: str) -> None:
    lang = session.get("lang")
    session.clear()
    session["token"] = token
    if lang:
        session["lang"] = lang
    session.permanent = False


def load_principal() -> None:
    token = session.get("token")
    g.principal = principal_for_token(token) if token else None
    if token and g.principal is None:
        session.pop("token", None)


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
    load_principal()
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "web.static":
        return None
    policy = declared_access(view) if view else None
    if policy is None:
        return render_error(_("You are not allowed to do this."), 403)
    if policy != PUBLIC:
        who = principal()
        if who is None:
            return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
        if who.role not in policy:
            return render_error(_("You are not allowed to do this."), 403)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        csrf.protect()
    return None


def render_error(message: str, status: int):
    return render_template("error.html", message=message, status=status), status


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


# --- forms ---------------------------------------------------------------------------------------

FIELD_MESSAGES = (
    ("Missing data for required field", _l("Please fill this in.")),
    ("Not a valid integer", _l("Please enter a whole number.")),
    ("Not a valid date", _l("Please enter a date.")),
    ("Not a valid datetime", _l("Please enter a date and time.")),
    ("Must be greater than or equal to", _l("The number is too small.")),
    ("Must be less than or equal to", _l("The number is too large.")),
    ("Length must be", _l("The length is not right.")),
    ("Shorter than minimum length", _l("Please fill this in.")),
    ("Must be one of", _l("Please choose one of the options.")),
    ("Field may not be null", _l("Please fill this in.")),
)


def field_message(raw) -> str:
    text = raw[0] if isinstance(raw, list) and raw else raw
    if isinstance(text, dict):
        return str(_l("Please check this."))
    for prefix, message in FIELD_MESSAGES:
        if str(text).startswith(prefix):
            return str(message)
    return str(_l("The format is not right."))


class FormInvalid(Exception):
    """The form's fields broke the API schema; ``fields`` maps field -> message for the person."""

    def __init__(self, field_errors: dict):
        super().__init__("form invalid")
        self.fields = {name: field_message(msgs) for name, msgs in field_errors.items()}


def load_form(schema: Schema, form=None, *, extra: dict | None = None) -> dict:
    """Validate a posted form with the API's own schema (one set of rules for both).

    Form fields are strings; they are turned into what the JSON API would get: whole numbers for
    integer fields, booleans for checkboxes, and empty optional fields left out or null.
    """
    form = request.form if form is None else form
    payload: dict = {}
    for name, field in schema.fields.items():
        if field.dump_only or name not in form:
            continue
        values = form.getlist(name) if hasattr(form, "getlist") else [form[name]]
        raw = (values[-1] if values else "").strip()
        if isinstance(field, fields.Boolean):
            payload[name] = raw.lower() in ("1", "on", "true", "yes")
        elif raw == "":
            if field.allow_none:
                payload[name] = None
        elif isinstance(field, fields.Integer):
            payload[name] = int(raw) if raw.lstrip("-").isdigit() else raw
        else:
            payload[name] = raw
    payload.update(extra or {})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise FormInvalid(exc.messages) from None


def new_form_key() -> str:
    """A hidden per-form idempotency key: the same submit sent twice posts once."""
    return uuid.uuid4().hex


def form_key() -> str:
    key = request.form.get("form_key", "").strip()
    if not key or len(key) > 64 or not key.isalnum():
        raise FormInvalid({"form_key": ["missing"]})
    return key


def ledger_key() -> str:
    """The ledger idempotency key of what this form posts (unique per person and form)."""
    return f"web:{principal().key}:{form_key()}"


def once(payload: dict, work: Callable[[Session], dict]) -> dict:
    """Run a money write once per form key (with the API's idempotency table); a replay returns the
    first result, so a double-clicked or resent form never posts twice."""
    who = principal()
    body, _status, replayed = run_once(
        who.key, f"web:{form_key()}", request_digest(payload), lambda s: (work(s), 200), staff_id=who.staff_id
    )
    g.form_replayed = replayed
    return body


def form_values() -> dict:
    """The submitted values, to fill the form in again after an error."""
    return {k: (v if len(vs) == 1 else vs) for k, vs in request.form.lists() for v in vs[-1:]}
