"""Readable names of the OGC features' properties and values for the HTML pages: Chinese first.

The JSON keeps its machine names (``opening_hours``, ``is_demo``, ``open``); only the pages a
person reads say 开放时间, 演示数据, 开放. Which honesty notice a single feature carries is
decided here too, from the feature's own flags, in the one wording of ``geo.notices``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from geo.notices import APPROXIMATE_FIELD, DEMO, MODELLED, POSITION_UNKNOWN, approximate_notice

# property → (Chinese, English)
NAMES: dict[str, tuple[str, str]] = {
    "station_id": ("编号", "id"), "type_code": ("类型代码", "type code"), "type_name": ("类型", "type"),
    "name": ("名称", "name"), "address": ("地址", "address"), "status": ("状态", "status"),
    "amenities": ("设施", "amenities"), "phone": ("电话", "phone"), "managing_union": ("主管工会", "managing union"),
    "county_code": ("县代码", "county code"), "township_code": ("乡镇代码", "township code"),
    "is_demo": (DEMO.label_zh, DEMO.label_en),
    "region_is_approximate": ("所在乡镇边界为推算", "township boundary approximate"),
    "source": ("来源", "source"), "version": ("版本", "version"), "created_at": ("创建时间", "created"),
    "updated_at": ("更新时间", "updated"), "opening_hours": ("开放时间", "opening hours"),
    "opening_hours_text": ("开放时间（文字）", "opening hours in words"),
    "opening_hours_osm": ("开放时间（OSM 格式）", "opening hours, OSM style"),
    "code": ("代码", "code"), "level": ("层级", "level"), "parent_code": ("上级代码", "parent code"),
    "kind": ("类别", "kind"), "population": ("人口", "population"),
    "urban_population": ("城镇人口", "urban population"),
    "population_is_modelled": (MODELLED.label_zh, MODELLED.label_en),
    "boundary_is_approximate": (APPROXIMATE_FIELD.label_zh, APPROXIMATE_FIELD.label_en),
    "position_is_unknown": (f"乡镇{POSITION_UNKNOWN.label_zh}", f"township {POSITION_UNKNOWN.label_en}"),
}
# A coverage property is ``<type code>_<metric>`` (geo.services.coverage_features).
_METRICS = {"_covered_share": ("覆盖率", "covered share"), "_covered_population": ("覆盖人口", "covered people"),
            "_stations": ("站点数", "stations")}
# property → stored value → words shown
VALUES: dict[str, dict[str, str]] = {
    "status": {"open": "开放 open", "closed": "关闭 closed", "planned": "规划中 planned"},
    "kind": {"street": "街道 street", "town": "镇 town", "township": "乡 township", "other": "其他 other"},
    "level": {"county": "县 county", "township": "乡镇 township"},
}


def name(key: str) -> tuple[str, str]:
    """(Chinese, English) for a property; an unknown one keeps its own name in both."""
    if key in NAMES:
        return NAMES[key]
    for suffix, (zh, en) in _METRICS.items():
        if key.endswith(suffix):
            type_code = key[: -len(suffix)]
            return f"{type_code} {zh}", f"{type_code} {en}"
    return key, key


def value(key: str, raw: Any) -> str:
    """A property's value as words: yes/no, a status in Chinese, a share as a percentage."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "是 yes" if raw else "否 no"
    if isinstance(raw, dict | list):  # never a Python repr on a page: JSON, as a client reads it
        return json.dumps(raw, ensure_ascii=False)
    if key == "amenities" and isinstance(raw, str):  # one comma text in the data; a list a line can wrap
        return raw.replace(",", ", ")
    if isinstance(raw, str):
        return VALUES.get(key, {}).get(raw, raw)
    if key.endswith("_covered_share") and isinstance(raw, int | float):
        return f"{raw:.1%}"
    return str(raw)


def feature_notices(properties: Mapping[str, Any]) -> list[str]:
    """The notices that apply to one feature, by its own flags."""
    unknown = properties.get("position_is_unknown") is True
    approximate = approximate_notice(1 if unknown else 0, 1)  # one township: seated, or not
    flags = ((DEMO, "is_demo"), (approximate, "boundary_is_approximate"), (POSITION_UNKNOWN, "position_is_unknown"),
             (MODELLED, "population_is_modelled"))
    return [notice.text for notice, key in flags if properties.get(key) is True]
