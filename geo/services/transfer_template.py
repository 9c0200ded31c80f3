"""The import template: the columns import reads, headed in Chinese and English, one example row,
and (in the workbook) a second sheet that explains each column and its allowed values.

The example row is a valid station whose ``id`` cell says ``示例 example``: importing the
template as downloaded adds nothing (the row is reported as skipped, see
:mod:`geo.services.transfer_plan`), and clearing that cell makes it a station that imports.
The allowed values come from where the registry keeps them (the service types in the database,
the amenity vocabulary file, the statuses of the write schema), so the guide cannot drift from
what import accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import pandas as pd
from sqlalchemy.orm import Session

from geo.core.export import csv_bytes, xlsx_bytes
from geo.reference.service_types import Amenity
from geo.services import registry
from geo.services.transfer import COLUMNS, HEADERS_ZH
from geo.store import service_types

TemplateFormat = Literal["csv", "xlsx"]
TEMPLATE_COLUMNS = [*COLUMNS, "version"]
EXAMPLE_ID = "示例 example"
STATUS_ZH = {"open": "开放", "closed": "关闭", "planned": "规划中"}
GUIDE_HEADERS = {"column": "列 column", "required": "必填 required", "meaning": "说明 meaning",
                 "allowed": "允许的值 allowed values"}


@dataclass(frozen=True)
class GuideRow:
    """What one column of an import file holds."""

    column: str
    required: str
    meaning: str
    allowed: str


def column_guide(session: Session, amenities: Mapping[str, Amenity]) -> list[GuideRow]:
    """Each template column: its header, whether it is required, what it means, the values allowed."""
    types = "; ".join(f"{t.code}（{t.name_zh}）" for t in service_types.service_types(session))
    statuses = "; ".join(f"{code}（{STATUS_ZH.get(code, code)}）" for code in _statuses())
    amenity_codes = "; ".join(f"{code}（{a.name_zh}）" for code, a in amenities.items())
    rows = {
        "id": ("修改时必填 to change", "新站点留空；修改已有站点时填它的编号（见导出文件）；"
               "“示例 example”表示示例行，导入时跳过 / empty for a new station; the station's id to change it; "
               "示例 example marks the skipped example row",
               "正整数 a positive whole number"),
        "type_code": ("是 yes", "服务类型代码 / service type code", types),
        "name": ("是 yes", "站点名称 / name", "1–200 字 characters"),
        "address": ("否 no", "地址 / address", "≤ 500 字 characters"),
        "lon": ("是 yes", "经度（度）/ longitude in degrees",
                "坐标系在上传时选择：wgs84（GPS）、gcj02（高德/腾讯）、bd09（百度） / "
                "the coordinate system is chosen when uploading: wgs84, gcj02 (Amap), bd09 (Baidu)"),
        "lat": ("是 yes", "纬度（度）/ latitude in degrees", "同经度 / as lon"),
        "status": ("否 no（默认 open）", "状态 / status", statuses),
        "opening_hours": ("否 no（空 = 未知 unknown）", "开放时间 / opening hours",
                          "Mo-Fr 09:00-17:00; Sa 10:00-12:00; Su off；24/7；日 days: Mo Tu We Th Fr Sa Su；"
                          "多段 several: 08:00-12:00,14:00-18:00"),
        "amenities": ("否 no", "设施，用分号分隔 / amenities, separated by ;", amenity_codes),
        "phone": ("否 no", "电话 / phone", "数字与 + - ( ) 空格，≤ 40 / digits and + - ( ) space"),
        "managing_union": ("否 no", "管理工会 / managing union", "≤ 200 字 characters"),
        "is_demo": ("否 no（默认 false）", "演示数据 / demo row", "true / false（是 / 否）"),
        "source": ("否 no", "数据来源 / source", "≤ 500 字 characters"),
        "version": ("修改时必填 to change", "导出时的版本号；文件中的版本旧于当前版本即报错，防止覆盖他人的修改 / "
                    "the version exported; an older one is refused so no one's change is overwritten",
                    "正整数 a positive whole number"),
    }
    return [GuideRow(HEADERS_ZH[name], *rows[name]) for name in TEMPLATE_COLUMNS]


def _statuses() -> Sequence[str]:
    return get_args(registry.StationInput.model_fields["status"].annotation)


def template_frame(session: Session, amenities: Mapping[str, Amenity],
                   example_point: tuple[float, float]) -> pd.DataFrame:
    """The template's one example row (a valid station but for its id cell), in the import columns."""
    type_code = service_types.type_codes(session)[0]
    example = {"id": EXAMPLE_ID, "type_code": type_code, "name": "示例站点 example station",
               "address": "示例路 1 号 / 1 Example Road", "lon": example_point[0], "lat": example_point[1],
               "status": "open", "opening_hours": "Mo-Fr 09:00-17:00; Sa-Su 10:00-16:00",
               "amenities": ";".join(list(amenities)[:2]), "phone": "0792-0000000", "managing_union": "",
               "is_demo": "false", "source": "", "version": ""}
    return pd.DataFrame([example], columns=TEMPLATE_COLUMNS).astype(object)


def template_bytes(session: Session, file_format: TemplateFormat, *, amenities: Mapping[str, Amenity],
                   example_point: tuple[float, float]) -> bytes:
    """The template file: CSV (header and example row) or a workbook with the column guide as a second sheet."""
    frame = template_frame(session, amenities, example_point)
    if file_format == "csv":
        return csv_bytes(frame.rename(columns=HEADERS_ZH))
    guide = pd.DataFrame([vars(row) for row in column_guide(session, amenities)]).rename(columns=GUIDE_HEADERS)
    return xlsx_bytes(frame, sheet="站点 stations", headers=HEADERS_ZH, more={"说明 columns": guide})
