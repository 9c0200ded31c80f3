"""The opening-hours widget in Chromium: intervals, closed days, 24 h, the live preview, the
hidden input's JSON; keyboard, 360 px, axe-clean.

The widget is a partial for the station form of another slice, so this test renders it inside the
editor's shell in a route of its own app (create_app plus one test-only route, never the product's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse

from api.app import create_app
from api.editor.pages import EditorDep, environment
from tests.browser.conftest import BrowserPage, Editor, PageFactory, axe_violations, pages_on, serve_in_thread

pytestmark = [pytest.mark.db, pytest.mark.browser]

PAGE = environment.from_string("""{% extends "base.html" %}{% block main %}
<form id="station-form" class="edit-form">{% include "hours_editor.html" ignore missing %}
<button type="submit">保存</button></form>{% endblock %}""")
STORED = {"always_open": False, "weekly": {"mon": [{"start": "08:00", "end": "12:00"}]},
          "note": "<img src=x onerror=alert(1)>"}


@pytest.fixture(scope="module")
def widget_server(test_settings: Any) -> Iterator[str]:
    """The app with one extra route: the widget in the shell, for the stored document of ``?doc=``."""
    settings = test_settings.model_copy(update={"trusted_hosts": ["127.0.0.1"], "solver_warm_at_start": False})
    app = create_app(settings)

    @app.get("/test/hours", include_in_schema=False)
    def hours_page(request: Request, editor: EditorDep, doc: str = "") -> HTMLResponse:
        html = PAGE.render(title="开放时间测试", page_kind="test", editor=editor, csrf=editor.csrf_token,
                           actor=editor.caller.name, request_path=request.url.path,
                           hours=json.loads(doc) if doc else None)
        return HTMLResponse(html)

    with serve_in_thread(app, "hours-widget") as base_url:
        yield base_url


@pytest.fixture
def widget_page(browser: Any, widget_server: str) -> Iterator[PageFactory]:
    yield from pages_on(browser, widget_server)


def hidden_value(tab: BrowserPage) -> Any:
    return json.loads(tab.page.input_value("input[type=hidden][name=opening_hours]"))


def wait_for_text(tab: BrowserPage, text: str) -> None:
    tab.page.wait_for_function("t => document.getElementById('hours-text').textContent === t", arg=text)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_set_intervals_tick_24h_and_see_the_preview(widget_page: PageFactory, editor: Editor, phone: bool,
                                                    screenshot_dir: Path) -> None:
    tab = widget_page(phone=phone)
    editor.sign_in(tab)
    tab.goto("/test/hours")
    assert hidden_value(tab) == {}
    wait_for_text(tab, "时间未知")
    # Monday open 09:00-12:00 and 14:00-18:00, by keyboard where a planner would use it.
    tab.page.check("#hours-mon-open")
    assert hidden_value(tab) == {"always_open": False, "weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}}
    tab.page.fill("#hours-mon-0-end", "12:00")
    tab.page.focus("#hours-mon-add")
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate("document.activeElement.id") == "hours-mon-1-start"  # focus on the new span
    assert tab.page.input_value("#hours-mon-1-start") == "12:00"
    tab.page.fill("#hours-mon-1-start", "14:00")
    tab.page.fill("#hours-mon-1-end", "18:00")
    wait_for_text(tab, "周一 09:00-12:00，14:00-18:00")
    tab.page.click("#hours-same")  # every day as Monday
    tab.page.uncheck("#hours-sun-open")  # closed on Sunday
    tab.page.check("#hours-holidays")
    wait_for_text(tab, "周一至周六 09:00-12:00，14:00-18:00；法定节假日休息")
    assert tab.page.is_visible("#hours-holiday-hint")
    spans = [{"start": "09:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]
    assert hidden_value(tab) == {"always_open": False, "closed_on_public_holidays": True,
                                 "weekly": {day: spans for day in ("mon", "tue", "wed", "thu", "fri", "sat")}}
    assert tab.page.inner_text("#hours-osm") == "Mo-Sa 09:00-12:00,14:00-18:00; PH off"
    assert axe_violations(tab.page) == []
    tab.page.screenshot(path=screenshot_dir / f"hours-editor-{'phone' if phone else 'desktop'}.png", full_page=True)
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    # 24 h: the days are put away, riders read 24小时开放 and it is open now, whatever the hour.
    tab.page.check("#hours-always")
    wait_for_text(tab, "24小时开放；法定节假日休息")
    assert tab.page.inner_text("#hours-open-now") == "现在营业"
    assert not tab.page.is_visible("#hours-days")
    assert hidden_value(tab) == {"always_open": True, "weekly": {}, "closed_on_public_holidays": True}
    tab.page.uncheck("#hours-always")  # the days come back as they were
    wait_for_text(tab, "周一至周六 09:00-12:00，14:00-18:00；法定节假日休息")
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []


def test_stored_hours_all_day_overnight_and_a_bad_span(widget_page: PageFactory, editor: Editor) -> None:
    tab = widget_page()
    editor.sign_in(tab)
    tab.goto(f"/test/hours?doc={json.dumps(STORED)}")
    wait_for_text(tab, "周一 08:00-12:00（<img src=x onerror=alert(1)>）")  # the note as text
    assert tab.page.input_value("#hours-note") == STORED["note"]
    tab.page.click("#hours-mon-allday")
    tab.page.check("#hours-fri-open")
    tab.page.fill("#hours-fri-0-start", "22:00")
    tab.page.fill("#hours-fri-0-end", "06:00")  # into Saturday morning
    tab.page.fill("#hours-note", "")
    wait_for_text(tab, "周一 00:00-24:00；周五 22:00-次日06:00")
    assert hidden_value(tab) == {"always_open": False, "weekly": {
        "mon": [{"start": "00:00", "end": "24:00"}], "fri": [{"start": "22:00", "end": "06:00"}]}}
    tab.page.fill("#hours-fri-0-end", "")  # an unfinished span: named at once, the server not asked
    tab.page.wait_for_function("() => document.getElementById('err-opening_hours.weekly.fri.0.end')"
                               ".textContent === '请填写时间 / enter a time'")
    assert tab.page.get_attribute("#hours-fri-0-end", "aria-invalid") == "true"
    assert tab.page.inner_text("#hours-open-now") == "无法预览 / cannot preview"
    tab.page.fill("#hours-fri-0-end", "22:00")  # the server's 422 is shown at the field it names
    tab.page.wait_for_function(
        "() => document.getElementById('err-opening_hours.weekly.fri.0.end').textContent.includes('end equals start')")
    assert tab.page.get_attribute("#hours-fri-0-start", "aria-invalid") is None
    assert tab.page.get_attribute("#hours-fri-0-end", "aria-invalid") == "true"
    assert [error for error in tab.console_errors if "422" not in error] == []  # the refusal itself is a 422
    tab.console_errors.clear()
    tab.page.focus("#hours-fri-0-remove")
    tab.page.keyboard.press("Enter")  # removing Friday's only span closes Friday
    wait_for_text(tab, "周一 00:00-24:00")
    assert tab.page.evaluate("document.activeElement.id") == "hours-fri-open"
    assert tab.page.locator("#hours-editor [aria-invalid]").count() == 0
    assert tab.page.inner_text("#hours-open-now") in ("现在营业", "现在休息")
    assert axe_violations(tab.page) == []
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []
