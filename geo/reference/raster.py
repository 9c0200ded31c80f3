"""Aggregate a population raster (people per pixel, any CRS) to H3 cells.

unionmap models population per H3 cell from county census totals; when a user has a real
population raster (WorldPop in EPSG:4326, GHSL in Mollweide ESRI:54009, ...) the modelled
figures are replaced by the raster's. Each pixel is assigned whole to the H3 cell containing
its centre, so totals are preserved: every person in a valid pixel is counted in exactly one
cell, and with ``cells_of_interest`` the people outside the region are reported, not lost.

The raster is read in blocks of rows so that a national raster never has to fit in memory,
and, given WGS-84 bounds, only the window covering them is read at all.

Cost: h3-py 4 has no vectorised point-to-cell conversion, so the positive pixels of each
block (each a distinct centre) go through ``h3.latlng_to_cell`` in a Python loop, about
1-2 million pixels per second; everything else (centres, reprojection, sums) is numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import h3
import h3.api.basic_int as h3_int
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.errors import RasterioError
from rasterio.windows import Window, from_bounds

from geo.errors import InputError

WGS84 = "EPSG:4326"
# Offsets within this many pixels of a whole number are floating-point noise from the
# bounds -> window arithmetic, not a partial pixel; without it a window aligned to pixel
# edges would gain a spurious row or column.
_WINDOW_SNAP_PX = 1e-6
_H3_RESOLUTION_SHIFT = 52


@dataclass(frozen=True)
class RasterAggregate:
    """People per H3 cell from a population raster, with the totals needed to audit it.

    Attributes:
        cells: H3 cell ids (uint64), unique and sorted; only cells that received at least
            one positive pixel (any other cell of interest has population 0).
        population: people per cell (float64), aligned with ``cells``.
        raster_total: sum of all valid pixels read (nodata, NaN, infinite and negative
            values excluded), whether or not they fell in a cell of interest.
        assigned_total: sum of ``population``; ``raster_total - assigned_total`` is the
            population outside ``cells_of_interest`` (or, rarely, at centres the raster's
            CRS cannot express in WGS-84).
        pixels_read: number of pixels read from the file (the window's area, valid or not).
        source_crs: the raster's CRS as a string, e.g. ``"EPSG:4326"`` or ``"ESRI:54009"``.
    """

    cells: np.ndarray
    population: np.ndarray
    raster_total: float
    assigned_total: float
    pixels_read: int
    source_crs: str


def aggregate_to_h3(
    path: Path | str,
    *,
    resolution: int,
    cells_of_interest: np.ndarray | None = None,
    window_bounds_wgs84: tuple[float, float, float, float] | None = None,
    block_size: int = 1024,
) -> RasterAggregate:
    """Sum a people-per-pixel raster into H3 cells at ``resolution`` by pixel centre.

    Only band 1 is read: population products are single-band, and a multi-band file has no
    unambiguous population band, so the first one is taken by convention.

    Args:
        path: a GeoTIFF (or any raster rasterio/GDAL can open) with a CRS.
        resolution: H3 resolution of the cells (0..15), 9 in unionmap by default.
        cells_of_interest: H3 ids (integers, or strings like ``"89..."``) of the region's
            grid; pixels whose centre falls in another cell are left out of ``cells`` and
            ``assigned_total`` but still count in ``raster_total``.
        window_bounds_wgs84: (west, south, east, north) in degrees; only the raster window
            covering these bounds (widened to whole pixels) is read.
        block_size: rows read at a time; bounds memory use to about
            ``block_size * width`` pixels.

    Raises:
        InputError: the file cannot be opened or read, or the raster has no CRS.
        ValueError: bad ``resolution`` or ``block_size``, or cells of interest at another
            resolution.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be in 0..15, got {resolution}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1 row, got {block_size}")
    interest = None if cells_of_interest is None else _as_cell_ids(cells_of_interest, resolution)
    file = str(path)

    try:
        dataset = rasterio.open(file)
    except RasterioError as error:
        raise InputError(f"cannot open as a raster: {error}", file=file) from error
    with dataset:
        if dataset.crs is None:
            raise InputError("raster has no coordinate reference system", file=file, field="crs")
        source_crs = dataset.crs.to_string()
        window = _read_window(dataset, window_bounds_wgs84)
        to_wgs84 = Transformer.from_crs(dataset.crs.to_wkt(), WGS84, always_xy=True)
        try:
            cell_parts, sum_parts, raster_total = _aggregate_blocks(
                dataset, window, to_wgs84, resolution=resolution, block_size=block_size
            )
        except RasterioError as error:
            raise InputError(f"cannot read band 1: {error}", file=file, field="band 1") from error

    cells, population = _sum_by_cell(cell_parts, sum_parts)
    if interest is not None:
        keep = np.isin(cells, interest)
        cells, population = cells[keep], population[keep]
    return RasterAggregate(
        cells=cells,
        population=population,
        raster_total=raster_total,
        assigned_total=float(population.sum()),
        pixels_read=int(window.width * window.height),
        source_crs=source_crs,
    )


def _aggregate_blocks(
    dataset: rasterio.io.DatasetReader,
    window: Window,
    to_wgs84: Transformer,
    *,
    resolution: int,
    block_size: int,
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Read ``window`` block by block; return per-block (cells, people) sums and the valid total."""
    a, b, c, d, e, f = dataset.transform[:6]
    col_off, row_off = int(window.col_off), int(window.row_off)
    width, height = int(window.width), int(window.height)
    cell_parts: list[np.ndarray] = []
    sum_parts: list[np.ndarray] = []
    raster_total = 0.0
    for block_row in range(row_off, row_off + height, block_size):
        rows_in_block = min(block_size, row_off + height - block_row)
        block = dataset.read(1, window=Window(col_off, block_row, width, rows_in_block), masked=True)
        values = np.ma.getdata(block).astype(np.float64)
        # masked=True honours the nodata value and any mask band; NaN/inf and negative
        # values (some products use -200 or -3.4e38 without declaring nodata) are not people.
        with np.errstate(invalid="ignore"):
            positive = ~np.ma.getmaskarray(block) & np.isfinite(values) & (values > 0)
        rows, cols = np.nonzero(positive)
        if rows.size == 0:
            continue
        people = values[rows, cols]
        raster_total += float(people.sum())

        col_centre = cols + (col_off + 0.5)
        row_centre = rows + (block_row + 0.5)
        x = a * col_centre + b * row_centre + c
        y = d * col_centre + e * row_centre + f
        lon, lat = to_wgs84.transform(x, y)
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        # Centres outside the CRS's domain come back as inf; they stay in raster_total only.
        located = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
        if not located.all():
            lon, lat, people = lon[located], lat[located], people[located]

        block_cells = _cells_of_points(lat, lon, resolution)
        unique_cells, inverse = np.unique(block_cells, return_inverse=True)
        cell_parts.append(unique_cells)
        sum_parts.append(np.bincount(inverse.ravel(), weights=people, minlength=unique_cells.size))
    return cell_parts, sum_parts, raster_total


def _cells_of_points(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells (uint64) containing WGS-84 points, one h3 call per point (no vectorised h3)."""
    to_cell = h3_int.latlng_to_cell
    return np.fromiter(
        (
            to_cell(point_lat, point_lon, resolution)
            for point_lat, point_lon in zip(lat.tolist(), lon.tolist(), strict=True)
        ),
        dtype=np.uint64,
        count=lat.size,
    )


def _sum_by_cell(cell_parts: list[np.ndarray], sum_parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-block sums (a cell may straddle blocks) into unique sorted cells and totals."""
    if not cell_parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float64)
    cells, inverse = np.unique(np.concatenate(cell_parts), return_inverse=True)
    population = np.bincount(inverse.ravel(), weights=np.concatenate(sum_parts), minlength=cells.size)
    return cells, population


def _read_window(
    dataset: rasterio.io.DatasetReader,
    bounds_wgs84: tuple[float, float, float, float] | None,
) -> Window:
    """Find the whole-pixel window of ``dataset`` covering WGS-84 bounds (the full raster if None)."""
    full = Window(0, 0, dataset.width, dataset.height)
    if bounds_wgs84 is None:
        return full
    west, south, east, north = bounds_wgs84
    if not (west < east and south < north):
        raise ValueError(f"window_bounds_wgs84 must be (west, south, east, north), got {bounds_wgs84}")
    to_source = Transformer.from_crs(WGS84, dataset.crs.to_wkt(), always_xy=True)
    # Densified so that a curved edge in the raster's CRS (e.g. Mollweide) is still covered.
    left, bottom, right, top = to_source.transform_bounds(west, south, east, north, densify_pts=21)
    window = from_bounds(left, bottom, right, top, transform=dataset.transform)
    col_start = math.floor(window.col_off + _WINDOW_SNAP_PX)
    row_start = math.floor(window.row_off + _WINDOW_SNAP_PX)
    col_stop = math.ceil(window.col_off + window.width - _WINDOW_SNAP_PX)
    row_stop = math.ceil(window.row_off + window.height - _WINDOW_SNAP_PX)
    col_start, row_start = max(col_start, 0), max(row_start, 0)
    col_stop, row_stop = min(col_stop, dataset.width), min(row_stop, dataset.height)
    if col_stop <= col_start or row_stop <= row_start:
        return Window(0, 0, 0, 0)
    return Window(col_start, row_start, col_stop - col_start, row_stop - row_start)


def _as_cell_ids(cells: np.ndarray, resolution: int) -> np.ndarray:
    """H3 ids as uint64, from integer ids or hex strings, checked to be at ``resolution``."""
    cells = np.asarray(cells).ravel()
    if cells.dtype.kind in "USO":
        ids = np.fromiter((h3.str_to_int(str(cell)) for cell in cells), dtype=np.uint64, count=cells.size)
    else:
        ids = cells.astype(np.uint64)
    resolutions = (ids >> np.uint64(_H3_RESOLUTION_SHIFT)) & np.uint64(0xF)
    wrong = resolutions != resolution
    if wrong.any():
        raise ValueError(
            f"cells_of_interest must be H3 cells at resolution {resolution}; "
            f"{int(wrong.sum())} are not (e.g. {int(ids[wrong][0]):x})"
        )
    return np.unique(ids)
