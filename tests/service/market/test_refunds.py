"""Refunds: whole or by line, coins and stock come back, no line twice, only at the right counter."""

from __future__ import annotations

import ledger


def _tx(world, transaction_id):
    return world._run(lambda s: s.get(ledger.Transaction, transaction_id))


def test_whole_refund_of_an_untouched_basket_is_a_ledger_reversal(shop, world):
    basket = shop.basket(("RICE5", 1), ("SOAP", 2)).json
    response = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "收银员扫错商品"})
    assert response.status_code == 201, response.json
    refund = response.json
    assert refund["whole"] is True and refund["total"] == 50 and refund["balance_after"] == 100
    tx = _tx(world, refund["transaction_id"])
    assert tx.kind == "redemption.reversal" and tx.reverses_id == basket["transaction_id"]
    assert world.balance(shop.member) == 100 and shop.stock("RICE5") == 10 and shop.stock("SOAP") == 50
    view = shop.cashier.get(f"/api/v1/redemptions/{basket['id']}").json
    assert view["status"] == "refunded" and view["refunded_total"] == 50
    assert [ln["refunded_quantity"] for ln in view["lines"]] == [1, 2]
    assert world.invariants() == {} and shop.market_sound() == []


def test_partial_refunds_return_coins_and_stock_and_a_line_cannot_be_refunded_twice(shop, world):
    basket = shop.basket(("RICE5", 1), ("SOAP", 4), paid_from="household").json
    assert basket["total"] == 60 and world.balance(shop.household) == 0
    soap = next(ln for ln in basket["lines"] if ln["sku"] == "SOAP")
    rice = next(ln for ln in basket["lines"] if ln["sku"] == "RICE5")
    url = f"/api/v1/redemptions/{basket['id']}/refund"

    first = shop.cashier.post(url, {"reason": "肥皂多拿了", "lines": [{"line_id": soap["id"], "quantity": 3}]})
    assert first.status_code == 201, first.json
    assert first.json["total"] == 15 and first.json["whole"] is False and first.json["balance_after"] == 15
    tx = _tx(world, first.json["transaction_id"])
    assert tx.kind == "redemption_refund" and tx.related_id == basket["transaction_id"]
    assert world.balance(shop.household) == 15 and shop.stock("SOAP") == 50 - 4 + 3

    before = shop.snapshot()
    again = shop.cashier.post(url, {"reason": "再退", "lines": [{"line_id": soap["id"], "quantity": 2}]})
    assert again.status_code == 409, again.json
    problem = again.json["error"]["details"]["lines"][0]
    assert problem["code"] == "refund_exceeds_quantity" and problem["refundable"] == 1
    assert shop.snapshot() == before

    last_soap = shop.cashier.post(url, {"reason": "最后一块", "lines": [{"line_id": soap["id"], "quantity": 1}]})
    assert last_soap.status_code == 201
    twice = shop.cashier.post(url, {"reason": "又退", "lines": [{"line_id": soap["id"], "quantity": 1}]})
    assert twice.status_code == 409
    assert twice.json["error"]["details"]["lines"][0]["code"] == "line_already_refunded"

    rest = shop.cashier.post(url, {"reason": "整单退"})  # whole = everything not yet refunded: the rice
    assert rest.status_code == 201 and rest.json["total"] == 40
    assert [ln["redemption_line_id"] for ln in rest.json["lines"]] == [rice["id"]]
    assert _tx(world, rest.json["transaction_id"]).kind == "redemption_refund"
    assert world.balance(shop.household) == 60 and shop.stock("RICE5") == 10 and shop.stock("SOAP") == 50
    done = shop.cashier.post(url, {"reason": "再整单退"})
    assert done.status_code == 409 and done.json["error"]["code"] == "already_refunded"
    view = shop.cashier.get(f"/api/v1/redemptions/{basket['id']}").json
    assert view["status"] == "refunded" and len(view["refunds"]) == 3
    assert world.invariants() == {} and shop.market_sound() == []


def test_a_refund_needs_a_reason_and_sane_lines(shop):
    basket = shop.basket(("SOAP", 2)).json
    line_id = basket["lines"][0]["id"]
    url = f"/api/v1/redemptions/{basket['id']}/refund"
    before = shop.snapshot()
    for body in (
        {},
        {"reason": ""},
        {"reason": "x", "lines": []},
        {"reason": "x", "lines": [{"line_id": line_id, "quantity": 0}]},
        {"reason": "x", "lines": [{"line_id": line_id, "quantity": -1}]},
        {"reason": "x", "lines": [{"line_id": line_id, "quantity": 2.0}]},
    ):
        response = shop.cashier.post(url, body)
        assert response.status_code == 422, (body, response.json)
    dup = shop.cashier.post(url, {"reason": "x", "lines": [{"line_id": line_id, "quantity": 1}] * 2})
    assert dup.status_code == 422 and dup.json["error"]["code"] == "duplicate_lines"
    other = shop.basket(("RICE5", 1)).json
    before = shop.snapshot()
    foreign_line = shop.cashier.post(url, {"reason": "x", "lines": [{"line_id": other["lines"][0]["id"], "quantity": 1}]})
    assert foreign_line.status_code == 422
    assert foreign_line.json["error"]["details"]["lines"][0]["code"] == "unknown_line"
    too_many = shop.cashier.post(url, {"reason": "x", "lines": [{"line_id": line_id, "quantity": 3}]})
    assert too_many.status_code == 409
    assert shop.cashier.post("/api/v1/redemptions/999999/refund", {"reason": "x"}).status_code == 404
    assert shop.snapshot() == before


def test_only_a_cashier_of_that_supermarket_or_an_administrator_refunds(shop, world):
    basket = shop.basket(("SOAP", 2)).json
    url = f"/api/v1/redemptions/{basket['id']}/refund"
    other_cashier = world.staff("cashier", supermarket=world.supermarket(shop.community))
    far_cashier = world.staff("cashier", supermarket=world.supermarket(world.community()))
    supervisor = world.staff("supervisor", community=shop.community)
    resident = world.resident(shop.member)
    before = shop.snapshot()
    assert other_cashier.post(url, {"reason": "不是我的店"}).status_code == 403
    assert far_cashier.post(url, {"reason": "别的社区"}).status_code == 404
    assert supervisor.post(url, {"reason": "监督"}).status_code == 403
    assert resident.post(url, {"reason": "我要退"}).status_code == 403
    assert shop.snapshot() == before
    assert shop.admin.post(url, {"reason": "管理员退货"}).status_code == 201


def test_a_retried_refund_replays_instead_of_refunding_again(shop, world):
    basket = shop.basket(("SOAP", 2)).json
    url = f"/api/v1/redemptions/{basket['id']}/refund"
    line = {"line_id": basket["lines"][0]["id"], "quantity": 1}
    first = shop.cashier.post(url, {"reason": "退一块", "lines": [line]}, key="refund-1")
    again = shop.cashier.post(url, {"reason": "退一块", "lines": [line]}, key="refund-1")
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert world.balance(shop.member) == 95 and shop.stock("SOAP") == 49


def test_refund_goes_back_to_the_wallet_that_paid_even_if_prices_changed(shop, world):
    basket = shop.basket(("OIL1", 1)).json
    shop.admin.patch(f"/api/v1/products/{shop.products['OIL1']}", {"price": 99})
    refund = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "油漏了"}).json
    assert refund["total"] == 25 and world.balance(shop.member) == 100


def test_refunding_an_inactive_product_still_restocks_it(shop):
    basket = shop.basket(("OIL1", 1)).json
    shop.admin.delete(f"/api/v1/products/{shop.products['OIL1']}")
    response = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "下架商品退回"})
    assert response.status_code == 201 and shop.stock("OIL1") == 3
    assert shop.market_sound() == []
