"""Page tests: the translations are compiled first (as ``./dev`` does), so the Chinese pages are
checked even when pytest runs alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "service" / "translations"


def compile_translations() -> None:
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, po_path.with_suffix(".mo"))  # atomic: parallel workers never read half a file


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    compile_translations()


# --- browser tests: Debian's Chromium driven by Playwright against a live server ------------------

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium per test session (nothing downloads a browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path, sqlite_template):
    """The app on a copy of the migrated SQLite file (browser tests run on SQLite only)."""
    import shutil

    from service import create_app

    path = tmp_path / "browser.db"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, "SECRET_KEY": "browser-test", "REDIS_URL": None}
    )
    yield app
    app.extensions["greencoin_db"][0].dispose()


@pytest.fixture
def live_server(live_app):
    """Serve the app on a free local port in a background thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def live_world(live_app):
    from tests.factories import World

    return World(live_app)


@pytest.fixture
def new_page(chromium, live_server, request):
    """Open a fresh browser context (own cookies) per person; screenshots go to tests/screenshots/."""
    contexts = []

    def open_page(viewport=None):
        # bypass_csp lets the tests inject axe-core; the pages themselves never need it.
        context = chromium.new_context(
            base_url=live_server, viewport=viewport or {"width": 412, "height": 915}, bypass_csp=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- devices, accessibility and effort -------------------------------------------------------------

TABLET_PORTRAIT = {"width": 800, "height": 1280}
TABLET_LANDSCAPE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DESK_PC = {"width": 1366, "height": 768}
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"


def axe_problems(page) -> list[str]:
    """Run axe-core (vendored from npm) on the page; the serious and critical violations, in words."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))"""
    )
    return result


def large_text(page) -> None:
    """The phone's large-text setting (200 %): every rem-sized text doubles."""
    page.add_style_tag(content="html { font-size: 200% !important; }")


class Effort:
    """Counts what a person does in a flow: taps (clicks), keys typed by hand, and scans (a scanner
    or the camera types a whole code and Enter by itself)."""

    def __init__(self, page):
        self.page, self.taps, self.keys, self.scans = page, 0, 0, 0

    def tap(self, locator) -> None:
        self.taps += 1
        locator.click()

    def type(self, text: str, *, enter: bool = False) -> None:
        self.keys += len(text) + (1 if enter else 0)
        self.page.keyboard.type(text)
        if enter:
            self.page.keyboard.press("Enter")

    def press(self, key: str) -> None:
        self.keys += 1
        self.page.keyboard.press(key)

    def scan(self, code: str) -> None:
        """What a USB/Bluetooth scanner does: types the code fast and presses Enter."""
        self.scans += 1
        self.page.keyboard.type(code, delay=2)
        self.page.keyboard.press("Enter")

    def fill(self, locator, text: str) -> None:
        """Tap a field and type into it."""
        self.taps += 1
        self.keys += len(text)
        locator.fill(text)

    def as_dict(self) -> dict:
        return {"taps": self.taps, "keys": self.keys, "scans": self.scans}
