"""Stock-takes post each counted difference as a recorded stock movement with its reason; a price
changes from a date and past baskets keep the price they were sold at."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from service.jobs import reconciliation
from service.market import shelf
from service.market.models import StockMovement
from tests.web.pages import stocked_shop


def _shop(world):
    community = world.community()
    shop, products = stocked_shop(world, community, [("OIL1", "食用油", 15, 10), ("EGG", "鸡蛋", 3, 30)])
    return community, shop, {p.sku: p for p in products}


def _stock(admin, product_id) -> int:
    return admin.get(f"/api/v1/products/{product_id}").json["stock"]


def test_a_stock_take_posts_each_difference_as_a_recorded_movement(app, world):
    community, shop, products = _shop(world)
    cashier = world.staff("cashier", community=community, supermarket=shop)
    admin = world.admin(community)
    taken = cashier.post("/api/v1/stock-takes", {"supermarket_id": shop.id, "reason": "damaged", "note": "货架倒了",
                                                 "lines": [{"sku": "OIL1", "counted": 7}, {"sku": "EGG", "counted": 30}]})
    assert taken.status_code == 201, taken.json
    assert [(ln["expected"], ln["counted"], ln["difference"]) for ln in taken.json["lines"]] == [(10, 7, -3), (30, 30, 0)]
    assert _stock(admin, products["OIL1"].id) == 7 and _stock(admin, products["EGG"].id) == 30
    with app.app_context():
        movements = db.session.scalars(select(StockMovement).where(StockMovement.stock_take_id == taken.json["id"])).all()
        assert [(m.product_id, m.reason, m.quantity, m.stock_after) for m in movements] == [
            (products["OIL1"].id, "damaged", -3, 7)]
        assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "stock_take")).all() == [
            "stock.take"]
    found = admin.post("/api/v1/stock-takes", {"supermarket_id": shop.id, "reason": "found",
                                               "lines": [{"product_id": products["EGG"].id, "counted": 32}]})
    assert found.status_code == 201 and found.json["lines"][0]["difference"] == 2
    engine, factory = app.extensions["greencoin_db"]
    assert reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual").status == "passed"
    assert [t["id"] for t in admin.get(f"/api/v1/stock-takes?supermarket_id={shop.id}").json] == [
        found.json["id"], taken.json["id"]]


def test_a_stock_take_is_refused_whole_for_a_bad_line_or_reason_or_someone_elses_shop(app, world):
    community, shop, products = _shop(world)
    cashier = world.staff("cashier", community=community, supermarket=shop)
    other_shop, _ = stocked_shop(world, community, [("TEA", "茶叶", 9, 3)])
    body = {"supermarket_id": shop.id, "reason": "lost", "lines": [{"sku": "OIL1", "counted": 1}, {"sku": "NOPE", "counted": 1}]}
    assert cashier.post("/api/v1/stock-takes", body).status_code == 422
    assert _stock(world.admin(community), products["OIL1"].id) == 10
    assert cashier.post("/api/v1/stock-takes", {**body, "reason": "stolen?", "lines": body["lines"][:1]}).status_code == 422
    assert cashier.post("/api/v1/stock-takes", {**body, "lines": [{"sku": "OIL1", "counted": -1}]}).status_code == 422
    assert cashier.post("/api/v1/stock-takes", {**body, "supermarket_id": other_shop.id,
                                                "lines": [{"sku": "TEA", "counted": 0}]}).status_code == 403
    mixed = cashier.post("/api/v1/stock-takes", {**body, "lines": [{"sku": "OIL1", "counted": 12}]})
    assert mixed.status_code == 422 and mixed.json["error"]["code"] == "stock_take_reason_mismatch"
    assert _stock(world.admin(community), products["OIL1"].id) == 10
    supervisor = world.staff("supervisor", community=community)
    assert supervisor.post("/api/v1/stock-takes", {**body, "lines": body["lines"][:1]}).status_code == 403


def test_a_price_changes_from_its_date_and_past_baskets_keep_their_price(app, world):
    community, shop, products = _shop(world)
    admin = world.admin(community)
    cashier = world.staff("cashier", community=community, supermarket=shop)
    member = world.member(community)
    world.credit(member, 100)
    oil = products["OIL1"].id
    basket = cashier.post("/api/v1/redemptions", {"supermarket_id": shop.id, "member_id": member.id,
                                                  "lines": [{"sku": "OIL1", "quantity": 1}]}).json
    today = shelf.local_today()
    later = admin.post(f"/api/v1/products/{oil}/price-changes", {"price": 18, "effective_on": (today + dt.timedelta(days=3)).isoformat()})
    assert later.status_code == 201 and later.json["applied_at"] is None
    assert admin.get(f"/api/v1/products/{oil}").json["price"] == 15  # not yet
    now = admin.post(f"/api/v1/products/{oil}/price-changes", {"price": 12})
    assert now.status_code == 201 and now.json["applied_at"] is not None and now.json["old_price"] == 15
    assert admin.get(f"/api/v1/products/{oil}").json["price"] == 12
    second = cashier.post("/api/v1/redemptions", {"supermarket_id": shop.id, "member_id": member.id,
                                                  "lines": [{"sku": "OIL1", "quantity": 1}]}).json
    assert second["lines"][0]["unit_price"] == 12
    assert cashier.get(f"/api/v1/redemptions/{basket['id']}").json["lines"][0]["unit_price"] == 15
    past = admin.post(f"/api/v1/products/{oil}/price-changes", {"price": 9, "effective_on": (today - dt.timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and past.json["error"]["code"] == "price_change_in_past"
    assert cashier.post(f"/api/v1/products/{oil}/price-changes", {"price": 9}).status_code == 403
    with app.app_context():
        assert db.run(lambda s: shelf.apply_due_price_changes(s, today + dt.timedelta(days=2))) == 0
        assert db.run(lambda s: shelf.apply_due_price_changes(s, today + dt.timedelta(days=3))) == 1
    assert admin.get(f"/api/v1/products/{oil}").json["price"] == 18
    assert [c["price"] for c in admin.get(f"/api/v1/products/{oil}/price-changes").json] == [12, 18]
