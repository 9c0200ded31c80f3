"""Bulk import and export of stations: CSV, GeoJSON and XLSX, in WGS-84, GCJ-02 or BD-09.

This module reads files into rows and writes the registry out; what the rows do to the registry
(checked in full, all or nothing, every bad row reported with its number, field and reason; adds
and changes) is :mod:`geo.services.transfer_plan`. Export
writes the same columns import reads, so export → import → export gives the same rows, names
such as ``=1+1`` included: no text cell is a formula in Excel (see :mod:`geo.export`).
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from geo.core import crs, hours
from geo.core.crs import CoordSystem
from geo.core.export import csv_bytes, unescape_formula, xlsx_bytes
from geo.core.frames import row_dicts
from geo.errors import InputError
from geo.store import catalogue

Format = Literal["csv", "geojson", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "geojson", "xlsx")
COLUMNS = ["id", "type_code", "name", "address", "lon", "lat", "status", "opening_hours", "amenities", "phone",
           "managing_union", "is_demo", "source"]
# Filled in by the database on write; exported for reading, ignored on import (but version, which
# a row that changes a station must carry: see geo.services.transfer_plan).
DERIVED = ["county_code", "township_code", "version"]
IGNORED = ["county_code", "township_code"]
HEADERS_ZH = {"id": "编号 id", "type_code": "类型 type_code", "name": "名称 name", "address": "地址 address",
              "lon": "经度 lon", "lat": "纬度 lat", "status": "状态 status", "opening_hours": "开放时间 opening_hours",
              "amenities": "设施 amenities", "phone": "电话 phone", "managing_union": "管理工会 managing_union",
              "is_demo": "演示 is_demo", "source": "来源 source", "county_code": "县级代码 county_code",
              "township_code": "乡级代码 township_code", "version": "版本 version"}


def format_of(name: str, given: str | None = None) -> Format:
    """The format named, or the one the file name's suffix says."""
    value = (given or Path(name).suffix.lstrip(".")).lower()
    value = {"json": "geojson"}.get(value, value)
    if value not in FORMATS:
        raise InputError(f"unknown format {value!r}: csv, geojson or xlsx", field="format")
    return value


# ---- reading files into rows ------------------------------------------------------------

def read_rows(content: bytes, file_format: Format, *, file: str) -> list[tuple[int, dict[str, Any]]]:
    """(row number as a person sees it, cells) for every station in the file."""
    if file_format == "geojson":
        return _geojson_rows(content, file)
    if file_format == "csv":
        try:
            frame = pd.read_csv(io.StringIO(decode_utf8(content, file=file)), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise InputError(f"无法读取的 CSV / not a readable CSV: {error}", file=file) from error
        frame = frame.map(unescape_formula)  # the "'" export put before "=1+1"
    else:
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception as error:  # openpyxl raises many kinds for a non-workbook
            raise InputError(f"无法读取的 .xlsx 工作簿 / not a readable .xlsx workbook: {error}", file=file) from error
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            raise InputError("第一个工作表为空 / the first sheet is empty", file=file)
        frame = pd.DataFrame(values[1:], columns=[str(v) if v is not None else "" for v in values[0]])
        frame = frame.astype(object).where(frame.notna(), "")
    inverse = {zh: code for code, zh in HEADERS_ZH.items()}
    frame = frame.rename(columns=lambda name: inverse.get(str(name).strip(), str(name).strip()))
    _check_columns(list(frame.columns), file)
    return [(number, {k: v for k, v in record.items() if k not in IGNORED})
            for number, record in zip(range(2, len(frame) + 2), row_dicts(frame), strict=True)]


def decode_utf8(content: bytes, *, file: str, lines_are_rows: bool = True) -> str:
    """The file's text (a UTF-8 BOM dropped); InputError at the first byte that is not UTF-8.

    The error gives the byte's offset in the file as uploaded and, for CSV, its line as the row
    (header = row 1, as every import error counts rows). Decoding here rather than in pandas is
    what makes both right: pandas reports an offset within its read buffer, after the BOM, and no
    row. Excel saves "CSV" in GBK on Chinese Windows, so the usual fix is named too.
    """
    bom = len(codecs.BOM_UTF8) if content.startswith(codecs.BOM_UTF8) else 0
    try:
        return content[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line = content.count(b"\n", 0, offset) + 1
        byte = f"0x{content[offset]:02x}"
        zh = f"不是 UTF-8 编码：{f'第 {line} 行，' if lines_are_rows else ''}偏移 {offset} 字节处的 {byte} 无法解码"
        en = f"not UTF-8: byte {byte} at offset {offset}{f' (line {line})' if lines_are_rows else ''} cannot be decoded"
        if _is_gb18030(content[bom:]):
            zh, en = f"{zh}，文件似为 GBK/GB18030 编码", f"{en}; the file looks GBK/GB18030-encoded"
        raise InputError(f"{zh}；请另存为 UTF-8（Excel：“CSV UTF-8”）/ {en}; save it as UTF-8",
                         file=file, row=line if lines_are_rows else None) from error


def _is_gb18030(content: bytes) -> bool:
    try:
        content.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _check_columns(columns: list[str], file: str) -> None:
    unknown = [name for name in columns if name and name not in COLUMNS and name not in DERIVED]
    if unknown:
        raise InputError(f"unknown column(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}",
                         file=file, field=unknown[0])
    missing = [name for name in ("type_code", "name", "lon", "lat") if name not in columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=file, field=missing[0])


def _geojson_rows(content: bytes, file: str) -> list[tuple[int, dict[str, Any]]]:
    text = decode_utf8(content, file=file, lines_are_rows=False)  # a feature is no line: offset only
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"不是有效的 JSON / not valid JSON: {error}", file=file) from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InputError("expected a GeoJSON FeatureCollection", file=file, field="type")
    rows = []
    for number, feature in enumerate(document.get("features") or [], start=1):
        properties = dict((feature or {}).get("properties") or {})
        geometry = (feature or {}).get("geometry") or {}
        coordinates = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            properties["lon"], properties["lat"] = None, None
            properties["_geometry_error"] = "geometry must be a Point with [lon, lat]"
        else:
            properties["lon"], properties["lat"] = coordinates[0], coordinates[1]
        if feature.get("id") is not None:
            properties.setdefault("id", feature["id"])
        for name in IGNORED + ["type_name", "region_is_approximate", "opening_hours_text", "open_now",
                               "created_at", "updated_at", "plan_id"]:
            properties.pop(name, None)
        rows.append((number, properties))
    return rows


# ---- export -----------------------------------------------------------------------------

def export_frame(session: Session, where: catalogue.StationFilter, target_crs: CoordSystem) -> pd.DataFrame:
    """The stations as the rows import reads (plus read-only county, township, version)."""
    frame = catalogue.stations_frame(session, where)
    lon, lat = crs.convert(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), source="wgs84", target=target_crs)
    out = pd.DataFrame({
        "id": frame["id"].to_numpy(), "type_code": frame["type_code"], "name": frame["name"],
        "address": frame["address"], "lon": np.round(lon, 8), "lat": np.round(lat, 8), "status": frame["status"],
        "opening_hours": [_hours_cell(value) for value in frame["opening_hours"]],
        "amenities": [";".join(values) for values in frame["amenities"]],
        "phone": frame["phone"].fillna(""), "managing_union": frame["managing_union"].fillna(""),
        "is_demo": frame["is_demo"], "source": frame["source"],
        "county_code": frame["county_code"].fillna(""), "township_code": frame["township_code"].fillna(""),
        "version": frame["version"],
    })
    return out.reset_index(drop=True)


def _hours_cell(value: dict[str, Any]) -> str:
    parsed = hours.from_json(value)
    text = hours.format_simple(parsed)
    if parsed.note or (text and hours.parse_simple(text) != parsed):
        # the compact text has no room for a note (or whatever else it cannot say): keep the structure
        return json.dumps(hours.to_json(parsed), ensure_ascii=False, sort_keys=True)
    return text


def export_bytes(frame: pd.DataFrame, file_format: Format, *, notice: str) -> bytes:
    """The export file's bytes; the notice (demo data, coordinate system) travels with it."""
    if file_format == "csv":
        return csv_bytes(frame)
    if file_format == "geojson":
        features = [{"type": "Feature", "id": int(row["id"]),
                     "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                     "properties": {k: _plain(v) for k, v in row.items() if k not in ("lon", "lat")}}
                    for row in frame.to_dict("records")]
        return json.dumps({"type": "FeatureCollection", "name": "unionmap stations", "notice": notice,
                           "features": features}, ensure_ascii=False).encode("utf-8")
    return xlsx_bytes(frame, sheet="站点 stations", headers=HEADERS_ZH, notice=notice)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
