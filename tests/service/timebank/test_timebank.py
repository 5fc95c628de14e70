"""Spending hours on providers' services and giving hours to family."""

import datetime as dt

import pytest

from ledger import Unit
from service.timebank.models import HourTransfer, ServiceRedemption

from ..volunteering.support import at, build_desk, count, transactions


@pytest.fixture
def desk(world):
    return build_desk(world)


def earn(desk, hours_ago_days=2, hours=3):
    made = desk.staff1.post("/api/v1/service-records", {
        "station_id": desk.station.id, "volunteer_id": desk.member.id, "activity": "助老",
        "started_at": at(hours_ago_days, 0), "ended_at": at(hours_ago_days, hours),
    }).json
    assert desk.staff2.post(f"/api/v1/service-records/{made['id']}/approve").json["status"] == "approved"


def service(desk, minutes=60):
    provider = desk.admin.post("/api/v1/service-providers", {"community_id": desk.community.id, "name": "幸福理发店"})
    assert provider.status_code == 201, provider.json
    made = desk.admin.post("/api/v1/services", {"provider_id": provider.json["id"], "name": "上门理发", "minutes": minutes})
    assert made.status_code == 201, made.json
    return provider.json, made.json


def test_spending_hours_pays_the_provider_and_never_lowers_lifetime_hours(world, desk):
    earn(desk)
    provider, offered = service(desk)
    response = desk.staff1.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"], "quantity": 2})
    assert response.status_code == 201, response.json
    assert response.json["minutes"] == 120
    balance = desk.admin.get(f"/api/v1/members/{desk.member.id}/balance").json
    assert (balance["hours_minutes"], balance["lifetime_hours_minutes"]) == (60, 180)
    assert desk.admin.get(f"/api/v1/service-providers/{provider['id']}").json["hours_minutes"] == 120
    line = desk.admin.get(f"/api/v1/members/{desk.member.id}/statement?unit=HOUR").json["lines"][0]
    assert "上门理发" in line["description"] and "幸福理发店" in line["description"]
    assert world.invariants() == {}


def test_a_price_change_keeps_past_redemptions_and_overspending_is_refused(world, desk):
    earn(desk, hours=1)
    _, offered = service(desk, minutes=45)
    first = desk.staff1.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"]}).json
    desk.admin.patch(f"/api/v1/services/{offered['id']}", {"minutes": 30})
    assert desk.admin.get(f"/api/v1/service-redemptions/{first['id']}").json["minutes"] == 45
    refused = desk.staff1.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "insufficient_balance"
    assert count(world, ServiceRedemption) == 1 and world.balance(desk.member, Unit.HOUR) == 15


def test_the_minimum_spending_age_holds(world):
    desk = build_desk(world, min_spend_age=60)
    young = world.member(desk.community, name="小王", birth_date=dt.date(1990, 1, 1))
    unknown = world.member(desk.community, name="老李")
    world.credit(young, 120, Unit.HOUR)
    _, offered = service(desk)
    for member, code in ((young, "below_min_spend_age"), (unknown, "birth_date_unknown")):
        response = desk.staff1.post("/api/v1/service-redemptions", {"member_id": member.id, "service_id": offered["id"]})
        assert response.status_code == 422 and response.json["error"]["code"] == code
    assert count(world, ServiceRedemption) == 0


def test_a_redemption_can_be_reversed_once_by_an_administrator(world, desk):
    earn(desk)
    _, offered = service(desk)
    made = desk.staff1.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"]}).json
    assert desk.staff1.post(f"/api/v1/service-redemptions/{made['id']}/reverse", {"reason": "未上门"}).status_code == 403
    assert desk.admin.post(f"/api/v1/service-redemptions/{made['id']}/reverse", {"reason": "未上门"}).json["status"] == "reversed"
    assert desk.admin.post(f"/api/v1/service-redemptions/{made['id']}/reverse", {"reason": "again"}).status_code == 409
    assert world.balance(desk.member, Unit.HOUR) == 180
    assert world.invariants() == {}


def test_giving_hours_to_family_records_the_relation_and_keeps_lifetime_hours(world, desk):
    earn(desk)
    mother = world.member(desk.community, name="张母")
    me = world.resident(desk.member)
    response = me.post("/api/v1/hour-transfers", {
        "from_member_id": desk.member.id, "to_member_id": mother.id, "minutes": 100, "relation": "parent",
    })
    assert response.status_code == 201, response.json
    assert response.json["relation"] == "parent" and response.json["created_by_member_id"] == desk.member.id
    mine = desk.admin.get(f"/api/v1/members/{desk.member.id}/balance").json
    hers = desk.admin.get(f"/api/v1/members/{mother.id}/balance").json
    assert (mine["hours_minutes"], mine["lifetime_hours_minutes"]) == (80, 180)
    assert (hers["hours_minutes"], hers["lifetime_hours_minutes"]) == (100, 0)
    assert len(me.get("/api/v1/hour-transfers").json) == 1
    assert world.invariants() == {}


def test_the_household_relation_holds_only_inside_the_givers_household(world):
    community = world.community()
    home = world.household(community, name="周家")
    giver = world.member(community, name="周一", household=home)
    son = world.member(community, name="周二", household=home)
    outsider = world.member(community, name="吴三")
    world.credit(giver, 120, Unit.HOUR)
    me = world.resident(giver)

    def give(to, relation):
        return me.post("/api/v1/hour-transfers", {
            "from_member_id": giver.id, "to_member_id": to.id, "minutes": 30, "relation": relation})

    assert give(son, "household").status_code == 201
    refused = give(outsider, "household")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_same_household"
    assert give(outsider, "friend").json["error"]["code"] == "invalid_relation"
    assert give(outsider, "sibling").status_code == 201  # a named family relation across households
    assert world.balance(son, Unit.HOUR) == 30 and world.balance(giver, Unit.HOUR) == 60
    assert world.invariants() == {}


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"minutes": 0}, 422, "validation_error"),
        ({"minutes": -5}, 422, "validation_error"),
        ({"minutes": 1.5}, 422, "validation_error"),
        ({"minutes": 500}, 409, "insufficient_balance"),
        ({"relation": "friend"}, 422, "invalid_relation"),
        ({"to_member_id": 999999}, 422, "unknown_receiver"),
        ({"to_member_id": "self"}, 422, "validation_error"),
        ({"note": "a\x00b"}, 422, "validation_error"),  # PostgreSQL stores no NUL: it was a 500
    ],
)
def test_hostile_transfers_are_refused_and_write_nothing(world, desk, fields, status, code):
    earn(desk)
    mother = world.member(desk.community, name="张母")
    body = {"from_member_id": desk.member.id, "to_member_id": mother.id, "minutes": 60, "relation": "parent", **fields}
    if body["to_member_id"] == "self":
        body["to_member_id"] = str(desk.member.id)
    response = desk.staff1.post("/api/v1/hour-transfers", body)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert count(world, HourTransfer) == 0 and transactions(world, "hour_transfer") == 0


def test_the_storage_cap_limits_what_a_receiver_can_hold(world):
    desk = build_desk(world, hour_storage_cap_minutes=120)
    earn(desk)
    child = world.member(desk.community, name="张子")
    world.credit(child, 100, Unit.HOUR)
    body = {"from_member_id": desk.member.id, "to_member_id": child.id, "minutes": 30, "relation": "child"}
    response = desk.staff1.post("/api/v1/hour-transfers", body)
    assert response.status_code == 422 and response.json["error"]["code"] == "hour_storage_cap_exceeded"
    assert desk.staff1.post("/api/v1/hour-transfers", {**body, "minutes": 20}).status_code == 201


def test_residents_give_only_their_own_hours_and_supervisors_none(world, desk):
    earn(desk)
    neighbour = world.member(desk.community, name="李四")
    world.credit(neighbour, 60, Unit.HOUR)
    me = world.resident(desk.member)
    stolen = me.post("/api/v1/hour-transfers", {"from_member_id": neighbour.id, "to_member_id": desk.member.id, "minutes": 60, "relation": "sibling"})
    assert stolen.status_code == 403
    assert desk.supervisor.post("/api/v1/hour-transfers", {"from_member_id": desk.member.id, "to_member_id": neighbour.id, "minutes": 6, "relation": "sibling"}).status_code == 403
    _, offered = service(desk)
    assert me.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"]}).status_code == 403
    assert desk.staff1.post("/api/v1/service-providers", {"community_id": desk.community.id, "name": "x"}).status_code == 403
    outsider = build_desk(world)
    assert outsider.staff1.post("/api/v1/service-redemptions", {"member_id": desk.member.id, "service_id": offered["id"]}).status_code == 404
    assert me.get("/api/v1/services").json[0]["id"] == offered["id"]
    assert count(world, HourTransfer) == 0
