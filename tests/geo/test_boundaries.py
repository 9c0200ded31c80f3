"""Tests for geo.boundaries: township kinds and the county tiling rule."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely import box

from geo.reference.boundaries import derive_townships, township_kind, township_kinds

METRIC = "EPSG:32650"
X0, Y0 = 400_000.0, 3_300_000.0  # south-west corner of the synthetic county, UTM 50N
DATA = Path(__file__).resolve().parents[2] / "data" / "jiujiang"
_TO_WGS84 = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)


def square_county(code: str = "100001", size_m: float = 10_000.0) -> gpd.GeoDataFrame:
    """A size_m square county built in UTM 50N and handed over in EPSG:4326."""
    square = gpd.GeoSeries([box(X0, Y0, X0 + size_m, Y0 + size_m)], crs=METRIC)
    return gpd.GeoDataFrame({"code": [code], "name": ["测试县"]}, geometry=square.to_crs(4326))


def units(county: str, rows: list[tuple[str, str]]) -> pd.DataFrame:
    """Townships frame from (code, name) pairs."""
    return pd.DataFrame({"code": [c for c, _ in rows], "county_code": county,
                         "name": [n for _, n in rows]})


def seats(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Seats frame from (code, dx_m, dy_m) offsets from the county's south-west corner."""
    lon, lat = _TO_WGS84.transform([X0 + dx for _, dx, _ in rows], [Y0 + dy for *_, dy in rows])
    return pd.DataFrame({"code": [c for c, *_ in rows], "lon": lon, "lat": lat})


def metric_xy(result: gpd.GeoDataFrame) -> np.ndarray:
    """Seed coordinates in metres relative to the county's south-west corner."""
    xy = shapely.get_coordinates(gpd.GeoSeries(result["seat"], crs=4326).to_crs(METRIC))
    return xy - [X0, Y0]


def areas_km2(result: gpd.GeoDataFrame) -> np.ndarray:
    return result.to_crs(METRIC).area.to_numpy() / 1e6


def assert_tiles(result: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> None:
    """Townships of each county cover it exactly; seeds lie in their own township."""
    metric = result.to_crs(METRIC)
    county_shapes = dict(zip(counties["code"], shapely.make_valid(
        counties.to_crs(METRIC).geometry.to_numpy()), strict=True))
    for code, group in metric.groupby("county_code"):
        county = county_shapes[code]
        assert group.area.sum() == pytest.approx(county.area, rel=1e-3), code
        gap = shapely.symmetric_difference(group.union_all(), county).area
        assert gap < 1e-3 * county.area, code
        assert (group.area > 0).all(), code
    seeds = gpd.GeoSeries(result["seat"], crs=4326)
    assert seeds.within(result.geometry).all()
    assert (result.geom_type == "MultiPolygon").all()


@pytest.mark.parametrize(("name", "kind"), [
    ("十里街道", "street"), ("湓浦街道", "street"), ("沙河街镇", "town"), ("吴山镇", "town"),
    ("泉口镇", "town"), ("大港乡", "township"), ("太平畲族乡", "township"),
    ("岷山林场", "other"), ("云山企业集团", "other"), ("八角岭垦殖场", "other"),
    ("沙湖山管理处", "other"), ("园艺场", "other"), ("经济技术开发区", "other"),
    ("  白鹿镇 ", "town"),
])
def test_township_kind(name: str, kind: str) -> None:
    assert township_kind(name) == kind


def test_township_kinds_vectorised_keeps_index_and_handles_missing() -> None:
    names = pd.Series(["甘棠街道", "马回岭镇", "彭山林场", None, "苏山乡"], index=[5, 6, 7, 8, 9])
    kinds = township_kinds(names)
    assert kinds.tolist() == ["street", "town", "other", "other", "township"]
    assert kinds.index.tolist() == [5, 6, 7, 8, 9]


def test_seats_inside_give_exact_voronoi_quadrants() -> None:
    county = square_county()
    towns = units("100001", [("100001101", "东镇"), ("100001102", "西镇"),
                             ("100001103", "南镇"), ("100001104", "北镇")])
    seat_rows = seats([("100001101", 2500, 2500), ("100001102", 7500, 2500),
                       ("100001103", 2500, 7500), ("100001104", 7500, 7500)])
    result = derive_townships(county, towns, seat_rows, metric_crs=METRIC)
    assert result["seat_rule"].tolist() == ["seat"] * 4
    assert result["kind"].tolist() == ["town"] * 4
    assert areas_km2(result) == pytest.approx([25.0] * 4, rel=1e-3)
    assert metric_xy(result)[0] == pytest.approx([2500, 2500], abs=0.01)
    assert result.crs.to_epsg() == 4326
    assert_tiles(result, county)


def test_seatless_streets_go_on_a_ring_around_the_urban_centre() -> None:
    county = square_county()
    rows = units("100001", [("100001001", "甲街道"), ("100001002", "乙街道"),
                            ("100001101", "城关镇")])
    result = derive_townships(county, rows, seats([("100001101", 5000, 5000)]),
                              metric_crs=METRIC, street_ring_radius_m=2000.0)
    assert result["seat_rule"].tolist() == ["street_ring", "street_ring", "seat"]
    # two ring points: first due north, second due south; cells are horizontal bands
    assert metric_xy(result) == pytest.approx(
        np.array([[5000, 7000], [5000, 3000], [5000, 5000]]), abs=0.01)
    assert areas_km2(result) == pytest.approx([40.0, 40.0, 20.0], rel=1e-3)
    assert_tiles(result, county)


def test_ring_radius_halves_until_inside_the_county() -> None:
    county = square_county()
    rows = units("100001", [("100001001", "甲街道"), ("100001101", "城关镇")])
    result = derive_townships(county, rows, seats([("100001101", 5000, 8500)]),
                              metric_crs=METRIC, street_ring_radius_m=2000.0)
    assert result["seat_rule"].tolist() == ["street_ring", "seat"]
    assert metric_xy(result)[0] == pytest.approx([5000, 9500], abs=0.01)


def test_streets_without_urban_centre_and_other_units_use_farthest_point() -> None:
    county = square_county()
    rows = units("100001", [("100001001", "甲街道"), ("100001200", "大港乡"),
                            ("100001400", "某林场")])
    result = derive_townships(county, rows, seats([("100001200", 5000, 5000)]),
                              metric_crs=METRIC, sample_spacing_m=500.0)
    assert result["seat_rule"].tolist() == ["farthest_point", "seat", "farthest_point"]
    xy = metric_xy(result)
    # the farthest grid samples (500 m grid centred in the square) are its four corner cells
    corners = {(250.0, 250.0), (250.0, 9750.0), (9750.0, 250.0), (9750.0, 9750.0)}
    picked = {tuple(np.round(xy[i], 1)) for i in (0, 2)}
    assert picked <= corners and len(picked) == 2
    assert_tiles(result, county)


def test_county_without_seats_is_split_by_kmeans_into_near_equal_parts() -> None:
    county = square_county()
    rows = units("100001", [(f"10000100{i}", f"{i}街道") for i in range(1, 5)])
    empty = pd.DataFrame({"code": [], "lon": [], "lat": []})
    result = derive_townships(county, rows, empty, metric_crs=METRIC, seed=3)
    assert result["seat_rule"].tolist() == ["kmeans"] * 4
    area = areas_km2(result)
    assert area.sum() == pytest.approx(100.0, rel=1e-3)
    assert np.all(np.abs(area / area.mean() - 1) < 0.25)
    # centroids handed out north to south: the first unit's seed is a northernmost one
    y = metric_xy(result)[:, 1]
    assert y[0] == pytest.approx(y.max())
    assert_tiles(result, county)
    again = derive_townships(county, rows, empty, metric_crs=METRIC, seed=3)
    assert shapely.equals(again.geometry.to_numpy(), result.geometry.to_numpy()).all()


def test_snapping_near_seats_and_dropping_far_ones() -> None:
    county = square_county()
    rows = units("100001", [("100001101", "城关镇"), ("100001102", "东镇"),
                            ("100001201", "远乡")])
    seat_rows = seats([("100001101", 5000, 5000), ("100001102", 10_500, 5000),
                       ("100001201", 20_000, 5000)])
    result = derive_townships(county, rows, seat_rows, metric_crs=METRIC,
                              snap_distance_m=3000.0)
    assert result["seat_rule"].tolist() == ["seat", "snapped", "farthest_point"]
    xy = metric_xy(result)
    assert xy[1] == pytest.approx([9990, 5000], abs=0.5)  # 10 m inside the east edge
    assert 0 < xy[2][0] < 10_000 and 0 < xy[2][1] < 10_000
    assert_tiles(result, county)
    strict = derive_townships(county, rows, seat_rows, metric_crs=METRIC, snap_distance_m=400.0)
    assert strict["seat_rule"].tolist() == ["seat", "farthest_point", "farthest_point"]


def test_duplicate_seat_keeps_the_lower_code() -> None:
    county = square_county()
    rows = units("100001", [("100001102", "东镇"), ("100001101", "城关镇")])
    seat_rows = seats([("100001101", 3000, 3000), ("100001102", 3000, 3000)])
    result = derive_townships(county, rows, seat_rows, metric_crs=METRIC)
    assert result["code"].tolist() == ["100001101", "100001102"]
    assert result["seat_rule"].tolist() == ["seat", "farthest_point"]
    assert_tiles(result, county)


def test_single_unit_gets_the_whole_county_and_inputs_are_not_mutated() -> None:
    county = square_county()
    rows = units("100001", [("100001101", "城关镇")])
    seat_rows = seats([("100001101", 4000, 6000)])
    before = (county.copy(), rows.copy(), seat_rows.copy())
    result = derive_townships(county, rows, seat_rows, metric_crs=METRIC)
    assert result["seat_rule"].tolist() == ["seat"]
    assert areas_km2(result) == pytest.approx([100.0], rel=1e-6)
    pd.testing.assert_frame_equal(county, before[0])
    pd.testing.assert_frame_equal(rows, before[1])
    pd.testing.assert_frame_equal(seat_rows, before[2])


def test_unknown_county_code_is_named() -> None:
    rows = units("100001", [("100001101", "城关镇")])
    rows.loc[0, "county_code"] = "999999"
    with pytest.raises(ValueError, match="999999"):
        derive_townships(square_county(), rows, seats([]), metric_crs=METRIC)


def test_geographic_metric_crs_is_rejected() -> None:
    rows = units("100001", [("100001101", "城关镇")])
    with pytest.raises(ValueError, match="projected"):
        derive_townships(square_county(), rows, seats([]), metric_crs="EPSG:4326")


def test_real_jiujiang_townships_tile_every_county() -> None:
    # The county file is GCJ-02; used as-is because this only checks the tiling algorithm
    # (the ~500 m offset against the WGS-84 seats does not matter here).
    counties = gpd.read_file(DATA / "counties_gcj02.geojson").rename(columns={"adcode": "code"})
    townships = pd.read_csv(DATA / "townships.csv", dtype=str)
    seat_rows = pd.read_csv(DATA / "township_seats_geonames.csv", dtype={"code": str})
    result = derive_townships(counties, townships, seat_rows, metric_crs=METRIC)
    assert len(result) == 204
    assert result["code"].is_unique
    assert set(result["code"]) == set(townships["code"])
    assert result["county_code"].nunique() == 13
    assert set(result["seat_rule"]) <= {"seat", "snapped", "street_ring", "farthest_point",
                                        "kmeans"}
    # 浔阳区 has no seat at all: its 7 街道 are k-means parts
    assert (result.loc[result["county_code"] == "360403", "seat_rule"] == "kmeans").sum() == 7
    assert_tiles(result, counties)
