"""Rows of a DataFrame for code that reads them one by one (tables, maps, exports, inserts).

pandas-stubs types every field of ``DataFrame.itertuples()`` as the union of all scalars pandas
knows (str | bytes | date | … | Period | Interval), so ``row.geometry.x`` or ``row.count > 0``
fails type checking although the frame's columns are fixed by whoever built it; and it keys the
dicts of ``to_dict("records")`` by ``Hashable``, which no ``**row`` or SQL parameter list takes.
Reading rows through :func:`row_tuples` and :func:`row_dicts` says so once, here, instead of a
cast at every field. Imports only pandas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pandas as pd


def row_tuples(frame: pd.DataFrame, *, index: bool = True) -> Iterator[Any]:
    """The frame's rows as named tuples, exactly ``frame.itertuples(index=index)``.

    The fields are typed ``Any``: their types are the frame's column contract, documented where
    the frame is made.
    """
    return frame.itertuples(index=index)


def row_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts, exactly ``frame.to_dict("records")``, keyed by column name.

    For frames whose column names are strings (every frame this project builds or reads).
    """
    return cast(list[dict[str, Any]], frame.to_dict("records"))
