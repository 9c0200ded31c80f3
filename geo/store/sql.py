"""The only pieces of SQL ever put into a statement by string formatting.

Statements are SQLAlchemy Core, or SQL text with bound parameters. A few must be assembled
(a table alias in a shared rule, an index name, a column list for COPY): every such piece
passes :func:`fragment`, which accepts only the constants listed here. Anything else (a value
from a request, a file, a setting) is refused in code, so it can only ever reach the database
as a bound parameter. ``tests/geo/test_sql_rule.py`` checks that every f-string given to
``text()`` or a cursor in ``geo/store`` interpolates ``fragment(...)`` or a module constant.
"""

from __future__ import annotations

ALLOWED: frozenset[str] = frozenset({
    # table aliases the counting rule is written for
    "s", "station",
    # region aliases the township position rule is written for (``geo.store.regions``)
    "r", "t", "region",
    # the tables that carry a region code (migration 0009 fills them in)
    "demand_grid", "demand_cell", "target", "plan", "plan_job",
})


def fragment(piece: str) -> str:
    """``piece`` itself when it is one of the allowed constants; ValueError otherwise."""
    if piece not in ALLOWED:
        raise ValueError(f"not an allowed SQL fragment: {piece!r}")
    return piece
