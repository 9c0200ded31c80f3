"""Tables as files planners open in Excel: CSV with a BOM, or .xlsx with a frozen header."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Column headers, Chinese first, for every table the CLI and API export.
HEADERS: dict[str, str] = {
    "type_code": "类型代码 type", "type_name": "类型 type name", "region_code": "区划代码 code",
    "region_name": "名称 name", "stations": "站点数 stations", "population": "人口 population",
    "covered_population": "覆盖人口 covered", "uncovered_population": "未覆盖人口 uncovered",
    "covered_share": "覆盖率 share", "population_is_modelled": "人口为模型估算 modelled",
    "target_code": "目标代码 target", "scope": "范围 scope", "kind": "类别 kind", "required": "要求 required",
    "built": "已建 built", "shortfall": "缺口 shortfall", "met": "达标 met", "deadline": "期限 deadline",
    "overdue": "逾期 overdue", "source_quote": "报告原文 source", "note": "说明 note",
    "units": "单位数 units", "units_met": "达标单位 met", "order": "顺序 order", "name": "名称 name",
    "lon": "经度 lon (WGS-84)", "lat": "纬度 lat (WGS-84)", "county_code": "县级代码 county",
    "township_code": "乡级代码 township", "added": "新增覆盖 added", "cumulative": "累计覆盖 cumulative",
    "share": "累计覆盖率 share",
}
PERCENT_COLUMNS = {"covered_share", "share"}


def write_table(frame: pd.DataFrame, path: Path, *, sheet: str = "unionmap", notice: str | None = None) -> Path:
    """Write ``frame`` as .csv or .xlsx (by the suffix) with Chinese-first headers.

    ``notice`` (e.g. that population is modelled) goes in a second sheet of the workbook, or
    as a comment line at the end of the CSV.
    """
    path = Path(path)
    headed = frame.rename(columns=HEADERS)
    if path.suffix.lower() == ".csv":
        headed.to_csv(path, index=False, encoding="utf-8-sig")  # the BOM tells Excel it is UTF-8
        if notice:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"# {notice}\n")
        return path
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"unknown table format {path.suffix!r}: use .csv or .xlsx")
    workbook = Workbook()
    sheet_ = workbook.active
    sheet_.title = sheet
    sheet_.append(list(headed.columns))
    for row in headed.itertuples(index=False):
        sheet_.append([None if pd.isna(value) else value for value in row])
    for cell in sheet_[1]:
        cell.font = Font(bold=True)
    sheet_.freeze_panes = "A2"
    sheet_.auto_filter.ref = sheet_.dimensions
    for index, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(index)
        width = max(len(str(headed.columns[index - 1])), *(len(str(v)) for v in frame[column].head(200)))
        sheet_.column_dimensions[letter].width = min(max(10, width * 1.2), 60)
        if column in PERCENT_COLUMNS:
            for cell in sheet_[letter][1:]:
                cell.number_format = "0.0%"
    if notice:
        workbook.create_sheet("说明 notes").append([notice])
    workbook.save(path)
    return path
