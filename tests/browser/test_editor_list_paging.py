"""The editor's list (/edit) shows every match although ``GET /api/v1/stations`` pages (issue 15):
edit-stations.js follows the API's ``next`` links. Pages are made small here (the request's
``limit`` rewritten to 40) so that the walk over several pages is what is tested."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import Editor, PageFactory

pytestmark = [pytest.mark.db, pytest.mark.browser]


def test_the_list_and_map_hold_every_match_across_api_pages(page: PageFactory, editor: Editor) -> None:
    from playwright.sync_api import Route, expect

    tab = page()
    asked: list[str] = []

    def small_pages(route: Route) -> None:
        url = re.sub(r"limit=\d+", "limit=40", route.request.url)
        asked.append(url)
        route.continue_(url=url)

    tab.page.route(re.compile(r".*/api/v1/stations\?.*"), small_pages)
    editor.sign_in(tab)
    matched = httpx.get(f"{tab.base_url}/api/v1/stations", params={"limit": 1}, timeout=30).json()["numberMatched"]
    assert matched > 80  # at least three pages of 40
    expect(tab.page.locator("#station-count")).to_have_text(f"找到 {matched} 个站点 / {matched} found")
    assert len(asked) == -(-matched // 40)  # one request per page, no more
    assert [re.search(r"offset=(\d+)", url).group(1) if "offset=" in url else "0" for url in asked] == [
        str(start) for start in range(0, matched, 40)]
    markers = tab.page.locator("#stations-map .leaflet-marker-icon, #stations-map path.leaflet-interactive")
    assert markers.count() == matched
    assert tab.console_errors == [] and tab.blocked == []
