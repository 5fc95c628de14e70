"""Request idempotency for API writes (the ``Idempotency-Key`` header).

The key is claimed *first* in the unit of work (an insert on a unique key), so a concurrent
duplicate waits for the first request to commit, loses the unique race, is retried by
``db.run`` and then replays the stored response. Same key + same payload: the original status and
body, with ``Idempotent-Replayed: true``. Same key + another payload: 409.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from flask import jsonify, request
from sqlalchemy import JSON, ForeignKey, Integer, String, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger import RetryableConflict
from ledger.chain import canonical_json
from ledger.db import execute_hot
from ledger.models import Base, UTCDateTime, utcnow

from .auth.access import current_principal
from .errors import BadRequest, Conflict
from .extensions import db
from .privacy import pii_key, redact_personal

HEADER = "Idempotency-Key"
MAX_KEY = 100


class IdempotentRequest(Base):
    """A write request seen once, with the response it produced."""

    __tablename__ = "idempotent_requests"

    principal: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


_table = IdempotentRequest.__table__
# Claim the key first, in one statement: a concurrent duplicate waits on the unique key, finds it
# taken once the first commits, and replays its response.
_CLAIM = {
    name: dialect.insert(_table)
    .values(
        principal=bindparam("principal"), key=bindparam("key"), request_hash=bindparam("request_hash"),
        staff_id=bindparam("staff_id"), created_at=bindparam("created_at"),
    )
    .on_conflict_do_nothing()
    .returning(_table.c.principal)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_SEEN = select(_table.c.request_hash, _table.c.response_status, _table.c.response_body).where(
    _table.c.principal == bindparam("principal"), _table.c.key == bindparam("key")
)


# Store the response of the claimed request (built once; ``_Answer.params`` binds it).
ANSWER = (
    update(_table)
    .where(_table.c.principal == bindparam("answer_principal"), _table.c.key == bindparam("answer_key"))
    .values(response_status=bindparam("answer_status"), response_body=bindparam("answer_body"))
)


@dataclass
class _Answer:
    """The response of the claimed request, written once: by ``run_once`` after the work, or by the
    work itself inside its own last statement (``answer_params``)."""

    principal: str
    key: str
    written: bool = False

    def params(self, body: dict, status: int) -> dict:
        """The parameters of ``ANSWER`` for this request; from now on the response counts as written."""
        self.written = True
        return {"answer_principal": self.principal, "answer_key": self.key, "answer_status": status,
                "answer_body": body}


_current: ContextVar[_Answer | None] = ContextVar("idempotent_answer", default=None)


def answer_params(body: dict, status: int) -> dict | None:
    """For a hot path that writes its last rows in one statement: the parameters with which it runs
    ``ANSWER`` (the response of the request being run) in that statement, or None outside
    ``run_once``; ``run_once`` then skips its own."""
    answer = _current.get()
    return answer.params(body, status) if answer is not None else None


def request_key() -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise BadRequest(f"the {HEADER} header is required for this request", code="idempotency_key_required")
    if len(key) > MAX_KEY:
        raise BadRequest(f"{HEADER} is at most {MAX_KEY} characters", code="idempotency_key_invalid")
    return key


# For @blp.doc(parameters=[IDEMPOTENCY_PARAM]) on every write that posts to the ledger. The pattern is
# what request_key() accepts: 1 to MAX_KEY characters, no surrounding white space (HTTP drops it).
IDEMPOTENCY_PARAM = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A key the client makes once per intended write (e.g. a UUID) and sends again on every "
    "retry of it: the same key and body replay the first response, the same key with another body is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": r"^\S(.*\S)?$"},
}


def ledger_key_for_request() -> str:
    """The ledger idempotency key of the transaction this request posts (unique per caller)."""
    return f"api:{current_principal().key}:{request_key()}"


def run_once(
    principal_key: str, key: str, request_digest: str, work: Callable[[Session], tuple[dict, int]], *, staff_id=None
) -> tuple[dict, int, bool]:
    """Run ``work`` once per (caller, key) in one unit of work; return ``(body, status, replayed)``.

    Shared by the API (``Idempotency-Key`` header) and the pages (a per-form key)."""

    def attempt(session: Session):
        connection = session.connection()
        claimed = execute_hot(
            connection, _CLAIM[connection.dialect.name],
            {"principal": principal_key, "key": key, "request_hash": request_digest, "staff_id": staff_id,
             "created_at": utcnow()},
        ).fetchone()
        if claimed is None:  # seen before (a concurrent first claim made us wait for its commit)
            seen = connection.execute(_SEEN, {"principal": principal_key, "key": key}).first()
            if seen is None:
                raise RetryableConflict("the first request with this key is still being decided")
            if seen.request_hash != request_digest:
                raise Conflict(
                    "this Idempotency-Key was already used with a different request", code="idempotency_conflict"
                )
            return seen.response_body, seen.response_status, True
        answer = _Answer(principal_key, key)
        token = _current.set(answer)
        try:
            body, status = work(session)
        finally:
            _current.reset(token)
        if not answer.written:
            connection.execute(ANSWER, answer.params(body, status))
        return body, status, False

    return db.run(attempt)


def request_digest(payload: dict) -> str:
    """What a replay must match: method, path and body, keyed.

    Personal fields (national ID, phone, card code, PIN, password) are replaced by their keyed
    digest first and the whole is an HMAC under the personal-data key, so the stored hash lets no
    one test guesses of a national ID number offline without that key."""
    canonical = canonical_json([request.method, request.path, redact_personal(payload)])
    return hmac.new(pii_key(), canonical.encode(), "sha256").hexdigest()


def idempotent(payload: dict, work: Callable[[Session], tuple[dict, int]]):
    """Run ``work`` (returning ``(body, status)``) once per Idempotency-Key; return a Response."""
    principal = current_principal()
    body, status, replayed = run_once(
        principal.key, request_key(), request_digest(payload), work, staff_id=principal.staff_id
    )
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
