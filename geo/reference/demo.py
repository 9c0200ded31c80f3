"""Synthetic (demo) station registry, reproducible from a seed.

No public registry of these places exists. The demo registry lets every feature be tried:
counts per type come from the region's ``demo.yaml`` (the report's figures where it gives
them), places are drawn where people live (townships weighted by modelled population, urban
population counted ``urban_boost`` times), each point scattered around the township seat and
kept inside the township. Every row is flagged ``is_demo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, Field, ValidationError
from pyproj import CRS

from geo.core import hours
from geo.core.frames import row_dicts
from geo.errors import InputError
from geo.reference.region import cached_by_version, read_yaml

DEMO_PHONE = "12351"  # the national trade-union hotline: never a made-up private number

# Opening hours (OSM-style strings, see geo.hours.parse_simple) and their weights per type.
HOURS_CHOICES: dict[str, list[tuple[str, float]]] = {
    "love_station": [("24h", 0.3), ("Mo-Su 08:00-20:00", 0.4), ("Mo-Fr 09:00-17:30", 0.2),
                     ("Mo-Su 06:00-22:00", 0.1)],
    "worker_library": [("Mo-Fr 09:00-17:00", 0.5), ("Tu-Su 09:00-21:00", 0.3),
                       ("Mo-Fr 08:30-17:30; Sa 09:00-12:00", 0.2)],
    "legal_service": [("Mo-Fr 08:30-17:30", 0.7), ("Mo-Fr 09:00-17:00", 0.3)],
    "cultural_palace": [("Tu-Su 09:00-21:00", 1.0)],
    "workers_home": [("Mo-Fr 08:30-17:30", 0.6), ("Mo-Su 09:00-18:00", 0.4)],
}
DEFAULT_HOURS = [("Mo-Fr 09:00-17:00", 1.0)]
# Amenities always present, and those present with the given probability.
AMENITY_CHOICES: dict[str, tuple[list[str], dict[str, float]]] = {
    "love_station": (["water", "rest"], {"shelter": 0.8, "charging": 0.7, "microwave": 0.6,
                                         "toilet": 0.5, "first_aid": 0.6, "air_conditioning": 0.5,
                                         "fridge": 0.3, "wifi": 0.4}),
    "worker_library": (["books"], {"wifi": 0.6, "water": 0.7, "air_conditioning": 0.6}),
    "legal_service": (["water"], {"rest": 0.8, "wifi": 0.5}),
    "cultural_palace": (["water", "toilet", "rest"], {"books": 0.8, "wifi": 0.8, "air_conditioning": 0.9}),
    "workers_home": (["water", "rest"], {"books": 0.6, "toilet": 0.7, "first_aid": 0.5}),
}


class DemoTypeSpec(BaseModel):
    count: int = Field(ge=0, le=100_000)
    placement: Literal["population", "per_county", "per_township"] = "population"
    basis: str = ""


class DemoSpec(BaseModel):
    """Contents of a region's ``demo.yaml``."""

    stations: dict[str, DemoTypeSpec]
    urban_boost: float = Field(default=3.0, ge=0)
    closed_share: float = Field(default=0.0, ge=0, le=1)


@cached_by_version
def read_demo_spec(path: Path) -> DemoSpec:
    """Parse and check ``demo.yaml``."""
    try:
        return DemoSpec.model_validate(read_yaml(path))
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(first["msg"], file=str(path), field=".".join(map(str, first["loc"]))) from error


@dataclass(frozen=True)
class TypeNames:
    """What the generator needs to know of a service type."""

    code: str
    name_zh: str


def generate(townships: gpd.GeoDataFrame, counties: pd.DataFrame, spec: DemoSpec,
             types: list[TypeNames], *, metric_crs: CRS, seed: int) -> gpd.GeoDataFrame:
    """Draw the demo stations; same inputs and seed give the same stations.

    Args:
        townships: code, county_code, name, population, urban_population, seat, geometry
            (EPSG:4326).
        counties: code, name.
        spec: counts and placement rules per type.
        types: the service types known to the database (unknown types in ``spec`` are an error).
        metric_crs: projected CRS in which the scatter is drawn (metres).
        seed: seed of the random generator.
    """
    names = {t.code: t.name_zh for t in types}
    for code in spec.stations:
        if code not in names:
            raise InputError(f"unknown service type {code!r}", file="demo.yaml", field=f"stations.{code}")
    rng = np.random.default_rng(seed)
    metric = townships.to_crs(metric_crs).reset_index(drop=True)
    seats = gpd.GeoSeries(townships["seat"].where(townships["seat"].notna(),
                                                  townships.geometry.representative_point()),
                          crs=townships.crs).to_crs(metric_crs).reset_index(drop=True)
    weight = ((metric["population"] - metric["urban_population"])
              + spec.urban_boost * metric["urban_population"]).to_numpy(dtype=float)
    frames = []
    for code, type_spec in spec.stations.items():
        chosen = _choose_townships(rng, metric, weight, type_spec)
        if len(chosen) == 0:
            continue
        area_m2 = metric.geometry.area.to_numpy()[chosen]
        tight = type_spec.placement != "population"
        sigma_m = np.clip(0.25 * np.sqrt(area_m2), 300, 4000) * (0.2 if tight else 1.0)
        # np.asarray: the GeometryArrays' own object arrays, no copy
        points = _scatter_inside(rng, np.asarray(metric.geometry.values[chosen]), np.asarray(seats.values[chosen]),
                                 sigma_m)
        frames.append(_describe(rng, code, names[code], metric.iloc[chosen], counties, points, spec, seed))
    if not frames:  # every count 0 (a city too small for one station, e.g. 三沙 at 186 000 nationally)
        return gpd.GeoDataFrame({"type_code": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=4326))
    stations = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(stations, geometry="geometry", crs=metric_crs).to_crs(4326)


def _choose_townships(rng: np.random.Generator, townships: pd.DataFrame, weight: np.ndarray,
                      type_spec: DemoTypeSpec) -> np.ndarray:
    """Indices of the townships that get a station (repeats allowed for 'population')."""
    probability = weight / weight.sum()
    if type_spec.placement == "population":
        return rng.choice(len(townships), size=type_spec.count, p=probability)
    if type_spec.placement == "per_township":
        count = min(type_spec.count, len(townships))
        return np.sort(rng.choice(len(townships), size=count, replace=False, p=probability))
    # per_county: the most urban township of each chosen county stands for its county town.
    centres = townships.assign(w=weight).sort_values(["urban_population", "code"], ascending=[False, True])
    centres = centres.drop_duplicates("county_code").sort_values("county_code")
    county_weight = centres["population"].to_numpy(dtype=float)
    count = min(type_spec.count, len(centres))
    picked = rng.choice(len(centres), size=count, replace=False, p=county_weight / county_weight.sum())
    return np.sort(centres.index.to_numpy()[picked])


def _scatter_inside(rng: np.random.Generator, polygons: np.ndarray, centres: np.ndarray,
                    sigma_m: np.ndarray, *, rounds: int = 30) -> np.ndarray:
    """Gaussian scatter around each centre, redrawn until inside its polygon (metres)."""
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    x, y = cx.copy(), cy.copy()
    pending = np.ones(len(polygons), dtype=bool)
    for _ in range(rounds):
        if not pending.any():
            break
        index = np.flatnonzero(pending)
        tx = cx[index] + rng.normal(0, sigma_m[index])
        ty = cy[index] + rng.normal(0, sigma_m[index])
        inside = shapely.contains_xy(polygons[index], tx, ty)
        x[index[inside]], y[index[inside]] = tx[inside], ty[inside]
        pending[index[inside]] = False
    if pending.any():  # give up scattering: a point surely inside
        fallback = shapely.point_on_surface(polygons[pending])
        x[pending], y[pending] = shapely.get_x(fallback), shapely.get_y(fallback)
    return cast(np.ndarray, shapely.points(x, y))  # arrays of coordinates: an array of points


def _describe(rng: np.random.Generator, code: str, type_name: str, townships: pd.DataFrame,
              counties: pd.DataFrame, points: np.ndarray, spec: DemoSpec, seed: int) -> pd.DataFrame:
    """Names, addresses, hours, amenities and status of one type's demo stations."""
    county_names = counties.set_index("code")["name"]
    county = townships["county_code"].map(county_names).fillna("").to_numpy()
    township = townships["name"].to_numpy()
    number = pd.Series(township).groupby(township).cumcount().to_numpy() + 1
    suffix = np.where(number > 1, [f"（{n}号）" for n in number], "")
    choices = HOURS_CHOICES.get(code, DEFAULT_HOURS)
    hours_text = rng.choice([text for text, _ in choices], size=len(points),
                            p=np.array([w for _, w in choices]) / sum(w for _, w in choices))
    always, optional = AMENITY_CHOICES.get(code, ([], {}))
    draws = {name: rng.random(len(points)) < p for name, p in optional.items()}
    amenities = [always + [name for name, drawn in draws.items() if drawn[i]] for i in range(len(points))]
    status = np.where(rng.random(len(points)) < spec.closed_share, "closed", "open")
    parsed = {text: hours.to_json(hours.parse_simple(text)) for text, _ in choices}
    return pd.DataFrame({
        "type_code": code,
        "name": [f"{t}{type_name}{s}（演示）" for t, s in zip(township, suffix, strict=True)],
        "address": [f"{c}{t}（演示地址，非真实）" for c, t in zip(county, township, strict=True)],
        "status": status,
        "opening_hours": [parsed[text] for text in hours_text],
        "amenities": amenities,
        "phone": DEMO_PHONE,
        "managing_union": [f"{c}总工会" for c in county],
        "is_demo": True,
        "source": f"demo: generated by unionmap load demo --seed {seed}",
        "geometry": points,
    })


def demo_rows(stations: gpd.GeoDataFrame) -> list[dict[str, object]]:
    """The generated stations as rows for the station table (position as WGS-84 EWKT)."""
    rows = row_dicts(stations.drop(columns="geometry"))
    for row, point in zip(rows, stations.geometry, strict=True):
        row["geom"] = f"SRID=4326;{point.wkt}"
    return rows


@dataclass(frozen=True)
class DemoBasis:
    """The figures a demo registry is scaled by: a region's name, people, counties and townships
    (``townships`` None: no township list, its counties are the units)."""

    name_zh: str
    population: int
    counties: int
    townships: int | None


def scaled_spec(seed: DemoSpec, seed_basis: DemoBasis, city: DemoBasis) -> DemoSpec:
    """A ``demo.yaml`` for ``city`` scaled from the seed region's (the default region's, whose counts
    follow its union's report): no city's counts are invented from nothing, and the rule is one line.

    - ``population`` types: the seed's count × the cities' population ratio;
    - ``per_county`` types: the seed's count × the ratio of county counts, at most one per county;
    - ``per_township`` types: × the ratio of township counts, at most one per township; a city with no
      township list draws them by population instead (× the population ratio), since its units are
      whole counties and one per "township" would be one per county.

    Every type keeps at least one station (rounded to the nearest, never below 1), so each one can
    be tried; ``urban_boost`` and ``closed_share`` are the seed's. Each ``basis`` says how the count
    was reached. The stations drawn are demo rows like any other (``is_demo``).
    """
    people = city.population / seed_basis.population
    stations = {}
    for code, spec in seed.stations.items():
        placement, ratio, rule = spec.placement, people, f"人口比 population ratio {people:.3f}"
        if placement == "per_county":
            ratio = city.counties / seed_basis.counties
            rule = f"区县数比 county ratio {city.counties}/{seed_basis.counties}"
        elif placement == "per_township" and city.townships is not None and seed_basis.townships:
            ratio = city.townships / seed_basis.townships
            rule = f"乡镇数比 township ratio {city.townships}/{seed_basis.townships}"
        elif placement == "per_township":
            placement = "population"
            rule += "（无乡镇名单，按人口抽取 / no township list: drawn by population）"
        count = max(1, round(spec.count * ratio)) if spec.count > 0 else 0
        if placement == "per_county":
            count = min(count, city.counties)
        elif placement == "per_township" and city.townships is not None:
            count = min(count, city.townships)
        stations[code] = DemoTypeSpec(count=count, placement=placement, basis=(
            f"演示：{seed_basis.name_zh} {spec.count} × {rule} / demo, scaled from {seed_basis.name_zh}'s "
            f"{spec.count}"))
    return DemoSpec(stations=stations, urban_boost=seed.urban_boost, closed_share=seed.closed_share)
