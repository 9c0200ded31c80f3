"""No text cell of a CSV or workbook the project writes is a formula; escaped CSV cells read back exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from geo.core.export import escape_formula, unescape_formula, write_table, xlsx_bytes
from geo.notices import MODELLED

# (text, as a CSV cell must hold it)
CELLS = [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://example.com/?q=1","点我")', '\'=HYPERLINK("http://example.com/?q=1","点我")'),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("'=1+1", "''=1+1"),       # an apostrophe already there is escaped again
    ("''@x", "'''@x"),
    ("'s place", "'s place"),   # an apostrophe before harmless text: untouched
    ("'1", "'1"),
    ("''", "''"),
    ("a=b", "a=b"),
    ("九江 -1", "九江 -1"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "cell"), CELLS)
def test_escape_and_unescape_round_trip(text: str, cell: str) -> None:
    assert escape_formula(text) == cell
    assert unescape_formula(cell) == text


@pytest.mark.parametrize("value", [-1, -2.5, 0, True, None])
def test_numbers_are_never_escaped(value: object) -> None:
    assert escape_formula(value) is value and unescape_formula(value) is value


def table() -> pd.DataFrame:
    return pd.DataFrame({"region_name": [text for text, _ in CELLS],
                         "population": [-(index + 1) for index in range(len(CELLS))],
                         "covered_share": [0.5] * len(CELLS)})


def test_csv_table_escapes_text_cells_only(tmp_path: Path) -> None:
    path = write_table(table(), tmp_path / "gaps.csv", notice=MODELLED.text)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("# ")]
    assert rows[0] == ["名称 name", "人口 population", "覆盖率 share"]
    assert [row[0] for row in rows[1:]] == [cell for _, cell in CELLS]
    assert [row[1] for row in rows[1:]] == [str(-(index + 1)) for index in range(len(CELLS))]  # "-1", not "'-1"
    assert path.read_bytes().endswith(f"# {MODELLED.text}\r\n".encode())


def test_workbook_text_cells_are_strings_not_formulas(tmp_path: Path) -> None:
    path = write_table(table(), tmp_path / "gaps.xlsx", notice="=notice")
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    names = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1)]
    assert [(cell.data_type, cell.value) for cell in names] == [
        ("s", text) if text else ("n", None) for text, _ in CELLS]  # openpyxl reads "" back as an empty cell
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2)]
    assert [(cell.data_type, cell.value) for cell in numbers] == [("n", -(i + 1)) for i in range(len(CELLS))]
    assert (workbook["说明 notes"]["A1"].data_type, workbook["说明 notes"]["A1"].value) == ("s", "=notice")
    cached = load_workbook(path, data_only=True).worksheets[0]  # what an importer reads: the text, not None
    assert cached["A2"].value == "=1+1"


def test_one_workbook_writer_for_every_table(tmp_path: Path) -> None:
    """The station export's headers, and a table with no rows (an export of nothing) still has its header."""
    frame = pd.DataFrame({"id": pd.Series([], dtype="int64"), "name": pd.Series([], dtype=object)})
    workbook = load_workbook(io.BytesIO(xlsx_bytes(frame, sheet="站点 stations", headers={"id": "编号 id"},
                                                   notice=MODELLED.text)))
    sheet = workbook["站点 stations"]
    assert [cell.value for cell in sheet[1]] == ["编号 id", "name"] and sheet.max_row == 1
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert workbook["说明 notes"]["A1"].value == MODELLED.text
    path = write_table(table(), tmp_path / "gaps.xlsx")
    assert load_workbook(path).worksheets[0]["C2"].number_format == "0.0%" and len(load_workbook(path).sheetnames) == 1
