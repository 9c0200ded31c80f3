"""The data each map shows, gathered in one place for the API and the CLI (no drawing here).

Maps never query the database: these functions do, and hand frames over (WGS-84).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from geo.analysis import engine, planning, whatif
from geo.analysis.coverage import CoverageModel
from geo.analysis.gaps import plan_question
from geo.errors import NotFound
from geo.notices import COUNTY_UNITS, NO_PLACES, certificate, marked_name, no_targets
from geo.reference import DEFAULT_TYPE
from geo.reference.layers import metric_crs_of, read_places
from geo.reference.region import RegionConfig
from geo.services import gaps
from geo.services.coverage_query import ModelCache, counted_stations, coverage_report, type_radii
from geo.store import catalogue, regions, service_types

# Uncovered people are drawn on coarser hexagons than the demand grid: 210 000 res-9 cells would
# make a page of tens of megabytes; res 6 (≈36 km²) keeps it to some hundreds of shapes.
DISPLAY_RESOLUTION = 6
SEAT_MATCH_M = 300.0  # a place this near a township's seat is that seat (Jiujiang: 0 m; the next is 2 km off)


@dataclass(frozen=True)
class MapData:
    """Everything a map builder may draw; unused parts stay empty."""

    kind: str
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    types: list[dict[str, Any]]
    population_is_modelled: bool
    type_code: str | None = None
    hexagons: gpd.GeoDataFrame | None = None
    gap_rows: pd.DataFrame | None = None
    target_summary: pd.DataFrame | None = None
    proposals: pd.DataFrame | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    # Named settlements inside the counties (a name each; WGS-84 points), for the
    # maps' labels; None: no places file, or not asked for (then the maps label only regions).
    places: gpd.GeoDataFrame | None = None
    # Notices about the region as a whole (no settlements file, no targets), whole sentences
    notes: tuple[str, ...] = ()


def _base(session: Session, kind: str, cache: ModelCache, type_code: str | None = None,
          include_planned: bool = False) -> MapData:
    counties = regions.regions_frame(session, "county")
    townships = regions.regions_frame(session, "township")
    stations = catalogue.stations_frame(session, catalogue.StationFilter(type_code=type_code))
    if not include_planned:
        stations = stations[stations["status"] != "planned"]
    types = [{"code": t.code, "name_zh": t.name_zh, "color": t.color, "radius_urban_m": t.radius_urban_m,
              "radius_rural_m": t.radius_rural_m} for t in service_types.service_types(session)]
    _, info = cache.get(session)
    return MapData(kind, counties, townships, stations.reset_index(drop=True), types, info.population_is_modelled,
                   type_code)


def with_places(data: MapData, config: RegionConfig) -> MapData:
    """``data`` with the region's named places that lie in its counties, for labels; less those at
    a township's seat (within ``SEAT_MATCH_M``): that settlement is the township's, whose label
    already names it (in Jiujiang 168 of the 212 places are seats, as the seats were matched from
    the same GeoNames file, and would repeat each township's name beside it in pinyin).

    The places file is reference data like the boundaries, but it never enters the database
    (only the demand grid built from it does), so it is read here, from the region folder.
    """
    places = read_places(config)
    places = places[places["name"] != ""]
    points = gpd.GeoDataFrame({"name": places["name"].to_numpy()}, crs=4326,
                              geometry=gpd.points_from_xy(places["lon"], places["lat"]))
    if data.counties.empty or points.empty:
        return MapData(**{**data.__dict__, "places": points.iloc[:0]})
    inside = points.iloc[np.unique(points.sindex.query(data.counties.geometry, predicate="contains")[1])]
    if "seat" in data.townships.columns:
        metric = metric_crs_of(data.counties)
        seats = gpd.GeoSeries(data.townships["seat"].dropna().to_numpy(), crs=4326).to_crs(metric)
        at_seat = inside.to_crs(metric).sindex.query(seats[~seats.is_empty], predicate="dwithin",
                                                     distance=SEAT_MATCH_M)[1]
        inside = inside.drop(inside.index[np.unique(at_seat)])
    return MapData(**{**data.__dict__, "places": inside.reset_index(drop=True)})


def with_region_notes(data: MapData, config: RegionConfig) -> MapData:
    """``data`` with the notices about what its region lacks: a township list (its counties are then
    the units every map calls townships), a settlements file (when the population is modelled, it
    was then placed without villages) and, on the gaps map, targets."""
    notes = [COUNTY_UNITS.text] if config.county_units else []
    notes += [NO_PLACES.text] if config.places is None and data.population_is_modelled else []
    figures = dict(data.figures)
    if data.kind == "gaps" and (data.target_summary is None or data.target_summary.empty):
        figures["no_targets"] = no_targets(config.name_zh)
        notes.append(figures["no_targets"])
    return MapData(**{**data.__dict__, "notes": (*data.notes, *notes), "figures": figures})


def stations_data(session: Session, cache: ModelCache) -> MapData:
    """All stations by type."""
    return _base(session, "stations", cache)


def coverage_data(session: Session, cache: ModelCache, type_code: str) -> MapData:
    """Townships with their covered share of one type, its stations, and uncovered people on hexagons."""
    base = _base(session, "coverage", cache, type_code)
    model, info = cache.get(session)
    table = coverage_report(session, model, info, level="township", type_code=type_code)
    townships = base.townships.merge(
        table[["region_code", "stations", "covered_population", "covered_share", "uncovered_population"]],
        left_on="code", right_on="region_code", how="left").fillna({"covered_share": 0.0})
    kind = type_radii(session, type_code)[0]
    covered = model.covered_by_type(counted_stations(session), kind)
    hexagons = uncovered_hexagons(model, {"uncovered": np.where(covered, 0.0, model.grid.population)})
    hexagons = hexagons[hexagons["uncovered"] >= 1].reset_index(drop=True)
    city = table["covered_population"].sum(), table["population"].sum()
    return MapData(**{**base.__dict__, "townships": townships, "hexagons": hexagons,
                      "figures": {"covered": city[0], "population": city[1], "kind": kind.name_zh}})


def uncovered_hexagons(model: CoverageModel, columns: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    """Per-cell people (``columns``: name → one value per grid cell) summed on the display
    hexagons (``DISPLAY_RESOLUTION``), rounded; hexagons where every column is below 1 left out."""
    sums = pd.DataFrame(columns).groupby(h3_parents(model.grid.cell, DISPLAY_RESOLUTION)).sum()
    sums = sums[(sums >= 1).any(axis=1)]
    cells = [h3.int_to_str(int(cell)) for cell in sums.index]
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]) for cell in cells]
    return gpd.GeoDataFrame({"cell": cells, **{name: sums[name].to_numpy().round() for name in columns}},
                            geometry=polygons, crs=4326)


def h3_parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    """The parent at ``resolution`` of each H3 cell (as integers), by the index's bit layout: the
    resolution field (bits 52-55) set, the digits of finer resolutions (3 bits each, from bit
    0 for resolution 15 up) set to 7 (unused). Equal to ``h3.cell_to_parent`` for each cell, in
    ~1 ms for the 210 000 cells of the grid where the call per cell takes ~0.2 s (a page view)."""
    unused = sum(7 << ((15 - finer) * 3) for finer in range(resolution + 1, 16))
    return ((np.asarray(cells).astype(np.uint64) & np.uint64(~(0xF << 52) & 0xFFFF_FFFF_FFFF_FFFF))
            | np.uint64(resolution << 52) | np.uint64(unused))


def gaps_data(session: Session, cache: ModelCache, *, report: str | None = None, target: str | None = None,
              unit: str | None = None) -> MapData:
    """Every target against what is built, one of them (``target``) chosen for the map; ``unit``
    (a county or township code of that target) to zoom to. ``report`` names the report the targets
    quote (the region's ``report_zh``)."""
    base = _base(session, "gaps", cache)
    rows = gaps.gaps(session, cache=cache)
    summary = gaps.summary(rows)
    chosen = target or default_target(summary, rows)
    if chosen is not None and chosen not in set(summary["target_code"]):
        raise NotFound(f"target: no target {chosen!r}; known: {', '.join(summary['target_code'])}")
    if unit is not None and unit not in set(rows.loc[rows["target_code"] == chosen, "region_code"]):
        raise NotFound(f"unit: {unit!r} is not a unit of target {chosen!r}")
    return MapData(**{**base.__dict__, "gap_rows": rows, "target_summary": summary,
                      "figures": {"report": report, "target": chosen, "unit": unit,
                                  "plans": {code: plan_question(code, rows) for code in summary["target_code"]}}})


def default_target(summary: pd.DataFrame, rows: pd.DataFrame) -> str | None:
    """The target a gaps map opens on: an unmet per-county one of the default type (爱心驿站), else
    any unmet per-county one, else any unmet, else the first (None: no targets). A planner's
    first question is where the counties fall short."""
    if summary.empty:
        return None
    types = rows.drop_duplicates("target_code").set_index("target_code")["type_code"]
    unmet = summary[summary["units_met"] < summary["units"]]
    county = unmet[unmet["scope"] == "county"]
    for candidates in (county[county["target_code"].map(types) == DEFAULT_TYPE], county, unmet, summary):
        if not candidates.empty:
            return str(candidates["target_code"].iloc[0])
    return None


def plan_data(session: Session, cache: ModelCache, type_code: str, add: int, min_per_county: int = 0, *,
              solve: Callable[..., planning.PlanResult] = engine.propose_cold) -> MapData:
    """A greedy siting proposal with before/after figures (not saved).

    ``solve(grid_key, model, stations, kind, grid_resolution, add=, min_per_county=)`` makes the
    plan: by default here (``engine.propose_cold``), in the server in its solver processes.
    """
    base = _base(session, "plan", cache, type_code)
    model, info = cache.get(session)
    kind = type_radii(session, type_code)[0]
    stations = counted_stations(session)
    result = solve(info.version, model, stations, kind, info.resolution, add=add, min_per_county=min_per_county)
    # Uncovered people before and with the plan's sites, by the what-if's coverage rule (the plan's).
    already = model.covered_by_type(stations, kind)
    reached = whatif.site_columns(model, kind, result.proposals["lon"].to_numpy(dtype=np.float64),
                                  result.proposals["lat"].to_numpy(dtype=np.float64))
    after = already.copy()
    after[reached.indices] = True
    hexagons = uncovered_hexagons(model, {"before": np.where(already, 0.0, model.grid.population),
                                          "after": np.where(after, 0.0, model.grid.population)})
    names = {code: marked_name(name, bool(unknown)) for code, name, unknown in  # a site's township, marked
             zip(base.townships["code"], base.townships["name"], base.townships["position_unknown"], strict=True)}
    county_names = dict(zip(base.counties["code"], base.counties["name"], strict=True))
    proposals = result.proposals.assign(township_name=result.proposals["township_code"].map(names),
                                        county_name=result.proposals["county_code"].map(county_names))
    return MapData(**{**base.__dict__, "proposals": proposals, "hexagons": hexagons, "figures": {
        "kind": kind.name_zh, "add": add, "min_per_county": min_per_county,
        "before": result.covered_before, "after": result.covered_after,
        "population": result.population, "upper_bound": result.solution.upper_bound,
        "objective": result.solution.objective, "certificate": certificate(result.bound_share, result.bound_method)}})


def station_data(session: Session, cache: ModelCache, station_id: int) -> MapData:
    """One station with its service area."""
    stations = catalogue.stations_frame(session, catalogue.StationFilter(ids=(station_id,)))
    if stations.empty:
        raise NotFound(f"station {station_id} does not exist")
    base = _base(session, "station", cache, stations["type_code"].iloc[0], include_planned=True)
    return MapData(**{**base.__dict__, "stations": stations.reset_index(drop=True)})
