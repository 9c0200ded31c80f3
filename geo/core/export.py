"""Tables as files planners open in Excel: CSV with a BOM, or .xlsx with a frozen header.

No text cell of a file written here is ever a formula. A station's name or a region's name is
anyone's input, and Excel, LibreOffice and Sheets run ``=HYPERLINK(…)``, ``@SUM(…)``,
``+cmd|' /C calc'!A0`` or ``-2+3`` as formulas when they start a cell (OWASP "CSV injection").
CSV gets a ``'`` before such a text (:func:`escape_formula`, undone on import by
:func:`unescape_formula`, so every value round-trips exactly); .xlsx stores text cells as
strings (:func:`append_row`), which Excel shows literally and which read back unchanged.
:func:`xlsx_bytes` is the one workbook writer: the CLI's and the API's tables and the station
export all go through it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geo.notices import MODELLED, POSITION_UNKNOWN

# Column headers, Chinese first, for every table the CLI and API export.
HEADERS: dict[str, str] = {
    "type_code": "类型代码 type", "type_name": "类型 type name", "region_code": "区划代码 code",
    "region_name": "名称 name", "stations": "站点数 stations", "population": "人口 population",
    "covered_population": "覆盖人口 covered", "uncovered_population": "未覆盖人口 uncovered",
    "covered_share": "覆盖率 share", "population_is_modelled": f"{MODELLED.label_zh} {MODELLED.label_en}",
    "target_code": "目标代码 target", "scope": "范围 scope", "kind": "类别 kind", "required": "要求 required",
    "built": "已建 built", "shortfall": "缺口 shortfall", "met": "达标 met", "deadline": "期限 deadline",
    "overdue": "逾期 overdue", "source_quote": "报告原文 source", "note": "说明 note",
    "units": "单位数 units", "units_met": "达标单位 met", "order": "顺序 order", "name": "名称 name",
    "lon": "经度 lon (WGS-84)", "lat": "纬度 lat (WGS-84)", "county_code": "县级代码 county",
    "township_code": "乡级代码 township", "added": "新增覆盖 added", "cumulative": "累计覆盖 cumulative",
    "share": "累计覆盖率 share",
    "position_unknown": f"乡镇{POSITION_UNKNOWN.label_zh} {POSITION_UNKNOWN.label_en}",
}
PERCENT_COLUMNS = {"covered_share", "share"}
# What a spreadsheet reads as the start of a formula, after the apostrophes already there: a
# text escaped once, or a name that starts with "'", is escaped again, so unescaping is exact.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def escape_formula(value: Any) -> Any:
    """A CSV cell: ``'`` before a text that a spreadsheet would run as a formula; anything
    else (numbers, booleans, harmless text) as it is."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def unescape_formula(value: Any) -> Any:
    """The text that :func:`escape_formula` was given: one ``'`` off a cell it escaped.

    Only a ``'`` followed by ``'``* and a formula character is taken off, which is exactly what
    escaping adds; ``'s place`` or ``'1`` are kept as they are.
    """
    if isinstance(value, str) and value.startswith("'") and _FORMULA_START.match(value, 1):
        return value[1:]
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a CSV file for Excel: UTF-8 with a BOM (or Excel guesses the encoding), text
    cells through :func:`escape_formula`, and CRLF line ends (RFC 4180), with which a text that
    holds a lone ``\r`` is quoted; with ``\n`` ends it would split its row in two on reading."""
    out = frame.copy()
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):  # numbers (ids, lon, lat) are never escaped
            out[name] = frame[name].map(escape_formula)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append a row whose text cells are strings, never formulas or error codes.

    openpyxl makes a text starting with ``=`` a live formula (saved without a cached value, so
    reading the workbook back gives None) and ``#N/A`` an error; typing the cell as ``s`` keeps
    the literal text. An empty text is an empty cell. A control character XML cannot hold (input
    refuses them; an older row may have one) becomes U+FFFD rather than failing the whole file.
    """
    sheet.append([(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) or None) if isinstance(value, str) else value
                  for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _cell_value(value: Any) -> Any:
    """A frame's value as openpyxl takes it: a missing value is an empty cell, numpy scalars plain."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "unionmap", headers: Mapping[str, str] = HEADERS,
               notice: str | None = None, more: Mapping[str, pd.DataFrame] | None = None) -> bytes:
    """``frame`` as a workbook: one sheet with a bold, frozen, filterable header and fitted columns.

    Column names are shown through ``headers`` (Chinese first; a name not listed as it is);
    columns named in :data:`PERCENT_COLUMNS` are formatted as percentages; text cells are
    strings, never formulas (:func:`append_row`). ``more`` adds sheets after it (title → frame,
    written the same way: an import template's column guide, say); ``notice`` (e.g. that
    population is modelled, or that demo rows are synthetic) goes in a last sheet, ``说明 notes``.
    """
    workbook = Workbook()
    first = workbook.worksheets[0]  # a new workbook has one sheet
    first.title = sheet
    _write_sheet(first, frame, headers)
    for title, extra in (more or {}).items():
        _write_sheet(workbook.create_sheet(title), extra, headers)
    if notice:
        append_row(workbook.create_sheet("说明 notes"), [notice])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_sheet(sheet: Worksheet, frame: pd.DataFrame, headers: Mapping[str, str]) -> None:
    titles = [headers.get(name, name) for name in frame.columns]
    append_row(sheet, titles)
    for row in frame.itertuples(index=False):
        append_row(sheet, [_cell_value(value) for value in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, (column, title) in enumerate(zip(frame.columns, titles, strict=True), start=1):
        letter = get_column_letter(index)
        width = max([len(str(title)), *(len(str(v)) for v in frame[column].head(200))])
        sheet.column_dimensions[letter].width = min(max(10, width * 1.2), 60)
        if column in PERCENT_COLUMNS:
            for cell in sheet[letter][1:]:
                cell.number_format = "0.0%"


def table_bytes(frame: pd.DataFrame, file_format: str, *, sheet: str = "unionmap",
                headers: Mapping[str, str] = HEADERS, notice: str | None = None) -> bytes:
    """``frame`` as a ``csv`` or ``xlsx`` file with Chinese-first headers.

    ``notice`` (e.g. that population is modelled) goes in a second sheet of the workbook, or
    as comment lines (``# …``, one per line of the notice) at the end of the CSV.
    """
    if file_format == "csv":
        comments = "".join(f"# {line}\r\n" for line in notice.splitlines()) if notice else ""
        return csv_bytes(frame.rename(columns=dict(headers))) + comments.encode()
    if file_format != "xlsx":
        raise ValueError(f"unknown table format {file_format!r}: use csv or xlsx")
    return xlsx_bytes(frame, sheet=sheet, headers=headers, notice=notice)


def write_table(frame: pd.DataFrame, path: Path, *, sheet: str = "unionmap", notice: str | None = None) -> Path:
    """Write ``frame`` as .csv or .xlsx (by the suffix) with Chinese-first headers (:func:`table_bytes`)."""
    path = Path(path)
    path.write_bytes(table_bytes(frame, path.suffix.lower().lstrip("."), sheet=sheet, notice=notice))
    return path
