"""A resident downloads their provable statement on a phone and checks it in the browser, offline."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

import ledger
from ledger.merkle import build_blocks
from service.extensions import db
from tests.web.conftest import screenshot
from tests.web.test_browser import sign_in_resident

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_resident_downloads_the_statement_and_the_browser_verifies_it(new_page, live_world, live_app, tmp_path):
    member = live_world.member(live_world.community(), name="陈阿婆")
    live_world.credit(member, 50)
    live_world.credit(member, 8)
    with live_app.app_context():
        db.run(lambda s: (ledger.seal(s), build_blocks(s)))

    page = new_page(PHONE)
    sign_in_resident(page, member)
    page.goto("/me/proof")
    head = page.get_by_test_id("head").inner_text().strip()
    with page.expect_download() as download:
        page.get_by_test_id("download-proof").click()
    statement = tmp_path / "statement.json"
    download.value.save_as(statement)
    screenshot(page, "resident-proof-phone")

    checker = new_page(PHONE)
    checker.goto("/verify-statement")
    assert checker.get_by_test_id("published-head").inner_text().strip() == head
    checker.set_input_files("#f-statement", str(statement))
    checker.fill("#f-head", head)
    checker.get_by_test_id("verify").click()
    assert "2" in checker.get_by_test_id("verify-ok").inner_text()
    screenshot(checker, "verify-statement-ok")

    tampered = json.loads(statement.read_text(encoding="utf-8"))
    tampered["lines"][0]["amount"] = 500
    statement.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    checker.set_input_files("#f-statement", str(statement))
    checker.get_by_test_id("verify").click()
    # WebCrypto answers asynchronously: wait for the verdict rather than look once
    expect(checker.get_by_test_id("verify-failed")).to_be_visible(timeout=15_000)
    assert "amount" in checker.locator("#verify-result").inner_text() or "金额" in checker.locator("#verify-result").inner_text()
    screenshot(checker, "verify-statement-failed")
