"""Loading the reference data: service types, regions, targets, official boundaries, the demand
grid, a population raster and the demo registry, each in the caller's transaction.

Building is done by ``geo.reference`` (pure), writing by ``geo.store``; this module says in
which order, and what follows from what: new polygons re-place every station and rebuild the
grid; official township polygons also remodel the township population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from pathlib import Path

import geopandas as gpd
from sqlalchemy.orm import Session

from geo.core.crs import CoordSystem
from geo.errors import InputError, UnionmapError
from geo.reference import demo, raster
from geo.reference.grid import Grid, build_grid
from geo.reference.layers import Reference, county_unit_code, metric_crs_of, read_places, refuse_township_targets
from geo.reference.population import model_township_population
from geo.reference.region import RegionConfig, first_row, read_polygons
from geo.reference.service_types import ServiceTypeSpec
from geo.reference.targets import TargetSpec
from geo.services.region_of_database import RegionMismatch, config_label, row_for
from geo.store import deployment, grid_db, regions, scope, stations
from geo.store import service_types as stored_types
from geo.store import targets as stored_targets
from geo.store.deployment import RegionRow


@dataclass(frozen=True)
class ReferenceLoaded:
    """What ``load reference`` did: the default region before (None: nothing held), whether the
    region was new to the deployment, and the region it replaced with ``--replace`` (if any) with
    how many of its demo stations went with it."""

    previous: RegionRow | None
    added: bool = False
    replaced: RegionRow | None = None
    demo_removed: int = 0


def load_reference(session: Session, types: Sequence[ServiceTypeSpec], reference: Reference,
                   target_specs: Sequence[TargetSpec], config: RegionConfig, *, targets_file: str,
                   replace: bool = False, make_default: bool = False,
                   actor: str = "unionmap load reference") -> ReferenceLoaded:
    """Service types, counties and derived townships, the modelled grid and the targets of one
    city, and its row among the deployment's regions.

    A city new to the database is added beside those it holds (the first becomes the default);
    loading one it holds again replaces that city's rows only. ``replace``: the new city takes
    the default's place, and the old default leaves the deployment with its demo stations (its
    real stations stay in the registry, tagged with their region, and return if it is loaded
    again). ``make_default``: the city becomes the default.
    """
    refuse_township_targets(config, target_specs)
    scope.set_scope(session, [config.code])
    held = deployment.all_regions(session)
    previous = next((row for row in held if row.is_default), None)
    _refuse_strangers(session, reference, config, held, replace=replace)
    replaced = previous if replace and previous is not None and previous.code != config.code else None
    demo_removed = 0
    if replaced is not None:
        scope.set_scope(session, [replaced.code])
        demo_removed = stations.count_demo(session)
        stations.replace_demo_stations(session, [])
        regions.remove_reference(session)
        deployment.forget(session, replaced.code)
        scope.set_scope(session, [config.code])
    stored_types.upsert_service_types(session, types)
    replace_regions(session, reference, config)
    stored_targets.replace_targets(session, target_specs, file=targets_file)
    row = row_for(config, actor=actor)
    deployment.write(session, replace_fields(row, is_default=make_default or replaced is not None))
    added = all(other.code != config.code for other in held)
    return ReferenceLoaded(previous, added, replaced, demo_removed)


def _refuse_strangers(session: Session, reference: Reference, config: RegionConfig, held: list[RegionRow], *,
                      replace: bool) -> None:
    """Refuse a city whose unit codes another city holds (a wrong folder), and, in a database
    loaded before it recorded its regions, counties of an unrecorded region (unless ``replace``)."""
    codes = [*reference.counties["code"], *reference.townships["code"]]
    taken = regions.codes_of_other_regions(session, codes, config.code)
    if taken:
        raise RegionMismatch(
            f"{len(taken)} 个区划代码已属于数据库中的其他地区（如 {', '.join(taken[:3])}），不能载入 {config_label(config)} / "
            f"{len(taken)} unit codes of {config_label(config)} already belong to another region the database holds "
            f"(e.g. {', '.join(taken[:3])}): is this the right folder?")
    if not held and not replace:
        strangers = regions.codes_of_other_regions(session, None, config.code)
        if strangers:
            raise RegionMismatch(
                f"数据库已有另一地区的县级单位（如 {', '.join(strangers[:3])}），不属于 {config_label(config)} / the "
                f"database holds counties of another region (e.g. {', '.join(strangers[:3])}), not "
                f"{config_label(config)}: add --replace to replace it (its demo stations are removed, real "
                "stations kept)")


def replace_regions(session: Session, reference: Reference, config: RegionConfig) -> None:
    """Replace every region with the reference layers, re-place every station, rebuild the grid."""
    counties = regions.region_rows(
        reference.counties.assign(kind="county", seat_rule=None), level="county", parent_code=None,
        population_is_modelled=False, boundary_is_approximate=False, source=config.counties.source)
    townships = reference.townships.rename(columns={"county_code": "parent_code"})
    derived = not config.county_units  # county units: the county's own polygon and census figure
    township_rows = [row | {"parent_code": parent} for row, parent in zip(
        regions.region_rows(townships, level="township", population_is_modelled=derived,
                            boundary_is_approximate=derived, source=config.townships.source),
        townships["parent_code"], strict=True)]
    regions.replace_regions(session, counties + township_rows)
    regions.reassign_stations(session)
    rebuild_grid(session, config)


def replace_boundaries(session: Session, path: Path, *, level: str, config: RegionConfig,
                       code_field: str = "code", name_field: str = "name",
                       source_crs: CoordSystem = "wgs84") -> int:
    """Replace the polygons of known regions with official ones; clear the approximate flag.

    Every feature's code must be a region of that level already loaded; modelled township
    population is recomputed, since it depends on the polygons' areas.
    """
    polygons = read_polygons(path, code_field=code_field, name_field=name_field, source_crs=source_crs)
    known = regions.region_parents(session, level)
    unknown = ~polygons["code"].isin(list(known))
    if unknown.any():
        row = first_row(unknown)
        raise InputError(f"unknown {level} code {polygons.at[row, 'code']!s}", file=str(path),
                         row=row, field=code_field)
    source = f"official boundary imported from {Path(path).name}"
    regions.set_official_boundaries(session, zip(polygons["code"], polygons.geometry, strict=True), source=source)
    if level == "county" and config.county_units:  # each county is also a unit of the township level: it follows
        regions.set_official_boundaries(session, zip(polygons["code"].map(county_unit_code), polygons.geometry,
                                                     strict=True), source=source)
    if level == "township":
        _remodel_population(session, config)
    regions.reassign_stations(session)
    rebuild_grid(session, config)
    return len(polygons)


def _remodel_population(session: Session, config: RegionConfig) -> None:
    """Recompute modelled township population from the stored county totals and polygons."""
    stored = regions.population_frame(session)
    counties = stored[stored["level"] == "county"].copy()
    counties["urban_share"] = counties["urban_population"] / counties["population"].where(counties["population"] > 0, 1)
    townships = stored[stored["level"] == "township"]
    population = model_township_population(
        townships.rename_geometry("geometry"), counties[["code", "population", "urban_share"]],
        metric_crs=metric_crs_of(stored), urban_weights=config.population_model.urban_weights)
    regions.set_population(session, population)


def rebuild_grid(session: Session, config: RegionConfig) -> Grid:
    """Model the demand grid from the stored townships and write it (modelled population)."""
    townships = regions.regions_frame(session, "township")
    grid = build_grid(townships, read_places(config), metric_crs=metric_crs_of(townships),
                      parameters=config.demand_grid)
    grid_db.replace_grid(session, grid, resolution=config.demand_grid.resolution, modelled=True,
                         source="modelled: township population spread by geo.grid's dasymetric rule")
    return grid


def load_demo(session: Session, spec: demo.DemoSpec, *, seed: int) -> gpd.GeoDataFrame:
    """Replace the demo stations with a new draw (real rows are kept); the stations drawn."""
    townships = regions.regions_frame(session, "township")
    counties = regions.regions_frame(session, "county")
    if townships.empty:
        raise UnionmapError("no townships loaded: run `unionmap load reference` first")
    types = [demo.TypeNames(t.code, t.name_zh) for t in stored_types.service_types(session)]
    drawn = demo.generate(townships, counties, spec, types, metric_crs=metric_crs_of(counties), seed=seed)
    stations.replace_demo_stations(session, demo.demo_rows(drawn))
    return drawn


@dataclass(frozen=True)
class PopulationLoaded:
    """What a population raster gave the grid."""

    aggregate: raster.RasterAggregate
    assigned: float


def load_population(session: Session, file: Path) -> PopulationLoaded:
    """Replace the grid's (modelled) population with a raster's, summed into its cells."""
    info = grid_db.grid_info(session)
    if info is None:
        raise UnionmapError("no demand grid: run `unionmap load reference` first")
    grid = grid_db.read_grid(session)
    bounds = (grid.lon.min() - 0.01, grid.lat.min() - 0.01, grid.lon.max() + 0.01, grid.lat.max() + 0.01)
    aggregate = raster.aggregate_to_h3(file, resolution=info.resolution, cells_of_interest=grid.cell.astype("uint64"),
                                       window_bounds_wgs84=bounds)
    assigned = grid_db.set_population(session, aggregate.cells.astype("int64"), aggregate.population,
                                      source=f"raster {file.name} ({aggregate.source_crs})")
    return PopulationLoaded(aggregate, assigned)
