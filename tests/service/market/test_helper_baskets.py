"""A named helper (代办) redeems at the counter for an elder: the elder's coins, both people recorded,
the monthly coin cap enforced, a withdrawn helper refused, replays answered once; on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import ledger
from service.proxies.models import HelperAction
from tests.service.market.conftest import in_db
from tests.web.pages import resident_browser, text_of


@pytest.fixture
def elder(shop):
    """李奶奶 (60 coins) has named 李明 her helper with a monthly cap of 60 coins."""
    world = shop.world
    elder = world.member(shop.community, name="李奶奶")
    helper = world.member(shop.community, name="李明")
    world.credit(elder, 100)
    world.credit(helper, 7)
    granted = world.resident(elder).post("/api/v1/helper-grants", json={
        "elder_member_id": elder.id, "helper": helper.volunteer_number, "relation": "child", "monthly_coin_cap": 60})
    assert granted.status_code == 201, granted.json
    return {"elder": elder, "helper": helper, "grant_id": granted.json["id"]}


def _helped(shop, elder, *lines, key=None, **extra):
    return shop.basket(*lines, member=elder["elder"], key=key,
                       **({"helper_card_code": elder["helper"].card_code} | extra))


def _actions(shop):
    return in_db(shop.world, lambda s: [(a.grant_id, a.kind, a.coins, a.transaction_id)
                                        for a in s.scalars(select(HelperAction).order_by(HelperAction.id))])


def test_a_helper_redeems_the_elders_coins_and_both_people_are_recorded(app, shop, elder):
    made = _helped(shop, elder, ("RICE5", 1))
    assert made.status_code == 201, made.json
    assert made.json["member_id"] == elder["elder"].id and made.json["acted_by_member_id"] == elder["helper"].id
    assert made.json["paid_from"] == "member" and made.json["balance_after"] == 60
    world = shop.world
    assert world.balance(elder["elder"]) == 60 and world.balance(elder["helper"]) == 7
    assert _actions(shop) == [(elder["grant_id"], "redemption", 40, made.json["transaction_id"])]
    details = in_db(world, lambda s: s.get(ledger.Transaction, made.json["transaction_id"]).details)
    assert details["acted_by_member_id"] == elder["helper"].id and details["member_id"] == elder["elder"].id
    # the helper sees the cap left; the elder's statement says who acted
    assert world.resident(elder["helper"]).get("/api/v1/acting-for").json[0]["coins_left_this_month"] == 20
    page = text_of(resident_browser(app, elder["elder"]).get("/me/statement"))
    assert "由李*代办" in page, page[:2000]
    assert world.invariants() == {} and shop.market_sound() == []


def test_the_same_key_answers_the_same_basket_once(shop, elder):
    first = _helped(shop, elder, ("SOAP", 2), key="helped-1")
    again = _helped(shop, elder, ("SOAP", 2), key="helped-1")
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert shop.world.balance(elder["elder"]) == 90 and len(_actions(shop)) == 1


def test_the_monthly_cap_is_enforced_and_a_refused_basket_leaves_nothing(shop, elder):
    assert _helped(shop, elder, ("RICE5", 1)).status_code == 201  # 40 of 60
    before = shop.snapshot()
    over = _helped(shop, elder, ("OIL1", 1))  # 25 more would make 65
    assert over.status_code == 409, over.json
    error = over.json["error"]
    assert error["code"] == "helper_cap_exceeded"
    assert (error["details"]["cap"], error["details"]["spent"], error["details"]["left"]) == (60, 40, 20)
    assert shop.snapshot() == before and len(_actions(shop)) == 1
    assert _helped(shop, elder, ("SOAP", 4)).status_code == 201  # 20 fits exactly
    # the elder's own basket at the counter is not a helper's and does not count against the cap
    assert shop.basket(("OIL1", 1), member=elder["elder"]).status_code == 201
    assert [a[2] for a in _actions(shop)] == [40, 20]


def test_a_withdrawn_helper_or_a_stranger_is_refused(shop, elder):
    stranger = shop.world.member(shop.community, name="王路人")
    refused = shop.basket(("SOAP", 1), member=elder["elder"], helper_card_code=stranger.card_code)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_a_helper"
    revoked = shop.world.resident(elder["elder"]).post(f"/api/v1/helper-grants/{elder['grant_id']}/revoke")
    assert revoked.status_code == 200
    before = shop.snapshot()
    refused = _helped(shop, elder, ("SOAP", 1))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "helper_revoked"
    assert shop.snapshot() == before and _actions(shop) == []


def test_bad_helper_baskets_get_a_clear_4xx(shop, elder):
    cases = [
        ({"paid_from": "household"}, 422, "helper_member_wallet_only"),
        ({"helper_card_code": "ZZZZZZZZZZZZZZZZ"}, 404, "helper_not_found"),
        ({"helper_card_code": None, "helper_member_id": elder["elder"].id}, 422, "helper_is_elder"),
        ({"helper_member_id": elder["helper"].id}, 422, None),  # both a card and an id
    ]
    for extra, status, code in cases:
        body = {k: v for k, v in ({"helper_card_code": elder["helper"].card_code} | extra).items() if v is not None}
        response = shop.basket(("SOAP", 1), member=elder["elder"], **body)
        assert response.status_code == status, (extra, response.json)
        if code:
            assert response.json["error"]["code"] == code
    assert _actions(shop) == []


def test_the_helpers_month_is_the_local_calendar_month(shop, elder):
    """01:00 on 1 December in Shanghai (17:00 UTC on 30 November) is December; 23:00 on 30 November is not."""
    from service.proxies.models import HelperGrant
    from service.proxies.operations import coins_spent_this_month

    def work(s):
        grant = s.get(HelperGrant, elder["grant_id"])
        for hour, coins in ((15, 10), (17, 25)):
            s.add(HelperAction(grant_id=grant.id, kind="redemption", transaction_id=None, coins=coins,
                               created_at=dt.datetime(2026, 11, 30, hour, 0, tzinfo=dt.UTC)))
        s.flush()
        december = coins_spent_this_month(s, grant, dt.datetime(2026, 12, 15, tzinfo=dt.UTC))
        s.rollback()
        return december

    assert in_db(shop.world, work) == 25


def test_the_communitys_helper_limit_bounds_every_grant_at_once(shop, elder):
    """A grant may not be set above the community's limit, and lowering the limit applies at once."""
    world = shop.world
    other = world.member(shop.community, name="王爷爷")
    above = world.resident(elder["elder"]).post("/api/v1/helper-grants", json={
        "elder_member_id": elder["elder"].id, "helper": other.volunteer_number, "relation": "grid_worker",
        "monthly_coin_cap": 501})
    assert above.status_code == 422 and above.json["error"]["code"] == "helper_cap_above_community", above.json
    assert shop.admin.patch(f"/api/v1/communities/{shop.community.id}",
                            {"helper_monthly_coin_cap": 30}).status_code == 200
    assert world.resident(elder["helper"]).get("/api/v1/acting-for").json[0]["coins_left_this_month"] == 30
    over = _helped(shop, elder, ("RICE5", 1))  # 40 is within the grant's 60 but not the community's 30
    assert over.status_code == 409 and over.json["error"]["details"]["cap"] == 30, over.json
    assert _helped(shop, elder, ("SOAP", 6)).status_code == 201  # 30 fits exactly
    bad = shop.admin.patch(f"/api/v1/communities/{shop.community.id}", {"helper_monthly_coin_cap": -1})
    assert bad.status_code == 422
