"""Demand grid (H3 cells with population) and siting plans.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demand_grid",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("population_is_modelled", sa.Boolean, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("cell_count", sa.Integer, nullable=False),
        sa.Column("total_population", sa.Float, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="demand_grid_single_row"),
    )
    op.create_table(
        "demand_cell",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        # H3 index as a signed 64-bit integer (H3's top bit is always 0).
        sa.Column("cell", sa.BigInteger, nullable=False, index=True),
        sa.Column("township_code", sa.String(16), nullable=False, index=True),
        sa.Column("county_code", sa.String(16), nullable=False, index=True),
        sa.Column("population", sa.Float, nullable=False),
        sa.Column("is_urban", sa.Boolean, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.CheckConstraint("population >= 0", name="demand_cell_population"),
    )
    op.execute("ALTER TABLE demand_cell ADD COLUMN geom geometry(Point, 4326) "
               "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED")
    op.create_index("ix_demand_cell_geom", "demand_cell", ["geom"], postgresql_using="gist")
    op.execute("CREATE INDEX ix_demand_cell_geog ON demand_cell USING gist ((geom::geography))")
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("type_code", sa.String(64), sa.ForeignKey("service_type.code"), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("upper_bound", sa.Float, nullable=False),
        sa.Column("covered_before", sa.Float, nullable=False),
        sa.Column("covered_after", sa.Float, nullable=False),
        sa.Column("population", sa.Float, nullable=False),
        sa.Column("parameters", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("station", sa.Column("plan_id", sa.Integer,
                                       sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True))


def downgrade() -> None:
    op.drop_column("station", "plan_id")
    for table in ("plan", "demand_cell", "demand_grid"):
        op.drop_table(table)
