"""Baskets: all or nothing, prices from the catalogue, clear reasons, idempotent, scoped to the till."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import ledger
from ledger import Unit
from service.privacy import mask_name


def test_basket_moves_coins_to_the_till_and_stock_down_in_one_transaction(shop, world):
    response = shop.basket(("RICE5", 1), ("SOAP", 3))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["total"] == 40 + 3 * 5
    assert body["balance_after"] == 100 - 55 == world.balance(shop.member)
    assert body["resident"] == "张*丰" and body["status"] == "completed"
    assert [(ln["sku"], ln["quantity"], ln["unit_price"], ln["amount"]) for ln in body["lines"]] == [
        ("RICE5", 1, 40, 40), ("SOAP", 3, 5, 15),
    ]
    assert shop.stock("RICE5") == 9 and shop.stock("SOAP") == 47

    def ledger_view(s):
        tx = s.get(ledger.Transaction, body["transaction_id"])
        till = s.scalar(select(ledger.Account).where(ledger.Account.type == "supermarket_till",
                                                     ledger.Account.owner_id == shop.supermarket.id))
        # The till is an untracked system account (no row every basket locks): its balance is derived.
        assert not till.track_balance
        return tx.kind, tx.location, tx.details, {e.account_id: e.amount for e in tx.entries}, till.id, ledger.balance(
            s, till.id
        )

    kind, location, details, amounts, till_id, till_balance = world._run(ledger_view)
    assert kind == "redemption" and location == f"supermarket:{shop.supermarket.id}"
    assert details["lines"] == [
        {"sku": "RICE5", "name": "大米5斤", "quantity": 1, "unit_price": 40},
        {"sku": "SOAP", "name": "肥皂", "quantity": 3, "unit_price": 5},
    ]
    assert "大米5斤×1" in details["description"]
    assert amounts[till_id] == 55 and sorted(amounts.values()) == [-55, 55] and till_balance == 55
    assert world.invariants() == {}
    assert shop.market_sound() == []


def test_household_wallet_pays_when_asked(shop, world):
    response = shop.basket(("OIL1", 2), paid_from="household")
    assert response.status_code == 201, response.json
    assert response.json["paid_from"] == "household" and response.json["household_id"] == shop.household.id
    assert world.balance(shop.household) == 10 and world.balance(shop.member) == 100
    assert response.json["balance_after"] == 10


def test_household_payment_without_a_household_is_refused(shop, world):
    loner = world.member(shop.community, name="李四")
    world.credit(loner, 50)
    before = shop.snapshot()
    response = shop.basket(("SOAP", 1), member=loner, paid_from="household")
    assert response.status_code == 422 and response.json["error"]["code"] == "no_household"
    assert shop.snapshot() == before


def test_resident_can_be_named_by_card_code(shop):
    body = {"card_code": shop.member.card_code, "lines": [{"sku": "SOAP", "quantity": 1}]}
    response = shop.cashier.post("/api/v1/redemptions", body)  # the cashier's own supermarket by default
    assert response.status_code == 201, response.json
    assert response.json["member_id"] == shop.member.id and response.json["supermarket_id"] == shop.supermarket.id


def test_double_clicked_basket_posts_once_and_replays_the_same_response(shop, world):
    first = shop.basket(("RICE5", 1), key="click-1")
    again = shop.basket(("RICE5", 1), key="click-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json
    assert world.balance(shop.member) == 60 and shop.stock("RICE5") == 9
    other = shop.basket(("RICE5", 2), key="click-1")
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_conflict"
    assert world.invariants() == {}


def test_every_failing_line_is_reported_and_nothing_is_written(shop, world):
    other_market = world.supermarket(shop.community)
    foreign = shop.add_product("TOWEL", 10, 5, supermarket=other_market)
    shop.admin.patch(f"/api/v1/products/{shop.products['SOAP']}", {"active": False})
    before = shop.snapshot()
    body = {
        "supermarket_id": shop.supermarket.id,
        "member_id": shop.member.id,
        "lines": [
            {"sku": "RICE5", "quantity": 1},  # fine
            {"sku": "OIL1", "quantity": 4},  # only 3 in stock
            {"sku": "SOAP", "quantity": 1},  # inactive
            {"sku": "NOPE", "quantity": 1},  # unknown
            {"product_id": foreign, "quantity": 1},  # another supermarket's
        ],
    }
    response = shop.cashier.post("/api/v1/redemptions", body)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "basket_refused"
    problems = {p["line"]: p["code"] for p in error["details"]["lines"]}
    assert problems == {1: "out_of_stock", 2: "inactive_product", 3: "unknown_sku", 4: "wrong_supermarket"}
    oil = next(p for p in error["details"]["lines"] if p["line"] == 1)
    assert oil["available"] == 3 and oil["requested"] == 4 and oil["name"] == "食用油"
    assert shop.snapshot() == before
    assert world.invariants() == {}


def test_insufficient_coins_is_a_409_naming_balance_and_cost(shop, world):
    before = shop.snapshot()
    response = shop.basket(("RICE5", 3))
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "basket_refused" and error["details"]["lines"] == []
    assert error["details"]["wallet"] == {
        "code": "insufficient_balance", "message": error["details"]["wallet"]["message"],
        "paid_from": "member", "balance": 100, "required": 120,
    }
    assert shop.snapshot() == before


def test_stock_and_coin_problems_are_reported_together(shop):
    response = shop.basket(("RICE5", 3), ("OIL1", 9))
    assert response.status_code == 409
    details = response.json["error"]["details"]
    assert [p["code"] for p in details["lines"]] == ["out_of_stock"]
    assert details["wallet"]["required"] == 3 * 40 + 9 * 25


def test_a_refused_basket_can_be_retried_with_the_same_key_once_fixed(shop, world):
    assert shop.basket(("RICE5", 3), key="retry-me").status_code == 409
    world.credit(shop.member, 50)
    response = shop.basket(("RICE5", 3), key="retry-me")
    assert response.status_code == 201 and world.balance(shop.member) == 30


@pytest.mark.parametrize(
    "lines, field_error",
    [
        ([], "lines"),
        ([{"sku": "RICE5", "quantity": 0}], "lines"),
        ([{"sku": "RICE5", "quantity": -1}], "lines"),
        ([{"sku": "RICE5", "quantity": 10**9}], "lines"),
        ([{"sku": "RICE5", "quantity": 1.5}], "lines"),
        ([{"sku": "RICE5", "quantity": "2"}], "lines"),
        ([{"sku": "RICE5", "quantity": True}], "lines"),
        ([{"sku": "RICE5"}], "lines"),
        ([{"quantity": 1}], "lines"),
        ([{"sku": "RICE5", "product_id": 1, "quantity": 1}], "lines"),
        ([{"sku": "'; DROP TABLE products; --", "quantity": 1}], "lines"),
        ("RICE5", "lines"),
    ],
)
def test_hostile_lines_are_refused_before_anything_is_written(shop, lines, field_error):
    before = shop.snapshot()
    response = shop.cashier.post(
        "/api/v1/redemptions", {"supermarket_id": shop.supermarket.id, "member_id": shop.member.id, "lines": lines}
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field_error in response.json["error"]["details"]["fields"]
    assert shop.snapshot() == before


def test_duplicate_skus_in_one_basket_are_a_422(shop):
    before = shop.snapshot()
    response = shop.basket(("SOAP", 1), ("RICE5", 1), ("SOAP", 2))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "duplicate_lines"
    assert response.json["error"]["details"]["lines"] == [{"line": 2, "same_as_line": 0, "item": "SOAP"}]
    by_id = shop.cashier.post(
        "/api/v1/redemptions",
        {"member_id": shop.member.id,
         "lines": [{"sku": "SOAP", "quantity": 1}, {"product_id": shop.products["SOAP"], "quantity": 1}]},
    )
    assert by_id.status_code == 422 and by_id.json["error"]["code"] == "duplicate_lines"
    assert shop.snapshot() == before


def test_unknown_or_foreign_resident_is_a_404_and_writes_nothing(shop, world):
    stranger = world.member(world.community(), name="王五")
    world.credit(stranger, 500)
    before = shop.snapshot()
    for body in ({"member_id": 999_999}, {"member_id": stranger.id}, {"card_code": "no-such-card"}):
        response = shop.cashier.post("/api/v1/redemptions", {**body, "lines": [{"sku": "SOAP", "quantity": 1}]})
        assert response.status_code == 404 and response.json["error"]["code"] == "member_not_found"
    both = shop.cashier.post(
        "/api/v1/redemptions",
        {"member_id": shop.member.id, "card_code": shop.member.card_code, "lines": [{"sku": "SOAP", "quantity": 1}]},
    )
    assert both.status_code == 422
    assert shop.snapshot() == before


def test_prices_are_taken_at_the_moment_and_kept_on_the_lines(shop):
    first = shop.basket(("SOAP", 2)).json
    assert shop.admin.patch(f"/api/v1/products/{shop.products['SOAP']}", {"price": 7}).status_code == 200
    second = shop.basket(("SOAP", 2)).json
    assert first["lines"][0]["unit_price"] == 5 and second["lines"][0]["unit_price"] == 7
    again = shop.cashier.get(f"/api/v1/redemptions/{first['id']}").json
    assert again["lines"][0]["unit_price"] == 5 and again["total"] == 10


def test_a_cashier_acts_only_for_their_own_supermarket(shop, world):
    other_market = world.supermarket(shop.community)
    other_cashier = world.staff("cashier", supermarket=other_market)
    far_cashier = world.staff("cashier", supermarket=world.supermarket(world.community()))
    supervisor = world.staff("supervisor", community=shop.community)
    station_staff = world.staff("station_staff", station=world.station(shop.community))
    resident = world.resident(shop.member)
    before = shop.snapshot()
    response = shop.basket(("SOAP", 1), caller=other_cashier)
    assert response.status_code == 403
    assert shop.basket(("SOAP", 1), caller=far_cashier).status_code == 404
    for caller in (supervisor, station_staff, resident):
        assert shop.basket(("SOAP", 1), caller=caller).status_code == 403
    assert shop.snapshot() == before
    assert shop.basket(("SOAP", 1), caller=shop.admin).status_code == 201  # the community's administrator


def test_residents_see_only_their_own_redemptions(shop, world):
    neighbour = world.member(shop.community, name="赵六")
    world.credit(neighbour, 30)
    mine = shop.basket(("SOAP", 1)).json
    theirs = shop.basket(("SOAP", 2), member=neighbour).json
    me = world.resident(shop.member)
    listed = me.get("/api/v1/redemptions").json
    assert [r["id"] for r in listed] == [mine["id"]]
    assert me.get(f"/api/v1/redemptions/{theirs['id']}").status_code == 404
    assert me.get(f"/api/v1/redemptions?member_id={neighbour.id}").status_code == 404
    assert me.get(f"/api/v1/redemptions/{mine['id']}/receipt").status_code == 200
    staff_list = shop.cashier.get(f"/api/v1/redemptions?member_id={neighbour.id}").json
    assert [r["id"] for r in staff_list] == [theirs["id"]]


def test_redemption_list_pages_newest_first(shop):
    ids = [shop.basket(("SOAP", 1)).json["id"] for _ in range(3)]
    page = shop.cashier.get("/api/v1/redemptions?limit=2").json
    assert [r["id"] for r in page] == ids[::-1][:2]
    rest = shop.cashier.get(f"/api/v1/redemptions?limit=2&before={page[-1]['id']}").json
    assert [r["id"] for r in rest] == [ids[0]]


def test_the_basket_shows_in_the_residents_statement(shop):
    shop.basket(("RICE5", 1))
    lines = shop.admin.get(f"/api/v1/members/{shop.member.id}/statement?unit=COIN").json["lines"]
    newest = lines[0]
    assert newest["kind"] == "redemption" and newest["amount"] == -40
    assert newest["description"].endswith("大米5斤×1")


def test_a_closed_supermarket_sells_nothing(shop, world):
    from service.community.models import Supermarket

    world._run(lambda s: setattr(s.get(Supermarket, shop.supermarket.id), "active", False))
    before = shop.snapshot()
    response = shop.basket(("SOAP", 1))
    assert response.status_code == 422 and response.json["error"]["code"] == "supermarket_inactive"
    assert shop.snapshot() == before
    assert world.balance(shop.member, Unit.COIN) == 100


def _reads(shop, caller, path):
    """The answer to GET ``path`` and how many statements the app sent for it."""
    response, sent = shop.world.statements_of(lambda: caller.get(path))
    assert response.status_code == 200, response.json
    return response.json, sent


def test_a_statement_page_names_its_places_in_a_fixed_number_of_reads(shop):
    """Every basket line of a resident's statement names the supermarket; the page reads each kind of
    place once, not once per line (the identity map keeps no loaded place alive between lines, so a
    look-up per line went to the database every time: 20 lines, 20 more reads)."""
    path = f"/api/v1/members/{shop.member.id}/statement?limit=20&unit=COIN"
    assert shop.basket(("SOAP", 1)).status_code == 201
    _page, few = _reads(shop, shop.admin, path)
    for _ in range(5):
        assert shop.basket(("SOAP", 1)).status_code == 201
    page, many = _reads(shop, shop.admin, path)
    baskets = [ln for ln in page["lines"] if ln["kind"] == "redemption"]
    assert len(baskets) == 6
    assert {ln["location"] for ln in baskets} == {shop.supermarket.name}
    assert many == few


def test_a_list_of_baskets_reads_their_refunds_and_residents_once_for_the_page(shop, world):
    """Each listed basket shows its status, refunded total and resident: read for the whole page, not
    basket by basket (one basket: N reads; six, two of them refunded, two residents: still N)."""
    assert shop.basket(("SOAP", 1)).status_code == 201
    _listed, few = _reads(shop, shop.admin, "/api/v1/redemptions")
    other = world.member(shop.community, name="李四")
    world.credit(other, 50)
    made = [shop.basket(("SOAP", 1), member=other if n % 2 else None).json for n in range(5)]
    for basket in made[:2]:
        refunded = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "退回"})
        assert refunded.status_code == 201, refunded.json
    listed, many = _reads(shop, shop.admin, "/api/v1/redemptions")
    assert len(listed) == 6
    assert sorted(b["status"] for b in listed) == ["completed"] * 4 + ["refunded"] * 2
    assert {b["resident"] for b in listed} == {mask_name("张三丰"), mask_name("李四")}
    assert many <= few + 2  # the refunds' lines once there are refunds, and nothing per basket
