"""The counter pages with a shift and with a named helper (代办), through Flask's test client on both
databases: no basket without an open shift, the close-out of exactly the shift with the counts, a
helper's basket charged to the elder within the monthly cap."""

from __future__ import annotations

import pytest

from tests.web.pages import hidden_fields, post_form, staff_browser, stocked_shop, text_of


@pytest.fixture
def counter(app, world):
    community = world.community()
    shop, products = stocked_shop(world, community, [("RICE", "大米", 20, 10), ("SOAP", "肥皂", 5, 20)])
    cashier = world.staff("cashier", supermarket=shop)
    return {"world": world, "community": community, "shop": shop, "products": {p.sku: p.id for p in products},
            "cashier": cashier, "browser": staff_browser(app, cashier)}


def _basket(counter, card_code, lines, **extra):
    data = {"card_code": card_code, **{f"qty_{counter['products'][sku]}": str(n) for sku, n in lines}, **extra}
    return post_form(counter["browser"], "/counter", data)


def test_the_counter_asks_for_a_shift_and_the_close_out_covers_it(counter):
    world, browser = counter["world"], counter["browser"]
    member = world.member(counter["community"], name="周建国")
    world.credit(member, 100)
    page = text_of(browser.get("/counter"))
    assert 'data-testid="open-shift"' in page and 'data-testid="basket"' not in page
    refused = _basket(counter, member.card_code, [("SOAP", 1)])
    assert refused.status_code == 409 and "请先开班" in text_of(refused)
    assert world.balance(member) == 100

    opened = post_form(browser, "/counter/shift/open", {}, page="/counter")
    assert opened.status_code == 302
    page = text_of(browser.get("/counter"))
    assert 'data-testid="shift-strip"' in page and 'data-testid="basket"' in page
    assert post_form(browser, "/counter/shift/open", {}, page="/counter/close-out").status_code == 302  # double tap
    for lines in ([("RICE", 1)], [("SOAP", 2)]):
        made = _basket(counter, member.card_code, lines)
        assert made.status_code == 302 and "/counter/receipts/" in made.headers["Location"]
    so_far = text_of(browser.get("/counter/close-out"))
    assert "现在（尚未交班）" in so_far and 'data-testid="go-close-shift"' in so_far

    bad = post_form(browser, "/counter/shift/close", {"declared_baskets": "two", "declared_refunds": "0"})
    assert bad.status_code == 422 and "整数" in text_of(bad)
    closed = post_form(browser, "/counter/shift/close", {"declared_baskets": "3", "declared_refunds": "0"})
    assert closed.status_code == 302
    sheet = text_of(browser.get(closed.headers["Location"]))
    assert 'data-testid="basket-count">2<' in sheet and 'data-testid="basket-difference">+1<' in sheet
    csv = browser.get(closed.headers["Location"].replace("close-out", "close-out.csv"))
    assert csv.status_code == 200 and "declared_baskets,,,,,,3" in text_of(csv)
    assert 'data-testid="open-shift"' in text_of(browser.get("/counter"))  # the next shift starts afresh
    assert world.balance(member) == 100 - 20 - 10


def test_a_helper_redeems_for_the_elder_at_the_counter_within_the_cap(counter):
    world, browser = counter["world"], counter["browser"]
    elder = world.member(counter["community"], name="李奶奶")
    helper = world.member(counter["community"], name="李明")
    world.credit(elder, 100)
    granted = world.resident(elder).post("/api/v1/helper-grants", json={
        "elder_member_id": elder.id, "helper": helper.volunteer_number, "relation": "child", "monthly_coin_cap": 30})
    assert granted.status_code == 201, granted.json
    post_form(browser, "/counter/shift/open", {}, page="/counter")
    looked = browser.post("/counter/resident", data={**hidden_fields(text_of(browser.get("/counter"))),
                                                     "card_code": helper.card_code})
    assert looked.json["resident"]["acting_for"] == [{
        "elder_member_id": elder.id, "elder_name": "李*奶", "relation": "child", "coins": 100,
        "coins_left_this_month": 30}]

    made = _basket(counter, helper.card_code, [("RICE", 1)], acting_for=str(elder.id))
    assert made.status_code == 302, text_of(made)
    receipt = text_of(browser.get(made.headers["Location"]))
    assert "李*奶" in receipt and "由 李* 代办" in receipt
    assert world.balance(elder) == 80 and world.balance(helper) == 0

    over = _basket(counter, helper.card_code, [("SOAP", 3)], acting_for=str(elder.id))  # 15 > 10 left
    page = text_of(over)
    assert over.status_code == 409 and "超出代办人本月的代办额度" in page and "还剩 10 绿币" in page
    assert world.balance(elder) == 80
    world.resident(elder).post(f"/api/v1/helper-grants/{granted.json['id']}/revoke")
    revoked = _basket(counter, helper.card_code, [("SOAP", 1)], acting_for=str(elder.id))
    assert revoked.status_code == 403 and "授权已撤销" in text_of(revoked)
    assert world.balance(elder) == 80
