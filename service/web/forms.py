"""Form pages: a posted form is validated with the API's own schema, sent once per form key (a
double submit posts once), and a problem is turned into what the page shows (``failed``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.orm import Session

import ledger

from ..errors import DomainError
from ..idempotency import request_digest, run_once
from .core import error_text, principal

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
    ("a mainland mobile number", _l("Enter a mainland mobile number: 11 digits, starting with 13 to 19.")),
    ("4 to 8 digits", _l("The PIN is 4 to 8 digits.")),
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

    @classmethod
    def worded(cls, messages: dict[str, str]) -> FormInvalid:
        """Field errors already in the person's words (a rule's message, not marshmallow's)."""
        invalid = cls({})
        invalid.fields = dict(messages)
        return invalid


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


PROBLEMS = (FormInvalid, DomainError, ledger.LedgerError)


def failed(exc: Exception, *, short_of: str | None = None) -> tuple[str, dict, dict, int]:
    """What a form page shows after a problem: the error sentence, field errors, the posted values (to
    fill the form in again) and the status. ``short_of`` words a wallet that would go negative (hours
    rather than coins)."""
    if isinstance(exc, FormInvalid):
        return _("Some fields need attention."), exc.fields, form_values(), 422
    text = error_text(exc)
    if short_of and getattr(exc, "code", "") == "insufficient_balance":
        text = short_of
    return text, {}, form_values(), getattr(exc, "status", 409)


def form_page(template: str, status: int = 200, **context):
    """Render a form page with its status (200, or the failure's 4xx so tests and tools see it)."""
    return render_template(template, **context), status
