"""API keys for writers; stations are deleted softly (the row and its history stay).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("station", sa.Column("deleted_at", sa.DateTime(timezone=True)))
    op.create_index("ix_station_live", "station", ["id"], postgresql_where=sa.text("deleted_at IS NULL"))
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        # SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("role IN ('reader', 'editor', 'admin')", name="api_key_role"),
    )


def downgrade() -> None:
    op.drop_table("api_key")
    op.drop_index("ix_station_live", table_name="station")
    op.drop_column("station", "deleted_at")
