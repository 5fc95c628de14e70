"""Swagger UI and ReDoc come from vendored files: with every request off this server refused (a
village office without internet, this CI), both pages render and list the API's operations."""

from __future__ import annotations

import pytest

from tests.web.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def screenshot(page, name: str) -> None:
    """The first screen only: the whole ReDoc page is tens of thousands of pixels tall."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), timeout=30_000)


def offline(page, base_url: str) -> list[str]:
    """Refuse every request that leaves the server under test; return the list of refused URLs."""
    refused: list[str] = []

    def only_local(route):
        if route.request.url.startswith(base_url) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    return refused


def test_swagger_ui_works_offline_and_lists_the_operations(new_page, live_server):
    page = new_page(viewport={"width": 1280, "height": 900})
    refused = offline(page, live_server)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    # Swagger UI renders the operations near the viewport only: collect them while scrolling down
    # (long paths are broken with zero-width spaces)
    seen: set[str] = set()
    for _ in range(80):
        seen |= {p.replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()}
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(150)
    paths = sorted(seen)
    assert any("/api/v1/redemptions" in p for p in paths), paths[:20]
    assert any("/api/v1/members/{member_id}/balance" in p for p in paths)
    assert len(paths) > 80
    assert refused == []
    screenshot(page, "api-docs-swagger-ui")


def test_redoc_works_offline_and_lists_the_operations(new_page, live_server):
    page = new_page(viewport={"width": 1280, "height": 900})
    refused = offline(page, live_server)
    page.goto("/api/v1/redoc")
    page.wait_for_selector("[data-section-id^='tag/']", timeout=30_000)
    page.get_by_text("Refund the whole basket", exact=False).first.wait_for(state="attached")
    assert page.locator("[data-section-id^='operation/']").count() > 80
    # The one outside request: ReDoc's "API docs by Redocly" footer tries its logo on the vendor's
    # site and hides the image when that fails (onError); nothing the page needs comes from there.
    assert set(refused) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    screenshot(page, "api-docs-redoc")
