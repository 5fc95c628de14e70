"""Catalogue (administrators), stock receipts, the resident catalogue and the cashier's look-up."""

from __future__ import annotations

import pytest


def test_sku_is_unique_per_supermarket_only(shop, world):
    taken = shop.admin.post(
        "/api/v1/products", {"supermarket_id": shop.supermarket.id, "sku": "RICE5", "name": "又一袋米", "price": 3}
    )
    assert taken.status_code == 409 and taken.json["error"]["code"] == "sku_taken"
    other = world.supermarket(shop.community)
    assert shop.add_product("RICE5", 30, 0, supermarket=other)
    renamed = shop.admin.patch(f"/api/v1/products/{shop.products['SOAP']}", {"sku": "OIL1"})
    assert renamed.status_code == 409


@pytest.mark.parametrize("price", [0, -5, 1.5, "10", None, True, 10**7])
def test_price_is_a_whole_positive_number_of_coins(shop, price):
    response = shop.admin.post(
        "/api/v1/products", {"supermarket_id": shop.supermarket.id, "sku": "EGG", "name": "鸡蛋", "price": price}
    )
    assert response.status_code == 422 and "price" in response.json["error"]["details"]["fields"]


def test_only_administrators_of_the_community_manage_the_catalogue(shop, world):
    body = {"supermarket_id": shop.supermarket.id, "sku": "EGG", "name": "鸡蛋", "price": 8}
    assert shop.cashier.post("/api/v1/products", body).status_code == 403
    assert world.admin(world.community()).post("/api/v1/products", body).status_code == 404
    assert shop.cashier.patch(f"/api/v1/products/{shop.products['SOAP']}", {"price": 1}).status_code == 403
    assert shop.cashier.delete(f"/api/v1/products/{shop.products['SOAP']}").status_code == 403


def test_deleting_a_product_takes_it_off_sale_but_keeps_it(shop):
    response = shop.admin.delete(f"/api/v1/products/{shop.products['SOAP']}")
    assert response.status_code == 200 and response.json["active"] is False
    listed = shop.admin.get(f"/api/v1/products?supermarket_id={shop.supermarket.id}").json
    assert "SOAP" not in {p["sku"] for p in listed}
    everything = shop.admin.get(f"/api/v1/products?supermarket_id={shop.supermarket.id}&include_inactive=true").json
    assert {p["sku"]: p["stock"] for p in everything}["SOAP"] == 50


def test_stock_receipt_raises_stock_with_one_movement_per_line(shop, world):
    response = shop.cashier.post(
        "/api/v1/stock-receipts",
        {"supermarket_id": shop.supermarket.id, "kind": "purchase", "source": "供销社", "note": "月度采购",
         "lines": [{"sku": "RICE5", "quantity": 20}, {"product_id": shop.products["OIL1"], "quantity": 5}]},
    )
    assert response.status_code == 201, response.json
    assert sorted((ln["quantity"], ln["stock_after"]) for ln in response.json["lines"]) == [(5, 8), (20, 30)]
    assert shop.stock("RICE5") == 30 and shop.stock("OIL1") == 8
    receipts = shop.admin.get(f"/api/v1/stock-receipts?supermarket_id={shop.supermarket.id}").json
    assert receipts[0]["id"] == response.json["id"] and receipts[0]["source"] == "供销社"
    assert shop.admin.get(f"/api/v1/stock-receipts/{response.json['id']}").json["kind"] == "purchase"
    assert shop.market_sound() == []


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [{"sku": "RICE5", "quantity": 0}]},
        {"lines": [{"sku": "RICE5", "quantity": -3}]},
        {"lines": [{"sku": "RICE5", "quantity": 10**9}]},
        {"lines": []},
        {"kind": "theft"},
        {"source": ""},
    ],
)
def test_hostile_stock_receipts_write_nothing(shop, change):
    before = shop.snapshot()
    body = {"supermarket_id": shop.supermarket.id, "kind": "donation", "source": "好心人",
            "lines": [{"sku": "RICE5", "quantity": 1}], **change}
    assert shop.admin.post("/api/v1/stock-receipts", body).status_code == 422
    assert shop.snapshot() == before


def test_stock_receipt_for_unknown_duplicate_or_foreign_products_is_refused(shop, world):
    foreign = shop.add_product("TOWEL", 10, 0, supermarket=world.supermarket(shop.community))
    other_cashier = world.staff("cashier", supermarket=world.supermarket(shop.community))
    before = shop.snapshot()
    base = {"supermarket_id": shop.supermarket.id, "kind": "donation", "source": "好心人"}
    unknown = shop.admin.post("/api/v1/stock-receipts", {**base, "lines": [{"sku": "NOPE", "quantity": 1}]})
    assert unknown.status_code == 422 and unknown.json["error"]["details"]["lines"][0]["code"] == "unknown_sku"
    wrong = shop.admin.post("/api/v1/stock-receipts", {**base, "lines": [{"product_id": foreign, "quantity": 1}]})
    assert wrong.json["error"]["details"]["lines"][0]["code"] == "wrong_supermarket"
    dup = shop.admin.post("/api/v1/stock-receipts", {**base, "lines": [{"sku": "SOAP", "quantity": 1}] * 2})
    assert dup.status_code == 422 and dup.json["error"]["code"] == "duplicate_lines"
    assert other_cashier.post("/api/v1/stock-receipts", {**base, "lines": [{"sku": "SOAP", "quantity": 1}]}).status_code == 403
    assert shop.snapshot() == before


def test_resident_catalogue_shows_availability_not_counts(shop, world):
    shop.add_product("EGG", 8, 0, name="鸡蛋")
    shop.add_product("HIDDEN", 8, 9, name="下架品")
    shop.admin.delete(f"/api/v1/products/{shop.products['HIDDEN']}")
    elsewhere = world.community()
    world.supermarket(elsewhere)
    resident = world.resident(shop.member)
    items = resident.get("/api/v1/catalogue").json
    assert {i["sku"]: i["availability"] for i in items} == {
        "RICE5": "in_stock", "OIL1": "few_left", "SOAP": "in_stock", "EGG": "out",
    }
    assert all("stock" not in i for i in items) and items[0]["supermarket_name"] == shop.supermarket.name
    assert resident.get("/api/v1/products").status_code == 403  # exact counts are for staff
    stranger = world.member(elsewhere, name="外人")
    assert world.resident(stranger).get(f"/api/v1/catalogue?supermarket_id={shop.supermarket.id}").status_code == 404


def test_cashier_lookup_shows_masked_name_and_coins_only(shop, world):
    # A POST: card codes and phones never travel in a URL (issue #9 §3).
    url = f"/api/v1/supermarkets/{shop.supermarket.id}/lookup"
    response = shop.cashier.post(url, {"card_code": shop.member.card_code})
    assert response.status_code == 200, response.json
    assert response.json == [{
        "member_id": shop.member.id, "masked_name": "张*丰", "coins": 100,
        "household_id": shop.household.id, "household_coins": 60,
    }]
    by_phone = shop.cashier.post(url, {"phone": "13800000001"})
    assert by_phone.json == response.json
    assert shop.cashier.post(url, {"phone": "13900000000"}).status_code == 404
    assert shop.cashier.post(url, {}).status_code == 422
    other_cashier = world.staff("cashier", supermarket=world.supermarket(shop.community))
    assert other_cashier.post(url, {"card_code": shop.member.card_code}).status_code == 403
    assert world.resident(shop.member).post(url, {"card_code": shop.member.card_code}).status_code == 403
    stranger = world.member(world.community(), name="外人")
    assert shop.cashier.post(url, {"card_code": stranger.card_code}).status_code == 404


def test_a_family_phone_lists_every_resident_in_a_fixed_number_of_reads(shop, world):
    """A phone shared by a family finds each of them with their coins and their household's, read for
    all of them at once (it was five statements more per resident)."""
    from service.privacy import mask_name

    url = f"/api/v1/supermarkets/{shop.supermarket.id}/lookup"

    def look_up():
        response, sent = world.statements_of(lambda: shop.cashier.post(url, {"phone": "13800000001"}))
        assert response.status_code == 200, response.json
        return response.json, sent

    _found, few = look_up()
    grandma = world.member(shop.community, name="王秀英", household=shop.household, phone="13800000001")
    world.credit(grandma, 7)
    world.member(shop.community, name="李四", phone="13800000001")  # no household, no coins yet
    found, many = look_up()
    assert [(r["masked_name"], r["coins"], r["household_coins"]) for r in found] == [
        ("张*丰", 100, 60), (mask_name("王秀英"), 7, 60), (mask_name("李四"), 0, None),
    ]
    assert many == few


def test_market_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/products", "/api/v1/products/{product_id}", "/api/v1/catalogue", "/api/v1/stock-receipts",
        "/api/v1/supermarkets/{supermarket_id}/lookup", "/api/v1/redemptions", "/api/v1/redemptions/{redemption_id}",
        "/api/v1/redemptions/{redemption_id}/refund", "/api/v1/redemptions/{redemption_id}/receipt",
        "/api/v1/redemptions/{redemption_id}/receipt.html", "/api/v1/refunds/{refund_id}/receipt",
        "/api/v1/supermarkets/{supermarket_id}/close-out", "/api/v1/supermarkets/{supermarket_id}/close-out.csv",
        "/api/v1/supermarkets/{supermarket_id}/daily-totals", "/api/v1/supermarkets/{supermarket_id}/daily-totals.csv",
    ):
        assert path in paths, path
    post = paths["/api/v1/redemptions"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "409" in post["responses"] and "requestBody" in post
