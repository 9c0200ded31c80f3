"""Rows of a DataFrame for code that reads them one by one (tables, maps, exports).

pandas-stubs types every field of ``DataFrame.itertuples()`` as the union of all scalars pandas
knows (str | bytes | date | … | Period | Interval), so ``row.geometry.x`` or ``row.count > 0``
fails type checking although the frame's columns are fixed by whoever built it. Reading rows
through :func:`row_tuples` says so once, here, instead of a cast at every field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd


def row_tuples(frame: pd.DataFrame, *, index: bool = True) -> Iterator[Any]:
    """The frame's rows as named tuples, exactly ``frame.itertuples(index=index)``.

    The fields are typed ``Any``: their types are the frame's column contract, documented (and
    tested) where the frame is made.
    """
    return frame.itertuples(index=index)
