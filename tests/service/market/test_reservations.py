"""Reserve online, pick up at the counter: coins held and stock set aside by recorded postings and
movements; pickup, cancellation and lapse each settle a reservation exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import ledger
from ledger import Unit
from service.auth.access import Principal
from service.auth.models import Role
from service.extensions import db
from service.reservations import operations
from service.reservations.models import Reservation
from tests.factories import Caller

from .test_concurrency import _race, _sound, pg_app, pg_shop  # noqa: F401  (fixtures)


def _reserve(shop, *lines, resident=None):
    resident = resident or shop.world.resident(shop.member)
    body = {"supermarket_id": shop.supermarket.id, "lines": [{"sku": sku, "quantity": q} for sku, q in lines]}
    return resident.post("/api/v1/reservations", body)


def _held(shop) -> int:
    return shop.world._run(lambda s: operations.held_coins(s, s.merge(shop.member)))


def test_reserving_holds_coins_and_sets_stock_aside(shop):
    made = _reserve(shop, ("RICE5", 1), ("SOAP", 2))
    assert made.status_code == 201, made.json
    assert made.json["status"] == "held" and made.json["total"] == 50 and made.json["code"].startswith("R")
    assert shop.world.balance(shop.member) == 50 and _held(shop) == 50
    assert shop.stock("RICE5") == 9 and shop.stock("SOAP") == 48
    _sound(shop)


def test_the_cashier_picks_up_and_it_becomes_an_ordinary_basket(shop):
    code = _reserve(shop, ("OIL1", 2)).json["code"]
    seen = shop.cashier.post("/api/v1/reservations/lookup", {"code": code.lower()})
    assert seen.status_code == 200 and seen.json["lines"][0]["name"] == "食用油"
    picked = shop.cashier.post("/api/v1/reservations/pickup", {"code": code})
    assert picked.status_code == 200, picked.json
    assert picked.json["status"] == "picked_up" and picked.json["redemption_id"]
    receipt = shop.cashier.get(f"/api/v1/redemptions/{picked.json['redemption_id']}")
    assert receipt.status_code == 200 and receipt.json["total"] == 50
    assert shop.world.balance(shop.member) == 50 and _held(shop) == 0
    assert shop.stock("OIL1") == 1
    again = shop.cashier.post("/api/v1/reservations/pickup", {"code": code})
    assert again.status_code == 409 and again.json["error"]["code"] == "reservation_closed"
    _sound(shop)


def test_cancelling_gives_coins_and_stock_back(shop):
    resident = shop.world.resident(shop.member)
    made = _reserve(shop, ("RICE5", 2), resident=resident).json
    cancelled = resident.post(f"/api/v1/reservations/{made['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert shop.world.balance(shop.member) == 100 and _held(shop) == 0 and shop.stock("RICE5") == 10
    _sound(shop)


def test_a_reservation_lapses_after_its_deadline_and_on_access(shop):
    def reserve_long_ago(s):
        resident = Principal(role=Role.RESIDENT, member_id=shop.member.id, community_id=shop.community.id)
        past = ledger.utcnow() - dt.timedelta(days=4)
        return operations.reserve(s, resident, supermarket_id=shop.supermarket.id,
                                  lines=[{"sku": "SOAP", "quantity": 4}], now=past).code

    code = shop.world._run(reserve_long_ago)
    assert shop.world.balance(shop.member) == 80
    late = shop.cashier.post("/api/v1/reservations/pickup", {"code": code})
    assert late.status_code == 409 and late.json["error"]["code"] == "reservation_lapsed"
    mine = shop.world.resident(shop.member).get("/api/v1/reservations").json  # reading lapses it
    assert mine[0]["status"] == "lapsed"
    assert shop.world.balance(shop.member) == 100 and shop.stock("SOAP") == 50
    assert shop.world._run(lambda s: operations.lapse_due(s, ledger.utcnow())) == 0
    _sound(shop)


def test_refusals_write_nothing(shop):
    before = shop.snapshot()
    assert _reserve(shop, ("RICE5", 3)).json["error"]["code"] == "insufficient_balance"  # 120 > 100
    assert _reserve(shop, ("OIL1", 4)).json["error"]["code"] == "reservation_refused"  # only 3
    assert _reserve(shop, ("NOPE", 1)).status_code == 422
    assert shop.snapshot() == before


def test_another_supermarkets_cashier_cannot_hand_it_over(shop):
    code = _reserve(shop, ("SOAP", 1)).json["code"]
    other = shop.world.supermarket(shop.community)
    stranger = shop.world.staff("cashier", supermarket=other)
    assert stranger.post("/api/v1/reservations/pickup", {"code": code}).status_code == 403
    assert shop.cashier.post("/api/v1/reservations/pickup", {"code": "R2345678ABC"}).status_code == 404


@pytest.mark.postgres
def test_concurrent_reservations_never_overdraw_coins_or_stock(pg_app, pg_shop):  # noqa: F811
    shop = pg_shop
    shop.add_product("LAST", 10, 5)
    shop.world.credit(shop.member, 30)
    resident = shop.world.resident(shop.member)
    body = {"supermarket_id": shop.supermarket.id, "lines": [{"sku": "LAST", "quantity": 1}]}
    results = _race(pg_app, resident, [("/api/v1/reservations", body, f"k{i}") for i in range(16)])
    made = [r for status, r in results if status == 201]
    assert len(made) == 3 and all(status in (201, 409) for status, _ in results)
    assert shop.world.balance(shop.member) == 0 and shop.stock("LAST") == 2
    _sound(shop)


@pytest.mark.postgres
def test_a_lapse_racing_a_pickup_settles_exactly_once(pg_app, pg_shop):  # noqa: F811
    shop = pg_shop
    shop.add_product("TEA", 7, 4)
    shop.world.credit(shop.member, 50)
    for _ in range(6):
        code = _reserve(shop, ("TEA", 1)).json["code"]
        with pg_app.app_context():
            # due exactly now: both the lapse and the pickup may still see it as held
            db.run(lambda s, c=code: s.scalars(
                select(Reservation).where(Reservation.code == c)).one().__setattr__(
                "deadline", ledger.utcnow() + dt.timedelta(milliseconds=300)))
        barrier = threading.Barrier(2)

        def pickup(c=code, barrier=barrier):
            caller = Caller(pg_app.test_client(), shop.cashier.token, shop.cashier.id)
            barrier.wait()
            return caller.post("/api/v1/reservations/pickup", {"code": c}).status_code

        def lapse(barrier=barrier):
            barrier.wait()
            with pg_app.app_context():
                return db.run(lambda s: operations.lapse_due(s, ledger.utcnow() + dt.timedelta(seconds=1)))

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = pool.submit(pickup), pool.submit(lapse)
            picked, lapsed = (f.result() for f in futures)
        assert (picked == 200) != (lapsed == 1), (picked, lapsed)
    assert shop.world._run(lambda s: operations.held_coins(s, s.merge(shop.member))) == 0
    _sound(shop)
    assert shop.world.balance(shop.member, Unit.COIN) + 7 * shop.world._run(
        lambda s: s.query(Reservation).filter(Reservation.status == "picked_up").count()) == 50


def test_a_list_of_reservations_reads_their_lines_once_for_the_page(shop):
    """Each listed reservation carries its lines, read for the whole list (one reservation: N reads;
    four, three of them with two lines: still N)."""
    from .test_redemptions import _reads

    resident = shop.world.resident(shop.member)
    assert _reserve(shop, ("SOAP", 1), resident=resident).status_code == 201
    _listed, few = _reads(shop, resident, "/api/v1/reservations")
    for _ in range(3):  # 5 + 3 x 30 coins of the resident's 100; the 3 bottles of oil in stock
        made = _reserve(shop, ("SOAP", 1), ("OIL1", 1), resident=resident)
        assert made.status_code == 201, made.json
    listed, many = _reads(shop, resident, "/api/v1/reservations")
    assert sorted(len(r["lines"]) for r in listed) == [1, 2, 2, 2]
    assert many == few
