"""Errors and their JSON form: ``{"error": {"code", "message", "details"}}`` under ``/api``.

Operations raise ``DomainError`` subclasses (or the ledger's errors); the handlers here turn every
error under ``/api`` (404, 405, 415, 422, a database outage …) into that JSON form, never an HTML
page or a stack trace.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, current_app, jsonify, request
from flask_smorest import Api
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

import ledger

from .extensions import limiter
from .telemetry import current_request_id

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule."""

    status, code = 422, "unprocessable"


class TooManyRequests(DomainError):
    status, code = 429, "too_many_requests"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


LEDGER_STATUS = {
    ledger.InsufficientBalance: 409,
    ledger.IdempotencyConflict: 409,
    ledger.AlreadyReversed: 409,
    ledger.NotReversible: 409,
    ledger.TransactionNotFound: 404,
    ledger.UnknownAccount: 404,
    ledger.InvalidPosting: 422,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    error = {"code": code, "message": message, "details": details or {}, "request_id": current_request_id()}
    response = jsonify({"error": error})
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


def wants_json() -> bool:
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def http_error_response(error: HTTPException):
    """Our JSON form of a werkzeug/flask-smorest HTTP error (webargs puts field errors in .data)."""
    data = getattr(error, "data", None) or {}
    status = error.code or 500
    if status == 422 and "messages" in data:
        messages = data["messages"]
        # webargs nests by location ("json", "query"); the client only needs the fields
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))
        return error_response(422, "validation_error", "the request is not valid", {"fields": messages})
    message = data.get("message") or error.description or error.name
    # Keep what the error's own response would say besides its HTML, e.g. a 405's Allow header.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    extra = data.get("headers") or {}
    headers.extend(extra.items() if hasattr(extra, "items") else extra)
    details = {"retry_at": _rate_limit_reset()} if status == 429 else None
    return error_response(status, HTTP_CODES.get(status, "error"), message, details, headers=headers)


def _rate_limit_reset() -> str | None:
    """When the rate limit that refused this request lets the client try again (ISO 8601, UTC)."""
    current = limiter.current_limit
    if current is None:
        return None
    return dt.datetime.fromtimestamp(current.reset_at, dt.UTC).isoformat()


class ApiErrorDetailSchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "stable machine-readable code, e.g. insufficient_balance"}
    )
    message = fields.String(required=True, metadata={"description": "for people; may change"})
    details = fields.Dict(metadata={"description": "what the code needs, e.g. fields for validation_error"})
    request_id = fields.String(
        allow_none=True, metadata={"description": "the X-Request-Id of the request, to quote to an operator"}
    )


class ApiErrorSchema(Schema):
    error = fields.Nested(ApiErrorDetailSchema, required=True)


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every URL: ids fit a signed 64-bit column, so a longer number matches no
    route (404) instead of overflowing the database driver (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class GreencoinApi(Api):
    """flask-smorest's Api with our error format for every HTTP error under /api."""

    ERROR_SCHEMA = ApiErrorSchema

    def init_app(self, app, **kwargs):
        # Before any blueprint is registered: rules pick their converters when they are added.
        app.url_map.converters["int"] = RowIdConverter
        super().init_app(app, **kwargs)

    def handle_http_exception(self, error: HTTPException):
        if wants_json():
            return http_error_response(error)
        # The pages register ``app.extensions["page_error"]`` to answer a browser in its language.
        page_error = current_app.extensions.get("page_error")
        return page_error(error.code, error) if page_error and (error.code or 0) >= 400 else error


def _is_database_unreachable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated or isinstance(exc, (InterfaceError, DisconnectionError)):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and any(
        marker in text
        for marker in ("connection", "could not connect", "server closed", "unable to open database", "timeout")
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ledger.LedgerError)
    def _ledger_error(exc: ledger.LedgerError):
        status = next((s for cls, s in LEDGER_STATUS.items() if isinstance(exc, cls)), 409)
        return error_response(status, exc.code, exc.message, exc.details)

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        if _is_database_unreachable(exc):
            log.error("database unreachable: %s", exc.orig)
            return error_response(503, "database_unavailable", "the database is unreachable, try again shortly")
        if isinstance(exc, IntegrityError):
            # A constraint the operation did not pre-check (or a race it lost on every retry).
            log.warning("integrity error: %s", exc.orig)
            return error_response(409, "conflict", "the request conflicts with data that already exists")
        log.exception("database error")
        return error_response(500, "internal_error", "an internal error occurred")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        page_error = app.extensions.get("page_error")
        if isinstance(exc, HTTPException):
            return http_error_response(exc) if wants_json() else exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response(500, "internal_error", "an internal error occurred")
        return page_error(500) if page_error else ("Internal Server Error", 500)


def refuse_wrong_media_type() -> None:
    """``before_request`` of the API blueprints: writes take JSON (415 otherwise), before parsing
    or authorisation. A view method that takes another type (a CSV sheet) lists it in ``accepts``."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if not request.content_length and not request.content_type:
        return  # an empty body: the schema reports the missing fields
    view = current_app.view_functions.get(request.endpoint or "")
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    accepted = getattr(method, "accepts", ("application/json",))
    if request.mimetype not in accepted:
        raise UnsupportedMediaType(f"send the body as {' or '.join(accepted)}", received=request.mimetype)
