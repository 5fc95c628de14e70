"""Fraud-alert thresholds are community settings with defaults; an alert names the records it is
about, and an administrator dismisses it with a reason (audit-logged)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from service.localtime import today as local_today
from service.volunteering import fraud
from service.volunteering.models import ServiceRecord


def _scan(app, day: dt.date) -> dict:
    with app.app_context():
        return db.run(lambda s: fraud.scan(s, day, app.config["TIMEZONE"]))


def _record(app, community, station, member, staff_id, day: dt.date, hours: int) -> int:
    start = dt.datetime.combine(day, dt.time(1, 0), dt.UTC)

    def work(s):
        record = ServiceRecord(
            community_id=community.id, station_id=station.id, volunteer_id=member.id, activity_name="巡逻",
            started_at=start, ended_at=start + dt.timedelta(hours=hours), minutes=hours * 60,
            service_date=day, recorded_by=staff_id, status="pending",
        )
        s.add(record)
        s.flush()
        return record.id

    with app.app_context():
        return db.run(work)


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_each_community_scans_with_its_own_thresholds_and_the_alert_names_its_records(app, world):
    strict, lenient = world.community(), world.community()
    strict_admin, lenient_admin = world.admin(strict), world.admin(lenient)
    changed = strict_admin.patch(f"/api/v1/communities/{strict.id}",
                                 {"fraud_frequent_credits": 3, "fraud_long_record_minutes": 120})
    assert changed.status_code == 200, changed.json
    assert changed.json["fraud_frequent_credits"] == 3 and changed.json["fraud_frequent_window_days"] == 30
    assert lenient_admin.get(f"/api/v1/communities/{lenient.id}").json["fraud_frequent_credits"] == 8
    [event] = _audit(app, "community.update")
    assert event.target_id == strict.id and event.actor_staff_id == strict_admin.id
    assert event.before == {"fraud_frequent_credits": 8, "fraud_long_record_minutes": 720}
    assert event.after == {"fraud_frequent_credits": 3, "fraud_long_record_minutes": 120}

    today = local_today(app.config["TIMEZONE"])
    credited = {}
    for community, admin in ((strict, strict_admin), (lenient, lenient_admin)):
        member = world.member(community)
        credited[community.id] = [
            admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 1, "reason": "奖励"})
            .json["id"]
            for _ in range(3)
        ]
        record_id = _record(app, community, world.station(community), member, admin.id, today, 3)
        credited[community.id].append(record_id)
    assert _scan(app, today) == {"frequent_crediting": 1, "service_records": 1}

    alerts = strict_admin.get("/api/v1/fraud-alerts").json
    assert lenient_admin.get("/api/v1/fraud-alerts").json == []
    by_kind = {a["kind"]: a for a in alerts}
    frequent, long_record = by_kind["frequent_crediting"], by_kind["implausible_record"]
    assert frequent["details"]["threshold"] == 3 and long_record["details"]["limit_minutes"] == 120
    *transaction_ids, record_id = credited[strict.id]
    assert [link["id"] for link in frequent["links"] if link["type"] == "transaction"] == transaction_ids
    assert {"type": "staff", "id": strict_admin.id} in frequent["links"]
    assert {"type": "service_record", "id": record_id} in long_record["links"]
    assert strict_admin.get(f"/api/v1/fraud-alerts/{frequent['id']}").json["links"] == frequent["links"]


def test_an_administrator_dismisses_an_alert_with_a_reason_once(app, world):
    community = world.community(fraud_long_record_minutes=60)
    admin, supervisor = world.admin(community), world.staff("supervisor", community=community)
    member = world.member(community)
    today = local_today(app.config["TIMEZONE"])
    _record(app, community, world.station(community), member, admin.id, today, 2)
    _scan(app, today)
    [alert] = admin.get("/api/v1/fraud-alerts").json
    path = f"/api/v1/fraud-alerts/{alert['id']}/dismiss"

    assert supervisor.post(path, {"reason": "看过了"}).status_code == 403
    assert world.admin(world.community()).post(path, {"reason": "看过了"}).status_code == 404
    assert admin.post(path, {}).status_code == 422
    assert admin.post(path, {"reason": ""}).status_code == 422
    dismissed = admin.post(path, {"reason": "夜间巡逻，站长确认属实"})
    assert dismissed.status_code == 200, dismissed.json
    assert dismissed.json["status"] == "dismissed" and dismissed.json["dismissed_by"] == admin.id
    assert dismissed.json["dismissal_reason"] == "夜间巡逻，站长确认属实"
    again = admin.post(path, {"reason": "再次"})
    assert again.status_code == 409 and again.json["error"]["code"] == "alert_already_dismissed"
    assert admin.get("/api/v1/fraud-alerts?status=open").json == []
    assert [a["id"] for a in supervisor.get("/api/v1/fraud-alerts?status=dismissed").json] == [alert["id"]]
    [event] = _audit(app, "fraud_alert.dismiss")
    assert event.target_id == alert["id"] and event.after == {"status": "dismissed", "reason": "夜间巡逻，站长确认属实"}
    # The scan never reopens it.
    _scan(app, today)
    assert admin.get(f"/api/v1/fraud-alerts/{alert['id']}").json["status"] == "dismissed"


def test_thresholds_outside_their_range_are_refused(world):
    community = world.community()
    admin = world.admin(community)
    for field, value in (("fraud_frequent_credits", 1), ("fraud_long_record_minutes", 5000),
                         ("fraud_day_total_minutes", "lots"), ("fraud_frequent_window_days", 0)):
        response = admin.patch(f"/api/v1/communities/{community.id}", {field: value})
        assert response.status_code == 422, (field, response.json)
