"""Which region a command or the server works on: one of those the database holds.

``unionmap load reference`` records each region it loads (``geo.store.deployment``); a deployment
holds one city or several (a province's), one of them the default. A command works on the region
named (``--region`` or ``UNIONMAP_REGION``: a folder name or a region code) when the database holds
it, else on the default; a region named that the database does not hold is an error naming what
it does hold (a server of one city on another city's data would show wrong titles, targets and
time zone without a word). A fresh database (nothing loaded yet) falls back to the settings.

The server reads every region's configuration once per process at start-up
(``app.state.regions``); a command reads its one region once per run.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from geo.errors import StateConflict, UnionmapError
from geo.reference.region import RegionConfig, config_hash, load_config
from geo.services import transaction
from geo.settings import Settings
from geo.store import cluster, deployment
from geo.store.deployment import RegionRow


class RegionMismatch(StateConflict):
    """The region named (``--region``, ``UNIONMAP_REGION``, or a folder's code) is not one the database holds."""


def region_named(settings: Settings) -> bool:
    """Whether the region was named (``--region``, ``UNIONMAP_REGION``, ``.env``), not the default."""
    return "region" in settings.model_fields_set


def config_label(config: RegionConfig) -> str:
    """How messages name a region folder's configuration: ``九江市 Jiujiang (360400, folder jiujiang)``."""
    return f"{config.name_zh} {config.name_en} ({config.code}, folder {config.folder.name})"


def held_label(rows: list[RegionRow]) -> str:
    """The regions held, as messages list them."""
    return "; ".join(row.label() for row in rows) or "—"


def named_row(settings: Settings, rows: list[RegionRow]) -> RegionRow | None:
    """The held region the settings name (by folder or code), None when none is named.

    RegionMismatch when one is named that the database does not hold.
    """
    if not region_named(settings):
        return None
    for row in rows:
        if settings.region in (row.folder, row.code):
            return row
    raise RegionMismatch(
        f"数据库未载入地区 {settings.region!r}，已有：{held_label(rows)} / the database does not hold region "
        f"{settings.region!r} (named by --region or UNIONMAP_REGION); it holds {held_label(rows)}: name one of "
        f"those, or load it with `unionmap load reference --region {settings.region}`")


def config_of(settings: Settings, row: RegionRow) -> RegionConfig:
    """The configuration of a region the database holds, read from its folder and checked."""
    folder = settings.region_path(row.folder)
    if not (folder / "region.yaml").is_file():
        raise UnionmapError(
            f"数据库载入的地区 {row.label()} 的文件夹不存在 / the folder of the database's region is missing: "
            f"{folder}/region.yaml (is UNIONMAP_DATA_DIR the data folder it was loaded from?)")
    config = load_config(folder)
    if config.code != row.code:
        raise RegionMismatch(
            f"{folder}/region.yaml 现为 {config_label(config)}，但数据库载入的是 {row.label()} / the folder now "
            f"describes another region than the database holds: restore it, or load it with "
            f"`unionmap load reference --region {row.folder}`")
    return config


def active_region(settings: Settings, session: Session) -> RegionConfig:
    """The configuration of the region a command works on: the one named, else the default."""
    rows = [row for row in deployment.all_regions(session) if row.level == deployment.CITY]
    if not rows:
        return load_config(settings.region_dir)
    row = named_row(settings, rows) or next((row for row in rows if row.is_default), rows[0])
    return config_of(settings, row)


def held_regions(settings: Settings, session: Session) -> list[RegionConfig]:
    """Every city the database holds, the default first (the server serves them all)."""
    return [config_of(settings, row) for row in deployment.all_regions(session) if row.level == deployment.CITY]


def active_region_of(settings: Settings) -> RegionConfig:
    """:func:`active_region` in a short session of its own (commands that have none open yet)."""
    with transaction.session_scope(settings, actor="unionmap region") as session:
        return active_region(settings, session)


def folder_to_load(settings: Settings, session: Session) -> Path:
    """The folder ``load reference`` reads: the one named, else the default region's, else the settings' default."""
    if not region_named(settings):
        default = deployment.default_region(session)
        if default is not None:
            return settings.region_path(default.folder)
    return settings.region_dir


def folder_in_use(settings: Settings) -> Path:
    """The folder a command that needs no database works on (``region check``): the one named, else
    the database's when it can be reached, else the default. Without this a check after
    ``region init --load`` would read the default region's folder, not the city just loaded."""
    if region_named(settings):
        return settings.region_dir
    try:
        with transaction.session_scope(settings, actor="unionmap region check") as session:
            return folder_to_load(settings, session)
    except (UnionmapError, SQLAlchemyError, cluster.ClusterError):  # no database here: the folder alone
        return settings.region_dir


def row_for(config: RegionConfig, *, actor: str) -> RegionRow:
    """The row recording that ``config`` was loaded (by ``actor`` and the OS user)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's uid without a passwd entry
        user = "unknown user"
    return RegionRow(code=config.code, name_zh=config.name_zh, name_en=config.name_en, timezone=config.timezone,
                     folder=config.folder.name, config_hash=config_hash(config), loaded_at=None,
                     loaded_by=f"{actor} ({user})")
