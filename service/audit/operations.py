"""Writing audit events. Personal data never enters the log: such fields are recorded only as changed."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent

SYSTEM = "system"

# Fields whose values are personal data or secrets: the log says that they changed, never their value.
PERSONAL_FIELDS = frozenset(
    {
        "national_id",
        "national_id_digest",
        "national_id_mask",
        "phone",
        "card_code",
        "pin",
        "pin_hash",
        "password",
        "password_hash",
        "token",
        "token_hash",
    }
)
REDACTED = "(changed)"


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a value (dates as ISO text, enums by value)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def _redacted(state: Mapping[str, Any] | None) -> dict | None:
    if state is None:
        return None
    return {key: (REDACTED if key in PERSONAL_FIELDS else _plain(value)) for key, value in state.items()}


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of a row, for the ``before``/``after`` of an event."""
    return {name: getattr(obj, name) for name in fields}


def record_audit(
    session: Session,
    *,
    principal,
    action: str,
    target_type: str,
    target_id: int | None,
    community_id: int | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction.

    ``principal`` is the acting :class:`service.auth.access.Principal`, or None for the system (a
    nightly job, an automatic lockout). Personal fields in ``before``/``after`` are stored only as
    "(changed)"; when ``before`` and ``after`` are both given, only the fields that differ are kept.
    """
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    event = AuditEvent(
        actor_role=getattr(getattr(principal, "role", None), "value", None) or SYSTEM,
        actor_staff_id=getattr(principal, "staff_id", None),
        actor_member_id=getattr(principal, "member_id", None),
        action=action,
        target_type=target_type,
        target_id=target_id,
        community_id=community_id,
        before=_redacted(before),
        after=_redacted(after),
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    community_id: int | None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, ``limit`` at a time; the second value is the ``before`` of the next page.
    ``community_id`` None means every community (a city administrator who named none)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if community_id is not None:
        query = query.where(AuditEvent.community_id == community_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = session.scalars(query.limit(limit + 1)).all()
    more = len(events) > limit
    events = events[:limit]
    return events, (events[-1].id if more else None)

