"""Browser fixtures: Debian's Chromium driven by Playwright, pages that may only reach the app.

Never a downloaded browser: ``/usr/bin/chromium`` (or ``UNIONMAP_CHROMIUM``). Every request to
a host other than the server under test is aborted and recorded in ``BrowserPage.blocked``;
console errors (a Content-Security-Policy violation among them) and uncaught exceptions land in
``BrowserPage.console_errors``, dialogs in ``BrowserPage.dialogs``. Tests assert them empty.
Screenshots go to ``UNIONMAP_SCREENSHOTS`` (default ``<repo>/screenshots``, git-ignored).
``axe_violations`` runs axe-core (from the npm registry, ``maps/assets``) on a page as it stands.
The two sizes are the issue's: a desk at 1366×768, a phone at 360×640.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import free_port

if TYPE_CHECKING:  # Playwright is a test extra: imported where a browser starts, not to collect
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, Playwright, Response, Route


REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("UNIONMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
AXE = REPO / "maps" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
# What axe found, reduced to what a failing assertion should say: the rule, how bad, where.
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"""
# Chromium logs a blocked inline script itself; an explicit line per violation also names what was
# blocked (an event handler, an inline script, an image host) and survives changes in that logging.
# Init scripts run before the page's own and are not subject to its policy.
REPORT_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`
                + ` (${event.sourceFile}:${event.lineNumber})`);
});"""


@dataclass
class BrowserPage:
    """A page of a fresh browser context, with what it tried to fetch elsewhere and its errors."""

    page: Page
    base_url: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Response:
        """Open a path of the server and wait until its own scripts have run; its response."""
        response = self.page.goto(f"{self.base_url}{path}", wait_until="load")
        assert response is not None, path
        return response


PageFactory = Callable[..., BrowserPage]


def axe_violations(page: Page, *, rules: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's serious and critical violations of ``page`` as it is now, and any of ``rules``.

    axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy does
    not govern (a ``<script>`` tag added to the page would be blocked as it should be), and only
    once per document.
    """
    if not AXE.is_file():
        pytest.fail(f"no axe-core at {AXE}: run scripts/setup.sh (npm ci in maps/assets)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical") or v["id"] in rules]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium for the whole session; the run fails (not skips) without it."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set UNIONMAP_CHROMIUM")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots are written (created on demand)."""
    folder = Path(os.environ.get("UNIONMAP_SCREENSHOTS", REPO / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def page_factory(browser: Browser, base_url: str, contexts: list[BrowserContext]) -> PageFactory:
    """Pages of fresh contexts that may only reach ``base_url``: ``factory(phone=True, geolocation=(lon, lat))``.

    ``geolocation`` given: the position is granted; ``None``: the permission is not granted, so
    the page's geolocation request fails as it does when a user refuses. Each new context is
    appended to ``contexts``, for the caller to close. Dialogs (``alert``: what an injected
    script would open) are dismissed and recorded; a Content-Security-Policy violation is
    reported as a console error, so the tests that assert no console error also assert no
    violation.
    """
    origin = urlsplit(base_url)

    def factory(*, phone: bool = False, geolocation: tuple[float, float] | None = None) -> BrowserPage:
        options: dict = dict(PHONE if phone else DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
        if geolocation is not None:
            options |= {"geolocation": {"longitude": geolocation[0], "latitude": geolocation[1], "accuracy": 20},
                        "permissions": ["geolocation"]}
        context = browser.new_context(**options)
        contexts.append(context)
        context.add_init_script(REPORT_VIOLATIONS)
        tab = context.new_page()
        record = BrowserPage(page=tab, base_url=base_url)

        def only_base_url(route: Route) -> None:
            url = urlsplit(route.request.url)
            if (url.scheme, url.netloc) == (origin.scheme, origin.netloc):
                route.continue_()
            else:
                record.blocked.append(route.request.url)
                route.abort("blockedbyclient")

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                record.console_errors.append(f"{message.text} ({message.location.get('url')})")

        def dialog(opened: Dialog) -> None:
            record.dialogs.append(f"{opened.type}: {opened.message}")
            opened.dismiss()

        context.route("**/*", only_base_url)
        tab.on("console", console)
        tab.on("dialog", dialog)
        tab.on("pageerror", lambda error: record.console_errors.append(f"uncaught: {error}"))
        return record

    return factory


def pages_on(browser: Browser, base_url: str) -> Iterator[PageFactory]:
    """A page factory on ``base_url`` (``page_factory``) whose contexts close when it is done: the
    body of a page fixture, for the tests that serve an app of their own (``serve_in_thread``)."""
    contexts: list[BrowserContext] = []
    yield page_factory(browser, base_url, contexts)
    for context in contexts:
        context.close()


@contextmanager
def serve_in_thread(app: Any, name: str) -> Iterator[str]:
    """``app`` served by uvicorn in a thread of this process on a free port; its base URL.

    For an app with settings of its own (another region, a basemap file), beside the session's
    ``live_server``.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[PageFactory]:
    """Factory of pages on the live server (see ``page_factory``)."""
    yield from pages_on(browser, live_server)


@pytest.fixture(scope="session")
def station_id(live_server: str) -> int:
    """The id of a (demo) station of the live server, for its station page."""
    import httpx  # a test extra

    answer = httpx.get(f"{live_server}/api/v1/stations", params={"limit": 1}, timeout=30)
    return int(answer.json()["features"][0]["id"])


@dataclass
class Editor:
    """An editor key committed to the live server's database, and how to sign a page in with it."""

    key: str
    name: str

    def sign_in(self, tab: BrowserPage) -> None:
        """Sign ``tab`` in through the sign-in form, as a planner does; it ends on ``/edit``."""
        tab.page.goto(f"{tab.base_url}/edit/sign-in")
        tab.page.fill("#key", self.key)
        tab.page.click("#sign-in-form button[type=submit]")
        tab.page.wait_for_url(f"{tab.base_url}/edit**")


@pytest.fixture
def registry_rows(test_settings: Any) -> Iterator[Callable[[str], None]]:
    """Undo a browser test's rows in the live server's database when it ends, so that other
    tests see the registry as loaded: stations (and their reports) made after the test began
    are deleted with their history, and so are the editor keys and sessions it made. Yields
    ``sql(statement)``, a committed statement on that database (a test's own set-up)."""
    from sqlalchemy import text

    from geo.store import db

    engine = db.make_engine(test_settings)
    with engine.begin() as connection:
        before = connection.execute(text(
            "SELECT coalesce(max(id), 0) AS station, (SELECT coalesce(max(id), 0) FROM api_key) AS key, "
            "(SELECT coalesce(max(id), 0) FROM station_history) AS history FROM station")).one()

    def sql(statement: str) -> None:
        with engine.begin() as connection:
            connection.execute(text(statement))

    try:
        yield sql
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM station WHERE id > :id"), {"id": before.station})
            connection.execute(text("DELETE FROM station_history WHERE id > :id"), {"id": before.history})
            connection.execute(text("DELETE FROM api_key WHERE id > :id"), {"id": before.key})
        engine.dispose()


@pytest.fixture
def editor(registry_rows: Callable[[str], None], test_settings: Any) -> Editor:
    """A new editor key on the live server's database (removed with the test's other rows)."""
    from geo.services.transaction import session_scope
    from geo.store.keys import create_key

    name = f"浏览器测试规划员{time.monotonic_ns() % 100000}"
    with session_scope(test_settings) as session:
        key = create_key(session, name=name, role="editor")
    return Editor(key, name)
