"""Coverage on hand-built cells where the covered population is known exactly."""

import numpy as np
import pytest
from pyproj import CRS, Transformer

from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius, coverage_table
from geo.reference.grid import Grid

UTM = CRS.from_epsg(32650)
TO_WGS = Transformer.from_crs(UTM, 4326, always_xy=True)
ORIGIN = (400_000.0, 3_290_000.0)  # metres in UTM 50N, near Jiujiang
REST = TypeRadius("love_station", "爱心驿站", radius_urban_m=1000, radius_rural_m=3000)
LIBRARY = TypeRadius("worker_library", "职工书屋", radius_urban_m=500, radius_rural_m=500)

# cell: x (m east of ORIGIN), township, county, population, urban
CELLS = [
    ("A", 0, "T1", "K1", 100, True),
    ("B", 900, "T1", "K1", 50, True),     # 900 m: inside the urban radius
    ("C", 1100, "T1", "K1", 30, True),    # 1100 m: outside the urban radius
    ("D", 2500, "T2", "K2", 20, False),   # rural, 2500 m: inside the rural radius
    ("E", 5000, "T2", "K2", 10, False),   # rural, 5000 m: outside
]


def lonlat(x_m: float, y_m: float = 0.0) -> tuple[float, float]:
    return TO_WGS.transform(ORIGIN[0] + x_m, ORIGIN[1] + y_m)


@pytest.fixture(scope="module")
def model() -> CoverageModel:
    lon, lat = np.array([lonlat(cell[1]) for cell in CELLS]).T
    grid = Grid(cell=np.arange(len(CELLS), dtype=np.int64),
                township_code=np.array([c[2] for c in CELLS], dtype=object),
                county_code=np.array([c[3] for c in CELLS], dtype=object),
                population=np.array([c[4] for c in CELLS], dtype=float),
                is_urban=np.array([c[5] for c in CELLS]), lon=lon, lat=lat)
    return CoverageModel.build(grid, UTM, cell_area_m2=100_000)


def stations(*rows: tuple[str, float, str, str]) -> StationPoints:
    lon, lat = np.array([lonlat(x) for _, x, _, _ in rows]).reshape(-1, 2).T
    return StationPoints(type_code=np.array([r[0] for r in rows], dtype=object), lon=lon, lat=lat,
                         county_code=np.array([r[2] for r in rows], dtype=object),
                         township_code=np.array([r[3] for r in rows], dtype=object))


def covered_names(model: CoverageModel, points: StationPoints, kind: TypeRadius) -> set[str]:
    mask = model.covered_by_type(points, kind)
    return {CELLS[i][0] for i in np.flatnonzero(mask)}


def test_radius_follows_the_setting_of_the_people(model: CoverageModel) -> None:
    assert covered_names(model, stations(("love_station", 0, "K1", "T1")), REST) == {"A", "B", "D"}


def test_a_station_covers_across_a_township_border(model: CoverageModel) -> None:
    # In T2 at 2001 m: C (urban, 901 m away), D (rural, 499 m) and E (rural, 2999 m)
    # are covered; B (urban, 1101 m) and A (urban, 2001 m) are not.
    points = stations(("love_station", 2001, "K2", "T2"))
    assert covered_names(model, points, REST) == {"C", "D", "E"}
    table = coverage_table(model, points, [REST], level="township").set_index("region_code")
    assert table.loc["T1", "stations"] == 0 and table.loc["T2", "stations"] == 1
    assert table.loc["T1", "covered_population"] == 30
    assert table.loc["T2", "covered_population"] == 30


def test_per_region_figures_are_exact(model: CoverageModel) -> None:
    points = stations(("love_station", 0, "K1", "T1"), ("worker_library", 5000, "K2", "T2"))
    table = coverage_table(model, points, [REST, LIBRARY], level="county")
    rows = {(r.type_code, r.region_code): r for r in table.itertuples()}
    rest_k1, rest_k2 = rows[("love_station", "K1")], rows[("love_station", "K2")]
    assert (rest_k1.stations, rest_k1.population, rest_k1.covered_population) == (1, 180, 150)
    assert rest_k1.uncovered_population == 30 and rest_k1.covered_share == pytest.approx(150 / 180)
    assert (rest_k2.stations, rest_k2.population, rest_k2.covered_population) == (0, 30, 20)
    library_k2 = rows[("worker_library", "K2")]
    assert (library_k2.stations, library_k2.covered_population) == (1, 10)
    city = coverage_table(model, points, [REST], level="city")
    assert city["covered_population"].tolist() == [170] and city["population"].tolist() == [210]


def test_no_station_no_coverage(model: CoverageModel) -> None:
    empty = stations()
    table = coverage_table(model, empty, [REST], level="township")
    assert table["covered_population"].sum() == 0
    assert table["stations"].sum() == 0
    assert table["covered_share"].tolist() == [0.0, 0.0]


def test_coverage_uses_metres_not_degrees(model: CoverageModel) -> None:
    # 0.009 degrees of longitude is ~870 m at this latitude; a degree-based test of "≤ 1000"
    # would cover everything. 1 000 m east of A must reach B (900 m) and not C (1 100 m).
    points = stations(("love_station", 0, "K1", "T1"))
    pairs = model.reach(model.to_metric(points.lon, points.lat), REST)
    distances = np.hypot(*(model.xy[pairs[1]] - model.to_metric(points.lon, points.lat)[0]).T)
    assert distances.max() == pytest.approx(2500, abs=0.01)
