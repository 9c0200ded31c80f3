"""GeoAlchemy2 models of the catalogue; every geometry is WGS-84 (EPSG:4326) with a GiST index.

Two rules live in the database itself (see the first migration), so that every write path obeys
them, SQL included: a station's county and township codes are set by point-in-polygon on write,
and every insert, update and delete of a station is copied to ``station_history`` in the same
transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
STATION_STATUSES = ("open", "closed", "planned")
REGION_LEVELS = ("county", "township")
TARGET_SCOPES = ("city", "county", "township")
TARGET_KINDS = ("count", "coverage")
KEY_ROLES = ("reader", "editor", "admin")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
DEPLOYMENT_LEVELS = ("city", "province", "country")
# A row written without a region lands in the deployment's only city (none when it holds several):
# the default of every ``region_code`` (migration 0009); the store always names the region itself.
ONLY_CITY = text("unionmap_only_city()")


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class ServiceType(Base):
    """A kind of service point (爱心驿站, 职工书屋 …), seeded from ``data/service_types.yaml``."""

    __tablename__ = "service_type"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    radius_urban_m: Mapped[float] = mapped_column(Float)
    radius_rural_m: Mapped[float] = mapped_column(Float)
    radius_source: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str] = mapped_column(String(16), default="#3388ff")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Region(Base):
    """A county-level or township-level unit with its polygon and population."""

    __tablename__ = "region"
    __table_args__ = (CheckConstraint(f"level IN {REGION_LEVELS}", name="region_level"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(16), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    population: Mapped[int | None] = mapped_column(BigInteger)
    urban_population: Mapped[int | None] = mapped_column(BigInteger)
    population_is_modelled: Mapped[bool] = mapped_column(Boolean, default=False)
    boundary_is_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    seat: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    seat_rule: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class Station(Base):
    """A service point; ``is_demo`` marks synthetic rows."""

    __tablename__ = "station"
    __table_args__ = (CheckConstraint(f"status IN {STATION_STATUSES}", name="station_status"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    type_code: Mapped[str] = mapped_column(ForeignKey("service_type.code"), index=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text, default="")
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    county_code: Mapped[str | None] = mapped_column(String(16), index=True)
    township_code: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    phone: Mapped[str | None] = mapped_column(Text)
    managing_union: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StationHistory(Base):
    """One change of one station, with the rows before and after (written by a trigger)."""

    __tablename__ = "station_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    station_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(8))
    old_row: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_row: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Target(Base):
    """A target from the work report, loaded from the region's ``targets.yaml``."""

    __tablename__ = "target"
    __table_args__ = (
        CheckConstraint(f"scope IN {TARGET_SCOPES}", name="target_scope"),
        CheckConstraint(f"kind IN {TARGET_KINDS}", name="target_kind"),
        UniqueConstraint("region_code", "code", name="target_region_code_code_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    code: Mapped[str] = mapped_column(String(64))
    type_code: Mapped[str] = mapped_column(ForeignKey("service_type.code"))
    scope: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Numeric)
    deadline: Mapped[date | None] = mapped_column(Date)
    source_quote: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class DemandGrid(Base):
    """What the demand grid is: its H3 resolution and whether its population is modelled."""

    __tablename__ = "demand_grid"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # one grid per region
    resolution: Mapped[int] = mapped_column(Integer)
    population_is_modelled: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text)
    cell_count: Mapped[int] = mapped_column(Integer)
    total_population: Mapped[float] = mapped_column(Float)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DemandCell(Base):
    """One H3 cell of the demand grid, within one township (centre point generated)."""

    __tablename__ = "demand_cell"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    cell: Mapped[int] = mapped_column(BigInteger, index=True)
    township_code: Mapped[str] = mapped_column(String(16), index=True)
    county_code: Mapped[str] = mapped_column(String(16), index=True)
    population: Mapped[float] = mapped_column(Float)
    is_urban: Mapped[bool] = mapped_column(Boolean)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Plan(Base):
    """A saved siting plan; its proposed sites are stations with status ``planned``."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    type_code: Mapped[str] = mapped_column(ForeignKey("service_type.code"))
    method: Mapped[str] = mapped_column(String(16))
    added: Mapped[int] = mapped_column(Integer)
    objective: Mapped[float] = mapped_column(Float)
    upper_bound: Mapped[float | None] = mapped_column(Float)  # null: an edited plan, no proven bound
    covered_before: Mapped[float] = mapped_column(Float)
    covered_after: Mapped[float] = mapped_column(Float)
    population: Mapped[float] = mapped_column(Float)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A key another app or a planner writes with; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlanJob(Base):
    """An exact plan run in the background by the job runner (``geo.services.job_runner``)."""

    __tablename__ = "plan_job"
    __table_args__ = (CheckConstraint(f"status IN {JOB_STATUSES}", name="plan_job_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True, server_default=ONLY_CITY)  # migration 0009
    status: Mapped[str] = mapped_column(String(16), default="queued")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    incumbent: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    history: Mapped[list[list[float | None]]] = mapped_column(JSONB, default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    runner_pid: Mapped[int | None] = mapped_column(Integer)
    solver_pid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


REPORT_KINDS = ("closed", "no_water", "wrong_place", "other")
REPORT_RESOLUTIONS = ("resolved", "dismissed")
REPORT_NOTE_MAX = 200  # characters; the migration's check says the same


class EditorSession(Base):
    """A planner signed in to the browser editor with an editor key (``geo.store.sessions``)."""

    __tablename__ = "editor_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StationReport(Base):
    """A rider's report of a problem with a station; nothing personal, the client only as a keyed hash."""

    __tablename__ = "station_report"
    __table_args__ = (
        CheckConstraint(f"kind IN {REPORT_KINDS}", name="station_report_kind"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {REPORT_RESOLUTIONS}", name="station_report_resolution"),
        CheckConstraint(f"char_length(note) <= {REPORT_NOTE_MAX}", name="station_report_note_length"),
        CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name="station_report_resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    client_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppSecret(Base):
    """Random values made once per database (the key of the report client hash)."""

    __tablename__ = "app_secret"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeploymentRegion(Base):
    """A region the deployment holds (migration 0009): a city loaded by ``load reference``, or a
    province grouping cities (``parent_code`` of its cities); exactly one is the default."""

    __tablename__ = "deployment_region"
    __table_args__ = (CheckConstraint(f"level IN {DEPLOYMENT_LEVELS}", name="deployment_region_level"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), default="city")
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("deployment_region.code", ondelete="SET NULL"))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text)
    config_hash: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    loaded_by: Mapped[str] = mapped_column(Text)
