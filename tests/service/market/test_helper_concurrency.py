"""Real threads against PostgreSQL: a helper's (代办) baskets for one elder racing for the last of the
monthly coin cap. The grant's row lock queues them, so the cap is never passed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.proxies.models import HelperAction
from tests.service.market.test_concurrency import THREADS, _race, _sound, pg_app, pg_shop  # noqa: F401

pytestmark = pytest.mark.postgres


def test_racing_helper_baskets_never_pass_the_monthly_cap(pg_shop):  # noqa: F811
    shop, world = pg_shop, pg_shop.world
    shop.add_product("TEA", 30, 100, name="茶叶")
    elder = world.member(shop.community, name="李奶奶")
    helper = world.member(shop.community, name="李明")
    world.credit(elder, 1000)
    granted = world.resident(elder).post("/api/v1/helper-grants", json={
        "elder_member_id": elder.id, "helper": helper.volunteer_number, "relation": "child", "monthly_coin_cap": 100})
    assert granted.status_code == 201, granted.json
    body = {"supermarket_id": shop.supermarket.id, "member_id": elder.id, "helper_card_code": helper.card_code,
            "lines": [{"sku": "TEA", "quantity": 1}]}
    results = _race(world.app, shop.cashier, [("/api/v1/redemptions", body, f"tea-{i}") for i in range(THREADS)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * (THREADS - 3), results
    assert {answer["error"]["code"] for status, answer in results if status == 409} == {"helper_cap_exceeded"}
    spent = world._run(lambda s: s.scalar(select(func.sum(HelperAction.coins))))
    assert spent == 90 and world.balance(elder) == 910 and shop.stock("TEA") == 97
    _sound(shop)
