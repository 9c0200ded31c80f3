"""Tests for geo.population: Hamilton apportionment and the township population model."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from geo.reference.boundaries import derive_townships
from geo.reference.population import apportion, model_township_population

METRIC = "EPSG:32650"
X0, Y0 = 400_000.0, 3_300_000.0
DATA = Path(__file__).resolve().parents[2] / "data" / "jiujiang"


def synthetic_townships() -> gpd.GeoDataFrame:
    """County 100001: two 1 km² streets, a 4 km² town, townships of 20 and 15 km² (UTM 50N).

    County 100002 has only streets (an urban district): 2 km² and 6 km².
    """
    boxes = [
        ("100001001", "100001", "street", (0, 0, 1000, 1000)),
        ("100001002", "100001", "street", (1000, 0, 2000, 1000)),
        ("100001101", "100001", "town", (0, 1000, 2000, 3000)),
        ("100001201", "100001", "township", (2000, 0, 6000, 5000)),
        ("100001202", "100001", "township", (6000, 0, 10000, 3750)),
        ("100002001", "100002", "street", (0, 10_000, 2000, 11_000)),
        ("100002002", "100002", "street", (2000, 10_000, 8000, 11_000)),
    ]
    geometry = gpd.GeoSeries(
        [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for *_, (a, b, c, d) in boxes], crs=METRIC)
    return gpd.GeoDataFrame(
        {"code": [b[0] for b in boxes], "county_code": [b[1] for b in boxes],
         "kind": [b[2] for b in boxes]},
        geometry=geometry.to_crs(4326),
    )


def census(**overrides: tuple[int, float]) -> pd.DataFrame:
    rows = {"100001": (100_001, 0.9), "100002": (50_000, 1.0)} | overrides
    return pd.DataFrame({"code": list(rows), "population": [p for p, _ in rows.values()],
                         "urban_share": [s for _, s in rows.values()]})


def test_apportion_ties_go_to_the_lower_index() -> None:
    assert apportion(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert apportion(1, np.array([2.0, 2.0])).tolist() == [1, 0]
    assert apportion(5, np.array([0.0, 0.0, 0.0])).tolist() == [2, 2, 1]
    assert apportion(7, np.array([0.0, 3.0, 0.0])).tolist() == [0, 7, 0]
    assert apportion(0, np.array([1.0, 2.0])).tolist() == [0, 0]
    # quotas 1.5, 2.5, 6.0 -> floors 1, 2, 6, one unit left, tie -> index 0
    assert apportion(10, np.array([3.0, 5.0, 12.0])).tolist() == [2, 2, 6]


def test_apportion_is_exact_and_within_one_of_the_quota_on_random_weights() -> None:
    rng = np.random.default_rng(20200101)
    for _ in range(200):
        weights = rng.random(rng.integers(1, 40)) * rng.choice([1.0, 1e-6, 1e6])
        weights[rng.random(len(weights)) < 0.2] = 0.0
        total = int(rng.integers(0, 2_000_000))
        shares = apportion(total, weights)
        assert shares.dtype == np.int64
        assert shares.sum() == total
        assert (shares >= 0).all()
        if weights.sum() > 0:
            quota = total * weights / weights.sum()
            assert np.all(np.abs(shares - quota) < 1.0)
            assert (shares[weights == 0] == 0).all()


@pytest.mark.parametrize(("total", "weights"), [(-1, [1.0]), (3, [1.0, -0.5]),
                                                (3, [np.nan, 1.0]), (2, [])])
def test_apportion_rejects_bad_input(total: int, weights: list[float]) -> None:
    with pytest.raises(ValueError):
        apportion(total, np.array(weights, dtype=float))


def test_urban_heavy_county_puts_people_in_streets() -> None:
    townships = synthetic_townships()
    result = model_township_population(townships, census(), metric_crs=METRIC)
    assert result["code"].tolist() == townships["code"].tolist()
    by_code = result.set_index("code")
    # U = round(100001 * 0.9) = 90001 over weights 4, 4, 1, 0.15, 0.15 (sum 9.3)
    assert by_code.loc["100001001", "urban_population"] == 38710
    assert by_code.loc["100001101", "urban_population"] == 9677
    # R = 10000 by area over town 4 km² and townships 20 and 15 km²; streets get none
    assert by_code.loc[["100001001", "100001002"], "rural_population"].tolist() == [0, 0]
    assert by_code.loc[["100001101", "100001201", "100001202"], "rural_population"].tolist() \
        == [1026, 5128, 3846]
    county = by_code.loc[by_code.index.str.startswith("100001")]
    assert county["population"].sum() == 100_001
    assert county["urban_population"].sum() == 90_001
    assert county["rural_population"].sum() == 10_000
    density = county["population"] / np.array([1.0, 1.0, 4.0, 20.0, 15.0])
    assert density.iloc[:2].min() > 10 * density.iloc[3:].max()
    assert (result["population"] == result["urban_population"] + result["rural_population"]).all()


def test_all_street_county_spreads_rural_pool_by_area() -> None:
    result = model_township_population(
        synthetic_townships(), census(**{"100002": (50_000, 0.9)}), metric_crs=METRIC)
    streets = result.set_index("code").loc[["100002001", "100002002"]]
    assert streets["urban_population"].tolist() == [22_500, 22_500]
    assert streets["rural_population"].tolist() == [1250, 3750]  # 2 km² vs 6 km²


def test_custom_urban_weights_override_defaults() -> None:
    result = model_township_population(synthetic_townships(), census(), metric_crs=METRIC,
                                       urban_weights={"township": 0.0, "town": 0.0})
    urban = result.set_index("code")["urban_population"]
    assert urban.loc[["100001001", "100001002", "100001101", "100001201"]].tolist() \
        == [45_001, 45_000, 0, 0]


def test_missing_census_row_names_the_county() -> None:
    counties = census().iloc[:1]
    with pytest.raises(ValueError, match="100002"):
        model_township_population(synthetic_townships(), counties, metric_crs=METRIC)


@pytest.mark.parametrize("share", [-0.1, 1.2, np.nan])
def test_bad_urban_share_names_the_county(share: float) -> None:
    with pytest.raises(ValueError, match="100001"):
        model_township_population(synthetic_townships(), census(**{"100001": (10, share)}),
                                  metric_crs=METRIC)


def test_unknown_kind_without_weight_is_rejected() -> None:
    townships = synthetic_townships().assign(kind=lambda f: f["kind"].replace("town", "farm"))
    with pytest.raises(ValueError, match="farm"):
        model_township_population(townships, census(), metric_crs=METRIC)


def test_real_jiujiang_population_sums_exactly_per_county() -> None:
    # GCJ-02 county file used as-is: only the algorithm is under test.
    counties = gpd.read_file(DATA / "counties_gcj02.geojson").rename(columns={"adcode": "code"})
    townships = derive_townships(
        counties, pd.read_csv(DATA / "townships.csv", dtype=str),
        pd.read_csv(DATA / "township_seats_geonames.csv", dtype={"code": str}),
        metric_crs=METRIC)
    population = pd.read_csv(DATA / "county_population_2020.csv", dtype={"adcode": str}).rename(
        columns={"adcode": "code", "population_2020": "population"})
    before = townships.copy()
    result = model_township_population(townships, population, metric_crs=METRIC)
    pd.testing.assert_frame_equal(townships, before)
    assert len(result) == 204
    merged = result.merge(townships[["code", "county_code", "kind"]], on="code")
    sums = merged.groupby("county_code")[["population", "urban_population"]].sum()
    expected = population.set_index("code")
    assert sums["population"].to_dict() == expected["population"].to_dict()
    urban_pool = np.floor(expected["population"] * expected["urban_share"] + 0.5).astype(int)
    assert sums["urban_population"].to_dict() == urban_pool.to_dict()
    assert result["population"].sum() == expected["population"].sum()
    assert (result["population"] >= 0).all()
    street = merged.loc[merged["kind"] == "street", "population"].median()
    rural = merged.loc[merged["kind"] == "township", "population"].median()
    assert street > rural
