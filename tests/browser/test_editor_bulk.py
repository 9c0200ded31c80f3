"""The bulk page in Chromium, desk and phone: a file with one bad row is checked (the row and field
named, nothing written), fixed and imported all at once; hostile cells are shown as text and the
export neutralises them; a file over the upload limit gets the server's 413 in plain Chinese."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.browser.conftest import Editor, PageFactory, axe_violations, pages_on, serve_in_thread

pytestmark = [pytest.mark.db, pytest.mark.browser]

HOSTILE_FORMULA = '=HYPERLINK("http://evil.example","点我")'
HOSTILE_SCRIPT = "<script>alert('bulk')</script><img src=x onerror=alert(2)>"


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def upload_file(marker: str, *, bad: bool) -> bytes:
    """Three new stations near Xunyang; with ``bad``, the third (row 4) has a longitude of 999."""
    rows = ["名称 name,类型 type_code,经度 lon,纬度 lat,设施 amenities",
            f"{csv_cell(HOSTILE_SCRIPT + marker)},love_station,115.991,29.711,water",
            f"{csv_cell(HOSTILE_FORMULA + marker)},love_station,115.992,29.712,",
            f"正常驿站{marker},worker_library,{'999' if bad else '115.993'},29.713,rest"]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def database(test_settings: Any, registry_rows: Callable[[str], None]) -> Iterator[Callable[[str], Any]]:
    """``scalar(sql)`` on the live server's database (the test's rows are undone by registry_rows)."""
    from geo.store import db

    engine = db.make_engine(test_settings)

    def scalar(statement: str) -> Any:
        with engine.connect() as connection:
            return connection.execute(text(statement)).scalar()

    yield scalar
    engine.dispose()


def choose(tab: Any, name: str, content: bytes) -> None:
    tab.page.set_input_files("#bulk-file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def cells(tab: Any, table: str) -> list[list[str]]:
    return tab.page.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_check_then_import_all_or_nothing(page: PageFactory, editor: Editor, database: Callable[[str], Any],
                                          phone: bool, screenshot_dir: Path) -> None:
    marker = f"#{time.monotonic_ns() % 10**9}"
    tab = page(phone=phone)
    editor.sign_in(tab)
    tab.page.click("nav a[href='/edit/bulk']")
    tab.page.wait_for_url("**/edit/bulk")
    assert axe_violations(tab.page) == []
    assert tab.page.is_disabled("#bulk-apply")
    before = database("SELECT count(*) FROM station WHERE deleted_at IS NULL")

    choose(tab, "新站点.csv", upload_file(marker, bad=True))
    tab.page.click("#bulk-check")
    tab.page.wait_for_selector("#bulk-errors tbody tr")
    assert cells(tab, "bulk-errors") == [
        ["4", "经度 lon", "经度超出 ±180：'999' / '999' is not a lon in degrees (±180)"]]
    assert tab.page.inner_text("#bulk-error-count") == "1" and tab.page.inner_text("#bulk-to-add") == "2"
    assert tab.page.is_disabled("#bulk-apply")  # an error: nothing may be imported
    # what a cell says is shown as it is, never run
    assert [row[1] for row in cells(tab, "bulk-additions")] == [HOSTILE_SCRIPT + marker, HOSTILE_FORMULA + marker]
    assert database("SELECT count(*) FROM station WHERE deleted_at IS NULL") == before
    tab.page.screenshot(path=screenshot_dir / f"edit-bulk-report-{'phone' if phone else 'desktop'}.png", full_page=True)
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360

    choose(tab, "新站点.csv", upload_file(marker, bad=False))
    assert tab.page.is_hidden("#bulk-report")  # a new file forgets the old report
    tab.page.click("#bulk-check")
    tab.page.locator("#bulk-status", has_text="可以导入").wait_for()
    assert tab.page.is_hidden("#bulk-errors-block") and tab.page.inner_text("#bulk-to-add") == "3"
    assert database("SELECT count(*) FROM station WHERE deleted_at IS NULL") == before
    tab.page.click("#bulk-apply")
    tab.page.wait_for_selector("#bulk-result:not([hidden])")
    assert "新增 3 个站点" in tab.page.inner_text("#bulk-result-text")
    tab.page.screenshot(path=screenshot_dir / f"edit-bulk-done-{'phone' if phone else 'desktop'}.png", full_page=True)
    assert tab.page.is_disabled("#bulk-apply")  # the same file is not imported twice by a second click
    assert database("SELECT count(*) FROM station WHERE deleted_at IS NULL") == before + 3
    names = database(f"SELECT array_agg(name ORDER BY id) FROM station WHERE name LIKE '%{marker}'")
    assert names == [HOSTILE_SCRIPT + marker, HOSTILE_FORMULA + marker, f"正常驿站{marker}"]
    assert database(f"SELECT DISTINCT changed_by FROM station_history h JOIN station s ON s.id = h.station_id "
                    f"WHERE s.name LIKE '%{marker}'") == f"key:{editor.name}"

    # A row with the id and version of a station changes it; the report says which fields.
    station_id = database(f"SELECT id FROM station WHERE name = '正常驿站{marker}'")
    choose(tab, "修改.csv", (f"id,version,type_code,name,lon,lat\n{station_id},1,worker_library,"
                             f"改名驿站{marker},115.993,29.713\n").encode())
    tab.page.click("#bulk-check")
    tab.page.locator("#bulk-status", has_text="可以导入").wait_for()
    assert cells(tab, "bulk-changes") == [["2", str(station_id), f"改名驿站{marker}", "名称 name"]]
    tab.page.click("#bulk-apply")
    tab.page.locator("#bulk-result-text", has_text="修改 1 个站点").wait_for()
    assert database(f"SELECT name || ' v' || version FROM station WHERE id = {station_id}") == f"改名驿站{marker} v2"

    with tab.page.expect_download() as download:
        tab.page.click("#bulk-export-csv")
    exported = download.value.path().read_text(encoding="utf-8-sig")
    assert csv_cell("'" + HOSTILE_FORMULA + marker) in exported  # a text, not a formula, in a spreadsheet
    assert f",{HOSTILE_SCRIPT}{marker}," in exported
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []


def test_template_downloads_and_the_guide(page: PageFactory, editor: Editor) -> None:
    tab = page()
    editor.sign_in(tab)
    tab.goto("/edit/bulk")
    with tab.page.expect_download() as download:
        tab.page.click("#bulk-template-csv")
    assert download.value.path().read_text(encoding="utf-8-sig").startswith("编号 id,类型 type_code,名称 name")
    tab.page.click("#bulk-guide summary")
    assert "water（饮水）" in tab.page.inner_text("#bulk-guide")
    tab.page.select_option("#bulk-crs", "gcj02")
    assert tab.page.get_attribute("#bulk-export-xlsx", "href") == "/api/v1/export?format=xlsx&crs=gcj02"
    assert axe_violations(tab.page) == []
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []


@pytest.fixture
def small_limit_page(browser: Any, test_settings: Any) -> Iterator[PageFactory]:
    """Pages on the app with an upload limit of 50 KB (the live server's is 20 MB)."""
    from api.app import create_app

    app = create_app(test_settings.model_copy(update={"max_upload_mb": 0.05, "trusted_hosts": ["127.0.0.1"]}))
    with serve_in_thread(app, "bulk-small-limit") as url:
        yield from pages_on(browser, url)


def test_a_file_over_the_limit_is_refused_in_plain_chinese(small_limit_page: PageFactory, editor: Editor,
                                                           database: Callable[[str], Any]) -> None:
    tab = small_limit_page(phone=True)
    editor.sign_in(tab)
    tab.goto("/edit/bulk")
    before = database("SELECT count(*) FROM station")
    big = upload_file("大", bad=False) + b"x" * 200_000
    choose(tab, "太大.csv", big)
    tab.page.click("#bulk-check")  # refused by the page itself: the limit it was given
    assert tab.page.inner_text("#bulk-error").startswith("文件太大：超过 0.05 MB 的上限，没有导入任何数据。")
    # A limit lower than the page was told (a proxy's, or settings changed since it loaded): the server's 413.
    tab.page.evaluate("""() => { const block = document.getElementById('bulk-config');
        block.textContent = JSON.stringify(Object.assign(JSON.parse(block.textContent), {maxUploadBytes: 1e9})); }""")
    with tab.page.expect_response(lambda response: "/api/v1/import" in response.url) as answer:
        tab.page.click("#bulk-check")
    assert answer.value.status == 413
    tab.page.locator("#bulk-error", has_text="0.05 MB").wait_for()
    assert tab.page.inner_text("#bulk-error").startswith("文件太大：超过 0.05 MB 的上限")
    assert database("SELECT count(*) FROM station") == before
    assert [e for e in tab.console_errors if "413" not in e] == []  # the refusal itself is logged as a 413
