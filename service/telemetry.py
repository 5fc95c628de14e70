"""Structured JSON logs with a request id, the principal and the route on every line.

Every request gets an id: the client's ``X-Request-Id`` if it is a plausible id, else a new one. It
is returned in the ``X-Request-Id`` response header and in every error body, and it is on every log
line written while the request runs, with the route template (``/api/v1/members/<int:member_id>``,
never the query string), the method and the principal (``staff:12`` and the role, never a name).
Nothing personal is logged: no query strings, bodies, names, phone numbers, card codes or IDs.

Standard-library loggers (``logging.getLogger(__name__)``) go through the same JSON renderer, so
existing code needs no change.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from flask import Flask, g, has_request_context, request

HEADER = "X-Request-Id"
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")  # a UUID, a trace id; anything else is replaced

access_log = structlog.get_logger("greencoin.access")


def current_request_id() -> str | None:
    """The request's id, made on first use: an error raised by an earlier ``before_request`` hook (a
    413 for a body over the limit) still carries one in its body and header."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if VALID_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def _request_context(_logger, _method, event: dict) -> dict:
    """Processor: the request's id, route and principal on every line logged inside a request."""
    if has_request_context():
        event.setdefault("request_id", g.get("request_id"))
        rule = request.url_rule
        event.setdefault("route", rule.rule if rule is not None else None)
        event.setdefault("method", request.method)
        principal = g.get("principal")
        if principal is not None:
            event.setdefault("principal", principal.key)
            event.setdefault("role", principal.role.value)
    return event


SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _request_context,
]


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    """JSON lines on stderr for structlog and standard-library loggers alike (idempotent)."""
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_greencoin", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler._greencoin = True
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access line replaces its own


def init_app(app: Flask) -> None:
    configure_logging(logging.getLevelName(app.config.get("LOG_LEVEL", "INFO")))

    @app.before_request
    def _request_id():
        current_request_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def _return_and_log(response):
        request_id = current_request_id()
        if request_id:
            response.headers[HEADER] = request_id
        if "request_started" in g and not request.path.startswith("/static/"):
            access_log.info(
                "request",
                status=response.status_code,
                duration_ms=round((time.perf_counter() - g.request_started) * 1000, 1),
            )
        return response
