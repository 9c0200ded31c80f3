"""A region is a folder of files plus ``region.yaml``; this module reads and checks them.

Nothing about a particular city lives in code: codes, names, file names, coordinate systems
and model parameters all come from the folder (``data/<region>/``).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from geo.core import crs
from geo.core.crs import CoordSystem
from geo.errors import InputError, InputErrors
from geo.reference.boundaries import as_multipolygons
from geo.reference.grid import GridParameters
from geo.settings import Settings

T = TypeVar("T")


class Strict(BaseModel):
    """A part of ``region.yaml``: a key it does not know is an error (a misspelt ``tmezone`` would
    otherwise be dropped silently and the default used)."""

    model_config = ConfigDict(extra="forbid")


class CountiesConfig(Strict):
    file: str
    crs: CoordSystem = "wgs84"
    code_field: str = "code"
    name_field: str = "name"
    source: str = ""


class TownshipsConfig(Strict):
    """The township-level units of a region: a list of them (``file``: code, county_code, name), or
    none (``units: county``), when the union has not given one.

    With ``units: county`` every county is one analysis unit of the township level (its official
    polygon, its census population; ``geo.reference.layers.county_units``), and every page that
    names townships says so (``geo.notices.COUNTY_UNITS``). The key is explicit rather than the
    absence of ``file``, so that a forgotten file name is still an error and not a silent switch.
    """

    units: Literal["township", "county"] = "township"
    file: str | None = None
    source: str = ""

    @model_validator(mode="after")
    def _file_or_county_units(self) -> TownshipsConfig:
        if self.units == "township" and not self.file:
            raise PydanticCustomError(
                "township_file", "乡级名单缺失：请写 file: 名单.csv，或无名单时写 units: county（以区县为分析单元）/ "
                "no township list: name it with `file:`, or write `units: county` to make each county one unit")
        if self.units == "county" and self.file:
            raise PydanticCustomError(
                "township_file", "units: county 表示没有乡级名单，不能同时写 file {file} / `units: county` means no "
                "township list: remove `file: {file}`, or remove `units: county` to use the list",
                {"file": self.file})
        return self


class SeatsConfig(Strict):
    files: list[str] = Field(default_factory=list)
    crs: CoordSystem = "wgs84"


class PopulationConfig(Strict):
    file: str
    code_field: str = "code"
    population_field: str = "population"
    urban_share_field: str = "urban_share"
    source: str = ""


class PlacesConfig(Strict):
    file: str
    crs: CoordSystem = "wgs84"


class DerivationConfig(Strict):
    street_ring_radius_m: float = 2000.0
    snap_distance_m: float = 3000.0


class PopulationModelConfig(Strict):
    urban_weights: dict[str, float] | None = None


def known_zone(value: str) -> str:
    """``value`` if it is an IANA time zone, else a validation error naming it.

    Checked when the file is read: a typo would otherwise surface as a 500 at the first request
    that asks what is open now, long after start-up.
    """
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:  # ValueError: "../x", an absolute path
        raise PydanticCustomError(
            "time_zone", "未知时区 {zone}，应为 IANA 时区名，如 Asia/Shanghai / unknown time zone {zone}: "
            "expected an IANA name such as Asia/Shanghai", {"zone": repr(value)}) from error
    return value


class RegionConfig(Strict):
    """Contents of ``region.yaml``."""

    code: str
    name_zh: str
    name_en: str
    timezone: str = "Asia/Shanghai"
    counties: CountiesConfig
    townships: TownshipsConfig
    seats: SeatsConfig = SeatsConfig()
    population: PopulationConfig
    derivation: DerivationConfig = DerivationConfig()
    population_model: PopulationModelConfig = PopulationModelConfig()
    places: PlacesConfig | None = None
    demand_grid: GridParameters = GridParameters()
    targets: str | None = None
    demo: str | None = None
    # What pages say about this city (never written in code): the union's name for titles, the
    # report the targets quote, where a map opens before any outline is loaded, and the point the
    # phone finder shows as an example (lon, lat, WGS-84).
    union_zh: str | None = None
    report_zh: str | None = None
    map_centre: tuple[float, float] | None = None
    example_point: tuple[float, float] | None = None
    folder: Path = Path(".")

    @property
    def county_units(self) -> bool:
        """Whether the region has no township list and its counties are the township-level units."""
        return self.townships.units == "county"

    @model_validator(mode="after")
    def _no_seats_without_townships(self) -> RegionConfig:
        if self.county_units and self.seats.files:
            raise PydanticCustomError(
                "seats_without_townships", "乡镇驻地需要乡级名单；units: county 时请删去 seats / township seats need a "
                "township list: with `townships: {units: county}` remove the seats key")
        return self

    @property
    def union_name(self) -> str:
        """The union's name for page and API titles: ``union_zh``, else ``<name_zh>总工会``."""
        return self.union_zh or f"{self.name_zh}总工会"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    def path(self, name: str) -> Path:
        """Path of a file of this region."""
        return self.folder / name


def cached_by_version(read: Callable[[Path], T]) -> Callable[[Path], T]:
    """Parse a data file once per version of it (its size and modification time).

    Amenities, service types, targets and region facts are wanted on many request paths; they
    change only when someone edits the file, so the parse is kept until then. Callers share the
    result and must not change it.
    """
    parsed: dict[Path, tuple[tuple[int, int], T]] = {}
    lock = threading.Lock()

    @functools.wraps(read)
    def cached(path: Path) -> T:
        try:
            stat = path.stat()
        except OSError:
            return read(path)  # the reader names the file in its error
        version = (stat.st_mtime_ns, stat.st_size)
        with lock:
            hit = parsed.get(path)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = read(path)
        with lock:
            parsed[path] = (version, value)
        return value

    return cached


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, naming the file in the error."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InputError("file not found", file=str(path)) from error
    except yaml.YAMLError as error:
        raise InputError(f"not valid YAML: {error}", file=str(path)) from error


class RegionProblems(InputErrors):
    """Everything wrong with a region's configuration, found at once (not just the first)."""

    def __init__(self, errors: list[InputError], *, file: str) -> None:
        super().__init__(errors, file=file)
        shown = "; ".join(str(error) for error in errors)
        Exception.__init__(self, f"{len(errors)} 处问题 / problem(s): {shown}" if len(errors) > 1 else shown)


# Keys of region.yaml that hold a file name (or a list of them): checked to exist when it is read.
FILE_KEYS = ("counties.file", "townships.file", "seats.files", "population.file", "places.file", "targets", "demo")
INTERNAL_KEYS = ("folder",)  # set by load_config, never written in region.yaml


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The config model that a pydantic error location points into (None: inside a list or dict)."""
    model: type[BaseModel] = RegionConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        model = nested
    return model


def _explain(error: Any) -> str:
    """One pydantic error as a sentence that says what to write."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = [name for name in (model.model_fields if model else ()) if name not in INTERNAL_KEYS]
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"；是否应为 / did you mean {guess[0]!r}?" if guess else ""
        return (f"未知键 / unknown key {loc[-1]!r}{hint}; 允许的键 / allowed keys here: {', '.join(allowed)}")
    if error["type"] == "missing":
        return f"缺少必填键 / required key {loc[-1]!r} is missing"
    return str(error["msg"])


def _config_errors(error: ValidationError, file: str) -> list[InputError]:
    return [InputError(_explain(e), file=file, field=".".join(map(str, e["loc"])) or None) for e in error.errors()]


def named_files(config: RegionConfig) -> list[tuple[str, str]]:
    """(key, file name) of every file ``region.yaml`` names, in the order of ``FILE_KEYS``."""
    named: list[tuple[str, str]] = [("counties.file", config.counties.file)]
    if config.townships.file:
        named.append(("townships.file", config.townships.file))
    named += [(f"seats.files[{number}]", name) for number, name in enumerate(config.seats.files)]
    named.append(("population.file", config.population.file))
    if config.places is not None:
        named.append(("places.file", config.places.file))
    named += [(key, name) for key, name in (("targets", config.targets), ("demo", config.demo)) if name]
    return named


def missing_files(config: RegionConfig) -> list[InputError]:
    """One error per named file that is not there, naming its path and the key that names it."""
    return [InputError(f"{key} 指向的文件不存在 / the file named by {key} does not exist",
                       file=str(config.path(name)), field=key)
            for key, name in named_files(config) if not config.path(name).is_file()]


def config_hash(config: RegionConfig) -> str:
    """SHA-256 of ``region.yaml`` and every file it names (name and bytes, in ``FILE_KEYS`` order):
    stored with a loaded region, so that a changed folder can be told from the one loaded."""
    digest = hashlib.sha256()
    for key, name in [("region.yaml", "region.yaml"), *named_files(config)]:
        path = config.path(name)
        digest.update(f"{key}\0{name}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"\0missing\0")
    return digest.hexdigest()


def county_prefix(region_code: str) -> str | None:
    """The prefix every county code of a region must share: a six-digit division code without its
    trailing ``00`` pairs (360400 → 3604, 110000 → 11); None for a code of another shape."""
    if len(region_code) != 6 or not region_code.isdigit():
        return None
    prefix = region_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def foreign_counties(config: RegionConfig, codes: pd.Series) -> list[str]:
    """County codes that do not lie under the region's code (3605xx in a region 360400)."""
    prefix = county_prefix(config.code)
    return [] if prefix is None else [str(code) for code in codes if not str(code).startswith(prefix)]


def region_folder(settings: Settings, name: str) -> Path:
    """The folder of the region called ``name`` (``Settings.region_path``: data/ first, then
    ``.state/regions``)."""
    return settings.region_path(name)


def parse_config(folder: Path) -> RegionConfig:
    """``region.yaml`` of a region folder, every key checked; the files it names are not looked at."""
    return _read_config(folder / "region.yaml").model_copy(update={"folder": folder})


def load_config(folder: Path) -> RegionConfig:
    """Read and check ``region.yaml`` of a region folder: every key known, every named file there."""
    config = parse_config(folder)
    missing = missing_files(config)
    if missing:
        raise missing[0] if len(missing) == 1 else RegionProblems(missing, file=str(folder / "region.yaml"))
    return config


@cached_by_version
def _read_config(path: Path) -> RegionConfig:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("region.yaml 应为键值映射 / must be a mapping of keys (code: …, name_zh: …)", file=str(path))
    internal = [InputError(f"未知键 / unknown key {key!r}: set by the software, not written here", file=str(path),
                           field=key) for key in INTERNAL_KEYS if key in data]
    try:
        config = RegionConfig.model_validate(data)
    except ValidationError as error:
        problems = internal + _config_errors(error, str(path))
        raise (problems[0] if len(problems) == 1 else RegionProblems(problems, file=str(path))) from error
    if internal:
        raise internal[0]
    return config


def read_csv(path: Path, columns: list[str], *, text: str | None = None) -> pd.DataFrame:
    """Read a CSV as text, checking that the named columns exist.

    ``text``: the file's content, already decoded (an upload); ``path`` then only names it.
    """
    try:
        frame = pd.read_csv(path if text is None else io.StringIO(text), dtype=str, keep_default_na=False)
    except FileNotFoundError as error:
        raise InputError("file not found", file=str(path)) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"无法读取的 CSV / not a readable CSV: {error}", file=str(path)) from error
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=str(path), field=missing[0])
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # CSV line numbers, header = 1
    return frame


def first_row(mask: pd.Series) -> int:
    """The index label of the first True in ``mask``: a row number, as the frames here are indexed."""
    return int(cast(int, mask.idxmax()))


def require_filled(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Fail on the first empty cell of the given columns (index = row number)."""
    for column in columns:
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():
            raise InputError("empty value", file=str(path), row=first_row(empty), field=column)


def require_unique(frame: pd.DataFrame, column: str, path: Path) -> None:
    """Fail on the first repeated value of ``column`` (index = row number)."""
    duplicated = frame[column].duplicated()
    if duplicated.any():
        row = first_row(duplicated)
        raise InputError(f"duplicate code {frame.at[row, column]!s}", file=str(path), row=row, field=column)


def parse_numbers(frame: pd.DataFrame, column: str, path: Path, *, required: bool,
                  low: float | None = None, high: float | None = None) -> pd.Series:
    """Parse a text column as floats; report the first bad row by its line number."""
    text = frame[column].str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & ((text != "") | required)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if bad.any():
        row = first_row(bad)
        expected = "a number" + (f" in [{low}, {high}]" if low is not None or high is not None else "")
        raise InputError(f"{frame.at[row, column]!r} is not {expected}", file=str(path), row=row, field=column)
    return values


def read_polygons(path: Path, *, code_field: str, name_field: str, source_crs: CoordSystem) -> gpd.GeoDataFrame:
    """Read a polygon layer (GeoJSON, GeoPackage, Shapefile …) into WGS-84 MultiPolygons.

    Every feature must have a code, a name and a valid (Multi)Polygon; the error names the
    feature (1-based) and field otherwise.
    """
    try:
        frame = gpd.read_file(path)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise InputError(f"cannot read: {error}", file=str(path)) from error
    missing = [name for name in (code_field, name_field) if name not in frame.columns]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", file=str(path), field=missing[0])
    frame = frame.rename(columns={code_field: "code", name_field: "name"})[["code", "name", "geometry"]]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame["code"] = frame["code"].astype(str).str.strip()
    require_filled(frame, ["code", "name"], path)
    require_unique(frame, "code", path)
    geoms = frame.geometry.values
    types = shapely.get_type_id(geoms)
    not_polygon = pd.Series(~np.isin(types, [3, 6]) | shapely.is_empty(geoms), index=frame.index)
    if not_polygon.any():
        row = first_row(not_polygon)
        raise InputError("geometry is missing or not a polygon", file=str(path), row=row, field="geometry")
    invalid = pd.Series(~shapely.is_valid(geoms), index=frame.index)
    if invalid.any():
        row = first_row(invalid)
        reason = shapely.is_valid_reason(geoms[row - 1])
        raise InputError(f"invalid geometry: {reason}", file=str(path), row=row, field="geometry")
    if frame.crs is not None and not frame.crs.equals("EPSG:4326") and source_crs == "wgs84":
        frame = frame.to_crs(4326)
    frame = frame.set_crs(4326, allow_override=True)
    frame = crs.convert_gdf(frame, source=source_crs, target="wgs84")
    frame["geometry"] = as_multipolygons(frame.geometry.values)
    return frame

