"""The regions a deployment holds (``deployment_region``, migration 0009): one row per city loaded,
one per province grouping cities, exactly one default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.store.counting import LIVE_S, OPEN_S
from geo.store.models import DeploymentRegion

CITY, PROVINCE, COUNTRY = "city", "province", "country"


@dataclass(frozen=True)
class RegionRow:
    """What the database says about one region it holds."""

    code: str
    name_zh: str
    name_en: str
    timezone: str
    folder: str
    config_hash: str
    loaded_at: datetime | None
    loaded_by: str
    level: str = CITY
    parent_code: str | None = None
    is_default: bool = False

    def label(self) -> str:
        """How messages name it: ``九江市 Jiujiang (360400, folder jiujiang)``."""
        return f"{self.name_zh} {self.name_en} ({self.code}, folder {self.folder})"


def members_of(rows: list[RegionRow], region: RegionRow) -> list[str]:
    """The cities a region stands for: itself, a province's cities, a country's provinces' cities."""
    if region.level == CITY:
        return [region.code]
    return [code for row in rows if row.parent_code == region.code for code in members_of(rows, row)]


def _row(row: DeploymentRegion) -> RegionRow:
    return RegionRow(row.code, row.name_zh, row.name_en, row.timezone, row.folder, row.config_hash, row.loaded_at,
                     row.loaded_by, row.level, row.parent_code, row.is_default)


def all_regions(session: Session) -> list[RegionRow]:
    """Every region held: the default first, then provinces, then cities, each by code."""
    rows = session.execute(select(DeploymentRegion).order_by(
        DeploymentRegion.is_default.desc(), DeploymentRegion.level.desc(), DeploymentRegion.code)).scalars()
    return [_row(row) for row in rows]


def default_region(session: Session) -> RegionRow | None:
    """The default region, or None when nothing was loaded yet."""
    row = session.execute(select(DeploymentRegion).where(DeploymentRegion.is_default)).scalar_one_or_none()
    return None if row is None else _row(row)


def city_codes(session: Session) -> list[str]:
    """Codes of the cities held (the regions that own rows), by code."""
    return list(session.scalars(select(DeploymentRegion.code).where(DeploymentRegion.level == CITY)
                                .order_by(DeploymentRegion.code)))


def cities_with_demo(session: Session) -> list[str]:
    """Codes of the cities that have live demo stations (a province's load draws demo rows for the others)."""
    return list(session.scalars(text(f"SELECT DISTINCT s.region_code FROM station s WHERE {LIVE_S} AND s.is_demo")))


def write(session: Session, region: RegionRow) -> None:
    """Insert the region or overwrite its row; ``loaded_at`` is the transaction's time. The first
    region held becomes the default; ``is_default`` on the row makes it the default."""
    values: dict[str, object] = {"code": region.code, "level": region.level, "parent_code": region.parent_code,
              "name_zh": region.name_zh, "name_en": region.name_en, "timezone": region.timezone,
              "folder": region.folder, "config_hash": region.config_hash, "loaded_by": region.loaded_by}
    first = default_region(session) is None
    if region.is_default and not first:
        session.execute(update(DeploymentRegion).where(DeploymentRegion.is_default).values(is_default=False))
    values["is_default"] = region.is_default or first
    changed = {k: v for k, v in values.items() if k != "code" and (k != "is_default" or values["is_default"])}
    session.execute(insert(DeploymentRegion).values(values).on_conflict_do_update(
        index_elements=[DeploymentRegion.code], set_={**changed, "loaded_at": func.now()}))


def forget(session: Session, code: str) -> None:
    """Delete a region's row (its data rows are the caller's to delete first)."""
    session.execute(delete(DeploymentRegion).where(DeploymentRegion.code == code))


@dataclass(frozen=True)
class RegionFigures:
    """What the deployment's start page and ``/api/v1/deployment`` say of one region held."""

    region: RegionRow
    counties: int
    townships: int
    open_stations: int  # counted as built (geo.store.counting)
    demo_stations: int  # live demo rows


_FIGURES_SQL = text(f"""
    SELECT d.code,
           (SELECT count(*) FROM region r WHERE r.region_code = d.code AND r.level = 'county') AS counties,
           (SELECT count(*) FROM region r WHERE r.region_code = d.code AND r.level = 'township') AS townships,
           (SELECT count(*) FROM station s WHERE s.region_code = d.code AND {OPEN_S}) AS open_stations,
           (SELECT count(*) FROM station s WHERE s.region_code = d.code AND {LIVE_S} AND s.is_demo) AS demo_stations
    FROM deployment_region d WHERE d.level = 'city'""")


def figures(session: Session) -> list[RegionFigures]:
    """Every region held with its counts (a province's are its cities' sums), the default first.

    Reads every city on purpose: this is the deployment's own summary, not one region's data.
    """
    rows = all_regions(session)
    counts = {row.code: row for row in session.execute(_FIGURES_SQL)}
    out = []
    for region in rows:
        cities = members_of(rows, region)
        found = [counts[code] for code in cities if code in counts]
        out.append(RegionFigures(region, *(sum(int(getattr(row, name)) for row in found) for name in
                                           ("counties", "townships", "open_stations", "demo_stations"))))
    return out


def write_province(session: Session, province: RegionRow, cities: list[str]) -> None:
    """Insert or overwrite a group's row (a province of cities, or a country of provinces: its
    ``level``; never the default) and make it the parent of ``cities`` (regions held one level below
    only; one of another group is moved to this one)."""
    below = CITY if province.level == PROVINCE else PROVINCE
    values = {"code": province.code, "level": province.level, "parent_code": None, "name_zh": province.name_zh,
              "name_en": province.name_en, "timezone": province.timezone, "folder": province.folder,
              "config_hash": province.config_hash, "loaded_by": province.loaded_by, "is_default": False}
    session.execute(insert(DeploymentRegion).values(values).on_conflict_do_update(
        index_elements=[DeploymentRegion.code],
        set_={**{k: v for k, v in values.items() if k != "code"}, "loaded_at": func.now()}))
    session.execute(update(DeploymentRegion).where(DeploymentRegion.parent_code == province.code,
                                                   DeploymentRegion.code.not_in(cities)).values(parent_code=None))
    session.execute(update(DeploymentRegion).where(DeploymentRegion.code.in_(cities),
                                                   DeploymentRegion.level == below).values(parent_code=province.code))
