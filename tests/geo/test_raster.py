"""Tests for geo.raster: population rasters (any CRS) summed into H3 cells by pixel centre."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import h3
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from geo.errors import InputError
from geo.reference.raster import RasterAggregate, aggregate_to_h3

RESOLUTION = 9
WIDTH, HEIGHT = 40, 30
# EPSG:4326 raster around lon 116.0, lat 29.7 (Jiujiang), 0.001 degree pixels.
WEST_DEG, NORTH_DEG, PIXEL_DEG = 115.98, 29.715, 0.001
# UTM 50N raster near the same place, 100 m pixels.
UTM = "EPSG:32650"
WEST_M, NORTH_M, PIXEL_M = 400_000.0, 3_290_000.0, 100.0


def write_raster(
    path: Path, data: np.ndarray, *, crs: str | None, transform: Affine, nodata: float | None = None
) -> Path:
    """Write a GeoTIFF with one band per leading axis of data (2-D data: one band)."""
    bands = data if data.ndim == 3 else data[np.newaxis]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands.shape[2],
        height=bands.shape[1],
        count=bands.shape[0],
        dtype=bands.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dataset:
        dataset.write(bands)
    return path


def people(seed: int = 0) -> np.ndarray:
    """A 30x40 grid of people per pixel (0..50, some zeros), seeded."""
    return np.random.default_rng(seed).integers(0, 51, size=(HEIGHT, WIDTH)).astype(np.float32)


def geographic_raster(tmp_path: Path, data: np.ndarray | None = None, **kwargs: float) -> Path:
    return write_raster(
        tmp_path / "wgs84.tif",
        people() if data is None else data,
        crs="EPSG:4326",
        transform=Affine(PIXEL_DEG, 0.0, WEST_DEG, 0.0, -PIXEL_DEG, NORTH_DEG),
        **kwargs,
    )


def utm_raster(tmp_path: Path) -> Path:
    return write_raster(
        tmp_path / "utm.tif", people(seed=1), crs=UTM, transform=Affine(PIXEL_M, 0.0, WEST_M, 0.0, -PIXEL_M, NORTH_M)
    )


def by_hand(data: np.ndarray, centres_lonlat: tuple[np.ndarray, np.ndarray]) -> dict[int, float]:
    """Reference: one h3 call per pixel with a positive finite value, summed in a dict."""
    lon, lat = centres_lonlat
    totals: dict[int, float] = defaultdict(float)
    for (row, col), value in np.ndenumerate(data):
        if np.isfinite(value) and value > 0:
            cell = h3.str_to_int(h3.latlng_to_cell(float(lat[row, col]), float(lon[row, col]), RESOLUTION))
            totals[cell] += float(value)
    return dict(totals)


def geographic_centres() -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    return WEST_DEG + (cols + 0.5) * PIXEL_DEG, NORTH_DEG - (rows + 0.5) * PIXEL_DEG


def as_dict(result: RasterAggregate) -> dict[int, float]:
    return {int(cell): float(value) for cell, value in zip(result.cells, result.population, strict=True)}


def test_geographic_raster_preserves_total_and_assigns_by_pixel_centre(tmp_path: Path) -> None:
    data = people()
    result = aggregate_to_h3(geographic_raster(tmp_path, data), resolution=RESOLUTION)

    assert result.source_crs == "EPSG:4326"
    assert result.pixels_read == WIDTH * HEIGHT
    assert result.raster_total == pytest.approx(float(data.sum()))
    assert result.assigned_total == pytest.approx(float(data.sum()))
    assert float(result.population.sum()) == pytest.approx(float(data.sum()))
    assert result.cells.dtype == np.uint64
    assert (np.diff(result.cells.astype(np.int64)) > 0).all()  # unique and sorted
    assert (result.population > 0).all()
    # 1200 pixels of ~100 m over ~0.1 km2 cells: several cells, several pixels per cell.
    assert 5 < len(result.cells) < WIDTH * HEIGHT

    expected = by_hand(data, geographic_centres())
    assert as_dict(result) == pytest.approx(expected)

    lon, lat = geographic_centres()
    for row, col in [(0, 0), (29, 39), (15, 20), (3, 31)]:
        cell = h3.str_to_int(h3.latlng_to_cell(float(lat[row, col]), float(lon[row, col]), RESOLUTION))
        assert cell in set(result.cells.tolist())


def test_every_pixel_counted_once(tmp_path: Path) -> None:
    ones = np.ones((HEIGHT, WIDTH), dtype=np.float32)
    result = aggregate_to_h3(geographic_raster(tmp_path, ones), resolution=RESOLUTION)

    assert result.assigned_total == WIDTH * HEIGHT
    counts = by_hand(ones, geographic_centres())
    assert as_dict(result) == counts  # exact pixel counts per cell


def test_nodata_nan_and_negative_pixels_are_excluded(tmp_path: Path) -> None:
    data = people()
    data[0, :] = -9999.0  # declared nodata
    data[5, 3:9] = np.nan
    data[10, 10] = -5.0
    data[12, 0:4] = -200.0
    path = geographic_raster(tmp_path, data, nodata=-9999.0)

    result = aggregate_to_h3(path, resolution=RESOLUTION)

    valid = data[np.isfinite(data) & (data > 0)]
    assert result.raster_total == pytest.approx(float(valid.sum()))
    assert result.assigned_total == pytest.approx(float(valid.sum()))
    assert result.pixels_read == WIDTH * HEIGHT
    assert as_dict(result) == pytest.approx(by_hand(data, geographic_centres()))
    assert np.isfinite(result.population).all()


def test_integer_raster_with_nodata(tmp_path: Path) -> None:
    data = people().astype(np.int16)
    data[:, 0] = -1
    path = geographic_raster(tmp_path, data, nodata=-1)

    result = aggregate_to_h3(path, resolution=RESOLUTION)

    assert result.raster_total == float(data[:, 1:].sum())
    assert result.population.dtype == np.float64


def test_projected_raster_matches_hand_computation(tmp_path: Path) -> None:
    data = people(seed=1)
    result = aggregate_to_h3(utm_raster(tmp_path), resolution=RESOLUTION)

    cols, rows = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    x = WEST_M + (cols + 0.5) * PIXEL_M
    y = NORTH_M - (rows + 0.5) * PIXEL_M
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    expected = by_hand(data, (np.asarray(lon), np.asarray(lat)))

    assert result.source_crs == UTM
    assert as_dict(result) == pytest.approx(expected)
    assert result.assigned_total == pytest.approx(float(data.sum()))
    assert result.raster_total == pytest.approx(float(data.sum()))


def test_cells_of_interest_keep_only_the_region(tmp_path: Path) -> None:
    path = geographic_raster(tmp_path)
    everything = aggregate_to_h3(path, resolution=RESOLUTION)
    region = everything.cells[::2]

    result = aggregate_to_h3(path, resolution=RESOLUTION, cells_of_interest=region)

    np.testing.assert_array_equal(result.cells, region)
    np.testing.assert_array_equal(result.population, everything.population[::2])
    assert result.assigned_total == pytest.approx(float(everything.population[::2].sum()))
    assert result.raster_total == everything.raster_total
    assert result.assigned_total < result.raster_total

    as_strings = np.array([h3.int_to_str(int(cell)) for cell in region])
    by_string = aggregate_to_h3(path, resolution=RESOLUTION, cells_of_interest=as_strings)
    np.testing.assert_array_equal(by_string.cells, region)


def test_cells_of_interest_cells_without_pixels_are_absent(tmp_path: Path) -> None:
    path = geographic_raster(tmp_path)
    far_away = h3.str_to_int(h3.latlng_to_cell(39.9, 116.4, RESOLUTION))  # Beijing

    result = aggregate_to_h3(path, resolution=RESOLUTION, cells_of_interest=np.array([far_away], dtype=np.uint64))

    assert result.cells.size == 0
    assert result.assigned_total == 0.0
    assert result.raster_total == pytest.approx(float(people().sum()))


def test_cells_of_interest_at_another_resolution_are_rejected(tmp_path: Path) -> None:
    coarse = h3.str_to_int(h3.latlng_to_cell(29.7, 116.0, 8))
    with pytest.raises(ValueError, match="resolution 9"):
        aggregate_to_h3(
            geographic_raster(tmp_path), resolution=RESOLUTION, cells_of_interest=np.array([coarse], dtype=np.uint64)
        )


def test_window_reads_only_the_pixels_inside(tmp_path: Path) -> None:
    data = people()
    path = geographic_raster(tmp_path, data)
    # Pixel-aligned window: columns 10..24, rows 5..19.
    bounds = (
        WEST_DEG + 10 * PIXEL_DEG,
        NORTH_DEG - 20 * PIXEL_DEG,
        WEST_DEG + 25 * PIXEL_DEG,
        NORTH_DEG - 5 * PIXEL_DEG,
    )

    result = aggregate_to_h3(path, resolution=RESOLUTION, window_bounds_wgs84=bounds)

    inside = data[5:20, 10:25]
    assert result.pixels_read == 15 * 15
    assert result.raster_total == pytest.approx(float(inside.sum()))
    assert result.assigned_total == pytest.approx(float(inside.sum()))
    lon, lat = geographic_centres()
    expected = by_hand(inside, (lon[5:20, 10:25], lat[5:20, 10:25]))
    assert as_dict(result) == pytest.approx(expected)


def test_window_partly_over_a_pixel_reads_the_whole_pixel(tmp_path: Path) -> None:
    data = people()
    bounds = (
        WEST_DEG + 10.5 * PIXEL_DEG,
        NORTH_DEG - 19.5 * PIXEL_DEG,
        WEST_DEG + 24.5 * PIXEL_DEG,
        NORTH_DEG - 5.5 * PIXEL_DEG,
    )

    result = aggregate_to_h3(geographic_raster(tmp_path, data), resolution=RESOLUTION, window_bounds_wgs84=bounds)

    assert result.pixels_read == 15 * 15
    assert result.raster_total == pytest.approx(float(data[5:20, 10:25].sum()))


def test_window_outside_the_raster_reads_nothing(tmp_path: Path) -> None:
    result = aggregate_to_h3(
        geographic_raster(tmp_path), resolution=RESOLUTION, window_bounds_wgs84=(100.0, 20.0, 101.0, 21.0)
    )

    assert result.pixels_read == 0
    assert result.raster_total == 0.0
    assert result.cells.size == 0


def test_window_on_projected_raster_covers_the_bounds(tmp_path: Path) -> None:
    data = people(seed=1)
    path = utm_raster(tmp_path)
    # The UTM rectangle of columns 10..24, rows 5..19, as WGS-84 bounds; those bounds, taken
    # back to UTM, cover the rectangle and a little more (the grid is not north-aligned).
    to_wgs84 = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    bounds = to_wgs84.transform_bounds(
        WEST_M + 10 * PIXEL_M, NORTH_M - 20 * PIXEL_M, WEST_M + 25 * PIXEL_M, NORTH_M - 5 * PIXEL_M, densify_pts=21
    )

    result = aggregate_to_h3(path, resolution=RESOLUTION, window_bounds_wgs84=bounds)

    assert 15 * 15 <= result.pixels_read < WIDTH * HEIGHT
    assert float(data[5:20, 10:25].sum()) <= result.raster_total < float(data.sum())
    assert result.assigned_total == pytest.approx(result.raster_total)


@pytest.mark.parametrize("window", [None, (115.99, 29.69, 116.01, 29.71)])
def test_small_blocks_give_the_same_result_as_one_block(
    tmp_path: Path, window: tuple[float, float, float, float] | None
) -> None:
    path = geographic_raster(tmp_path)

    whole = aggregate_to_h3(path, resolution=RESOLUTION, window_bounds_wgs84=window)
    blocked = aggregate_to_h3(path, resolution=RESOLUTION, window_bounds_wgs84=window, block_size=7)

    np.testing.assert_array_equal(blocked.cells, whole.cells)
    np.testing.assert_allclose(blocked.population, whole.population, rtol=1e-12)
    assert blocked.raster_total == pytest.approx(whole.raster_total, rel=1e-12)
    assert blocked.pixels_read == whole.pixels_read
    assert whole.pixels_read > 0


def test_multiband_raster_uses_band_one(tmp_path: Path) -> None:
    first, second = people(seed=2), people(seed=3) * 10
    path = write_raster(
        tmp_path / "two.tif",
        np.stack([first, second]),
        crs="EPSG:4326",
        transform=Affine(PIXEL_DEG, 0.0, WEST_DEG, 0.0, -PIXEL_DEG, NORTH_DEG),
    )

    result = aggregate_to_h3(path, resolution=RESOLUTION)

    assert result.raster_total == pytest.approx(float(first.sum()))


def test_unreadable_file_raises_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "population.tif"
    path.write_text("this is not a GeoTIFF")

    with pytest.raises(InputError, match="population.tif") as caught:
        aggregate_to_h3(path, resolution=RESOLUTION)
    assert caught.value.file == str(path)


def test_missing_file_raises_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.tif"
    with pytest.raises(InputError) as caught:
        aggregate_to_h3(path, resolution=RESOLUTION)
    assert caught.value.file == str(path)


def test_raster_without_crs_raises_input_error(tmp_path: Path) -> None:
    path = write_raster(
        tmp_path / "nocrs.tif",
        people(),
        crs=None,
        transform=Affine(PIXEL_DEG, 0.0, WEST_DEG, 0.0, -PIXEL_DEG, NORTH_DEG),
    )

    with pytest.raises(InputError, match="coordinate reference system") as caught:
        aggregate_to_h3(path, resolution=RESOLUTION)
    assert caught.value.file == str(path)
    assert caught.value.field == "crs"
