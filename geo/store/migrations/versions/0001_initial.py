"""Initial schema: service types, regions, stations with history, targets.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)

# Point-in-polygon on write: whatever writes a station (ORM, SQL, import), its county and
# township come from the region polygons. On a shared border the lower code wins, so the
# answer does not depend on row order.
ASSIGN_REGION_SQL = """
CREATE FUNCTION station_assign_region() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.county_code := (SELECT code FROM region
                        WHERE level = 'county' AND ST_Covers(geom, NEW.geom)
                        ORDER BY code LIMIT 1);
    NEW.township_code := (SELECT code FROM region
                          WHERE level = 'township' AND ST_Covers(geom, NEW.geom)
                          ORDER BY code LIMIT 1);
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER station_assign_region BEFORE INSERT OR UPDATE ON station
    FOR EACH ROW EXECUTE FUNCTION station_assign_region();
"""

# Every change is kept, in the same transaction as the change itself. The actor comes from
# the transaction-local setting unionmap.actor (geo.db.set_actor).
HISTORY_SQL = """
CREATE FUNCTION station_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor text := coalesce(nullif(current_setting('unionmap.actor', true), ''), current_user);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO station_history (station_id, action, old_row, new_row, changed_by)
        VALUES (NEW.id, 'insert', NULL, to_jsonb(NEW) - 'geom'
                || jsonb_build_object('geom', ST_AsGeoJSON(NEW.geom)::jsonb), actor);
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO station_history (station_id, action, old_row, new_row, changed_by)
        VALUES (NEW.id, 'update',
                to_jsonb(OLD) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(OLD.geom)::jsonb),
                to_jsonb(NEW) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(NEW.geom)::jsonb),
                actor);
        RETURN NEW;
    ELSE
        INSERT INTO station_history (station_id, action, old_row, new_row, changed_by)
        VALUES (OLD.id, 'delete',
                to_jsonb(OLD) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(OLD.geom)::jsonb),
                NULL, actor);
        RETURN OLD;
    END IF;
END $$;
CREATE TRIGGER station_record_history AFTER INSERT OR UPDATE OR DELETE ON station
    FOR EACH ROW EXECUTE FUNCTION station_record_history();
"""


def _gist(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "service_type",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("radius_urban_m", sa.Float, nullable=False),
        sa.Column("radius_rural_m", sa.Float, nullable=False),
        sa.Column("radius_source", sa.Text, nullable=False, server_default=""),
        sa.Column("color", sa.String(16), nullable=False, server_default="#3388ff"),
        sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("radius_urban_m > 0 AND radius_rural_m > 0", name="service_type_radius"),
    )
    op.create_table(
        "region",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False, index=True),
        sa.Column("parent_code", sa.String(16), index=True),
        sa.Column("kind", sa.String(16)),
        sa.Column("population", sa.BigInteger),
        sa.Column("urban_population", sa.BigInteger),
        sa.Column("population_is_modelled", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("boundary_is_approximate", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("seat", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("seat_rule", sa.String(32)),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("level IN ('county', 'township')", name="region_level"),
        sa.CheckConstraint("ST_IsValid(geom)", name="region_geom_valid"),
    )
    _gist("region", "geom")
    _gist("region", "seat")
    op.create_table(
        "station",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("type_code", sa.String(64), sa.ForeignKey("service_type.code"), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("county_code", sa.String(16), index=True),
        sa.Column("township_code", sa.String(16), index=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open", index=True),
        sa.Column("opening_hours", JSONB, nullable=False, server_default="{}"),
        sa.Column("amenities", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("phone", sa.Text),
        sa.Column("managing_union", sa.Text),
        sa.Column("is_demo", sa.Boolean, nullable=False, server_default="false", index=True),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('open', 'closed', 'planned')", name="station_status"),
    )
    _gist("station", "geom")
    # Metre queries (ST_DWithin on geography) use this expression index.
    op.execute("CREATE INDEX ix_station_geog ON station USING gist ((geom::geography))")
    op.create_table(
        "station_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("station_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("old_row", JSONB),
        sa.Column("new_row", JSONB),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "target",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("type_code", sa.String(64), sa.ForeignKey("service_type.code"), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Numeric, nullable=False),
        sa.Column("deadline", sa.Date),
        sa.Column("source_quote", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("scope IN ('city', 'county', 'township')", name="target_scope"),
        sa.CheckConstraint("kind IN ('count', 'coverage')", name="target_kind"),
    )
    op.execute(ASSIGN_REGION_SQL)
    op.execute(HISTORY_SQL)


def downgrade() -> None:
    for table in ("target", "station_history", "station", "region", "service_type"):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS station_assign_region()")
    op.execute("DROP FUNCTION IF EXISTS station_record_history()")
