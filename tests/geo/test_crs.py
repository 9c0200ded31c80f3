"""Tests for geo.crs: WGS-84 / GCJ-02 / BD-09 conversions and metric helpers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.core.crs import (
    COORD_SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    convert_gdf,
    convert_geometry,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    require_projected,
    to_metric,
    utm_crs_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

CM = 0.01  # one centimetre, in metres

# Published reference vectors from the googollee/eviltransform test suites
# (e.g. go/transform_test.go, python/test.py): WGS (lat, lng) -> GCJ (lat, lng).
# NOTE: (lat, lng) order here; the functions under test take (lon, lat).
EVILTRANSFORM_VECTORS = [
    pytest.param((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215), id="shanghai"),
    pytest.param((22.543847, 113.912316), (22.540796131694766, 113.9171764808363), id="shenzhen"),
    pytest.param((39.911954, 116.377817), (39.91334545536069, 116.38404722455657), id="beijing"),
]

# Jiujiang region grid, 60 x 40 points, in degrees (lon, lat).
GRID_LON, GRID_LAT = np.meshgrid(np.linspace(113.9, 116.8, 60), np.linspace(28.6, 30.1, 40))


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_VECTORS)
def test_wgs84_to_gcj02_matches_published_vectors(wgs, gcj):
    (wlat, wlon), (glat, glon) = wgs, gcj
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-8)
    assert float(lat) == pytest.approx(glat, abs=1e-8)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_VECTORS)
def test_gcj02_to_wgs84_recovers_published_inputs_within_1cm(wgs, gcj):
    (wlat, wlon), (glat, glon) = wgs, gcj
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert float(distance_m(lon, lat, wlon, wlat)) < CM


def test_wandergis_coordtransform_example_values():
    # wandergis/coordtransform, test/app.js (input 116.404, 39.915 as lng, lat).
    assert np.allclose(wgs84_to_gcj02(116.404, 39.915), (116.41024449916938, 39.91640428150164),
                       rtol=0, atol=1e-9)
    assert np.allclose(gcj02_to_bd09(116.404, 39.915), (116.41036949371029, 39.92133699351021),
                       rtol=0, atol=1e-9)
    # Their bd09togcj02 is the one-shot approximate formula; ours is iterated, so it
    # only agrees to a few centimetres, but it round-trips exactly.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert float(distance_m(lon, lat, 116.39762729119315, 39.90865673957631)) < 0.1
    assert float(distance_m(*gcj02_to_bd09(lon, lat), 116.404, 39.915)) < CM


def test_gcj_round_trip_over_jiujiang_grid_within_1cm():
    back = gcj02_to_wgs84(*wgs84_to_gcj02(GRID_LON, GRID_LAT))
    assert back[0].shape == GRID_LON.shape
    assert distance_m(*back, GRID_LON, GRID_LAT).max() < CM


def test_bd_round_trips_over_jiujiang_grid_within_1cm():
    gcj_back = bd09_to_gcj02(*gcj02_to_bd09(GRID_LON, GRID_LAT))
    assert distance_m(*gcj_back, GRID_LON, GRID_LAT).max() < CM
    wgs_back = bd09_to_wgs84(*wgs84_to_bd09(GRID_LON, GRID_LAT))
    assert distance_m(*wgs_back, GRID_LON, GRID_LAT).max() < CM
    bd_back = gcj02_to_bd09(*bd09_to_gcj02(GRID_LON, GRID_LAT))
    assert distance_m(*bd_back, GRID_LON, GRID_LAT).max() < CM


def test_gcj_shift_near_jiujiang_is_hundreds_of_metres():
    shift = float(distance_m(*wgs84_to_gcj02(116.0, 29.7), 116.0, 29.7))
    assert 100.0 < shift < 1000.0


def test_bd_offset_from_gcj_has_known_magnitude():
    bd_lon, bd_lat = gcj02_to_bd09(GRID_LON, GRID_LAT)
    assert np.all(np.abs(bd_lon - GRID_LON - 0.0065) < 0.001)
    assert np.all(np.abs(bd_lat - GRID_LAT - 0.006) < 0.001)


@pytest.mark.parametrize(("lon", "lat"), [(139.69, 35.69), (-0.12, 51.5)], ids=["tokyo", "london"])
def test_gcj02_is_identity_outside_china(lon, lat):
    assert bool(out_of_china(lon, lat))
    assert np.allclose(wgs84_to_gcj02(lon, lat), (lon, lat), rtol=0, atol=0)
    assert np.allclose(gcj02_to_wgs84(lon, lat), (lon, lat), rtol=0, atol=0)
    # Documented convention: BD-09 is still the BD offset of the (identity) GCJ-02.
    assert np.allclose(wgs84_to_bd09(lon, lat), gcj02_to_bd09(lon, lat), rtol=0, atol=0)


def test_out_of_china_vectorised():
    inside = out_of_china([116.0, 139.69, 121.5], [29.7, 35.69, 60.0])
    assert inside.tolist() == [False, True, True]


def test_scalars_and_arrays_agree():
    lon, lat = wgs84_to_gcj02(116.0, 29.7)
    assert np.ndim(lon) == 0 and np.ndim(lat) == 0
    arr_lon, arr_lat = wgs84_to_gcj02(np.array([116.0, 115.0]), np.array([29.7, 29.0]))
    assert arr_lon.shape == (2,)
    assert float(lon) == arr_lon[0] and float(lat) == arr_lat[0]
    for src in COORD_SYSTEMS:
        for dst in COORD_SYSTEMS:
            s_lon, s_lat = convert(116.0, 29.7, source=src, target=dst)
            a_lon, a_lat = convert([116.0], [29.7], source=src, target=dst)
            assert float(s_lon) == pytest.approx(a_lon[0], abs=1e-12)
            assert float(s_lat) == pytest.approx(a_lat[0], abs=1e-12)


def test_convert_dispatch_and_identity():
    assert np.array_equal(convert(116.0, 29.7, source="gcj02", target="gcj02"), (116.0, 29.7))
    assert np.array_equal(
        convert(GRID_LON, GRID_LAT, source="wgs84", target="bd09"),
        wgs84_to_bd09(GRID_LON, GRID_LAT),
    )
    assert np.array_equal(
        convert(GRID_LON, GRID_LAT, source="bd09", target="gcj02"),
        bd09_to_gcj02(GRID_LON, GRID_LAT),
    )


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"source": "nad27", "target": "wgs84"}, "nad27"),
        ({"source": "wgs84", "target": "BD09"}, "BD09"),
    ],
)
def test_convert_rejects_unknown_system_by_name(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        convert(116.0, 29.7, **kwargs)
    with pytest.raises(ValueError, match=bad):
        convert_geometry(shapely.Point(116.0, 29.7), **kwargs)


def test_gcj02_to_wgs84_raises_when_not_converged():
    with pytest.raises(RuntimeError):
        gcj02_to_wgs84(116.0, 29.7, max_iter=0)


def test_non_finite_input_passes_through_as_nan():
    lon, lat = gcj02_to_wgs84([np.nan, 116.0], [29.7, 29.7])
    assert np.isnan(lon[0]) and np.isfinite(lon[1]) and np.isfinite(lat[1])


def _square(x0: float, y0: float, d: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d), (x0, y0)]


@pytest.mark.parametrize(
    "geom",
    [
        Polygon(_square(115.9, 29.6, 0.2), holes=[_square(115.95, 29.65, 0.05)]),
        MultiPolygon([Polygon(_square(115.9, 29.6, 0.1)), Polygon(_square(116.2, 29.8, 0.1))]),
    ],
    ids=["polygon", "multipolygon"],
)
@pytest.mark.parametrize(
    ("source", "target"), [("wgs84", "gcj02"), ("gcj02", "bd09"), ("bd09", "wgs84")]
)
def test_convert_geometry_converts_every_vertex(geom, source, target):
    out = convert_geometry(geom, source=source, target=target)
    assert out.geom_type == geom.geom_type
    assert shapely.get_num_coordinates(out) == shapely.get_num_coordinates(geom)
    coords = shapely.get_coordinates(geom)
    expected = np.column_stack(convert(coords[:, 0], coords[:, 1], source=source, target=target))
    assert np.allclose(shapely.get_coordinates(out), expected, rtol=0, atol=1e-12)
    assert not np.allclose(shapely.get_coordinates(out), coords, rtol=0, atol=1e-5)


def test_convert_geometry_accepts_arrays():
    geoms = np.array([shapely.Point(116.0, 29.7), shapely.Point(115.5, 29.2)])
    out = convert_geometry(geoms, source="wgs84", target="gcj02")
    assert isinstance(out, np.ndarray) and out.shape == (2,)
    expected = np.column_stack(wgs84_to_gcj02([116.0, 115.5], [29.7, 29.2]))
    assert np.allclose(shapely.get_coordinates(out), expected, rtol=0, atol=1e-12)


def test_convert_gdf_returns_new_frame_and_does_not_mutate():
    gdf = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=gpd.points_from_xy([116.0, 115.5], [29.7, 29.2]),
        crs="EPSG:4326",
    )
    before = gdf.copy()
    out = convert_gdf(gdf, source="wgs84", target="bd09")
    assert out is not gdf
    assert gdf.geom_equals_exact(before, tolerance=0).all()
    assert gdf.crs == before.crs
    assert out.crs == pyproj.CRS.from_epsg(4326)
    assert out["name"].tolist() == ["a", "b"]
    expected = np.column_stack(wgs84_to_bd09([116.0, 115.5], [29.7, 29.2]))
    assert np.allclose(shapely.get_coordinates(out.geometry.values), expected, rtol=0, atol=1e-12)


def test_utm_crs_for():
    assert utm_crs_for(116.0, 29.7) == pyproj.CRS.from_epsg(32650)
    assert utm_crs_for(113.95, 28.7) == pyproj.CRS.from_epsg(32649)
    assert utm_crs_for(151.2, -33.9) == pyproj.CRS.from_epsg(32756)


def test_to_metric_and_require_projected():
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([115.9, 116.1], [29.6, 29.8]), crs=4326)
    with pytest.raises(ValueError, match="EPSG:4326"):
        require_projected(gdf)
    with pytest.raises(ValueError, match="None"):
        require_projected(gpd.GeoDataFrame(geometry=gpd.points_from_xy([1.0], [2.0])))
    metric = to_metric(gdf)
    assert metric.crs == pyproj.CRS.from_epsg(32650)
    require_projected(metric, gdf.to_crs(32649))  # passes: no exception
    with pytest.raises(ValueError):
        require_projected(metric, gdf)
    assert to_metric(gdf, crs=32649).crs == pyproj.CRS.from_epsg(32649)
    assert gdf.crs == pyproj.CRS.from_epsg(4326)  # input untouched


def test_distance_m_geodesic():
    assert float(distance_m(116.0, 29.7, 116.0, 29.71)) == pytest.approx(1109.0, abs=3.0)
    d = distance_m([116.0, 116.0], [29.7, 29.7], [116.0, 116.0], [29.7, 29.71])
    assert d.shape == (2,) and d[0] == 0.0 and d[1] == pytest.approx(1109.0, abs=3.0)
