"""CQL2 filters and sort orders of the feature pages as SQL: which columns a client may filter and
sort each kind of feature on, and a checked pygeofilter tree turned into a condition with bound values.

The condition is made by pygeofilter's SQLAlchemy backend over the same aliased tables the page
statements of ``geo.store.features`` use (``station s``, ``region r``), compiled for PostgreSQL with
named parameters: every literal of the filter is a parameter (prefixed ``q_`` so that it never meets
a page's own ``:key``, ``:limit`` …), never text pasted into the statement. The tree must have been
checked first (``api.ogc.cql``): properties known, values of the property's type, geometries valid,
lon, lat in EPSG:4326; what reaches here is only what that check lets through.
"""

from __future__ import annotations

import re
from typing import Any

from geoalchemy2 import Geometry
from pygeofilter.backends.sqlalchemy import to_filter
from sqlalchemy import Boolean, Column, ColumnElement, DateTime, Integer, Table
from sqlalchemy.dialects.postgresql.base import PGDialect

from geo.store.models import Region, Station
from geo.store.regions import position_unknown

_STATION: Table = Station.__table__.alias("s")  # type: ignore[assignment]
_REGION: Table = Region.__table__.alias("r")  # type: ignore[assignment]


def _columns(table: Table, names: dict[str, str]) -> dict[str, ColumnElement[Any]]:
    return {name: table.c[column] for name, column in names.items()}


# Not a column: the one rule of geo.store.regions over the alias ``r`` (filterable and sortable).
_POSITION = {"position_is_unknown": position_unknown(_REGION)}


_STATION_COLUMNS = _columns(_STATION, {
    "station_id": "id", "type_code": "type_code", "name": "name", "address": "address", "status": "status",
    "phone": "phone", "managing_union": "managing_union", "county_code": "county_code",
    "township_code": "township_code", "is_demo": "is_demo", "source": "source", "version": "version",
    "created_at": "created_at", "updated_at": "updated_at", "geometry": "geom"})
_REGION_NAMES = {"code": "code", "name": "name", "parent_code": "parent_code", "geometry": "geom"}
# The feature property → the column it is read from, per kind of feature. Properties the API adds
# (opening hours in words, coverage figures) or that come from a joined table are not columns of
# the page's key scan and cannot be filtered on.
COLUMNS: dict[str, dict[str, ColumnElement[Any]]] = {
    "stations": _STATION_COLUMNS,
    "regions": _columns(_REGION, _REGION_NAMES | {
        "level": "level", "kind": "kind", "population": "population", "urban_population": "urban_population",
        "population_is_modelled": "population_is_modelled",
        "boundary_is_approximate": "boundary_is_approximate", "source": "source"}) | _POSITION,
    "coverage": _columns(_REGION, _REGION_NAMES | {"boundary_is_approximate": "boundary_is_approximate"}) | _POSITION,
}
# The key each kind's pages end their order with, so that equal sort values keep one order
TIE_BREAK = {"stations": "s.id", "regions": "r.code", "coverage": "r.code"}
_BIND = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def value_type(column: ColumnElement[Any]) -> str:
    """The JSON Schema type of a column's values: string, integer, boolean, date-time or geometry."""
    kind = column.type
    if isinstance(kind, Geometry):
        return "geometry"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, DateTime):
        return "date-time"
    return "string"


def queryable_types(kind: str) -> dict[str, str]:
    """Property name → value type (:func:`value_type`) of what a ``kind`` of feature can be filtered on."""
    return {name: value_type(column) for name, column in COLUMNS[kind].items()}


def condition(kind: str, tree: Any) -> tuple[str, dict[str, object]]:
    """`` AND (<sql>)`` for a checked pygeofilter tree, and the values of its parameters."""
    if isinstance(tree, bool):  # the filter ``true`` or ``false``
        return (" AND true" if tree else " AND false"), {}
    clause = to_filter(tree, COLUMNS[kind])
    # The driver-neutral dialect: psycopg's would add ``::VARCHAR`` casts, which ``text()`` misreads;
    # IN lists are expanded to one parameter per value.
    dialect = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]
    compiled = clause.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = dict(compiled.params)
    sql = _BIND.sub(lambda match: f":q_{match[1]}" if match[1] in params else match[0], str(compiled))
    return f" AND ({sql})", {f"q_{name}": value for name, value in params.items()}


def _sql_of(column: ColumnElement[Any]) -> str:
    """``alias.column``, or a rule's expression (constants only: its values are rendered inline)."""
    if isinstance(column, Column):
        return f"{column.table.name}.{column.name}"
    dialect = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]
    return str(column.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def order_by(kind: str, keys: tuple[tuple[str, bool], ...]) -> str:
    """``ORDER BY`` over (property, descending) pairs, then the kind's key; column names from COLUMNS."""
    columns = COLUMNS[kind]
    terms = [f"{_sql_of(columns[name])} {'DESC' if descending else 'ASC'}" for name, descending in keys]
    return "ORDER BY " + ", ".join([*terms, TIE_BREAK[kind]])
