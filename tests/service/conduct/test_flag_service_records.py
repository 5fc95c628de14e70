"""Supervisors flag a service record as well as an award; an administrator keeps it or reverses it
(the hours and coins go back through the record's own reversal); both steps are audit-logged."""

from __future__ import annotations

from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from tests.service.volunteering.support import at, build_desk, record_body


def _approved(desk, start, end) -> dict:
    made = desk.staff1.post("/api/v1/service-records", record_body(desk, start, end))
    assert made.status_code == 201, made.json
    approved = desk.staff2.post(f"/api/v1/service-records/{made.json['id']}/approve")
    assert approved.status_code == 200, approved.json
    return approved.json


def test_a_supervisor_flags_a_service_record_and_an_administrator_reverses_it(app, world):
    desk = build_desk(world)
    record = _approved(desk, at(2, 1), at(2, 3))
    assert world.balance(desk.member) == 20
    flagged = desk.supervisor.post("/api/v1/flags", {"service_record_id": record["id"], "reason": "当天下雨未开展"})
    assert flagged.status_code == 201, flagged.json
    assert flagged.json["service_record_id"] == record["id"] and flagged.json["award_id"] is None
    again = desk.supervisor.post("/api/v1/flags", {"service_record_id": record["id"], "reason": "再次"})
    assert again.status_code == 409 and again.json["error"]["code"] == "record_already_flagged"
    assert desk.staff1.post("/api/v1/flags", {"service_record_id": record["id"], "reason": "x"}).status_code == 403
    assert desk.supervisor.post("/api/v1/flags", {"reason": "x"}).status_code == 422
    assert desk.supervisor.post("/api/v1/flags", {"award_id": 1, "service_record_id": record["id"],
                                                  "reason": "x"}).status_code == 422
    resolved = desk.admin.post(f"/api/v1/flags/{flagged.json['id']}/resolve", {"decision": "reverse", "note": "核实属实"})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["status"] == "reversed" and resolved.json["reversal_transaction_id"]
    assert desk.admin.get(f"/api/v1/service-records/{record['id']}").json["status"] == "reversed"
    assert world.balance(desk.member) == 0
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("flag.%"))
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["flag.service_record", "flag.resolve"]


def test_a_kept_record_stays_and_a_rejected_one_cannot_be_flagged(app, world):
    desk = build_desk(world)
    record = _approved(desk, at(2, 1), at(2, 3))
    flag = desk.supervisor.post("/api/v1/flags", {"service_record_id": record["id"], "reason": "疑似代签"}).json
    kept = desk.admin.post(f"/api/v1/flags/{flag['id']}/resolve", {"decision": "keep", "note": "签到表齐全"})
    assert kept.status_code == 200 and kept.json["status"] == "kept"
    assert desk.admin.get(f"/api/v1/service-records/{record['id']}").json["status"] == "approved"
    made = desk.staff1.post("/api/v1/service-records", record_body(desk, at(3, 1), at(3, 2))).json
    desk.staff2.post(f"/api/v1/service-records/{made['id']}/reject", {"reason": "重复"})
    refused = desk.supervisor.post("/api/v1/flags", {"service_record_id": made["id"], "reason": "x"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "record_not_flaggable"
    listed = desk.supervisor.get("/api/v1/flags").json
    assert [f["service_record_id"] for f in listed] == [record["id"]]
