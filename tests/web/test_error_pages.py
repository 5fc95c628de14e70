"""Every error a browser can meet is a page in the person's language, with a way back and a way home;
the JSON API keeps its JSON errors."""

from __future__ import annotations

from tests.web.pages import resident_browser, text_of


def test_an_unknown_address_is_a_page_in_the_persons_language_with_a_way_back(app, world):
    client = app.test_client()
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    html = text_of(response)
    assert "找不到页面" in html and 'data-testid="back"' in html and 'data-testid="home"' in html
    assert 'rel="icon"' in html and 'name="viewport"' in html
    client.get("/lang/en")
    html = text_of(client.get("/no-such-page", headers={"Accept": "text/html"}))
    assert "Page not found" in html and "找不到" not in html
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json["error"]["code"]


def test_a_crash_on_a_page_is_a_page_and_saves_nothing(app, world):
    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    member = world.member(world.community())
    browser = resident_browser(app, member)
    response = browser.get("/boom-for-test", headers={"Accept": "text/html"})
    assert response.status_code == 500
    html = text_of(response)
    assert "什么都没有保存" in html and 'data-testid="home"' in html
    assert member.name in html  # still signed in: the header shows who


def test_a_page_that_refuses_says_so_in_words(app, world):
    browser = resident_browser(app, world.member(world.community()))
    response = browser.get("/office")
    assert response.status_code == 403
    assert "没有权限" in text_of(response)


def test_the_favicon_is_served(client):
    response = client.get("/assets/favicon.svg")
    assert response.status_code == 200 and b"<svg" in response.data
