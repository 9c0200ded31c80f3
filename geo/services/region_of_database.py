"""Which region a command or the server works on: the one the database holds.

``unionmap load reference`` records the region it loaded (``geo.store.loaded_region``). From then
on every command and the server read the region's folder from that row, so ``--region`` and
``UNIONMAP_REGION`` are needed only for the first load; a region named explicitly that is not the
database's is an error naming both (a server of one city on another city's data would show wrong
titles, targets and time zone without a word). A fresh database (nothing loaded yet, or loaded
before migration 0008) falls back to the settings, as before.

The server reads it once per process at start-up (``app.state.region``); a command once per run.
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
from geo.store import cluster, loaded_region
from geo.store.loaded_region import RegionRow


class RegionMismatch(StateConflict):
    """The region named (``--region``, ``UNIONMAP_REGION``, or a folder's code) is not the database's."""


def region_named(settings: Settings) -> bool:
    """Whether the region was named (``--region``, ``UNIONMAP_REGION``, ``.env``), not the default."""
    return "region" in settings.model_fields_set


def config_label(config: RegionConfig) -> str:
    """How messages name a region folder's configuration: ``九江市 Jiujiang (360400, folder jiujiang)``."""
    return f"{config.name_zh} {config.name_en} ({config.code}, folder {config.folder.name})"


def config_of(settings: Settings, loaded: RegionRow | None) -> RegionConfig:
    """The configuration of the region the database holds (``loaded``), checked against the settings."""
    if loaded is None:
        return load_config(settings.region_dir)
    if region_named(settings) and settings.region != loaded.folder:
        raise RegionMismatch(
            f"数据库载入的地区是 {loaded.label()}，但指定了地区文件夹 {settings.region!r} / the database holds "
            f"{loaded.label()}, but region {settings.region!r} was named (--region or UNIONMAP_REGION): drop the "
            f"setting, or load that region with `unionmap load reference --region {settings.region} --replace`")
    folder = settings.data_dir / loaded.folder
    if not (folder / "region.yaml").is_file():
        raise UnionmapError(
            f"数据库载入的地区 {loaded.label()} 的文件夹不存在 / the folder of the database's region is missing: "
            f"{folder}/region.yaml (is UNIONMAP_DATA_DIR the data folder it was loaded from?)")
    config = load_config(folder)
    if config.code != loaded.code:
        raise RegionMismatch(
            f"{folder}/region.yaml 现为 {config_label(config)}，但数据库载入的是 {loaded.label()} / the folder now "
            f"describes another region than the database holds: restore it, or load it with "
            f"`unionmap load reference --region {loaded.folder} --replace`")
    return config


def active_region(settings: Settings, session: Session) -> RegionConfig:
    """The configuration of the database's region (see :func:`config_of`)."""
    return config_of(settings, loaded_region.read(session))


def active_region_of(settings: Settings) -> RegionConfig:
    """:func:`active_region` in a short session of its own (commands that have none open yet)."""
    with transaction.session_scope(settings, actor="unionmap region") as session:
        return active_region(settings, session)


def folder_to_load(settings: Settings, session: Session) -> Path:
    """The folder ``load reference`` reads: the one named, else the database's, else the default."""
    if not region_named(settings):
        loaded = loaded_region.read(session)
        if loaded is not None:
            return settings.data_dir / loaded.folder
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
