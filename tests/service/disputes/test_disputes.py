"""Residents dispute their own statement lines; staff answer by a deadline or it escalates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import ledger
from service.audit.models import AuditEvent
from service.disputes.operations import escalate_overdue, open_dispute
from service.errors import Conflict
from service.extensions import db


@pytest.fixture
def scheme(world):
    community = world.community()
    station = world.station(community)
    member = world.member(community)
    admin = world.admin(community)
    line = admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 40, "reason": "开户"})
    assert line.status_code == 201, line.json
    return {
        "community": community,
        "member": member,
        "admin": admin,
        "desk": world.staff("station_staff", community=community, station=station),
        "resident": world.resident(member),
        "transaction_id": line.json["id"],
    }


def _dispute(scheme, reason="我没有收到这笔"):
    return scheme["resident"].post(
        "/api/v1/disputes", json={"transaction_id": scheme["transaction_id"], "reason": reason}
    )


def test_resident_disputes_own_line_and_sees_its_status(scheme):
    opened = _dispute(scheme)
    assert opened.status_code == 201, opened.json
    assert opened.json["status"] == "open" and opened.json["transaction_kind"] == "adjustment"
    mine = scheme["resident"].get("/api/v1/disputes")
    assert [d["id"] for d in mine.json] == [opened.json["id"]]
    assert _dispute(scheme).json["error"]["code"] == "already_disputed"


def test_resident_cannot_dispute_someone_elses_line(world, scheme):
    other = world.member(scheme["community"], name="李四")
    response = world.resident(other).post(
        "/api/v1/disputes", json={"transaction_id": scheme["transaction_id"], "reason": "x"}
    )
    assert response.status_code == 404


def test_correcting_reverses_the_line_through_its_own_path(world, scheme):
    dispute = _dispute(scheme).json
    answer = scheme["admin"].post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "correct", "note": "录错了"}
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "corrected" and answer.json["correction_transaction_id"]
    assert world.balance(scheme["member"]) == 0
    assert world.invariants() == {}
    again = scheme["admin"].post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "x"})
    assert again.status_code == 409


def test_keeping_leaves_the_line_and_is_audit_logged(app, world, scheme):
    dispute = _dispute(scheme).json
    answer = scheme["desk"].post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "有签到表"})
    assert answer.json["status"] == "kept"
    assert world.balance(scheme["member"]) == 40
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["dispute.open", "dispute.keep"]


def test_supervisor_reads_but_cannot_answer(world, scheme):
    dispute = _dispute(scheme).json
    supervisor = world.staff("supervisor", community=scheme["community"])
    assert [d["id"] for d in supervisor.get("/api/v1/disputes").json] == [dispute["id"]]
    refused = supervisor.post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "x"})
    assert refused.status_code == 403


def test_unanswered_dispute_escalates_and_then_only_an_admin_answers(app, scheme):
    dispute = _dispute(scheme).json
    with app.app_context():
        assert db.run(lambda s: escalate_overdue(s, ledger.utcnow() + dt.timedelta(days=6))) == 0
        assert db.run(lambda s: escalate_overdue(s, ledger.utcnow() + dt.timedelta(days=8))) == 1
        assert db.run(lambda s: escalate_overdue(s, ledger.utcnow() + dt.timedelta(days=9))) == 0
    escalated = scheme["admin"].get(f"/api/v1/disputes/{dispute['id']}").json
    assert escalated["status"] == "escalated" and escalated["escalated_at"]
    desk = scheme["desk"].post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "x"})
    assert desk.status_code == 403
    admin = scheme["admin"].post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "核实无误"})
    assert admin.json["status"] == "kept"


def test_lines_older_than_the_window_cannot_be_disputed(app, scheme):
    policy = scheme["admin"].patch(
        f"/api/v1/communities/{scheme['community'].id}/dispute-policy", json={"window_days": 5}
    )
    assert policy.json == {"window_days": 5, "answer_days": 7}
    with app.app_context(), pytest.raises(Conflict, match="within 5 days"):
        from service.auth.access import Principal
        from service.auth.models import Role

        resident = Principal(role=Role.RESIDENT, member_id=scheme["member"].id, community_id=scheme["community"].id)
        db.run(
            lambda s: open_dispute(
                s, resident, transaction_id=scheme["transaction_id"], reason="x",
                now=ledger.utcnow() + dt.timedelta(days=6),
            )
        )


def test_hostile_dispute_input_is_a_4xx_and_writes_nothing(scheme):
    for body in ({}, {"transaction_id": "1", "reason": "x"}, {"transaction_id": 1, "reason": ""},
                 {"transaction_id": 2**63, "reason": "x"}, {"transaction_id": 1, "reason": "x" * 1001}):
        response = scheme["resident"].post("/api/v1/disputes", json=body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    assert scheme["resident"].get("/api/v1/disputes").json == []


def test_an_escalated_dispute_is_on_the_disclosure_until_answered(app, scheme):
    from service.community.models import Community
    from service.conduct.disclosure import build

    dispute = _dispute(scheme).json
    with app.app_context():
        from service.disputes.models import Dispute

        db.run(lambda s: s.get(Dispute, dispute["id"]).__setattr__(
            "answer_due_at", ledger.utcnow() - dt.timedelta(hours=1)))
        assert db.run(lambda s: escalate_overdue(s, ledger.utcnow())) == 1
        month = ledger.utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")

        def sheet(s):
            return build(s, s.get(Community, scheme["community"].id), month, app.config["TIMEZONE"])

        listed = db.run(sheet)["escalated_disputes"]
        assert [(d["dispute_id"], d["name"], d["kind"]) for d in listed] == [(dispute["id"], "张*丰", "adjustment")]
    scheme["admin"].post(f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep", "note": "核实"})
    with app.app_context():
        assert db.run(sheet)["escalated_disputes"] == []
