"""The one row saying which region the database holds (``loaded_region``, migration 0008)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.store.models import LoadedRegion


@dataclass(frozen=True)
class RegionRow:
    """What the database says it holds."""

    code: str
    name_zh: str
    name_en: str
    timezone: str
    folder: str
    config_hash: str
    loaded_at: datetime | None
    loaded_by: str

    def label(self) -> str:
        """How messages name it: ``九江市 Jiujiang (360400, folder jiujiang)``."""
        return f"{self.name_zh} {self.name_en} ({self.code}, folder {self.folder})"


def read(session: Session) -> RegionRow | None:
    """The loaded region, or None when nothing was loaded (or before migration 0008's first load)."""
    row = session.execute(select(LoadedRegion)).scalar_one_or_none()
    if row is None:
        return None
    return RegionRow(row.code, row.name_zh, row.name_en, row.timezone, row.folder, row.config_hash,
                     row.loaded_at, row.loaded_by)


def write(session: Session, region: RegionRow) -> None:
    """Set the row (insert, or overwrite the one there); ``loaded_at`` is the transaction's time."""
    values = {"id": 1, "code": region.code, "name_zh": region.name_zh, "name_en": region.name_en,
              "timezone": region.timezone, "folder": region.folder, "config_hash": region.config_hash,
              "loaded_by": region.loaded_by}
    statement = insert(LoadedRegion).values(values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[LoadedRegion.id], set_={**{k: v for k, v in values.items() if k != "id"},
                                                "loaded_at": func.now()}))
