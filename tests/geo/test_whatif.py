"""What-if on hand-built cells: each site adds exactly the people not covered before it."""

import numpy as np
import pytest
import scipy.sparse as sp

from geo.analysis import whatif
from geo.analysis.coverage import CoverageModel
from geo.errors import InputError
from tests.geo.test_coverage import CELLS, REST, lonlat, model, stations  # noqa: F401 - model is a fixture

NO_STATIONS = stations()


def evaluate(model: CoverageModel, *xs: float, existing=NO_STATIONS) -> whatif.WhatIf:  # noqa: ANN001, F811
    lon, lat = np.array([lonlat(x) for x in xs]).reshape(-1, 2).T
    return whatif.evaluate_sites(model, existing, REST, lon, lat)


def test_each_site_adds_what_the_sites_before_it_left(model: CoverageModel) -> None:  # noqa: F811
    # a site at 0 m covers A, B (urban, ≤ 1000 m) and D (rural, ≤ 3000 m): 170; one at 2500 m covers
    # D (0 m) and E (2500 m, rural), not C (urban, 1400 m): after the first, E's 10 only
    result = evaluate(model, 0, 2500)
    assert result.sites["added"].tolist() == [170.0, 10.0]
    assert result.covered_before == 0 and result.covered_after == 180 and result.population == 210
    assert result.sites["cumulative"].tolist() == [170.0, 180.0]
    assert result.sites["share"].tolist() == pytest.approx([170 / 210, 180 / 210])
    assert result.sites["county_code"].tolist() == ["K1", "K2"]
    # in the other order the second site gets what the first did not take
    assert evaluate(model, 2500, 0).sites["added"].tolist() == [30.0, 150.0]


def test_open_stations_are_covered_before_and_a_repeated_site_adds_nothing(model: CoverageModel) -> None:  # noqa: F811
    result = evaluate(model, 2500, 2500, existing=stations(("love_station", 0, "K1", "T1")))
    assert result.covered_before == 170
    assert result.sites["added"].tolist() == [10.0, 0.0] and result.covered_after == 180


def test_no_sites_is_the_stations_alone(model: CoverageModel) -> None:  # noqa: F811
    result = evaluate(model)
    assert result.sites.empty and result.covered_after == result.covered_before == 0


def test_a_site_outside_the_region_is_named_by_its_index(model: CoverageModel) -> None:  # noqa: F811
    with pytest.raises(InputError) as error:
        evaluate(model, 0, 50_000)
    assert error.value.field == "sites[1]" and "outside the region" in str(error.value)


def test_too_many_sites_is_refused(model: CoverageModel) -> None:  # noqa: F811
    with pytest.raises(InputError, match="at most 500") as error:
        evaluate(model, *([0.0] * 501))
    assert error.value.field == "sites"
    assert len(CELLS) == 5


def test_a_held_candidates_column_is_taken_as_it_is_and_others_are_reached(model: CoverageModel) -> None:  # noqa: F811
    lon, lat = np.array([lonlat(0), lonlat(2500)]).T
    reached = whatif.site_columns(model, REST, lon, lat)
    # a held "instance" of one candidate at 2500 m whose column is (deliberately) only cell E
    only_e = sp.csc_matrix(([1.0], ([4], [0])), shape=(len(CELLS), 1))
    known = (whatif.positions_of(lon[1:], lat[1:]), only_e)
    mixed = whatif.site_columns(model, REST, lon, lat, known=known)
    assert (mixed[:, 0] != reached[:, 0]).nnz == 0  # the site at 0 m: reached, A, B and D
    assert mixed[:, 1].nonzero()[0].tolist() == [4]  # the site at 2500 m: the held column as it is
