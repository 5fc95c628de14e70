"""The audit log keeps who changed what, never personal data, and can never be edited."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.audit.models import AuditEvent
from service.audit.operations import REDACTED, record_audit
from service.auth.access import Principal
from service.auth.models import Role


@pytest.fixture
def event_id(session):
    admin = Principal(role=Role.ADMIN, staff_id=None, community_id=None)
    event = record_audit(
        session,
        principal=admin,
        action="member.update",
        target_type="member",
        target_id=7,
        community_id=None,
        before={"name": "张三", "phone": "13800000000", "household_id": 1},
        after={"name": "张三", "phone": "13900000000", "household_id": 2},
    )
    session.commit()
    return event.id


def test_event_keeps_only_changed_fields_and_hides_personal_values(session, event_id):
    event = session.get(AuditEvent, event_id)
    assert event.actor_role == "admin"
    assert event.before == {"phone": REDACTED, "household_id": 1}
    assert event.after == {"phone": REDACTED, "household_id": 2}
    assert "1380" not in str(event.before) and "1390" not in str(event.after)


def test_system_events_are_marked_as_system(session):
    event = record_audit(
        session, principal=None, action="auth.lockout", target_type="staff", target_id=1, community_id=None
    )
    assert event.actor_role == "system"


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"])
def test_database_refuses_editing_the_audit_log(engine, session, event_id, statement):
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    session.expire_all()
    assert session.scalars(select(AuditEvent.action)).all() == ["member.update"]
