"""The cashier counter on a tablet, driven as a cashier with a queue works: a scanner types each code
and presses Enter, the basket builds up, one confirm redeems, "next customer" starts again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, Effort, axe_problems, screenshot
from tests.web.pages import stocked_shop
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser

RICE_BARCODE = "6901234567892"


@pytest.fixture
def shop_world(live_world):
    community = live_world.community()
    shop, products = stocked_shop(
        live_world, community,
        [("RICE", "大米", 20, 10, RICE_BARCODE), ("OIL1", "食用油", 30, 5), ("SOAP", "肥皂", 5, 2)],
    )
    cashier = live_world.staff("cashier", supermarket=shop)
    return community, shop, cashier


def open_shift(page, effort=None):
    """The counter asks for a shift first: one tap opens it (nothing to count)."""
    button = page.get_by_test_id("open-shift")
    if effort is not None:
        effort.tap(button)
    else:
        button.click()
    page.get_by_test_id("shift-strip").wait_for()


def ready(page):
    """The counter's script is running (a scanner typing before that would type into nothing)."""
    page.locator("[data-counter][data-ready]").wait_for()
    expect(page.get_by_test_id("scan")).to_be_focused()


def serve(page, effort, card_code, scans):
    """One customer: scan the card, scan the goods, check out, confirm; back to the next customer."""
    ready(page)
    effort.scan(card_code)
    expect(page.get_by_test_id("masked-name")).not_to_be_empty()
    for code in scans:
        effort.scan(code)
    effort.tap(page.get_by_test_id("checkout"))
    effort.tap(page.get_by_test_id("redeem"))
    page.get_by_test_id("receipt").wait_for()
    total = int(page.get_by_test_id("receipt-total").inner_text())
    effort.tap(page.get_by_test_id("next-customer"))
    page.get_by_test_id("scan").wait_for()
    return total


def test_a_cashier_serves_three_customers_with_a_scanner_and_one_short_of_coins(new_page, live_world, shop_world):
    community, shop, cashier = shop_world
    residents = [live_world.member(community, name=name) for name in ("周建国", "李秀英", "王小明", "赵大海")]
    for member, coins in zip(residents, (100, 100, 100, 10), strict=True):
        live_world.credit(member, coins)

    page = new_page(viewport=TABLET_PORTRAIT)
    sign_in_staff(page, cashier)
    assert page.url.endswith("/counter")
    open_shift(page)
    effort = Effort(page)

    # Customer 1: two bags of rice by barcode (scanned twice) and a bottle of oil by SKU.
    ready(page)
    effort.scan(residents[0].card_code)
    expect(page.get_by_test_id("masked-name")).to_have_text("周*国")
    assert page.get_by_test_id("available-coins").inner_text() == "100"
    effort.scan(RICE_BARCODE)
    effort.scan(RICE_BARCODE)
    effort.scan("OIL1")
    assert page.get_by_test_id("line").count() == 2
    assert page.get_by_test_id("total").inner_text() == "70"
    assert page.get_by_test_id("bar-balance-after").inner_text() == "30"
    # Enter in a quantity box never redeems: it opens the confirm step.
    page.get_by_label("数量 大米").press("Enter")
    assert page.get_by_test_id("confirm").is_visible()
    screenshot(page, "counter-confirm-tablet")
    assert axe_problems(page) == []
    page.get_by_role("button", name="返回修改").click()
    assert live_world.balance(residents[0]) == 100
    screenshot(page, "counter-basket-tablet")
    effort.tap(page.get_by_test_id("checkout"))
    effort.tap(page.get_by_test_id("redeem"))
    assert page.get_by_test_id("receipt-total").inner_text() == "70"
    assert page.get_by_test_id("balance-after").inner_text() == "30"
    screenshot(page, "counter-receipt")
    assert axe_problems(page) == []
    effort.tap(page.get_by_test_id("next-customer"))
    first = effort.as_dict()

    # Customer 2: soap found by its pinyin initials (肥皂: fz) typed by hand.
    ready(page)
    effort.scan(residents[1].card_code)
    expect(page.get_by_test_id("masked-name")).not_to_be_empty()
    page.get_by_test_id("scan").focus()
    effort.type("fz", enter=True)
    assert page.get_by_test_id("line").inner_text().startswith("肥皂")
    effort.tap(page.get_by_test_id("checkout"))
    effort.tap(page.get_by_test_id("redeem"))
    assert page.get_by_test_id("receipt-total").inner_text() == "5"
    effort.tap(page.get_by_test_id("next-customer"))

    # Customer 3: rice and oil again, and the landscape tablet.
    page.set_viewport_size(TABLET_LANDSCAPE)
    assert serve(page, Effort(page), residents[2].card_code, [RICE_BARCODE, "OIL1"]) == 50

    # Customer 4 has 10 coins: the bar says what is missing before anything is sent; soap runs out.
    ready(page)
    effort.scan(residents[3].card_code)
    expect(page.get_by_test_id("masked-name")).not_to_be_empty()
    effort.scan("OIL1")
    assert "还差 20" in page.get_by_test_id("bar-problems").inner_text()
    assert page.get_by_test_id("checkout").is_disabled()
    assert page.get_by_test_id("bar-balance-after").inner_text() == "-20"
    page.get_by_role("button", name="删除 食用油").click()
    effort.scan("SOAP")
    page.get_by_role("button", name="再加一件 肥皂").click()
    assert "库存只有 1" in page.get_by_test_id("line-problem").inner_text()
    assert page.get_by_test_id("checkout").is_disabled()
    screenshot(page, "counter-problems-landscape")
    page.get_by_test_id("next-customer").click()
    assert page.get_by_test_id("line").count() == 0
    assert page.get_by_test_id("resident").get_by_test_id("masked-name").is_hidden()
    expect(page.get_by_test_id("scan")).to_be_focused()

    assert [live_world.balance(m) for m in residents] == [30, 95, 50, 10]
    assert live_world.invariants() == {}
    # The first customer (three goods, two kinds) took one scan per thing, two taps to check out and
    # confirm, one for the next customer, and no typing.
    assert first == {"taps": 3, "keys": 0, "scans": 4}


def test_refunds_find_any_basket_and_say_what_is_left(new_page, live_world, shop_world):
    community, shop, cashier = shop_world
    member = live_world.member(community, name="钱多多")
    live_world.credit(member, 100)
    page = new_page(viewport=TABLET_PORTRAIT)
    sign_in_staff(page, cashier)
    open_shift(page)
    serve(page, Effort(page), member.card_code, [RICE_BARCODE, RICE_BARCODE])
    page.get_by_role("navigation").get_by_role("link", name="退货").click()
    page.fill("#member", member.volunteer_number)
    page.get_by_role("button", name="查找").click()
    assert page.get_by_test_id("basket-row").count() == 1
    page.locator("[data-testid^=refund-]").first.click()
    page.locator("input[name^=line_]").fill("1")
    page.fill("#reason", "包装破损")
    page.get_by_test_id("do-refund").click()
    assert "退货后余额" in page.get_by_test_id("receipt").inner_text()
    assert page.get_by_test_id("balance-after").inner_text() == "80"
    screenshot(page, "counter-refund-receipt")
    page.get_by_role("navigation").get_by_role("link", name="退货").click()
    assert "部分退货" in page.get_by_test_id("basket-row").inner_text()
    number = page.get_by_test_id("basket-row").locator("td").first.inner_text()
    page.fill("#number", number)
    page.get_by_role("button", name="查找").click()
    assert page.get_by_test_id("basket-row").count() == 1
    assert live_world.balance(member) == 80


def test_receipts_print_on_58_and_80_mm_paper(new_page, live_world, shop_world):
    community, shop, cashier = shop_world
    member = live_world.member(community)
    live_world.credit(member, 100)
    page = new_page(viewport=TABLET_PORTRAIT)
    sign_in_staff(page, cashier)
    open_shift(page)
    serve(page, Effort(page), member.card_code, ["OIL1"])
    page.go_back()  # the receipt again
    for mm in ("80", "58"):
        page.goto(re.sub(r"\?.*$", "", page.url) + f"?paper={mm}")
        pdf = page.pdf(prefer_css_page_size=True)
        width_pt = float(re.search(rb"/MediaBox \[0 0 ([0-9.]+)", pdf).group(1))
        assert abs(width_pt - int(mm) / 25.4 * 72) < 2, (mm, width_pt)


def test_a_shift_opens_serves_two_baskets_and_closes_with_the_counts(new_page, live_world, shop_world):
    community, shop, cashier = shop_world
    residents = [live_world.member(community, name=name) for name in ("周建国", "李秀英")]
    for member in residents:
        live_world.credit(member, 100)
    earlier = live_world.member(community, name="早班客")
    live_world.credit(earlier, 100)
    page = new_page(viewport=TABLET_PORTRAIT)
    sign_in_staff(page, cashier)
    expect(page.get_by_test_id("open-shift")).to_be_visible()
    screenshot(page, "counter-shift-open-tablet")
    assert axe_problems(page) == []
    effort = Effort(page)
    open_shift(page, effort)
    assert "开班" in page.get_by_test_id("shift-strip").inner_text()
    totals = [serve(page, effort, residents[0].card_code, [RICE_BARCODE, "OIL1"]),
              serve(page, effort, residents[1].card_code, ["SOAP"])]
    assert totals == [50, 5]
    served = effort.as_dict()

    effort.tap(page.get_by_test_id("close-shift-link"))
    expect(page.get_by_test_id("declared-baskets")).to_be_focused()
    screenshot(page, "counter-shift-close-tablet")
    assert axe_problems(page) == []
    effort.type("2")
    effort.tap(page.get_by_test_id("close-shift"))
    assert page.get_by_test_id("basket-count").inner_text() == "2"
    assert page.get_by_test_id("coins-taken").inner_text() == "55"
    assert page.get_by_test_id("basket-difference").inner_text() == "0"
    period = page.get_by_test_id("close-out-period").inner_text()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d – \d\d:\d\d", period), period
    screenshot(page, "counter-shift-close-out-tablet")
    assert axe_problems(page) == []
    closing = {k: v - served[k] for k, v in effort.as_dict().items()}
    # Opening is one tap; two customers take a scan per card and per product and three taps each;
    # closing is one tap to the form, the count typed (one key) and one tap to close.
    assert served == {"taps": 1 + 3 + 3, "keys": 0, "scans": 3 + 2}
    assert closing == {"taps": 2, "keys": 1, "scans": 0}

    effort.tap(page.get_by_test_id("back-to-counter"))
    expect(page.get_by_test_id("open-shift")).to_be_visible()  # the next shift starts afresh
    assert [live_world.balance(m) for m in residents] == [50, 95]
    assert live_world.invariants() == {}


def test_a_named_helper_redeems_for_an_elder_and_the_bar_says_so(new_page, live_world, shop_world):
    community, shop, cashier = shop_world
    elder = live_world.member(community, name="李秀兰")
    helper = live_world.member(community, name="李明")
    live_world.credit(elder, 200)
    live_world.credit(helper, 15)
    granted = live_world.resident(elder).post("/api/v1/helper-grants", json={
        "elder_member_id": elder.id, "helper": helper.volunteer_number, "relation": "child", "monthly_coin_cap": 60})
    assert granted.status_code == 201, granted.json
    page = new_page(viewport=TABLET_PORTRAIT)
    sign_in_staff(page, cashier)
    open_shift(page)
    ready(page)
    effort = Effort(page)
    effort.scan(helper.card_code)
    expect(page.get_by_test_id("masked-name")).to_have_text("李*")
    effort.tap(page.get_by_test_id("act-for"))
    banner = page.get_by_test_id("acting-for")
    expect(banner).to_have_text("代办：为 李*兰 兑换 · 代办人 李*")
    expect(banner).to_be_in_viewport()
    assert page.get_by_test_id("available-coins").inner_text() == "200"
    effort.scan("OIL1")
    effort.scan("OIL1")  # 60 of the 60 left this month: fits
    assert page.get_by_test_id("bar-balance-after").inner_text() == "140"
    effort.scan("SOAP")  # 65: over the helper's monthly limit, shown before anything is sent
    assert "超出代办人本月额度" in page.get_by_test_id("bar-problems").inner_text()
    assert page.get_by_test_id("checkout").is_disabled()
    screenshot(page, "counter-acting-for-over-cap-tablet")
    page.get_by_role("button", name="删除 肥皂").click()
    expect(page.get_by_test_id("bar-problems")).to_be_empty()
    screenshot(page, "counter-acting-for-tablet")
    assert axe_problems(page) == []
    effort.tap(page.get_by_test_id("checkout"))
    assert "李*兰（由 李* 代办）" in page.get_by_test_id("confirm").inner_text()
    effort.tap(page.get_by_test_id("redeem"))
    assert page.get_by_test_id("receipt-helper").inner_text() == "由 李* 代办"
    assert page.get_by_test_id("balance-after").inner_text() == "140"
    screenshot(page, "counter-acting-for-receipt")
    assert live_world.balance(elder) == 140 and live_world.balance(helper) == 15
    assert effort.as_dict() == {"taps": 3, "keys": 0, "scans": 4}

    # or the elder's card first, then "a helper is redeeming" and the helper's card; a stranger's card is
    # not taken as her helper
    stranger = live_world.member(community, name="王路人")
    effort.tap(page.get_by_test_id("next-customer"))
    ready(page)
    effort.scan(elder.card_code)
    expect(page.get_by_test_id("masked-name")).to_have_text("李*兰")
    page.get_by_test_id("helper-for").click()
    effort.scan(stranger.card_code)
    expect(page.get_by_test_id("scan-message")).to_contain_text("不是 李*兰 指定的代办人")
    expect(page.get_by_test_id("masked-name")).to_have_text("李*兰")
    page.get_by_test_id("helper-for").click()
    effort.scan(helper.card_code)
    expect(banner).to_have_text("代办：为 李*兰 兑换 · 代办人 李*")
    expect(page.get_by_test_id("masked-name")).to_have_text("李*兰（由 李* 代办）")
    expect(page.get_by_test_id("helper-for")).to_be_hidden()
    screenshot(page, "counter-elder-card-then-helper-tablet")

    # the elder withdraws the helper: the counter no longer offers to act for her
    live_world.resident(elder).post(f"/api/v1/helper-grants/{granted.json['id']}/revoke")
    effort.tap(page.get_by_test_id("next-customer"))
    ready(page)
    effort.scan(helper.card_code)
    expect(page.get_by_test_id("masked-name")).to_have_text("李*")
    assert page.get_by_test_id("act-for").count() == 0
    assert live_world.invariants() == {}
