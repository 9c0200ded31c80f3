"""Settings read from the environment (``UNIONMAP_*``, ``DATABASE_URL``) with working defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything that differs between machines, cities and deployments.

    With no ``database_url`` the project runs a private PostGIS cluster of its own under
    ``state_dir``; with one, it uses that server and starts nothing.
    """

    model_config = SettingsConfigDict(env_prefix="UNIONMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "UNIONMAP_DATABASE_URL")
    )
    state_dir: Path = PROJECT_ROOT / ".state"
    database_name: str = "unionmap"
    data_dir: Path = PROJECT_ROOT / "data"
    region: str = "jiujiang"
    demo_seed: int = 2019
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    # Unprivileged system user that owns the private cluster when we run as root:
    # PostgreSQL refuses to run as root.
    pg_os_user: str = "postgres"
    # Basemap of the maps: none (plain background, works offline), osm, amap (GCJ-02: overlays are
    # converted for drawing) or tianditu (needs tianditu_key).
    basemap: str = "none"
    # Tianditu's tiles need a key of the user's own (https://console.tianditu.gov.cn).
    tianditu_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Server processes (uvicorn workers); 0 = one per core. Each holds its own copy of the
    # demand-grid model: measured for Jiujiang, 220 MB resident at start, 297 MB after a
    # coverage request and the coverage map.
    workers: int = Field(default=0, ge=0, le=64)
    # Database connections each process keeps open. More concurrent requests wait for one: an
    # "overflow" connection would be opened and closed again per burst (measured: 336 new
    # backends in 10 s at 16 concurrent requests, p99 0.6 s).
    db_pool_size: int = Field(default=10, ge=1, le=100)
    # One log line per request on the console (uvicorn's access log); off: it costs every request.
    access_log: bool = False

    @property
    def region_dir(self) -> Path:
        """Folder holding the active region's files and ``region.yaml``."""
        return self.data_dir / self.region

    @property
    def pg_data_dir(self) -> Path:
        """Data folder of the private cluster."""
        return self.state_dir / "pgdata"


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()


def worker_count(settings: Settings) -> int:
    """Server processes to run: the setting, or one per core when it is 0."""
    return settings.workers or os.cpu_count() or 1
