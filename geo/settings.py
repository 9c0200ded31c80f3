"""Settings read from the environment (``UNIONMAP_*``, ``DATABASE_URL``) with working defaults."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GENERATED_REGIONS = "regions"  # below state_dir: region folders written by `region init-province`


def _default_trusted_hosts(values: dict[str, Any]) -> list[str]:
    """Loopback names, ``host`` unless it listens on every address, and the host of ``public_url``."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    public_url = values.get("public_url")
    for name in (values.get("host"), urlsplit(public_url).hostname if public_url else None):
        if name and name not in ("0.0.0.0", "::") and name not in hosts:
            hosts.append(name)
    return hosts


def _host_list(value: object) -> object:
    """A list as given, or from the environment: JSON (``["a", "b"]``) or comma-separated (``a,b``)."""
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text.startswith("[") else [name.strip() for name in text.split(",") if name.strip()]
    return value


class Settings(BaseSettings):
    """Everything that differs between machines, cities and deployments.

    With no ``database_url`` the project runs a private PostGIS cluster of its own under
    ``state_dir``; with one, it uses that server and starts nothing.
    """

    model_config = SettingsConfigDict(env_prefix="UNIONMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "UNIONMAP_DATABASE_URL")
    )
    # Hot standbys for read-only traffic (finder, stations, OGC, maps): one URL, or several separated by
    # commas, each best a libpq multi-host URL (…?host=a,b&port=5432,5432&target_session_attrs=prefer-standby)
    # so a replica's loss or promotion is handled by libpq. Unset: reads go to database_url.
    read_database_url: str | None = None
    # Read-your-writes (api/replicas.py): a read carrying the LSN of the client's last write (cookie
    # unionmap_lsn or header X-Unionmap-LSN) waits at most this long for the replica to replay it,
    # then is served by the primary.
    read_your_writes_wait_s: float = Field(default=0.5, ge=0, le=30)
    # With reads on replicas, a write waits at most about this long for a synchronous standby
    # (PostgreSQL's statement time-out does not cover a commit's wait): then the server cancels the
    # wait, and the write, committed on the primary alone, is answered 503, not acknowledged.
    synchronous_commit_wait_s: float = Field(default=5.0, gt=0, le=600)
    state_dir: Path = PROJECT_ROOT / ".state"
    database_name: str = "unionmap"
    data_dir: Path = PROJECT_ROOT / "data"
    region: str = "jiujiang"
    demo_seed: int = 2019
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    # Unprivileged system user that owns the private cluster when we run as root:
    # PostgreSQL refuses to run as root.
    pg_os_user: str = "postgres"
    # Where that user keeps the cluster instead when it cannot reach state_dir (a checkout under
    # a folder only root may enter, such as /root): one folder per checkout below this one.
    pg_system_dir: Path = Path("/var/lib/unionmap")
    # Basemap of the maps: none (plain background, works offline), osm, amap (GCJ-02: overlays are
    # converted for drawing) or tianditu (needs tianditu_key).
    basemap: str = "none"
    # Tianditu's tiles need a key of the user's own (https://console.tianditu.gov.cn).
    tianditu_key: str = ""
    # A local PMTiles file (a city extract in the Protomaps basemap schema, WGS-84 web mercator
    # tiles): the app serves it at /tiles/basemap.pmtiles and the maps draw it with protomaps-leaflet,
    # offline. Setting the file alone selects basemap "pmtiles"; basemap=pmtiles without a file is an
    # error. A file that is missing when a page is drawn gives no basemap (and one log line at start).
    basemap_pmtiles: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Public base URL of the service, with any path prefix a proxy adds (https://gis.example.org/unionmap):
    # every absolute link the API writes (the OGC API's links) starts with it. Unset: links name the
    # host the client asked for, which trusted_hosts then limits.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    # Host names (the Host header, port left out) the server answers; any other Host gets 400, so a
    # forged one never reaches a link. "*" allows every host. Default: localhost, 127.0.0.1, ::1,
    # `host` unless it is 0.0.0.0 (or ::) and the host of public_url. In the environment a JSON list
    # or names separated by commas: UNIONMAP_TRUSTED_HOSTS=gis.example.org,10.0.0.5
    trusted_hosts: Annotated[list[str], NoDecode, BeforeValidator(_host_list)] = Field(
        default_factory=_default_trusted_hosts)
    # Server processes (uvicorn workers); 0 = one per core. Each holds its own copy of the
    # demand-grid model: measured on the default region, 220 MB resident at start, 297 MB after a
    # coverage request and the coverage map.
    workers: int = Field(default=0, ge=0, le=64)
    # Database connections each process keeps open. More concurrent requests wait for one: an
    # "overflow" connection would be opened and closed again per burst (measured: 336 new
    # backends in 10 s at 16 concurrent requests, p99 0.6 s).
    db_pool_size: int = Field(default=12, ge=1, le=100)
    # How long a request may wait for a pooled connection before it is answered 503. Admission
    # control (``hot_concurrency`` + ``heavy_concurrency`` ≤ ``db_pool_size``) means none waits
    # in normal operation; this bounds the wait if one ever does.
    db_pool_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # A new connection that does not answer within this is given up (an unreachable server).
    db_connect_timeout_s: int = Field(default=5, ge=1, le=60)
    # PostgreSQL's own safety nets for the web app's connections: a statement running longer
    # is cancelled (503 to the client), a session idle inside a transaction longer is ended.
    db_statement_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    db_idle_in_transaction_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # Admission control per server process (api/admission.py). Hot requests (nearest, station
    # reads, OGC pages, health) and heavy ones (coverage, gaps, plans, maps, imports, exports)
    # each get this many concurrent slots; the rest wait at most ``queue_wait_s`` (up to
    # ``queue_length`` of them), then get 503 with Retry-After. Heavy work never takes a hot slot.
    hot_concurrency: int = Field(default=8, ge=1, le=100)
    heavy_concurrency: int = Field(default=2, ge=1, le=50)
    queue_wait_s: float = Field(default=1.0, gt=0, le=60)
    heavy_queue_wait_s: float = Field(default=2.0, gt=0, le=120)
    queue_length: int = Field(default=256, ge=1, le=100_000)
    # What a 503 tells the client to wait before trying again (seconds).
    retry_after_s: int = Field(default=2, ge=1, le=3600)
    # Largest request bodies: imports (CSV, GeoJSON, XLSX) and everything else (JSON). Larger
    # ones get 413 before they are read.
    max_upload_mb: float = Field(default=20.0, gt=0, le=1024)
    max_body_kb: int = Field(default=1024, ge=1, le=1024 * 1024)
    # A request body (an upload included) must arrive within this, else 408 (20 MB at 1 MB/s fits).
    body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # Wrong API keys a client may send per window before its keys are refused (429) for the
    # rest of the window; one log line when that happens.
    key_failures_allowed: int = Field(default=10, ge=1, le=10_000)
    key_failure_window_s: float = Field(default=60.0, gt=0, le=86_400)
    # Siting runs in solver processes of its own (geo/solver_pool.py), this many per server
    # process, at a lower CPU priority; a plan waits at most ``solver_wait_s`` for a free one
    # (then 503), and a greedy plan is stopped after ``plan_time_limit_s`` (an exact one after
    # its own ``time_limit_s`` and ``solver_grace_s``).
    solver_processes: int = Field(default=1, ge=1, le=16)
    # Siting instances kept on disk under state_dir/cache/siting and mapped by every process that
    # plans (geo/analysis/instance_files.py): built once per machine, one copy in memory.
    siting_files: bool = True
    # Where they are kept; default <state_dir>/cache/siting (the tests use a folder of their own).
    siting_files_dir: Path | None = None
    solver_wait_s: float = Field(default=5.0, ge=0, le=600)
    plan_time_limit_s: float = Field(default=60.0, gt=0, le=3600)
    solver_grace_s: float = Field(default=10.0, ge=0, le=600)
    # At start-up, in the background: start the solver process (its imports take seconds), read the grid
    # model and build the default type's siting engine (api/warmup.py), so no request pays for them.
    solver_warm_at_start: bool = True
    # Exact plans run as background jobs (geo/services/job_runner.py): one job runner per server
    # (``unionmap serve`` starts it; beside a server started otherwise, ``unionmap jobs run``) solves
    # up to ``job_processes`` at once, each in a process of its own at CPU priority ``job_niceness``.
    # It looks for new jobs and cancel requests every ``job_poll_s``.
    job_processes: int = Field(default=1, ge=1, le=16)
    job_niceness: int = Field(default=10, ge=0, le=19)
    job_poll_s: float = Field(default=0.5, gt=0, le=60)
    # Exact plan jobs one API key may have queued or running at once (more: 429), so no key can
    # fill the queue with hour-long solves ahead of everyone else's.
    jobs_per_key: int = Field(default=2, ge=1, le=100)
    # HiGHS hears a stop (a cancel, Ctrl-C, the time limit) only between branch-and-bound steps,
    # never in presolve or an LP: a stop it has not obeyed within this many seconds ends the plan
    # with the best complete answer at hand, the greedy warm start (geo/services/exact_plans.py).
    exact_stop_grace_s: float = Field(default=3.0, ge=0, le=600)
    # Plans a client without a key may ask for per window (the exact solver always needs a key).
    anonymous_plans_allowed: int = Field(default=6, ge=0, le=10_000)
    anonymous_plan_window_s: float = Field(default=60.0, gt=0, le=86_400)
    # A connection must send a request's head (request line and headers) within this many seconds
    # (slow-header clients are cut off); a worker that does not answer the supervisor's ping for
    # ``worker_healthcheck_s`` is restarted.
    header_timeout_s: float = Field(default=10.0, gt=0, le=600)
    worker_healthcheck_s: int = Field(default=30, ge=1, le=600)
    # One log line per request on the console (uvicorn's access log); off: it costs every request.
    access_log: bool = False
    # CORS (api/cors.py): web pages of these origins may read /ogc and the read API (GET, HEAD), and
    # of these write to the API with a key; "*" any origin. No credentials are allowed either way.
    # In the environment a JSON list: UNIONMAP_CORS_WRITE_ORIGINS='["https://union.example.org"]'.
    cors_read_origins: list[str] = Field(default_factory=lambda: ["*"])
    cors_write_origins: list[str] = Field(default_factory=list)
    # The browser editor (/edit): a planner signs in with an editor key and gets a session cookie
    # (HttpOnly, SameSite=Strict, Secure when the site is served over HTTPS) for this many hours.
    editor_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    # Riders' reports ("report a problem" in the finder): a client (its address, kept only as a keyed
    # hash) may send this many per hour, and one station takes this many per hour from everyone
    # (more: 429). A report's body may be at most report_body_kb (more: 413).
    reports_per_client_hour: int = Field(default=5, ge=1, le=10_000)
    reports_per_station_hour: int = Field(default=20, ge=1, le=100_000)
    report_body_kb: int = Field(default=4, ge=1, le=64)
    # Open "closed" reports from this many different clients mark a station as needing a check.
    closed_reports_to_flag: int = Field(default=2, ge=1, le=100)
    # Each server process reads the set of such stations at most this often (seconds), not on every
    # nearest search (the finder's hot path); a report or a planner's decision made through a
    # process refreshes that process's set at once, the others follow within this time.
    reported_closed_refresh_s: float = Field(default=30.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _slots_fit_the_pool(self) -> Settings:
        # Every admitted request must find a connection at once (api/admission.py): with more
        # slots than connections, requests would queue inside the pool again, holding threads.
        if self.hot_concurrency + self.heavy_concurrency > self.db_pool_size:
            raise ValueError(f"hot_concurrency ({self.hot_concurrency}) + heavy_concurrency ({self.heavy_concurrency}) "
                             f"must not exceed db_pool_size ({self.db_pool_size})")
        return self

    @model_validator(mode="after")
    def _pmtiles_basemap(self) -> Settings:
        # The file alone is the user's choice of basemap; the name alone has nothing to draw.
        if self.basemap_pmtiles is not None and self.basemap == "none":
            self.basemap = "pmtiles"
        if self.basemap == "pmtiles" and self.basemap_pmtiles is None:
            raise ValueError("basemap 'pmtiles' needs basemap_pmtiles (UNIONMAP_BASEMAP_PMTILES): the path of a "
                             "local .pmtiles file")
        return self

    @property
    def drawn_basemap(self) -> str:
        """The basemap the maps draw: ``basemap``, or none while its PMTiles file is missing (the
        pages then work without it instead of drawing a layer whose every tile fails)."""
        if self.basemap == "pmtiles" and not (self.basemap_pmtiles and self.basemap_pmtiles.is_file()):
            return "none"
        return self.basemap

    @property
    def region_dir(self) -> Path:
        """Folder holding the active region's files and ``region.yaml``."""
        return self.region_path(self.region)

    def region_path(self, name: str) -> Path:
        """The folder of the region called ``name``: ``<data_dir>/<name>`` if it has a ``region.yaml``,
        else ``<state_dir>/regions/<name>`` if that has one, else the ``data_dir`` path (whose absence
        the caller reports, naming it).

        Committed regions live in ``data/``; the folders ``region init-province`` generates for every
        prefecture of a province are build products and go under the git-ignored state folder. One
        function decides, so every command finds a region by its name wherever it was written;
        ``data/`` wins, so a committed folder is never shadowed by a generated one.
        """
        committed = self.data_dir / name
        generated = self.state_dir / GENERATED_REGIONS / name
        if not (committed / "region.yaml").is_file() and (generated / "region.yaml").is_file():
            return generated
        return committed

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
