"""Which region a session reads and writes: the deployment's tenancy rule, stated once.

A deployment holds several cities in the same tables, each row tagged with ``region_code``
(migration 0009). Every statement on a regional table (``region``, ``station``, ``demand_grid``,
``demand_cell``, ``target``, ``plan``, ``plan_job``) filters by the session's region, and every
insert tags its rows with it. The region travels with the session, as the actor travels with the
transaction (``geo.store.db.set_actor``): the API sets it per request from the URL
(``/r/{code}/…``), a command from ``--region``; store functions read it here.

A session nobody scoped works on the deployment's only city, and refuses to guess when there are
several: forgetting to scope is an error, never a read of every city's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, FromClause, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from geo.errors import StateConflict
from geo.store import deployment

_KEY = "unionmap.region"
_ASKED = "unionmap.region_asked"


class RegionUnscoped(StateConflict):
    """A regional statement ran in a session scoped to no region while several are held."""


class RegionNotCity(StateConflict):
    """A write (or a city's analysis) was asked of a session scoped to several cities (a province)."""


def set_scope(session: Session, codes: Sequence[str]) -> None:
    """Scope the session to these cities (one for a city; every member for a province)."""
    session.info[_KEY] = tuple(codes)


def members(rows: Sequence[deployment.RegionRow], region: deployment.RegionRow) -> list[str]:
    """The cities a region stands for: itself, a province's cities, a country's provinces' cities."""
    return deployment.members_of(list(rows), region)


def scope_to_named(session: Session, name: str | None) -> None:
    """Scope a command's session to the region named (its folder or code), else to the default;
    left unscoped when the database holds neither (a first ``load reference`` scopes itself)."""
    rows = deployment.all_regions(session)
    chosen = next((row for row in rows if name in (row.code, row.folder)), None) if name else next(
        (row for row in rows if row.is_default), None)
    if chosen is not None:
        set_scope(session, members(rows, chosen))
    elif name:
        session.info[_ASKED] = name  # for the error, should a statement need a region


def scope_of(session: Session) -> tuple[str, ...]:
    """The cities the session works on (see the module's docstring for an unscoped session)."""
    codes: tuple[str, ...] | None = session.info.get(_KEY)
    if codes is None:
        held = deployment.city_codes(session)
        asked = session.info.get(_ASKED)
        if asked is not None and held:
            raise RegionUnscoped(f"数据库未载入地区 {asked!r}，已有 {', '.join(held[:10])} / the database does not hold "
                                 f"region {asked!r}; it holds {', '.join(held[:10])}"
                                 f"{' …' if len(held) > 10 else ''} (load it with `unionmap load reference --region`)")
        if len(held) > 1:
            raise RegionUnscoped(f"数据库有 {len(held)} 个地区，未指定哪一个 / the database holds {len(held)} regions "
                                 f"({', '.join(held[:5])}…) and none was named")
        codes = tuple(held)
        session.info[_KEY] = codes
    return codes


def city_of(session: Session) -> str:
    """The one city the session works on: what an insert tags its rows with, what a plan is for."""
    codes = scope_of(session)
    if len(codes) != 1:
        what = "没有载入任何地区 / no region is loaded (unionmap load reference)" if not codes else (
            f"这是 {len(codes)} 个市的汇总，请选一个市 / this scope spans {len(codes)} cities: name one")
        raise RegionNotCity(what)
    return codes[0]


def in_scope(table: FromClause, session: Session) -> ColumnElement[bool]:
    """``table.region_code`` is one of the session's cities (one bound array: one plan for any scope)."""
    return table.c.region_code == any_(literal(list(scope_of(session)), ARRAY(String)))


def scope_param(session: Session) -> dict[str, list[str]]:
    """The ``regions`` parameter of SQL text that says ``region_code = ANY(:regions)``."""
    return {"regions": list(scope_of(session))}


# SQL text's form of :func:`in_scope` over the alias ``s`` (station) or ``r`` (region), with :func:`scope_param`.
IN_SCOPE_S = "s.region_code = ANY(CAST(:regions AS text[]))"
IN_SCOPE_R = "r.region_code = ANY(CAST(:regions AS text[]))"
