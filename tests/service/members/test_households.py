"""Households as the office keeps them: create, list, members in and out, the head, and the household
wallet with who earned and who spent each coin. Every change is audit-logged."""

from __future__ import annotations

from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from tests.web.pages import stocked_shop


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "household")
                                       .order_by(AuditEvent.id)))


def test_a_household_is_created_with_its_head_and_members_come_and_go(app, world):
    community = world.community()
    admin = world.admin(community)
    father, mother, son = (world.member(community, name=n) for n in ("王大山", "李秀英", "王小明"))
    made = admin.post("/api/v1/households", {"community_id": community.id, "name": "王家", "address": "3组12号",
                                             "head_member_id": father.id})
    assert made.status_code == 201, made.json
    household_id = made.json["id"]
    assert made.json["head_member_id"] == father.id
    for member in (mother, son):
        added = admin.post(f"/api/v1/households/{household_id}/members", {"member_id": member.id})
        assert added.status_code == 201, added.json
    detail = admin.get(f"/api/v1/households/{household_id}").json
    assert [(m["name"], m["is_head"]) for m in detail["members"]] == [("王大山", True), ("李秀英", False), ("王小明", False)]
    assert admin.get(f"/api/v1/members/{son.id}").json["household_id"] == household_id

    # The head moves out: the household has no head until one is named.
    left = admin.delete(f"/api/v1/households/{household_id}/members/{father.id}")
    assert left.status_code == 200 and left.json["head_member_id"] is None
    assert [m["name"] for m in left.json["members"]] == ["李秀英", "王小明"]
    assert admin.patch(f"/api/v1/households/{household_id}", {"head_member_id": father.id}).status_code == 409
    named = admin.patch(f"/api/v1/households/{household_id}", {"head_member_id": mother.id, "address": "3组14号"})
    assert named.status_code == 200 and named.json["head_member_id"] == mother.id and named.json["address"] == "3组14号"
    assert _actions(app) == [
        "household.create", "household.add_member", "household.set_head", "household.add_member",
        "household.add_member", "household.set_head", "household.remove_member", "household.set_head",
        "household.update",
    ]

    listed = admin.get(f"/api/v1/households?community_id={community.id}&q=王").json
    assert [(h["name"], h["member_count"]) for h in listed] == [("王家", 2)]
    assert admin.get("/api/v1/households?q=张").json == []


def test_households_stay_inside_their_community_and_supervisors_only_read(app, world):
    community, other = world.community(), world.community()
    admin = world.admin(community)
    household_id = admin.post("/api/v1/households", {"community_id": community.id, "name": "赵家"}).json["id"]
    stranger = world.member(other)
    moved = admin.post(f"/api/v1/households/{household_id}/members", {"member_id": stranger.id})
    assert moved.status_code == 404
    assert world.admin(other).get(f"/api/v1/households/{household_id}").status_code == 404
    supervisor = world.staff("supervisor", community=community)
    assert supervisor.get(f"/api/v1/households/{household_id}/wallet").status_code == 200
    member = world.member(community)
    assert supervisor.post(f"/api/v1/households/{household_id}/members", {"member_id": member.id}).status_code == 403
    not_in = admin.delete(f"/api/v1/households/{household_id}/members/{member.id}")
    assert not_in.status_code == 409 and not_in.json["error"]["code"] == "not_a_household_member"
    assert admin.post(f"/api/v1/households/{household_id}/members", {}).status_code == 422
    assert admin.post("/api/v1/households/999999/members", {"member_id": member.id}).status_code == 404


def test_the_household_wallet_shows_who_earned_and_who_spent_each_coin(app, world):
    community = world.community()
    admin = world.admin(community)
    station = world.station(community)
    staff = world.staff("station_staff", community=community, station=station)
    household = world.household(community, name="孙家")
    grandma = world.member(community, name="孙奶奶", household=household)
    grandson = world.member(community, name="孙小虎", household=household)
    indicators = admin.get(f"/api/v1/indicators?community_id={community.id}").json
    tidy = next(i for i in indicators if i["code"] == "EN-TIDY")
    harmony = next(i for i in indicators if i["code"] == "FH-HARMONY")
    for indicator, earner in ((tidy, grandma), (harmony, grandson)):
        awarded = staff.post("/api/v1/conduct-awards", {"indicator_id": indicator["id"], "household_id": household.id,
                                                        "earned_by_member_id": earner.id, "note": "入户检查"})
        assert awarded.status_code == 201, awarded.json
    shop, _products = stocked_shop(world, community, [("OIL1", "食用油", 15, 5)])
    cashier = world.staff("cashier", community=community, supermarket=shop)
    basket = cashier.post("/api/v1/redemptions", {"supermarket_id": shop.id, "member_id": grandson.id,
                                                  "paid_from": "household", "lines": [{"sku": "OIL1", "quantity": 1}]})
    assert basket.status_code == 201, basket.json

    wallet = admin.get(f"/api/v1/households/{household.id}/wallet").json
    assert wallet["coins"] == 20 + 30 - 15
    assert [(line["kind"], line["amount"], line["member_name"]) for line in wallet["lines"]] == [
        ("redemption", -15, "孙小虎"), ("conduct_award", 30, "孙小虎"), ("conduct_award", 20, "孙奶奶"),
    ]
    assert {(m["member_name"], m["earned"], m["spent"]) for m in wallet["by_member"]} == {
        ("孙奶奶", 20, 0), ("孙小虎", 30, 15),
    }
    first = admin.get(f"/api/v1/households/{household.id}/wallet?limit=2").json
    rest = admin.get(f"/api/v1/households/{household.id}/wallet?limit=2&before={first['next_cursor']}").json
    assert [line["amount"] for line in first["lines"] + rest["lines"]] == [-15, 30, 20]
