"""Issue #9 §6: PIN reset after an identity check, lost cards, deactivation with an explicit posting;
each audit-logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger import Unit
from service.audit.models import AuditEvent
from service.extensions import db
from tests.factories import PIN

from ..volunteering.support import at, build_desk, record_body

NATIONAL_ID = "530302199001011234"


@pytest.fixture
def desk(world):
    return build_desk(world)


def audit(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_pin_reset_checks_the_id_card_and_shows_the_new_pin_once(app, world, desk, client):
    member = world.member(desk.community, name="赵六", national_id=NATIONAL_ID)
    old_token = world.resident(member)
    path = f"/api/v1/members/{member.id}/pin-reset"
    wrong = desk.staff1.post(path, {"identity": "national_id", "national_id": "530302199001011242"})
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "identity_mismatch"
    assert desk.staff1.post(path, {"identity": "document"}).status_code == 422
    assert desk.supervisor.post(path, {"identity": "document", "document": "户口本"}).status_code == 403
    reset = desk.staff1.post(path, {"identity": "national_id", "national_id": NATIONAL_ID.lower()})
    assert reset.status_code == 200, reset.json
    new_pin = reset.json["pin"]
    assert new_pin != PIN and new_pin.isdigit()
    assert old_token.get("/api/v1/auth/me").status_code == 401  # signed-in phones are signed out
    assert client.post("/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": PIN}).status_code == 401
    assert client.post("/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": new_pin}).status_code == 201
    [event] = audit(app, "member.pin_reset")
    assert event.actor_staff_id == desk.staff1.id and event.target_id == member.id
    assert new_pin not in str(event.after) and NATIONAL_ID not in str(event.after)


def test_a_lost_card_is_refused_at_once_everywhere_and_the_history_stays(app, world, desk, client):
    shop = world.supermarket(desk.community)
    cashier = world.staff("cashier", supermarket=shop)
    world.credit(desk.member, 30)
    old = desk.member.card_code
    replaced = desk.staff1.post(f"/api/v1/members/{desk.member.id}/card-replacement", {"reason": "丢失"})
    assert replaced.status_code == 201, replaced.json
    new = replaced.json["card_code"]
    assert new != old
    lookup = f"/api/v1/supermarkets/{shop.id}/lookup"
    assert cashier.post(lookup, {"card_code": old}).status_code == 404
    assert client.post("/api/v1/auth/resident-token", json={"card_code": old, "pin": PIN}).status_code == 401
    sheet = desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 1), at(2, 3), volunteer_id=None,
                                                                     card_code=old))
    assert sheet.status_code == 422
    found = cashier.post(lookup, {"card_code": new})
    assert found.status_code == 200 and found.json[0]["coins"] == 30  # same resident, same wallet
    assert client.post("/api/v1/auth/resident-token", json={"card_code": new, "pin": PIN}).status_code == 201
    [event] = audit(app, "member.card_replaced")
    assert event.before == {"card_ending": old[-4:]} and event.after["card_ending"] == new[-4:]


def test_deactivation_posts_what_the_resident_held_and_stops_sign_in_earning_and_spending(app, world, desk, client):
    household = world.household(desk.community)
    member = world.member(desk.community, name="钱七", household=household)
    world.credit(member, 40)
    world.credit(member, 90, Unit.HOUR)
    token = world.resident(member)
    path = f"/api/v1/members/{member.id}/deactivate"
    body = {"reason": "迁出本社区"}
    first = desk.staff1.post(path, body, key="leave-1")
    assert first.status_code == 200, first.json
    assert first.json["coins"] == 40 and first.json["hours_minutes"] == 90 and first.json["coins_to"] == "household"
    again = desk.staff1.post(path, body, key="leave-1")
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert desk.staff1.post(path, body).status_code == 409  # a second deactivation is refused
    assert world.balance(member) == 0 and world.balance(member, Unit.HOUR) == 0
    assert world.balance(household) == 40
    tx = desk.admin.get(f"/api/v1/transactions/{first.json['transaction_id']}").json
    assert tx["kind"] == "member_departure"
    assert world.invariants() == {}
    # no sign-in, no earning, no spending
    assert token.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": PIN}).status_code == 401
    indicator = desk.admin.post("/api/v1/indicators", {"community_id": desk.community.id, "code": "T-1", "name": "巡逻",
                                                       "category": "public_safety", "points": 5}).json
    award = desk.staff1.post("/api/v1/conduct-awards", {"indicator_id": indicator["id"], "member_id": member.id, "note": "x"})
    assert award.status_code == 409 and award.json["error"]["code"] == "member_inactive"
    shop = world.supermarket(desk.community)
    cashier = world.staff("cashier", supermarket=shop)
    assert cashier.post(f"/api/v1/supermarkets/{shop.id}/lookup", {"card_code": member.card_code}).status_code == 404
    [event] = audit(app, "member.deactivated")
    assert event.after["transaction_id"] == first.json["transaction_id"] and event.after["coins"] == 40


def test_a_resident_without_household_returns_coins_to_the_community(world, desk):
    world.credit(desk.member, 12)
    response = desk.admin.post(f"/api/v1/members/{desk.member.id}/deactivate", {"reason": "去世"})
    assert response.status_code == 200 and response.json["coins_to"] == "community"
    refused = desk.admin.post(f"/api/v1/members/{desk.member.id}/deactivate", {"reason": "x", "coins_to": "household"})
    assert refused.status_code == 409  # already inactive
    assert world.balance(desk.member) == 0 and world.invariants() == {}


def test_an_approval_for_a_deactivated_volunteer_credits_nothing(world, desk):
    made = desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 1), at(2, 3))).json
    assert desk.admin.post(f"/api/v1/members/{desk.member.id}/deactivate", {"reason": "迁出"}).status_code == 200
    refused = desk.staff2.post(f"/api/v1/service-records/{made['id']}/approve")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "member_inactive"
    assert world.balance(desk.member, Unit.HOUR) == 0


def test_the_desk_corrects_a_resident_and_the_id_number_goes_through_the_keyed_digest(app, world, desk):
    other = world.member(desk.community, name="孙八", national_id="530302199001011242")
    path = f"/api/v1/members/{desk.member.id}"
    taken = desk.staff1.patch(path, {"national_id": "530302199001011242"})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "national_id_taken"
    assert desk.staff1.patch(path, {"birth_date": "2999-01-01"}).status_code == 422
    assert desk.supervisor.patch(path, {"name": "改名"}).status_code == 403
    changed = desk.staff1.patch(path, {"name": "张三峰", "phone": "13600000000", "national_id": NATIONAL_ID})
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "张三峰" and changed.json["national_id_on_file"] is True
    with app.app_context():
        from service.members.models import Member

        stored = db.session.get(Member, desk.member.id)
        assert stored.national_id_masked == "**************1234" and NATIONAL_ID not in str(vars(stored))
    [event] = audit(app, "member.updated")
    assert event.before["name"] == "张三丰" and event.after["name"] == "张三峰"
    assert event.after["phone"] == "(changed)" and event.after["national_id"] == "(changed)"
    assert NATIONAL_ID not in str(event.after) and other.id != desk.member.id


def test_the_audit_log_is_read_by_the_communitys_administrators_and_supervisors_only(world, desk):
    desk.staff1.post(f"/api/v1/members/{desk.member.id}/card-replacement", {"reason": "丢失"})
    for _ in range(3):
        desk.staff1.post(f"/api/v1/members/{desk.member.id}/pin-reset", {"identity": "document", "document": "户口本"})
    first = desk.supervisor.get("/api/v1/audit-events?limit=2")
    assert first.status_code == 200
    page = first.json
    assert [e["action"] for e in page["events"]] == ["member.pin_reset", "member.pin_reset"]
    rest = desk.admin.get(f"/api/v1/audit-events?limit=2&before={page['next_cursor']}").json
    assert [e["action"] for e in rest["events"]] == ["member.pin_reset", "member.card_replaced"]
    assert rest["events"][0]["actor_name"] and rest["next_cursor"] is None
    assert desk.staff1.get("/api/v1/audit-events").status_code == 403
    elsewhere = world.admin(world.community())
    assert elsewhere.get("/api/v1/audit-events").json["events"] == []
    assert elsewhere.get(f"/api/v1/audit-events?community_id={desk.community.id}").status_code == 404
