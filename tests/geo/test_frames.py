"""geo.core.frames: the typed row readers give exactly what pandas gives."""

from __future__ import annotations

import pandas as pd

from geo.core.frames import row_dicts, row_tuples


def test_row_readers_are_itertuples_and_records() -> None:
    frame = pd.DataFrame({"code": ["a", "b"], "count": [3, 4], "share": [0.5, 1.0]}, index=[7, 9])
    assert list(row_tuples(frame)) == list(frame.itertuples())
    assert list(row_tuples(frame, index=False)) == list(frame.itertuples(index=False))
    rows = list(row_tuples(frame))
    assert [row.Index for row in rows] == [7, 9] and rows[0].count == 3  # a field named like a tuple method
    assert row_dicts(frame) == frame.to_dict("records") == [{"code": "a", "count": 3, "share": 0.5},
                                                             {"code": "b", "count": 4, "share": 1.0}]
