"""The modelled demand grid on small hand-made townships."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely.geometry import MultiPolygon, Point, box

from geo.reference.grid import GridParameters, build_grid

UTM = CRS.from_epsg(32650)


@pytest.fixture(scope="module")
def townships() -> gpd.GeoDataFrame:
    # Three units side by side at 30°N: a 0.05° urban street, a 0.1° town, and a sliver too
    # thin (0.0005°, ~50 m) to hold any res-9 cell centre.
    shapes = [box(116.0, 30.0, 116.05, 30.05), box(116.05, 30.0, 116.15, 30.05),
              box(116.15, 30.0, 116.1505, 30.05)]
    return gpd.GeoDataFrame({
        "code": ["S", "T", "X"], "county_code": ["K", "K", "K"], "kind": ["street", "town", "other"],
        "population": [50_000, 20_000, 7], "urban_population": [50_000, 8_000, 0],
        "seat": [Point(116.025, 30.025), Point(116.1, 30.025), None],
    }, geometry=[MultiPolygon([s]) for s in shapes], crs=4326)


@pytest.fixture(scope="module")
def grid(townships: gpd.GeoDataFrame):  # noqa: ANN201
    places = pd.DataFrame({"lon": [116.13], "lat": [30.04]})  # a village in the town
    return build_grid(townships, places, metric_crs=UTM, parameters=GridParameters(resolution=9))


def test_every_township_keeps_its_population_exactly(grid, townships) -> None:  # noqa: ANN001
    sums = pd.Series(grid.population).groupby(grid.township_code).sum()
    assert sums.to_dict() == {"S": 50_000, "T": 20_000, "X": 7}
    assert np.all(grid.population == np.round(grid.population))


def test_a_sliver_township_gets_one_cell(grid) -> None:  # noqa: ANN001
    assert (grid.township_code == "X").sum() == 1


def test_streets_are_urban_and_quiet_countryside_is_not(grid) -> None:  # noqa: ANN001
    assert grid.is_urban[grid.township_code == "S"].all()
    town = grid.township_code == "T"
    density = grid.population[town] / 0.105  # res-9 cell ≈ 0.105 km²
    assert np.array_equal(grid.is_urban[town], density >= 1500)
    assert grid.is_urban[town].any() and not grid.is_urban[town].all()


def test_people_gather_at_the_seat_and_the_village(grid) -> None:  # noqa: ANN001
    town = grid.township_code == "T"
    lon, lat, people = grid.lon[town], grid.lat[town], grid.population[town]
    nearest_seat = np.argmin(np.hypot(lon - 116.1, lat - 30.025))
    assert people[nearest_seat] == people.max()
    village = np.argmin(np.hypot(lon - 116.13, lat - 30.04))
    far = np.argmin(np.hypot(lon - 116.06, lat - 30.002))
    assert people[village] > 3 * people[far] > 0


def test_cells_are_inside_their_townships(grid, townships) -> None:  # noqa: ANN001
    points = gpd.GeoSeries(gpd.points_from_xy(grid.lon, grid.lat), crs=4326)
    shapes = townships.set_index("code").geometry.reindex(grid.township_code).to_numpy()
    inside = np.array([shape.buffer(0.002).contains(p) for shape, p in zip(shapes, points, strict=True)])
    assert inside.all()
