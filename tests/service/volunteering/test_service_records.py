"""Service records through the API: the rules of SPEC §2 "Volunteer hours", on both databases."""

import pytest

from ledger import Unit
from service.volunteering.models import ServiceRecord

from .support import at, build_desk, count, record_body, transactions


@pytest.fixture
def desk(world):
    return build_desk(world)


def log(desk, start, end, caller=None, **extra):
    response = (caller or desk.staff1).post("/api/v1/service-records", record_body(desk, start, end, **extra))
    assert response.status_code == 201, response.json
    return response.json


def test_approval_posts_minutes_and_coins_at_the_rate_in_force(world, desk):
    record = log(desk, at(2, 1), at(2, 3, 30))  # 150 minutes
    response = desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve")
    assert response.status_code == 200, response.json
    approved = response.json
    assert approved["status"] == "approved" and approved["minutes"] == 150 and approved["coins"] == 25
    assert approved["coins_per_hour"] == 10 and approved["verified_by"] == desk.staff2.id
    tx = desk.admin.get(f"/api/v1/transactions/{approved['transaction_id']}").json
    assert tx["kind"] == "volunteer_hours" and tx["location"] == f"station:{desk.station.id}"
    assert tx["details"]["coins_per_hour"] == 10 and tx["details"]["minutes"] == 150
    assert sorted(e["amount"] for e in tx["entries"]) == [-150, -25, 25, 150]
    balance = desk.admin.get(f"/api/v1/members/{desk.member.id}/balance").json
    assert (balance["coins"], balance["hours_minutes"], balance["lifetime_hours_minutes"]) == (25, 150, 150)
    assert world.invariants() == {}


def test_coins_are_pro_rata_by_minute_rounded_down_and_a_rate_change_never_changes_the_past(world, desk):
    first = log(desk, at(3, 1), at(3, 1, 50))  # 50 minutes at 10/h = 8.33 -> 8
    assert desk.staff2.post(f"/api/v1/service-records/{first['id']}/approve").json["coins"] == 8
    assert desk.admin.patch(f"/api/v1/communities/{desk.community.id}", {"coins_per_hour": 12}).status_code == 200
    second = log(desk, at(2, 1), at(2, 1, 50))  # 50 minutes at 12/h = 10
    assert desk.staff2.post(f"/api/v1/service-records/{second['id']}/approve").json["coins"] == 10
    old = desk.admin.get(f"/api/v1/service-records/{first['id']}").json
    assert (old["coins"], old["coins_per_hour"]) == (8, 10)
    assert world.balance(desk.member) == 18
    assert world.invariants() == {}


def test_a_zero_coin_rate_posts_only_the_hours(world):
    desk = build_desk(world, coins_per_hour=0)
    record = log(desk, at(2, 1), at(2, 2))
    approved = desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve").json
    tx = desk.admin.get(f"/api/v1/transactions/{approved['transaction_id']}").json
    assert [e["unit"] for e in tx["entries"]] == ["HOUR", "HOUR"] and approved["coins"] == 0
    assert world.balance(desk.member, Unit.HOUR) == 60 and world.balance(desk.member) == 0
    assert world.invariants() == {}


def test_the_recorder_cannot_approve_their_own_record(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    response = desk.staff1.post(f"/api/v1/service-records/{record['id']}/approve")
    assert response.status_code == 403 and response.json["error"]["code"] == "four_eyes"
    assert transactions(world, "volunteer_hours") == 0
    assert desk.admin.get(f"/api/v1/service-records/{record['id']}").json["status"] == "pending"


def test_a_community_without_four_eyes_lets_the_recorder_approve(world):
    desk = build_desk(world, four_eyes=False)
    record = log(desk, at(2, 1), at(2, 2))
    assert desk.staff1.post(f"/api/v1/service-records/{record['id']}/approve").json["status"] == "approved"


@pytest.mark.parametrize(
    ("start", "end", "extra", "status", "code"),
    [
        (at(2, 3), at(2, 1), {}, 422, "end_not_after_start"),
        (at(2, 3), at(2, 3), {}, 422, "end_not_after_start"),
        (at(3, 1), at(2, 2), {}, 422, "record_too_long"),
        (at(-1, 1), at(-1, 2), {}, 422, "record_in_future"),
        (at(2, 1), at(2, 2), {"minutes": -30}, 422, "validation_error"),
        (at(2, 1), at(2, 2), {"minutes": 0}, 422, "validation_error"),
        (at(2, 1), at(2, 2), {"minutes": 61}, 422, "minutes_exceed_span"),
        (at(2, 1), at(2, 2), {"minutes": 30.5}, 422, "validation_error"),
        (at(2, 1), at(2, 2), {"volunteer_id": 999999}, 422, "unknown_volunteer"),
        (at(2, 1), at(2, 2), {"volunteer_id": None, "volunteer_number": "V9999"}, 422, "unknown_volunteer"),
        (at(2, 1), at(2, 2), {"activity_id": 999999, "activity": None}, 422, "unknown_activity"),
        (at(2, 1), at(2, 2), {"station_id": 999999}, 404, "not_found"),
        ("yesterday", at(2, 2), {}, 422, "validation_error"),
        ("0001-01-01T00:00:00", "0001-01-01T01:00:00", {}, 422, "time_out_of_range"),  # local: before year 1 in UTC
        ("9999-12-31T20:00:00-12:00", "9999-12-31T21:00:00-12:00", {}, 422, "time_out_of_range"),
        (at(2, 1), at(2, 2), {"unexpected": 1}, 422, "validation_error"),
        (at(2, 1), at(2, 2), {"evidence": "a\x00b"}, 422, "validation_error"),  # PostgreSQL stores no NUL
    ],
)
def test_hostile_records_are_refused_with_a_clear_error_and_nothing_written(world, desk, start, end, extra, status, code):
    body = record_body(desk, start, end, **extra)
    body = {k: v for k, v in body.items() if v is not None}
    response = desk.staff1.post("/api/v1/service-records", body)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert count(world, ServiceRecord) == 0


def test_staff_log_only_at_their_own_station_and_community(world, desk):
    other_station = world.station(desk.community)
    response = desk.staff1.post("/api/v1/service-records", {**record_body(desk, at(2, 1), at(2, 2)), "station_id": other_station.id})
    assert response.status_code == 403
    elsewhere = build_desk(world)
    response = desk.staff1.post("/api/v1/service-records", record_body(elsewhere, at(2, 1), at(2, 2)))
    assert response.status_code == 404
    member_elsewhere = record_body(desk, at(2, 1), at(2, 2), volunteer_id=elsewhere.member.id)
    assert desk.staff1.post("/api/v1/service-records", member_elsewhere).json["error"]["code"] == "unknown_volunteer"
    assert count(world, ServiceRecord) == 0


def test_the_same_service_cannot_be_logged_twice(world, desk):
    log(desk, at(2, 1), at(2, 2))
    response = desk.staff2.post("/api/v1/service-records", record_body(desk, at(2, 1), at(2, 2)))
    assert response.status_code == 409 and response.json["error"]["code"] == "duplicate_service_record"


def test_a_volunteer_cannot_have_overlapping_approved_records(world, desk):
    first = log(desk, at(2, 1), at(2, 3))
    second = log(desk, at(2, 2), at(2, 4))  # overlaps, both pending: allowed to log
    assert desk.staff2.post(f"/api/v1/service-records/{first['id']}/approve").status_code == 200
    response = desk.staff2.post(f"/api/v1/service-records/{second['id']}/approve")
    assert response.status_code == 422 and response.json["error"]["code"] == "overlapping_record"
    response = desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 2, 30), at(2, 5)))
    assert response.status_code == 422 and response.json["error"]["code"] == "overlapping_record"
    assert transactions(world, "volunteer_hours") == 1
    assert world.invariants() == {}


def test_a_day_over_the_cap_needs_an_administrator_as_well(world, desk):
    morning = log(desk, at(2, 0), at(2, 7))  # 7 h
    assert desk.staff2.post(f"/api/v1/service-records/{morning['id']}/approve").json["status"] == "approved"
    evening = log(desk, at(2, 8), at(2, 10))  # 2 more hours the same local day: 9 h > 8 h
    verified = desk.staff2.post(f"/api/v1/service-records/{evening['id']}/approve").json
    assert verified["status"] == "pending" and verified["needs_admin"] and verified["verified_by"] == desk.staff2.id
    assert "over_daily_cap" in verified["review_reasons"]
    again = desk.staff2.post(f"/api/v1/service-records/{evening['id']}/approve")
    assert again.status_code == 409 and again.json["error"]["code"] == "awaiting_admin_approval"
    approved = desk.admin.post(f"/api/v1/service-records/{evening['id']}/approve").json
    assert approved["status"] == "approved" and approved["admin_approved_by"] == desk.admin.id
    assert world.balance(desk.member, Unit.HOUR) == 9 * 60
    assert world.invariants() == {}


def test_a_late_entry_is_flagged_and_needs_an_administrator(world, desk):
    record = log(desk, at(10, 1), at(10, 2))
    assert record["late_entry"] and record["review_reasons"] == ["late_entry"]
    listed = desk.admin.get("/api/v1/service-records?late_entry=true").json
    assert [r["id"] for r in listed] == [record["id"]]
    assert desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve").json["status"] == "pending"
    assert transactions(world, "volunteer_hours") == 0
    assert desk.admin.post(f"/api/v1/service-records/{record['id']}/approve").json["status"] == "approved"


def test_reject_needs_a_reason_and_a_rejected_record_cannot_be_approved(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    assert desk.staff2.post(f"/api/v1/service-records/{record['id']}/reject", {}).status_code == 422
    rejected = desk.staff2.post(f"/api/v1/service-records/{record['id']}/reject", {"reason": "签到表无此人"}).json
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "签到表无此人"
    response = desk.admin.post(f"/api/v1/service-records/{record['id']}/approve")
    assert response.status_code == 409 and response.json["error"]["code"] == "not_pending"
    assert transactions(world) == 0


def test_reversal_undoes_the_posting_and_lowers_lifetime_hours(world, desk):
    record = log(desk, at(2, 1), at(2, 3))
    desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve")
    assert desk.staff2.post(f"/api/v1/service-records/{record['id']}/reverse", {}).status_code == 422
    reversed_ = desk.staff2.post(f"/api/v1/service-records/{record['id']}/reverse", {"reason": "重复登记"}).json
    assert reversed_["status"] == "reversed" and reversed_["reversal_transaction_id"]
    balance = desk.admin.get(f"/api/v1/members/{desk.member.id}/balance").json
    assert (balance["coins"], balance["hours_minutes"], balance["lifetime_hours_minutes"]) == (0, 0, 0)
    again = desk.staff2.post(f"/api/v1/service-records/{record['id']}/reverse", {"reason": "again"})
    assert again.status_code == 409 and again.json["error"]["code"] == "not_approved"
    tx = desk.admin.get(f"/api/v1/transactions/{reversed_['reversal_transaction_id']}").json
    assert tx["kind"] == "volunteer_hours.reversal"
    assert world.invariants() == {}


def test_a_reversal_is_refused_when_the_hours_were_already_spent(world, desk):
    record = log(desk, at(2, 1), at(2, 3))
    desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve")
    spend = desk.admin.post("/api/v1/adjustments", {"member_id": desk.member.id, "unit": "HOUR", "amount": -100, "reason": "spent"})
    assert spend.status_code == 201
    response = desk.staff2.post(f"/api/v1/service-records/{record['id']}/reverse", {"reason": "错误"})
    assert response.status_code == 409 and response.json["error"]["code"] == "insufficient_balance"
    assert desk.admin.get(f"/api/v1/service-records/{record['id']}").json["status"] == "approved"
    assert world.invariants() == {}


def test_a_retried_approval_with_the_same_key_posts_once(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    first = desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve", key="approve-1")
    second = desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve", key="approve-1")
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json["transaction_id"] == second.json["transaction_id"]
    other = desk.admin.post(f"/api/v1/service-records/{record['id']}/approve")
    assert other.status_code == 409
    assert transactions(world, "volunteer_hours") == 1


def test_statements_say_which_activity_and_station(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve")
    lines = desk.admin.get(f"/api/v1/members/{desk.member.id}/statement").json["lines"]
    assert {ln["description"] for ln in lines} == {f"环境整治 · {desk.station.name}"}
    assert {ln["location"] for ln in lines} == {desk.station.name}
    assert {ln["actor_id"] for ln in lines} == {desk.staff2.id}


def test_supervisors_read_but_never_write(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    assert desk.supervisor.get(f"/api/v1/service-records/{record['id']}").status_code == 200
    assert desk.supervisor.get("/api/v1/service-records").json[0]["id"] == record["id"]
    assert desk.supervisor.post("/api/v1/service-records", record_body(desk, at(3, 1), at(3, 2))).status_code == 403
    assert desk.supervisor.post(f"/api/v1/service-records/{record['id']}/approve").status_code == 403
    assert desk.supervisor.post(f"/api/v1/service-records/{record['id']}/reject", {"reason": "x"}).status_code == 403


def test_residents_see_only_their_own_records(world, desk):
    mine = log(desk, at(2, 1), at(2, 2))
    neighbour = world.member(desk.community, name="李四")
    theirs = log(desk, at(2, 1), at(2, 2), volunteer_id=neighbour.id)
    me = world.resident(desk.member)
    assert [r["id"] for r in me.get("/api/v1/service-records").json] == [mine["id"]]
    assert me.get(f"/api/v1/service-records/{theirs['id']}").status_code == 404
    assert me.get(f"/api/v1/service-records?volunteer_id={neighbour.id}").status_code == 404
    assert me.post("/api/v1/service-records", record_body(desk, at(3, 1), at(3, 2))).status_code == 403


def test_other_communities_see_nothing(world, desk):
    record = log(desk, at(2, 1), at(2, 2))
    outsider = build_desk(world)
    assert outsider.admin.get(f"/api/v1/service-records/{record['id']}").status_code == 404
    assert outsider.admin.get("/api/v1/service-records").json == []
    assert outsider.admin.post(f"/api/v1/service-records/{record['id']}/approve").status_code == 404
    assert outsider.staff1.get(f"/api/v1/stations/{desk.station.id}/activities").status_code == 404


def test_activities_are_listed_per_station_and_records_can_name_them(world, desk):
    made = desk.staff1.post(f"/api/v1/stations/{desk.station.id}/activities", {"name": "助老送餐", "name_en": "Meals for elders"})
    assert made.status_code == 201
    again = desk.staff1.post(f"/api/v1/stations/{desk.station.id}/activities", {"name": "助老送餐"})
    assert again.status_code == 409
    record = log(desk, at(2, 1), at(2, 2), activity=None, activity_id=made.json["id"])
    assert record["activity_name"] == "助老送餐" and record["activity_id"] == made.json["id"]
    other = world.station(desk.community)
    assert desk.staff1.post(f"/api/v1/stations/{other.id}/activities", {"name": "x"}).status_code == 403
    desk.staff1.post(f"/api/v1/stations/{desk.station.id}/activities", {"name": "助老"})
    clash = desk.staff1.patch(f"/api/v1/activities/{made.json['id']}", {"name": "助老"})  # was a bare unique violation
    assert clash.status_code == 409 and clash.json["error"]["code"] == "activity_exists"
    retired = desk.staff1.patch(f"/api/v1/activities/{made.json['id']}", {"active": False}).json
    assert retired["active"] is False
    assert [a["name"] for a in desk.staff1.get(f"/api/v1/stations/{desk.station.id}/activities").json] == ["助老"]


def test_star_thresholds_come_from_configuration(world, desk):
    world.app.config["STAR_THRESHOLDS_HOURS"] = (1, 2, 3)
    record = log(desk, at(2, 1), at(2, 3))
    desk.staff2.post(f"/api/v1/service-records/{record['id']}/approve")
    assert desk.admin.get(f"/api/v1/members/{desk.member.id}/balance").json["star"] == 2


@pytest.mark.parametrize("path", ["/api/v1/service-records", "/api/v1/conduct-awards", "/api/v1/service-redemptions",
                                  "/api/v1/hour-transfers"])
def test_the_earning_lists_page_by_id_and_refuse_a_huge_cursor(world, desk, path):
    response = desk.admin.get(f"{path}?before={10**23}")
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error", response.json
    assert desk.admin.get(f"{path}?before=5&limit=10").status_code == 200


def test_service_records_page_newest_first_by_the_last_id_seen(world, desk):
    ids = [log(desk, at(days, 1), at(days, 2))["id"] for days in (3, 2, 1)]
    first = desk.admin.get(f"/api/v1/service-records?volunteer_id={desk.member.id}&limit=2").json
    assert [r["id"] for r in first] == ids[:0:-1]
    rest = desk.admin.get(f"/api/v1/service-records?volunteer_id={desk.member.id}&limit=2&before={first[-1]['id']}").json
    assert [r["id"] for r in rest] == [ids[0]]
