"""Supervisors (村务监督委员会) list every service record and award of their community, read-only,
with who recorded and approved it, the note and the evidence; by month and person, page by page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from tests.service.volunteering.support import at, build_desk, record_body


@pytest.fixture
def desk(world):
    return build_desk(world)


def _record(desk, days_ago: int, *, approve: bool = True, member=None) -> dict:
    body = record_body(desk, at(days_ago, 1), at(days_ago, 2), evidence="签到表第3页")
    if member is not None:
        body["volunteer_id"] = member.id
    made = desk.staff1.post("/api/v1/service-records", body)
    assert made.status_code == 201, made.json
    if not approve:
        return made.json
    approved = desk.staff2.post(f"/api/v1/service-records/{made.json['id']}/approve")
    assert approved.status_code == 200, approved.json
    return approved.json


def _award(desk) -> dict:
    made = desk.admin.post("/api/v1/indicators", {"community_id": desk.community.id, "code": "T-1", "name": "义务巡逻",
                                                  "category": "public_safety", "points": 5})
    assert made.status_code == 201, made.json
    award = desk.staff1.post("/api/v1/conduct-awards", {"indicator_id": made.json["id"], "member_id": desk.member.id,
                                                        "note": "巡逻两小时", "evidence": "照片2张"})
    assert award.status_code == 201, award.json
    return award.json


def test_a_supervisor_sees_who_recorded_and_approved_each_record_and_award(desk):
    approved, pending = _record(desk, 3), _record(desk, 2, approve=False)
    award = _award(desk)
    records = desk.supervisor.get("/api/v1/oversight/service-records")
    assert records.status_code == 200, records.json
    assert [r["id"] for r in records.json] == [pending["id"], approved["id"]]  # newest first
    row = records.json[1]
    assert row["recorded_by"] == {"id": desk.staff1.id, "name": f"员工{desk.staff1.username}"}
    assert row["approved_by"]["id"] == desk.staff2.id and row["evidence"] == "签到表第3页"
    assert row["person"]["volunteer_number"] == desk.member.volunteer_number and row["minutes"] == 60
    assert records.json[0]["approved_by"] is None and records.json[0]["status"] == "pending"

    awards = desk.supervisor.get("/api/v1/oversight/conduct-awards").json
    assert [(a["id"], a["note"], a["evidence"], a["points"]) for a in awards] == [(award["id"], "巡逻两小时", "照片2张", 5)]
    assert awards[0]["recorded_by"]["id"] == desk.staff1.id and awards[0]["person"]["id"] == desk.member.id


def test_flags_show_on_the_rows_they_are_about_and_are_audit_logged(app, desk):
    approved, award = _record(desk, 3), _award(desk)
    assert desk.supervisor.post("/api/v1/flags", {"service_record_id": approved["id"], "reason": "未开展"}).status_code == 201
    assert desk.supervisor.post("/api/v1/flags", {"award_id": award["id"], "reason": "无照片"}).status_code == 201
    record_flags = desk.supervisor.get("/api/v1/oversight/service-records").json[0]["flags"]
    assert [(f["status"], f["reason"]) for f in record_flags] == [("open", "未开展")]
    award_flags = desk.admin.get("/api/v1/oversight/conduct-awards").json[0]["flags"]
    assert [(f["status"], f["reason"]) for f in award_flags] == [("open", "无照片")]
    with app.app_context():
        logged = db.session.execute(select(AuditEvent.action, AuditEvent.target_id, AuditEvent.actor_staff_id)
                                    .where(AuditEvent.action.like("flag.%")).order_by(AuditEvent.id)).all()
    assert logged == [("flag.service_record", approved["id"], desk.supervisor.id),
                      ("flag.award", award["id"], desk.supervisor.id)]


def test_the_list_pages_by_keyset_and_filters_by_month_and_person(world, desk):
    other = world.member(desk.community, name="李四")
    made = [_record(desk, days, approve=False) for days in (5, 4, 3)] + [_record(desk, 2, approve=False, member=other)]
    first = desk.supervisor.get("/api/v1/oversight/service-records?limit=2").json
    second = desk.supervisor.get(f"/api/v1/oversight/service-records?limit=2&before={first[-1]['id']}").json
    assert [r["id"] for r in first + second] == [m["id"] for m in reversed(made)]

    by_number = desk.supervisor.get(f"/api/v1/oversight/service-records?person={other.volunteer_number}").json
    assert [r["id"] for r in by_number] == [made[3]["id"]]
    by_name = desk.supervisor.get("/api/v1/oversight/service-records?person=李四").json
    assert [r["id"] for r in by_name] == [made[3]["id"]]
    assert len(desk.supervisor.get(f"/api/v1/oversight/service-records?member_id={desk.member.id}").json) == 3

    month = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).strftime("%Y-%m")
    in_month = desk.supervisor.get(f"/api/v1/oversight/service-records?month={month}").json
    assert made[2]["id"] in [r["id"] for r in in_month]
    assert desk.supervisor.get("/api/v1/oversight/service-records?month=2001-01").json == []
    assert desk.supervisor.get("/api/v1/oversight/conduct-awards?month=2001-01").json == []


def test_only_supervisors_and_administrators_of_the_community_see_the_lists(world, desk):
    _record(desk, 3)
    for path in ("/api/v1/oversight/service-records", "/api/v1/oversight/conduct-awards"):
        assert desk.staff1.get(path).status_code == 403
        assert world.resident(desk.member).get(path).status_code == 403
        assert desk.admin.get(path).status_code == 200
    elsewhere = world.community()
    outsider = world.staff("supervisor", community=elsewhere)
    assert outsider.get("/api/v1/oversight/service-records").json == []
    refused = outsider.get(f"/api/v1/oversight/service-records?community_id={desk.community.id}")
    assert refused.status_code == 404
    city = world.admin()
    assert len(city.get(f"/api/v1/oversight/service-records?community_id={desk.community.id}").json) == 1


@pytest.mark.parametrize("query", ["month=2026-13", "month=26-01", "month=0000-01", "limit=0", "before=-1",
                                   "person=", "member_id=abc"])
def test_bad_filters_are_a_clear_422(desk, query):
    response = desk.supervisor.get(f"/api/v1/oversight/service-records?{query}")
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
