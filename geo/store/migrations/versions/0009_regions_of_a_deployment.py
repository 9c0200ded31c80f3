"""Several regions in one database: every regional row says which region it belongs to.

A deployment may hold several cities (a province's prefectures, in the end the nation's), each
with its own counties, townships, demand grid, targets, plans and stations. ``deployment_region``
replaces the one-row ``loaded_region`` of 0008: one row per region loaded (level ``city``), or
per group of them (level ``province``, whose cities name it as ``parent_code``), and exactly one
default region (served at ``/`` and used by commands that name none).

``region_code`` is added to ``region`` (counties and townships), ``station``, ``demand_grid``,
``demand_cell``, ``target``, ``plan`` and ``plan_job``; history, reports and sessions follow
their station or key. Rows already there belong to the region 0008 recorded, or, in a database
loaded before it, to the prefecture their county codes name (an adcode's first four digits).
A row inserted without a region (SQL by hand) gets the only city's code, and none when several
are held. The station trigger now looks for the county and township only within the station's own
region, so a station written for one city never lands in a neighbour's township.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from geo.store.sql import fragment

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REGIONAL = ("region", "station", "demand_grid", "demand_cell", "target", "plan", "plan_job")

# The region of rows loaded before this revision (see the module's docstring).
OLD_REGION = """coalesce((SELECT code FROM loaded_region),
                          (SELECT left(min(code), 4) || '00' FROM region WHERE level = 'county'), '')"""

ASSIGN_REGION_SQL = """
CREATE OR REPLACE FUNCTION station_assign_region() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.county_code := (SELECT code FROM region
                        WHERE region_code = NEW.region_code AND level = 'county' AND ST_Covers(geom, NEW.geom)
                        ORDER BY code LIMIT 1);
    NEW.township_code := (SELECT code FROM region
                          WHERE region_code = NEW.region_code AND level = 'township' AND ST_Covers(geom, NEW.geom)
                          ORDER BY code LIMIT 1);
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
"""

# An insert that names no region (SQL typed by hand, an old script) lands in the deployment's only
# city; with several held it must name one (NULL: the NOT NULL constraint refuses the row).
ONLY_CITY_SQL = """
CREATE FUNCTION unionmap_only_city() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT min(code) FROM deployment_region WHERE level = 'city' HAVING count(*) = 1
$$;
"""

OLD_ASSIGN_REGION_SQL = ASSIGN_REGION_SQL.replace("region_code = NEW.region_code AND ", "")


def upgrade() -> None:
    op.create_table(
        "deployment_region",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False, server_default="city"),
        sa.Column("parent_code", sa.String(12), sa.ForeignKey("deployment_region.code", ondelete="SET NULL")),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("loaded_by", sa.Text, nullable=False),
        sa.CheckConstraint("level IN ('city', 'province')", name="deployment_region_level"),
    )
    op.execute("CREATE UNIQUE INDEX ux_deployment_region_default ON deployment_region (is_default) WHERE is_default")
    op.execute("""INSERT INTO deployment_region (code, level, name_zh, name_en, timezone, folder, config_hash,
                                                 is_default, loaded_at, loaded_by)
                  SELECT code, 'city', name_zh, name_en, timezone, folder, config_hash, true, loaded_at, loaded_by
                  FROM loaded_region""")
    op.execute(ONLY_CITY_SQL)
    for table in REGIONAL:
        op.add_column(table, sa.Column("region_code", sa.String(12)))
        op.execute(f"UPDATE {fragment(table)} SET region_code = {OLD_REGION}")
        op.alter_column(table, "region_code", nullable=False, server_default=sa.text("unionmap_only_city()"))
        op.create_index(f"ix_{table}_region_code", table, ["region_code"])
    op.drop_table("loaded_region")
    # One grid per region, one target code per region.
    op.execute("ALTER TABLE demand_grid DROP CONSTRAINT demand_grid_pkey")
    op.drop_column("demand_grid", "id")
    op.create_primary_key("demand_grid_pkey", "demand_grid", ["region_code"])
    op.drop_constraint("target_code_key", "target", type_="unique")
    op.create_unique_constraint("target_region_code_code_key", "target", ["region_code", "code"])
    op.execute(ASSIGN_REGION_SQL)


def downgrade() -> None:
    op.execute(OLD_ASSIGN_REGION_SQL)
    op.drop_constraint("target_region_code_code_key", "target", type_="unique")
    op.create_unique_constraint("target_code_key", "target", ["code"])
    op.drop_constraint("demand_grid_pkey", "demand_grid", type_="primary")
    op.add_column("demand_grid", sa.Column("id", sa.Integer, nullable=False, server_default="1"))
    op.create_primary_key("demand_grid_pkey", "demand_grid", ["id"])
    op.create_table(
        "loaded_region",
        sa.Column("id", sa.SmallInteger, primary_key=True, server_default="1"),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("loaded_by", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="loaded_region_one_row"),
    )
    op.execute("""INSERT INTO loaded_region (id, code, name_zh, name_en, timezone, folder, config_hash, loaded_at,
                                             loaded_by)
                  SELECT 1, code, name_zh, name_en, timezone, folder, config_hash, loaded_at, loaded_by
                  FROM deployment_region WHERE is_default""")
    for table in REGIONAL:
        op.drop_index(f"ix_{table}_region_code", table)
        op.drop_column(table, "region_code")
    op.drop_table("deployment_region")
    op.execute("DROP FUNCTION IF EXISTS unionmap_only_city()")
