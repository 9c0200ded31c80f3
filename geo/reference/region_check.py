"""``unionmap region check``: every file of a region folder read and cross-checked, no database.

Loading stops at the first problem (nothing half-loaded); a person fixing a new city's folder
wants the whole list at once. This runs the same readers step by step, keeps going after a
failed step where the next does not depend on it, and lists every row whose code does not match
(county codes of the counties file, the townships' ``county_code``, the population codes, the
seats' township codes, the region code's prefix). Within one reader's own checks (an empty cell,
a bad number) only its first problem is reported, as loading would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd

from geo.errors import InputError, InputErrors, UnionmapError
from geo.reference import demo, layers, service_types, targets
from geo.reference.region import (
    RegionConfig,
    county_prefix,
    foreign_counties,
    missing_files,
    parse_config,
    parse_numbers,
    read_csv,
    read_polygons,
    require_filled,
    require_unique,
)

T = TypeVar("T")


@dataclass
class RegionCheck:
    """What was read (label → count) and every problem found."""

    folder: Path
    config: RegionConfig | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[InputError] = field(default_factory=list)

    def attempt(self, step: Callable[[], T]) -> T | None:
        """Run one reading step; its problems are kept and None returned instead of raising."""
        try:
            return step()
        except InputErrors as error:
            self.problems.extend(error.errors)
        except InputError as error:
            self.problems.append(error)
        except UnionmapError as error:
            self.problems.append(InputError(str(error)))
        return None

    def unmatched(self, frame: pd.DataFrame, column: str, known: set[str], path: Path, what: tuple[str, str]) -> None:
        """One problem per row whose ``column`` is not among ``known`` (``what``: its kind, Chinese and English)."""
        for row, code in frame.loc[~frame[column].str.strip().isin(known), column].items():
            self.problems.append(InputError(f"未知{what[0]}代码 / unknown {what[1]} code {code!s}", file=str(path),
                                            row=int(str(row)), field=column))


def check_region(folder: Path, data_dir: Path) -> RegionCheck:
    """Read every file of ``folder`` (a region folder) and report all that is wrong with it."""
    check = RegionCheck(folder)
    if not (folder / "region.yaml").is_file():
        check.problems.append(InputError("地区文件夹中没有 region.yaml / no region.yaml in the region folder",
                                         file=str(folder / "region.yaml")))
        return check
    config = check.config = check.attempt(lambda: parse_config(folder))
    if config is None:
        return check
    missing = missing_files(config)
    check.problems.extend(missing)
    absent = {error.file for error in missing}

    def present(name: str) -> bool:
        return str(config.path(name)) not in absent

    county_codes = _counties(check, config) if present(config.counties.file) else None
    if present(config.population.file):
        _population(check, config, county_codes)
    township_file = config.townships.file  # none: the counties are the units (townships: {units: county})
    township_codes = _townships(check, config, county_codes) if township_file and present(township_file) else None
    for name in config.seats.files:
        if present(name):
            _seats(check, config, name, township_codes)
    if config.places is not None and present(config.places.file):
        places = check.attempt(lambda: layers.read_places(config))
        if places is not None:
            check.counts["places 居民点"] = len(places)
            if county_codes is not None:  # the counties read: is this the region's settlements file?
                check.attempt(lambda: _places_inside(config, places))
    _targets_and_demo(check, config, data_dir, present)
    if not check.problems:  # the derivation itself, as load reference runs it
        reference = check.attempt(lambda: layers.read_reference(config))
        if reference is not None:
            label = ("county units 以区县为分析单元" if config.county_units
                     else "townships derived 派生乡级多边形")
            check.counts[label] = len(reference.townships)
    return check


def _counties(check: RegionCheck, config: RegionConfig) -> set[str] | None:
    source = config.counties
    path = config.path(source.file)
    counties = check.attempt(lambda: read_polygons(path, code_field=source.code_field, name_field=source.name_field,
                                                   source_crs=source.crs))
    if counties is None:
        return None
    check.counts["counties 县级"] = len(counties)
    for code in foreign_counties(config, counties["code"]):
        check.problems.append(InputError(
            f"县级代码 {code} 不属于地区代码 {config.code}（应以 {county_prefix(config.code)} 开头）/ "
            f"county code {code} is not under the region's code {config.code}",
            file=str(path), field=source.code_field))
    return set(counties["code"])


def _population(check: RegionCheck, config: RegionConfig, county_codes: set[str] | None) -> None:
    spec = config.population
    path = config.path(spec.file)
    census = check.attempt(lambda: read_csv(path, [spec.code_field, spec.population_field, spec.urban_share_field]))
    if census is None:
        return
    check.counts["population rows 人口行"] = len(census)
    check.attempt(lambda: parse_numbers(census, spec.population_field, path, required=True, low=0))
    check.attempt(lambda: parse_numbers(census, spec.urban_share_field, path, required=True, low=0, high=1))
    if county_codes is None:
        return
    check.unmatched(census, spec.code_field, county_codes, path, ("县级", "county"))
    for code in sorted(county_codes - set(census[spec.code_field].str.strip())):
        check.problems.append(InputError(f"县 {code} 没有人口 / no population for county {code}", file=str(path),
                                         field=spec.code_field))


def _townships(check: RegionCheck, config: RegionConfig, county_codes: set[str] | None) -> set[str] | None:
    path = config.path(config.townships.file or "")
    townships = check.attempt(lambda: read_csv(path, ["code", "county_code", "name"]))
    if townships is None:
        return None
    check.counts["townships 乡级"] = len(townships)
    check.attempt(lambda: require_filled(townships, ["code", "county_code", "name"], path))
    check.attempt(lambda: require_unique(townships, "code", path))
    if county_codes is not None:
        check.unmatched(townships, "county_code", county_codes, path, ("县级", "county"))
    return set(townships["code"].str.strip())


def _seats(check: RegionCheck, config: RegionConfig, name: str, township_codes: set[str] | None) -> None:
    path = config.path(name)
    seats = check.attempt(lambda: read_csv(path, ["code", "lon", "lat"]))
    if seats is None:
        return
    check.counts[f"seats 驻地 ({name})"] = len(seats)
    check.attempt(lambda: parse_numbers(seats, "lon", path, required=False, low=-180, high=180))
    check.attempt(lambda: parse_numbers(seats, "lat", path, required=False, low=-90, high=90))
    if township_codes is not None:
        check.unmatched(seats, "code", township_codes, path, ("乡级", "township"))


def _places_inside(config: RegionConfig, places: pd.DataFrame) -> None:
    """Whether most settlements lie in the region (``layers.check_places_inside``), once the counties
    and their population read cleanly; their own problems are listed by the checks above."""
    try:
        counties = layers.read_counties(config)
    except InputError:
        return
    layers.check_places_inside(places, counties, config)


def _targets_and_demo(check: RegionCheck, config: RegionConfig, data_dir: Path,
                      present: Callable[[str], bool]) -> None:
    types_file = config.folder / "service_types.yaml"
    types = check.attempt(lambda: service_types.read_service_types(
        types_file if types_file.is_file() else data_dir / "service_types.yaml"))
    if types is not None:
        check.counts["service types 服务类型"] = len(types)
    if config.targets and present(config.targets):
        path = config.path(config.targets)
        specs = check.attempt(lambda: targets.read_region_targets(path, config.code))
        if specs is not None:
            check.counts["targets 目标"] = len(specs)
            check.attempt(lambda: layers.refuse_township_targets(config, specs))
            known = {spec.code for spec in types or []}
            for number, spec in enumerate(specs, start=1):
                if types is not None and spec.type not in known:
                    check.problems.append(InputError(f"unknown service type {spec.type!r}", file=str(path),
                                                     row=number, field="type"))
    if config.demo and present(config.demo):
        demo_spec = check.attempt(lambda: demo.read_demo_spec(config.path(config.demo or "")))
        if demo_spec is not None:
            check.counts["demo station kinds 演示类型"] = len(demo_spec.stations)
