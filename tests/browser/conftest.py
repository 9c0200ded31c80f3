"""Browser fixtures: Debian's Chromium driven by Playwright, pages that may only reach the app.

Never a downloaded browser: ``/usr/bin/chromium`` (or ``UNIONMAP_CHROMIUM``). Every request to
a host other than the live server is aborted and recorded in ``BrowserPage.blocked``; console
errors and uncaught exceptions land in ``BrowserPage.console_errors``. Tests assert both empty.
Screenshots go to ``UNIONMAP_SCREENSHOTS`` (default ``<repo>/screenshots``, git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Route, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("UNIONMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@dataclass
class BrowserPage:
    """A page of a fresh browser context, with what it tried to fetch elsewhere and its errors."""

    page: Page
    base_url: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        """Open a path of the live server and wait until its own scripts have run."""
        self.page.goto(f"{self.base_url}{path}", wait_until="load")


PageFactory = Callable[..., BrowserPage]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
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


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[PageFactory]:
    """Factory of pages on the live server: ``page(phone=True, geolocation=(lon, lat))``.

    ``geolocation`` given: the position is granted; ``None``: the permission is not granted, so
    the page's geolocation request fails as it does when a user refuses.
    """
    contexts: list[BrowserContext] = []
    origin = urlsplit(live_server)

    def factory(*, phone: bool = False, geolocation: tuple[float, float] | None = None) -> BrowserPage:
        options: dict = dict(PHONE if phone else DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
        if geolocation is not None:
            options |= {"geolocation": {"longitude": geolocation[0], "latitude": geolocation[1], "accuracy": 20},
                        "permissions": ["geolocation"]}
        context = browser.new_context(**options)
        contexts.append(context)
        tab = context.new_page()
        record = BrowserPage(page=tab, base_url=live_server)

        def only_live_server(route: Route) -> None:
            url = urlsplit(route.request.url)
            if (url.scheme, url.netloc) == (origin.scheme, origin.netloc):
                route.continue_()
            else:
                record.blocked.append(route.request.url)
                route.abort("blockedbyclient")

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                record.console_errors.append(f"{message.text} ({message.location.get('url')})")

        context.route("**/*", only_live_server)
        tab.on("console", console)
        tab.on("pageerror", lambda error: record.console_errors.append(f"uncaught: {error}"))
        return record

    yield factory
    for context in contexts:
        context.close()
