"""The display hexagons' parents by bit arithmetic equal h3's own, at every coarser resolution."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from geo.services.map_data import h3_parents


@pytest.mark.parametrize("resolution", [0, 5, 6, 8])
def test_parents_by_bits_equal_h3(resolution: int) -> None:
    points = [(29.70, 115.99), (29.12, 114.55), (30.02, 116.70), (-33.9, 151.2), (64.1, -21.9)]
    cells = np.array([h3.str_to_int(h3.latlng_to_cell(lat, lng, 9)) for lat, lng in points], dtype=np.int64)
    expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(cell)), resolution)) for cell in cells]
    assert h3_parents(cells, resolution).tolist() == expected
    assert h3_parents(cells, 9).tolist() == cells.tolist()  # a cell is its own parent at its resolution
