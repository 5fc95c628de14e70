"""The office starts a reconciliation from its page: the page answers at once and follows the run's
progress, with job names and statuses in the reader's language."""

from __future__ import annotations

import threading
import time

from service.market import checks as market_checks
from tests.web.pages import post_form, staff_browser, text_of


def test_the_reconciliation_page_starts_a_check_and_follows_its_progress_in_chinese(app, world, monkeypatch):
    reached, release = threading.Event(), threading.Event()
    original = market_checks.RECONCILIATION_CHECKS["stock"]

    def stock(session, **scope):
        reached.set()
        release.wait(60)
        return original(session, **scope)

    monkeypatch.setitem(market_checks.RECONCILIATION_CHECKS, "stock", stock)
    world.member(world.community())
    browser = staff_browser(app, world.admin())
    try:
        response = post_form(browser, "/office/reconciliation", {"mode": "full"})
        assert response.status_code == 302 and "run=" in response.headers["Location"]
        assert reached.wait(30)
        html = text_of(browser.get(response.headers["Location"]))
        assert 'data-status="running"' in html, html[-3000:]
        assert 'hx-trigger="every 1s"' in html
        assert "对账（全部账目）" in html and "进行中" in html and "正在检查：库存" in html
        # The page without the run's number still follows the unfinished run.
        assert 'data-testid="run-progress"' in text_of(browser.get("/office/reconciliation"))
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        html = text_of(browser.get(response.headers["Location"]))
        if 'data-status="succeeded"' in html:
            break
        time.sleep(0.05)
    assert 'data-status="succeeded"' in html and "hx-trigger" not in html
    assert "已完成" in html and "账目正常" in html
    browser.set_cookie("lang", "en")
    english = text_of(browser.get(response.headers["Location"]))
    assert "Reconciliation (whole book)" in english and "done" in english


def test_a_community_administrator_cannot_start_a_check_of_the_whole_book(app, world):
    browser = staff_browser(app, world.admin(world.community()))
    html = text_of(browser.get("/office/reconciliation"))
    assert "立即核对全部账目" not in html
    assert post_form(browser, "/office/reconciliation", {"mode": "full"}).status_code == 403
