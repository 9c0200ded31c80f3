"""Coordinate reference systems for China: WGS-84, GCJ-02, BD-09, and metric helpers.

Chinese web maps use two offset datums: GCJ-02 (Gaode/AMap, Tencent) is a
deliberately shifted WGS-84, and BD-09 (Baidu) is GCJ-02 shifted once more.
Neither has an EPSG code, so they are implemented here in closed form on
numpy arrays. Every function takes and returns degrees (lon, lat order)
unless its name says metres; scalars are accepted and come back as 0-d arrays.

Outside the rough China bounding box GCJ-02 is the identity (the common
convention), while GCJ-02 <-> BD-09 is applied everywhere, also as is common.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

CoordSystem = Literal["wgs84", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[CoordSystem, ...] = get_args(CoordSystem)

FloatArray = npt.NDArray[np.float64]
GeometryLike = shapely.Geometry | npt.NDArray[np.object_]  # one geometry or an array of them
Transform = Callable[[npt.ArrayLike, npt.ArrayLike], tuple[FloatArray, FloatArray]]

GCJ_A = 6378245.0  # semi-major axis (m) of the Krasovsky ellipsoid used by GCJ-02
GCJ_EE = 0.00669342162296594323  # first eccentricity squared of that ellipsoid
BD_X_PI = np.pi * 3000.0 / 180.0  # BD-09 angular constant
BD_DLON, BD_DLAT = 0.0065, 0.006  # BD-09 constant offsets (degrees)
CHINA_LON, CHINA_LAT = (72.004, 137.8347), (0.8293, 55.8271)  # rough bbox (degrees)
INVERSE_SAFETY = 0.5  # iterative inverses stop at this fraction of their tolerance
WGS84_GEOD = pyproj.Geod(ellps="WGS84")


def _xy(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast two array-likes to float64 arrays of one shape."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x.astype(float), y.astype(float)  # astype copies: broadcast views are read-only


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a point (degrees) lies outside the rough China bounding box.

    The box is deliberately coarse (it contains Korea, Japan's west, ...); it is
    the one every GCJ-02 implementation uses, so results stay compatible.
    """
    x, y = _xy(lon, lat)
    return ~((x > CHINA_LON[0]) & (x < CHINA_LON[1]) & (y > CHINA_LAT[0]) & (y < CHINA_LAT[1]))


def _gcj_shift(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 raw (dlon, dlat) polynomials of x = lon - 105, y = lat - 35 (unscaled)."""
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return dlon, dlat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 -> GCJ-02 (degrees in, degrees out), the standard closed form.

    The shift is a few hundred metres inside China and zero outside it.
    """
    x, y = _xy(lon, lat)
    dlon, dlat = _gcj_shift(x - 105.0, y - 35.0)
    rad = np.radians(y)
    magic = 1.0 - GCJ_EE * np.sin(rad) ** 2
    dlat = dlat * 180.0 / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon * 180.0 / (GCJ_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    outside = out_of_china(x, y)
    return np.where(outside, x, x + dlon), np.where(outside, y, y + dlat)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 -> BD-09 (degrees), Baidu's closed form; applied everywhere, no China test."""
    x, y = _xy(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * BD_X_PI)
    return np.asarray(z * np.cos(theta) + BD_DLON), np.asarray(z * np.sin(theta) + BD_DLAT)


def _bd09_to_gcj02_approx(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The widely published BD-09 -> GCJ-02 formula: an approximate inverse (~1e-6 deg)."""
    x, y = x - BD_DLON, y - BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Transform, x: FloatArray, y: FloatArray, wx: FloatArray, wy: FloatArray,
    tolerance_m: float, max_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(w) = (x, y) from a first guess w by iterating w -= forward(w) - (x, y).

    The offsets vary slowly (forward's Jacobian is within ~1% of the identity),
    so each step gains two to three digits. We stop once the geodesic round-trip
    error is below half of ``tolerance_m``, which keeps the error of w itself
    (not just of its image) below ``tolerance_m``. Non-finite inputs give NaN.
    """
    for _ in range(max_iter + 1):
        fx, fy = forward(wx, wy)
        err = distance_m(fx, fy, x, y)
        todo = np.isfinite(err) & (err >= INVERSE_SAFETY * tolerance_m)
        if not todo.any():
            return np.asarray(wx), np.asarray(wy)
        wx, wy = wx - np.where(todo, fx - x, 0.0), wy - np.where(todo, fy - y, 0.0)
    raise RuntimeError(
        f"inverse transform did not converge to {tolerance_m} m in {max_iter} iterations "
        f"for {int(todo.sum())} point(s); worst error {float(np.nanmax(err)):.3g} m"
    )


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_m: float = 0.01, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 -> WGS-84 (degrees) by iterating the forward transform.

    There is no closed-form inverse; the usual one-step "subtract the shift"
    is off by metres. This iterates until wgs84_to_gcj02 of the result is within
    ``tolerance_m`` metres (geodesic) of the input for every point (see _invert).

    Raises:
        RuntimeError: if some point has not converged after ``max_iter`` steps.
    """
    x, y = _xy(lon, lat)
    return _invert(wgs84_to_gcj02, x, y, x, y, tolerance_m, max_iter)


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_m: float = 0.01, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """BD-09 -> GCJ-02 (degrees): the published approximate formula, then refined.

    The textbook formula round-trips only to about 0.12 m; a few cheap iterations
    make gcj02_to_bd09 of the result match the input within ``tolerance_m`` metres.

    Raises:
        RuntimeError: if some point has not converged after ``max_iter`` steps.
    """
    x, y = _xy(lon, lat)
    wx, wy = _bd09_to_gcj02_approx(x, y)
    return _invert(gcj02_to_bd09, x, y, wx, wy, tolerance_m, max_iter)


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS-84 -> BD-09 (degrees), via GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 -> WGS-84 (degrees), via GCJ-02; each step is iterated to < 1 cm."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TRANSFORMS: dict[tuple[CoordSystem, CoordSystem], Transform] = {
    ("wgs84", "gcj02"): wgs84_to_gcj02, ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09, ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09, ("bd09", "wgs84"): bd09_to_wgs84,
}


def _check_systems(source: object, target: object) -> None:
    for name, value in (("source", source), ("target", target)):
        if value not in COORD_SYSTEMS:
            raise ValueError(f"unknown {name} coordinate system {value!r}; use {COORD_SYSTEMS}")


def convert(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, source: CoordSystem, target: CoordSystem
) -> tuple[FloatArray, FloatArray]:
    """Convert degrees between any two of wgs84/gcj02/bd09 (a copy when equal).

    Raises:
        ValueError: naming ``source`` or ``target`` if it is not in COORD_SYSTEMS.
    """
    _check_systems(source, target)
    if source == target:
        return _xy(lon, lat)
    return _TRANSFORMS[(source, target)](lon, lat)


def convert_geometry(
    geoms: GeometryLike, *, source: CoordSystem, target: CoordSystem
) -> GeometryLike:
    """Convert a shapely geometry or array of geometries (degrees), all vertices at once.

    Uses ``shapely.transform``, so each (multi)polygon keeps its type and structure.
    Output geometries are 2D (any Z is dropped). Returns the same kind as given.
    """
    _check_systems(source, target)

    def fn(coords: FloatArray) -> FloatArray:
        x, y = convert(coords[:, 0], coords[:, 1], source=source, target=target)
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn, include_z=False)


def convert_gdf(
    gdf: gpd.GeoDataFrame, *, source: CoordSystem, target: CoordSystem
) -> gpd.GeoDataFrame:
    """Return a converted copy of a lon/lat frame; the input is never mutated.

    GCJ-02 and BD-09 have no EPSG code, so frames in them are labelled
    EPSG:4326 purely as a lon/lat container: the label does NOT mean WGS-84.
    The result is always labelled EPSG:4326.

    Raises:
        ValueError: if the frame has a projected CRS (coordinates are not degrees).
    """
    if gdf.crs is not None and not gdf.crs.is_geographic:
        raise ValueError(f"convert_gdf needs lon/lat degrees, got CRS {gdf.crs.to_string()}")
    geoms = convert_geometry(np.asarray(gdf.geometry.array), source=source, target=target)
    out = gdf.copy()  # keeps every column, the index and the geometry column's name
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs="EPSG:4326")
    return out.set_crs("EPSG:4326", allow_override=True)


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """WGS-84 UTM zone CRS (metres) containing a point: EPSG 326xx north, 327xx south.

    Uses the regular 6-degree zones (no Norway/Svalbard exceptions).
    """
    zone = int(np.clip(np.floor((float(lon) + 180.0) / 6.0) + 1, 1, 60))
    return pyproj.CRS.from_epsg((32600 if float(lat) >= 0 else 32700) + zone)


def to_metric(gdf: gpd.GeoDataFrame, crs: pyproj.CRS | str | int | None = None) -> gpd.GeoDataFrame:
    """Project a frame to metres: to ``crs`` or the UTM zone of its total_bounds centre.

    Input must be genuine WGS-84 (or another real CRS): convert GCJ-02/BD-09
    frames to wgs84 first, or distances will carry their offset.

    Raises:
        ValueError: if the frame has no CRS, or is empty and ``crs`` is None.
    """
    if gdf.crs is None:
        raise ValueError("to_metric needs a frame with a CRS, got None")
    if crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not np.all(np.isfinite([minx, miny, maxx, maxy])):
            raise ValueError("to_metric cannot choose a UTM zone for an empty frame; pass crs")
        to_ll = pyproj.Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
        crs = utm_crs_for(*to_ll.transform((minx + maxx) / 2.0, (miny + maxy) / 2.0))
    return gdf.to_crs(crs)


def require_projected(*gdfs: gpd.GeoDataFrame) -> None:
    """Guard for metric operations (buffers, areas, distances) on frames.

    Raises:
        ValueError: naming the CRS if any frame's CRS is missing or not projected.
    """
    for i, gdf in enumerate(gdfs):
        crs = gdf.crs
        if crs is None or not crs.is_projected:
            name = "None" if crs is None else crs.to_string()
            raise ValueError(f"frame {i} must have a projected (metre) CRS, got {name}")


def distance_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Geodesic distance in metres on the WGS-84 ellipsoid between (lon, lat) degrees."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(v, float) for v in (lon1, lat1, lon2, lat2)))
    _, _, dist = WGS84_GEOD.inv(a, b, c, d)
    return np.asarray(dist, dtype=float).reshape(a.shape)
