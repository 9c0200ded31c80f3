"""Station exports hold no live formula: each payload in each text field, in CSV and XLSX, and back.

A name such as ``=HYPERLINK(…)`` was written verbatim to CSV and as a live formula to .xlsx
(Excel runs it; re-importing the workbook failed with "name: Field required", the formula having
no cached value). CSV now holds ``'=HYPERLINK(…)`` and import takes the ``'`` off again; .xlsx
holds the text as a string.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

# (text, whether a spreadsheet would run it, so that CSV must escape it). No payload starts with
# white space: station input strips it (tabs and CRs after an apostrophe are kept and tested).
PAYLOADS = [
    ("=1+1", True),
    ('=HYPERLINK("http://example.com/?q=1","点我")', True),
    ("@SUM(A1:A2)", True),
    ("+cmd|' /C calc'!A0", True),
    ("-2+3", True),
    ("'=1+1", True),
    ("''@x", True),
    ("'\t=1", True),
    ("'\r=1", True),
    ("'s place", False),
    ("#N/A", False),
    ("a=b", False),
]
TEXT_FIELDS = ("name", "address", "managing_union", "source")
# The phone pattern allows digits, + - ( ) and spaces: both formula starts it allows.
PHONES = ("+86 (792) 1234567", "-0792 1234567")
HEADERS = {"name": "名称 name", "address": "地址 address", "managing_union": "管理工会 managing_union",
           "source": "来源 source", "phone": "电话 phone"}


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='公式', role='editor')}"}


@pytest.fixture
def stations(client: TestClient, editor: dict[str, str]) -> dict[int, dict[str, str]]:
    """One real (non-demo) station per payload, the payload in every free-text field."""
    made = {}
    for index, (payload, _) in enumerate(PAYLOADS):
        values = dict.fromkeys(TEXT_FIELDS, payload) | {"phone": PHONES[index % 2]}
        response = client.post("/api/v1/stations", headers=editor, json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
            "properties": values | {"type_code": "love_station"}})
        assert response.status_code == 201, response.text
        made[response.json()["id"]] = values
    return made


def stored(session: Session) -> dict[int, dict[str, str]]:
    rows = session.execute(text(f"SELECT id, {', '.join(HEADERS)} FROM station WHERE NOT is_demo")).mappings()
    return {row["id"]: {name: row[name] for name in HEADERS} for row in rows}


def reimport(client: TestClient, session: Session, editor: dict[str, str], content: bytes, file_format: str) -> None:
    session.execute(text("DELETE FROM station WHERE NOT is_demo"))  # for good, so the ids are free again
    response = client.post(f"/api/v1/import?format={file_format}", content=content, headers=editor)
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == len(PAYLOADS)


def export(client: TestClient, file_format: str) -> bytes:
    response = client.get("/api/v1/export", params={"format": file_format, "demo": "false"})
    assert response.status_code == 200
    return response.content


def test_csv_escapes_every_formula_and_imports_it_back(client: TestClient, session: Session, editor: dict,
                                                       stations: dict[int, dict[str, str]]) -> None:
    content = export(client, "csv")
    rows = {int(row["id"]): row for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))}
    assert set(rows) == set(stations)
    escaped = dict(PAYLOADS)
    for station_id, values in stations.items():
        row = rows[station_id]
        for name in TEXT_FIELDS:
            payload = values[name]
            assert row[name] == ("'" + payload if escaped[payload] else payload), (name, payload)
        assert row["phone"] == "'" + values["phone"]
        assert not row["lon"].startswith("'") and float(row["lon"]) == pytest.approx(115.99)
    reimport(client, session, editor, content, "csv")
    assert stored(session) == stations


def test_xlsx_stores_text_not_formulas_and_imports_it_back(client: TestClient, session: Session, editor: dict,
                                                           stations: dict[int, dict[str, str]]) -> None:
    content = export(client, "xlsx")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    column = {name: header.index(label) for name, label in HEADERS.items()} | {"id": header.index("编号 id"),
                                                                              "lon": header.index("经度 lon")}
    seen = set()
    for row in sheet.iter_rows(min_row=2):
        station_id = row[column["id"]].value
        seen.add(station_id)
        assert row[column["id"]].data_type == "n" and row[column["lon"]].data_type == "n"
        for name, value in stations[station_id].items():
            cell = row[column[name]]
            assert (cell.data_type, cell.value) == ("s", value), (name, value)
    assert seen == set(stations)
    reimport(client, session, editor, content, "xlsx")
    assert stored(session) == stations


def test_gap_workbook_shows_a_formula_name_as_text(client: TestClient, session: Session) -> None:
    """/maps/gaps.xlsx (the CLI's gaps and coverage files use the same writer)."""
    name = '=HYPERLINK("http://example.com","浔阳区")'
    session.execute(text("UPDATE region SET name = :name WHERE code = '360403'"), {"name": name})
    response = client.get("/maps/gaps.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value == name]
    assert cells and {cell.data_type for cell in cells} == {"s"}
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def test_control_characters_are_refused_and_never_break_a_workbook(client: TestClient, session: Session,
                                                                   editor: dict) -> None:
    """XML holds no C0 control but tab, LF and CR: a name with U+0007 was stored, then every
    .xlsx export failed with a 500. Writes now refuse it; a row stored before still exports."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
               "properties": {"type_code": "love_station", "name": "铃\x07声"}}
    refused = client.post("/api/v1/stations", headers=editor, json=feature)
    assert refused.status_code == 422 and "properties.name" in refused.text and "U+0007" in refused.text
    feature["properties"] |= {"name": "铃声", "address": "一行\n二行\t制表"}  # these XML holds
    created = client.post("/api/v1/stations", headers=editor, json=feature)
    assert created.status_code == 201, created.text
    station_id = created.json()["id"]
    session.execute(text("UPDATE station SET name = '铃' || chr(7) || '声' WHERE id = :id"), {"id": station_id})
    sheet = load_workbook(io.BytesIO(export(client, "xlsx"))).worksheets[0]
    assert [(row[2], row[3]) for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("铃\ufffd声", "一行\n二行\t制表")]
    rows = list(csv.DictReader(io.StringIO(export(client, "csv").decode("utf-8-sig"), newline="")))
    assert [(row["name"], row["address"]) for row in rows] == [("铃\x07声", "一行\n二行\t制表")]
