"""``filter`` of OGC API - Features Part 3 in CQL2 text or CQL2 JSON: parsed by pygeofilter, then
checked against a collection's queryables before the store turns it into SQL (``geo.store.cql``).

The check is what keeps every bad filter a 400 naming the problem, never a database error: the
properties must be queryables, each literal of its property's type (``status > 3`` is refused;
``status = 'bogus'`` is simply no match), only the operators the conformance declaration lists,
geometries valid. Geometries come in ``filter-crs`` (CRS84 by default; EPSG:4326 and EPSG:4490 in
lat, lon order; EPSG:3857 in metres, its vertices taken to lon, lat by pyproj) and leave in lon, lat.
pygeofilter 0.4's slips of CQL2 1.0 are mended here: a JSON ``between`` with three arguments and a
JSON ``bbox`` (read into the wrong fields of its Envelope); a text ``BBOX(…)`` (a plain function
call) becomes a polygon; a filter that is just ``true`` or ``false`` (its text grammar has no
boolean expression); and text string literals with CQL2's escapes (``''``, ``\'``, ``\t`` …), which
its grammar cannot read, are parsed as placeholders and given their decoded values after. Its text
grammar is used with two rules mended: AND binds tighter than OR (0.4 reads ``a OR b AND c`` as
``(a OR b) AND c``) and NOT takes any parenthesised condition (``NOT (a OR b)``), as CQL2's BNF
says. A JSON GEOMETRYCOLLECTION literal (which 0.4 cannot read) becomes S_INTERSECTS of each member,
OR-ed: the same set.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy
import shapely
from lark import Lark
from lark.exceptions import LarkError, UnexpectedInput
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parser as text_parser
from pyproj import Transformer
from shapely.geometry import mapping, shape

from api.ogc.params import (
    CRS84,
    CRS_SPECS,
    EPSG3857,
    EPSG4326,
    EPSG4490,
    ItemQuery,
    parse_crs,
    parse_instant,
    parse_properties,
    parse_sortby,
)
from geo.errors import InputError

# cql-text: what GDAL 3.6 sends (it looks for this value in the OpenAPI document); its filters are CQL2 text
LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
# EPSG:4490 (CGCS2000) as EPSG:4326: lat, lon, the same numbers (PROJ knows no offset between them,
# see the README); EPSG:3857 literals have their vertices reprojected (every CRS a collection lists,
# as Part 3's abstract test /conf/filter/filter-crs-param asks).
FILTER_CRS = (CRS84, EPSG4326, EPSG4490, EPSG3857)
_MERCATOR = Transformer.from_crs(3857, 4326, always_xy=True)  # PROJ's default, as for bbox-crs
MAX_FILTER = 20_000  # characters: a polygon of a few hundred vertices fits
_COMPARISONS = (ast.Equal, ast.NotEqual, ast.LessThan, ast.LessEqual, ast.GreaterThan, ast.GreaterEqual)
_MIRRORED = {ast.LessThan: ast.GreaterThan, ast.GreaterThan: ast.LessThan, ast.LessEqual: ast.GreaterEqual,
             ast.GreaterEqual: ast.LessEqual, ast.Equal: ast.Equal, ast.NotEqual: ast.NotEqual}
# CQL2 has one numeric literal: ``id BETWEEN 100.0 AND 1.0`` is a valid filter on an integer property
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int, float), "number": (int, float),
                                       "boolean": (bool,), "date-time": (datetime, date)}


def _error(message: str) -> InputError:
    return InputError(message, field="filter")


def _filter_crs(lang: str, crs: str) -> str:
    """The canonical ``filter-crs``, after checking it and ``filter-lang``; InputError naming either."""
    if lang not in LANGUAGES:
        raise InputError(f"unknown filter language {lang!r}; use one of {', '.join(LANGUAGES[:2])}",
                         field="filter-lang")
    crs = parse_crs(crs, field="filter-crs")
    if crs not in FILTER_CRS:
        raise InputError(f"filter-crs must be one of {', '.join(FILTER_CRS)}", field="filter-crs")
    return crs


def parse_filter(text: str, *, lang: str = "cql2-text", crs: str = CRS84,
                 queryables: Mapping[str, str]) -> Any:
    """The checked pygeofilter tree of ``text``; InputError naming ``filter`` (or ``filter-lang``,
    ``filter-crs``) and saying what is wrong. ``queryables`` maps property → value type."""
    crs = _filter_crs(lang, crs)
    if len(text) > MAX_FILTER or "\x00" in text:
        raise _error(f"a filter is at most {MAX_FILTER} characters, without NUL")
    try:
        tree = parse_json(_mended_json(text)) if lang == "cql2-json" else _parse_text(text)
    except UnexpectedInput as error:
        first = str(error).strip().splitlines()[0]
        raise _error(f"CQL2 syntax error at line {error.line}, column {error.column}: {first}") from error
    except (LarkError, ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise _error(f"not a valid {lang} filter: {error}") from error
    unknown = sorted(_attributes(tree) - set(queryables))
    if unknown:
        raise _error(f"unknown properties in filter: {', '.join(unknown)}; queryables: {', '.join(queryables)}")
    return _Checker(queryables, swap=CRS_SPECS[crs].lat_lon, metres=CRS_SPECS[crs].metres).check(tree)


# A CQL2 text string literal: '…' with '' or a backslash escape inside
_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'", re.DOTALL)
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "'": "'", "\\": "\\"}


_CONDITIONS = '''?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_

?condition_1: predicate
            | "NOT"i predicate                                               -> not_
            | "NOT"i "(" predicate ")"                                       -> not_
            | "(" condition ")"
'''
_CQL2_CONDITIONS = '''?condition: conjunction
          | condition "OR"i conjunction -> or_

?conjunction: condition_1
            | conjunction "AND"i condition_1 -> and_

?condition_1: predicate
            | "NOT"i condition_1 -> not_
            | "(" condition ")"
'''


def _text_parser() -> Lark:
    """pygeofilter's CQL2 text grammar and transformer, with the rules of AND, OR and NOT as CQL2's."""
    with open(os.path.join(os.path.dirname(text_parser.__file__), "grammar.lark"), encoding="utf-8") as file:
        grammar = file.read()
    if _CONDITIONS not in grammar:  # another pygeofilter: fail at import, not on a request
        raise RuntimeError("pygeofilter's CQL2 text grammar changed; review api/ogc/cql.py")
    return Lark(grammar.replace(_CONDITIONS, _CQL2_CONDITIONS), parser="lalr", maybe_placeholders=False,
                transformer=text_parser.CQLTransformer(), source_path=text_parser.__file__,
                import_paths=[os.path.dirname(os.path.dirname(text_parser.__file__))])


_TEXT = _text_parser()


def parse_text(text: str) -> Any:
    """A CQL2 text filter's pygeofilter tree (the mended grammar above)."""
    return _TEXT.parse(text)


def _parse_text(text: str) -> Any:
    """pygeofilter's tree of a CQL2 text filter, with what its grammar misses mended (see the module)."""
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    decoded: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        literal = match[0][1:-1]
        if "''" not in literal and "\\" not in literal:
            return match[0]
        key = f"\x01{len(decoded)}\x01"
        # unknown escapes keep their backslash: LIKE reads '\%' as a literal percent sign
        decoded[key] = re.sub(r"''|\\(.)", lambda m: "'" if m[0] == "''" else _ESCAPES.get(m[1], m[0]), literal)
        return f"'{key}'"

    tree = parse_text(_STRING.sub(placeholder, text))
    return _restore(tree, decoded) if decoded else tree


def _restore(node: Any, decoded: Mapping[str, str]) -> Any:
    """``node`` with each placeholder string given its decoded value."""
    if isinstance(node, str):
        return decoded.get(node, node)
    if isinstance(node, list | tuple):
        return type(node)(_restore(item, decoded) for item in node)
    if is_dataclass(node) and not isinstance(node, type):
        return replace(node, **{item.name: _restore(getattr(node, item.name), decoded) for item in fields(node)})
    return node


def _mended_json(text: str) -> Any:
    """CQL2 JSON with 1.0's ``between`` (three arguments) and ``bbox`` literals put as pygeofilter 0.4
    reads them: ``between`` with [low, high], a bbox as a GeoJSON polygon."""
    def mend(node: Any) -> Any:
        if isinstance(node, list):
            return [mend(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"bbox"}:
            return _box_polygon(node["bbox"])
        mended = {key: mend(item) for key, item in node.items()}
        args = mended.get("args")
        if mended.get("op") == "s_intersects" and isinstance(args, list) and len(args) == 2:
            for index, arg in enumerate(args):
                if isinstance(arg, dict) and arg.get("type") == "GeometryCollection" and arg.get("geometries"):
                    return {"op": "or", "args": [
                        {"op": "s_intersects", "args": [args[1 - index], member]} for member in arg["geometries"]]}
        if mended.get("op") == "between" and isinstance(args, list) and len(args) == 3:
            mended["args"] = [args[0], args[1:]]
        return mended
    return mend(json.loads(text))


def _box_polygon(box: Any) -> dict[str, Any]:
    """A CQL2 bbox (4 numbers, or 6 with heights) as a GeoJSON polygon, in the filter's axis order."""
    if not isinstance(box, list) or len(box) not in (4, 6) or not all(
            isinstance(number, int | float) and not isinstance(number, bool) for number in box):
        raise _error(f"a bbox is 4 (or 6) numbers, got {box!r}")
    x0, y0, x1, y1 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _attributes(node: Any) -> set[str]:
    """Every property a tree names."""
    if isinstance(node, ast.Attribute):
        return {node.name}
    if isinstance(node, ast.Node):
        return set().union(*(_attributes(child) for child in node.get_sub_nodes()))
    if isinstance(node, list):
        return set().union(*(_attributes(child) for child in node))
    return set()


class _Checker:
    """Walks a tree: refuses what the store cannot run, returns a tree it can (geometries in lon, lat)."""

    def __init__(self, queryables: Mapping[str, str], *, swap: bool, metres: bool = False) -> None:
        self.queryables = queryables
        self.swap = swap
        self.metres = metres

    def check(self, node: Any) -> Any:
        if isinstance(node, bool):  # the filter ``true`` or ``false``
            return node
        if isinstance(node, ast.And | ast.Or):
            return type(node)(self.check(node.lhs), self.check(node.rhs))
        if isinstance(node, ast.Not):
            return ast.Not(self.check(node.sub_node))
        if isinstance(node, _COMPARISONS):
            return self._comparison(node)
        if isinstance(node, ast.Like):
            self._property(node.lhs, ("string",), "LIKE")
            if not isinstance(node.pattern, str):
                raise _error("LIKE takes a string pattern")
            return node
        if isinstance(node, ast.Between):
            kind = self._property(node.lhs, ("string", "integer", "date-time"), "BETWEEN")
            return ast.Between(node.lhs, self._literal(node.low, kind, node.lhs.name),
                               self._literal(node.high, kind, node.lhs.name), node.not_)
        if isinstance(node, ast.In):
            kind = self._property(node.lhs, ("string", "integer", "boolean", "date-time"), "IN")
            return ast.In(node.lhs, [self._literal(item, kind, node.lhs.name) for item in node.sub_nodes], node.not_)
        if isinstance(node, ast.IsNull):
            self._property(node.lhs, None, "IS NULL")
            return node
        if isinstance(node, ast.GeometryIntersects):
            return self._intersects(node)
        raise _error(f"{type(node).__name__} is not supported here; filters may use =, <>, <, <=, >, >=, LIKE, "
                     "IN, BETWEEN, IS NULL, AND, OR, NOT and S_INTERSECTS")

    def _property(self, node: Any, kinds: tuple[str, ...] | None, operator: str) -> str:
        if not isinstance(node, ast.Attribute):
            raise _error(f"{operator} needs a property on its left, got {node!r}")
        kind = self.queryables[node.name]
        if kinds is not None and kind not in kinds:
            raise _error(f"{operator} does not apply to {node.name!r} ({kind})")
        return kind

    def _literal(self, value: Any, kind: str, name: str) -> Any:
        """``value`` if it is of ``kind``; an RFC 3339 string counts as a date-time (GDAL sends them so)."""
        if kind == "date-time" and isinstance(value, str):
            try:
                return parse_instant(value)
            except InputError as error:
                raise _error(f"{name!r} is a date-time: {error}") from error
        matches = isinstance(value, _TYPES.get(kind, ())) and (kind == "boolean" or not isinstance(value, bool))
        if not matches:
            raise _error(f"{name!r} is a {kind} property; {value!r} is not a {kind}")
        return value

    def _comparison(self, node: Any) -> Any:
        lhs, rhs, operator = node.lhs, node.rhs, type(node)
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):  # 3 < version
            lhs, rhs, operator = rhs, lhs, _MIRRORED[operator]
        if isinstance(rhs, ast.Node):
            raise _error("a comparison is between a property and a literal (no property-property comparisons, "
                         "functions or arithmetic)")
        kind = self._property(lhs, ("string", "integer", "boolean", "date-time"), "a comparison")
        value = self._literal(rhs, kind, lhs.name)
        if kind == "boolean" and operator not in (ast.Equal, ast.NotEqual):
            return _ordered_boolean(lhs, operator, value)
        return operator(lhs, value)

    def _intersects(self, node: Any) -> Any:
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        self._property(lhs, ("geometry",), "S_INTERSECTS")
        return ast.GeometryIntersects(lhs, values.Geometry(self._geometry(rhs)))

    def _geometry(self, value: Any) -> dict[str, Any]:
        """A GeoJSON geometry in lon, lat (EPSG:4326 filters swapped), valid, on the globe."""
        if isinstance(value, ast.Function) and value.name.lower() == "bbox":  # cql2-text BBOX(…)
            value = values.Geometry(_box_polygon(list(value.arguments)))
        if not isinstance(value, values.Geometry):
            raise _error("S_INTERSECTS takes a geometry literal (POINT, POLYGON, BBOX …)")
        try:
            found = shape(value.geometry)
        except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError) as error:
            raise _error(f"not a valid geometry: {error}") from error
        if self.swap:
            found = shapely.transform(found, lambda xy: xy[:, ::-1])
        if self.metres:  # Web Mercator: each vertex to lon, lat (a box's edges stay straight in both)
            found = shapely.transform(found, lambda xy: numpy.column_stack(_MERCATOR.transform(xy[:, 0], xy[:, 1])))
        west, south, east, north = found.bounds if not found.is_empty else (0, 0, 0, 0)
        if found.is_empty or not found.is_valid or not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise _error(f"geometry must be non-empty, valid and within lon −180…180, lat −90…90: {found.wkt[:200]}")
        geometry: dict[str, Any] = mapping(found)
        return geometry


def _ordered_boolean(lhs: Any, operator: type, value: bool) -> Any:
    """``lhs < true`` and the like, as SQL orders booleans (false < true), in = and OR only (SQLAlchemy
    refuses ``<`` on a boolean): CQL2's comparison test asks all six operators of every queryable."""
    wanted = [flag for flag in (False, True) if {
        ast.LessThan: flag < value, ast.LessEqual: flag <= value,
        ast.GreaterThan: flag > value, ast.GreaterEqual: flag >= value}[operator]]
    if not wanted:  # ``x > true``: no value, and NULL stays unmatched
        return ast.And(ast.Equal(lhs, True), ast.Equal(lhs, False))
    if len(wanted) == 2:
        return ast.Or(ast.Equal(lhs, False), ast.Equal(lhs, True))
    return ast.Equal(lhs, wanted[0])


def refine(query: ItemQuery, parameters: Iterable[tuple[str, str]], queryables: Mapping[str, str],
           properties: Callable[[], Iterable[str]]) -> ItemQuery:
    """``query`` with its ``filter`` (checked), ``sortby`` and ``properties`` read from ``parameters``
    (parse_item_query has refused unknown and repeated ones). Sortable: every queryable but geometry.
    ``properties`` gives the names a feature may carry, asked only when ``properties`` is given."""
    given = dict(parameters)
    # filter-lang or filter-crs alone are checked (a bad value is a 400) and change nothing: a client
    # may send its defaults with every request, filter or not, as GDAL does with its page parameters.
    if "filter" not in given:
        _filter_crs(given.get("filter-lang", LANGUAGES[0]), given.get("filter-crs", CRS84))
    changes: dict[str, Any] = {}
    if "filter" in given:
        changes["filter"] = parse_filter(given["filter"], lang=given.get("filter-lang", "cql2-text"),
                                         crs=given.get("filter-crs", CRS84), queryables=queryables)
    if "sortby" in given:
        sortable = [name for name, kind in queryables.items() if kind != "geometry"]
        changes["sortby"] = parse_sortby(given["sortby"], sortable)
    if "properties" in given:
        changes["properties"] = parse_properties(given["properties"], properties())
    return replace(query, **changes) if changes else query
