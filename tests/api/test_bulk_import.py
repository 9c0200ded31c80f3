"""Bulk import from the browser's point of view: the dry-run report, changes by id (upsert) guarded
by the exported version, all or nothing, history with the caller as actor, and the template."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key
from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

HEADER = "id,version,type_code,name,lon,lat,phone\n"


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='批量规划员', role='editor')}"}


def state(session: Session) -> tuple[int, int, int]:
    """Live stations, history rows, and the sum of versions: any write moves one of them."""
    return session.execute(text("SELECT (SELECT count(*) FROM station WHERE deleted_at IS NULL), "
                                "(SELECT count(*) FROM station_history), (SELECT sum(version) FROM station)")).one()


def a_station(session: Session) -> dict[str, Any]:
    """A live demo station with a phone (so that keeping it can be told from clearing it)."""
    return dict(session.execute(text(
        "SELECT id, version, type_code, name, phone, amenities, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM station "
        "WHERE deleted_at IS NULL AND phone IS NOT NULL AND amenities <> '{}' ORDER BY id LIMIT 1")).mappings().one())


def post(client: TestClient, body: str | bytes, headers: dict, **params: Any) -> Any:
    content = body.encode() if isinstance(body, str) else body
    return client.post("/api/v1/import", params={"format": "csv", "filename": "bulk.csv"} | params,
                       content=content, headers=headers)


def test_a_dry_run_reports_every_row_and_writes_nothing(client: TestClient, session: Session, editor: dict) -> None:
    station = a_station(session)
    body = (HEADER + ",,love_station,新驿站甲,115.99,29.71,\n"
            f"{station['id']},{station['version']},{station['type_code']},改过的名字,{station['lon']!r},"
            f"{station['lat']!r},{station['phone']}\n"
            ",,love_station,坏坐标,999,29.71,\n"
            ",,no_such_type,坏类型,115.99,29.71,\n"
            ",,worker_library,新书屋乙,116.0,29.72,\n")
    before = state(session)
    response = post(client, body, editor, mode="upsert", dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: report[k] for k in ("dry_run", "mode", "rows", "to_add", "to_change", "unchanged", "error_count",
                                   "imported", "ids", "changed_ids", "skipped")} == {
        "dry_run": True, "mode": "upsert", "rows": 5, "to_add": 2, "to_change": 1, "unchanged": 0, "error_count": 2,
        "imported": 0, "ids": [], "changed_ids": [], "skipped": []}
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(4, "lon"), (5, "type_code")]
    assert "999" in report["errors"][0]["reason"] and "no_such_type" in report["errors"][1]["reason"]
    assert report["changes"] == [{"row": 3, "id": station["id"], "name": "改过的名字", "fields": ["name"]}]
    assert state(session) == before
    # The same file for real: 422 with the same rows named, and still nothing written.
    real = post(client, body, editor, mode="upsert")
    assert real.status_code == 422
    assert [(e["row"], e["field"]) for e in real.json()["errors"]] == [(4, "lon"), (5, "type_code")]
    assert state(session) == before
    assert post(client, body, {}, mode="upsert", dry_run="true").status_code == 401  # a dry run is a writer's too


def test_upsert_changes_by_id_keeps_absent_columns_and_records_the_actor(client: TestClient, session: Session,
                                                                          editor: dict) -> None:
    station = a_station(session)
    body = (HEADER.replace(",phone", "") + ",,love_station,新驿站丙,115.99,29.71\n"
            f"{station['id']},{station['version']},{station['type_code']},批量改名,116.0,29.72\n")
    live_before, history_before, _ = state(session)
    response = post(client, body, editor, mode="upsert")
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["dry_run"], result["imported"], result["to_change"], result["changed_ids"]) == (
        False, 1, 1, [station["id"]])
    assert result["changes"][0]["fields"] == ["name", "position"]
    stored = session.execute(text("SELECT name, phone, amenities, version, ST_X(geom), ST_Y(geom) FROM station "
                                  "WHERE id = :i"), {"i": station["id"]}).one()
    # phone and amenities were not columns of the file: kept as they were
    assert stored == ("批量改名", station["phone"], station["amenities"], station["version"] + 1, 116.0, 29.72)
    assert state(session)[:2] == (live_before + 1, history_before + 2)
    history = client.get(f"/api/v1/stations/{station['id']}/history").json()
    assert history[-1]["changed_by"] == "key:批量规划员"
    assert {"geom", "name"} <= set(history[-1]["changed_fields"]) and "phone" not in history[-1]["changed_fields"]
    added = client.get(f"/api/v1/stations/{result['ids'][0]}/history").json()
    assert [(h["action"], h["changed_by"]) for h in added] == [("insert", "key:批量规划员")]


@pytest.mark.parametrize(("version", "reason"), [("stale", "someone changed it"), ("", "needs the version"),
                                                 ("abc", "not a whole number")])
def test_a_change_without_the_current_version_names_row_and_field(client: TestClient, session: Session,
                                                                  editor: dict, version: str, reason: str) -> None:
    station = a_station(session)
    session.execute(text("UPDATE station SET name = name || '（他人修改）' WHERE id = :i"), {"i": station["id"]})
    given = {"stale": str(station["version"]), "": "", "abc": "abc"}[version]  # the version exported, now old
    body = (HEADER + ",,love_station,新驿站丁,115.99,29.71,\n"
            f"{station['id']},{given},{station['type_code']},我的改动,115.99,29.71,\n")
    before = state(session)
    report = post(client, body, editor, mode="upsert", dry_run="true").json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "version")]
    assert reason in report["errors"][0]["reason"]
    response = post(client, body, editor, mode="upsert")
    assert response.status_code == 422 and [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (3, "version")]
    assert state(session) == before
    assert session.execute(text("SELECT name FROM station WHERE id = :i"), {"i": station["id"]}).scalar_one() \
        == station["name"] + "（他人修改）"


def test_existing_and_deleted_ids(client: TestClient, session: Session, editor: dict) -> None:
    station = a_station(session)
    row = f"{station['id']},{station['version']},{station['type_code']},x,115.99,29.71,\n"
    insert = post(client, HEADER + row, editor, dry_run="true").json()  # mode insert: an id is a new station's
    assert [(e["row"], e["field"]) for e in insert["errors"]] == [(2, "id")]
    assert "mode=upsert" in insert["errors"][0]["reason"]
    session.execute(text("UPDATE station SET deleted_at = now() WHERE id = :i"), {"i": station["id"]})
    deleted = post(client, HEADER + row.replace(f",{station['version']},", f",{station['version'] + 1},"), editor,
                   mode="upsert", dry_run="true").json()
    assert [(e["row"], e["field"]) for e in deleted["errors"]] == [(2, "id")]
    assert "deleted" in deleted["errors"][0]["reason"]
    twice = post(client, HEADER + row + row, editor, mode="upsert", dry_run="true").json()
    assert [e["row"] for e in twice["errors"] if e["reason"].startswith("编号") and "duplicate id" in e["reason"]] \
        == [3]


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_an_unedited_export_changes_nothing(client: TestClient, session: Session, editor: dict, crs: str) -> None:
    """Export → import (upsert) is a no-op: every row unchanged, positions within 5 cm after the datum shift."""
    exported = client.get("/api/v1/export", params={"format": "csv", "crs": crs}).content
    live = state(session)[0]
    report = post(client, exported, editor, mode="upsert", dry_run="true", crs=crs).json()
    assert (report["error_count"], report["to_add"], report["to_change"], report["unchanged"]) == (0, 0, 0, live), \
        report["errors"][:3] or report["changes"][:3]
    before = state(session)
    assert post(client, exported, editor, mode="upsert", crs=crs).status_code == 201
    assert state(session) == before  # no version bumped, no history written


def test_a_file_that_cannot_be_read_is_a_report_in_a_dry_run(client: TestClient, editor: dict) -> None:
    report = post(client, "名称\n甲\n".encode("gbk"), editor, dry_run="true")
    assert report.status_code == 200
    [error] = report.json()["errors"]
    assert error["row"] == 1 and "GBK" in error["reason"]  # the header's first byte
    assert post(client, "名称\n甲\n".encode("gbk"), editor).status_code == 422


def test_a_signed_in_page_can_dry_run_with_its_csrf_token(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    body = HEADER + ",,love_station,浏览器上传,115.99,29.71,\n"
    assert post(client, body, {}, dry_run="true").status_code == 403  # the cookie without the token
    assert post(client, body, headers, dry_run="true").json()["to_add"] == 1


def test_the_template_in_both_languages_and_back(client: TestClient, session: Session, editor: dict) -> None:
    csv_template = client.get("/api/v1/import/template", params={"format": "csv"})
    assert csv_template.status_code == 200 and csv_template.headers["content-type"].startswith("text/csv")
    assert "unionmap-import-template.csv" in csv_template.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_template.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号 id", "类型 type_code", "名称 name", "地址 address"] and rows[0][-1] == "版本 version"
    assert len(rows) == 2 and rows[1][0] == "示例 example"
    before = state(session)
    as_is = post(client, csv_template.content, editor, mode="upsert", dry_run="true").json()
    assert (as_is["rows"], as_is["skipped"], as_is["to_add"], as_is["errors"]) == (1, [2], 0, [])
    assert post(client, csv_template.content, editor, mode="upsert").json()["imported"] == 0
    assert state(session) == before
    filled = csv_template.content.decode("utf-8-sig").replace("示例 example", "")
    added = post(client, filled, editor, mode="upsert")
    assert added.status_code == 201 and added.json()["imported"] == 1, added.text

    workbook_file = client.get("/api/v1/import/template", params={"format": "xlsx"})
    workbook = load_workbook(io.BytesIO(workbook_file.content))
    assert workbook.sheetnames == ["站点 stations", "说明 columns"]
    header = [cell.value for cell in workbook.worksheets[0][1]]
    assert header[:3] == ["编号 id", "类型 type_code", "名称 name"]
    guide = {row[0]: row for row in workbook["说明 columns"].iter_rows(min_row=2, values_only=True)}
    assert list(guide) == header
    assert "love_station（爱心驿站）" in guide["类型 type_code"][3]
    assert "water（饮水）" in guide["设施 amenities"][3] and "planned" in guide["状态 status"][3]
    assert "gcj02" in guide["经度 lon"][3] and "Mo-Fr" in guide["开放时间 opening_hours"][3]
    report = client.post("/api/v1/import", params={"format": "xlsx", "mode": "upsert", "dry_run": "true"},
                         content=workbook_file.content, headers=editor).json()
    assert (report["skipped"], report["errors"], report["to_add"]) == ([2], [], 0)
    assert client.get("/api/v1/import/template", params={"format": "geojson"}).status_code == 422


def test_hostile_cells_are_data_in_the_report_and_neutralised_in_the_export(client: TestClient, session: Session,
                                                                            editor: dict) -> None:
    station = a_station(session)
    hostile = '=HYPERLINK("http://evil.example","点我")'
    quoted = '"' + hostile.replace('"', '""') + '"'
    body = (HEADER + f"{station['id']},{station['version']},{station['type_code']},{quoted},"
            f"{station['lon']!r},{station['lat']!r},{station['phone']}\n"
            ",,love_station,<script>alert(1)</script>,115.99,29.71,\n")
    report = post(client, body, editor, mode="upsert").json()
    assert report["changes"][0]["name"] == hostile and report["imported"] == 1
    exported = client.get("/api/v1/export", params={"format": "csv"}).content.decode("utf-8-sig")
    assert f"'{hostile}".replace('"', '""') in exported and "<script>alert(1)</script>" in exported
    workbook = load_workbook(io.BytesIO(client.get("/api/v1/export", params={"format": "xlsx"}).content))
    cells = [row[2] for row in workbook.worksheets[0].iter_rows(min_row=2)]
    cell = next(c for c in cells if c.value == hostile)
    assert cell.data_type == "s"  # a string, not a formula


def test_the_bulk_page_is_for_editors_only(client: TestClient, session: Session) -> None:
    refused = client.get("/edit/bulk", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/edit/sign-in")
    sign_in(client, session)
    page = client.get("/edit/bulk")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<a href="/edit/bulk" aria-current="page">' in page.text
    assert 'id="bulk-file"' in page.text and "/api/v1/import/template?format=xlsx" in page.text
    assert "love_station（爱心驿站）" in page.text  # the column guide, from the registry's own types
    assert '"maxUploadBytes": 20971520' in page.text


def test_no_body_is_refused_even_in_a_dry_run(client: TestClient, editor: dict) -> None:
    for params in ({"dry_run": "true"}, {}):
        response = post(client, b"", editor, **params)
        assert response.status_code == 422 and response.json()["field"] == "body"
