"""In Chromium: the pages work under the Content-Security-Policy (no inline script is needed)."""

from __future__ import annotations

import pytest

from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def test_the_community_switch_works_under_the_csp_and_nothing_is_blocked(new_page, live_world):
    first = live_world.community(name="东湖社区")
    second = live_world.community(name="西山社区")
    city_admin = live_world.admin()
    page = new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in_staff(page, city_admin)
    page.goto("/office")
    assert page.locator("#community-switch").count() == 1
    page.select_option("#community-switch", value=str(second.id))
    page.wait_for_url(f"**/office?community={second.id}")
    assert page.locator("#community-switch").input_value() == str(second.id)
    assert first.id != second.id
    assert violations == []
