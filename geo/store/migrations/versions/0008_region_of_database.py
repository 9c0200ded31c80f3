"""The database knows its region: one row saying which region folder was loaded into it.

``loaded_region`` holds at most one row (``id`` is always 1): the region's code, names, time zone,
the folder name under the data directory it was read from, a SHA-256 of its configuration
(``region.yaml`` and every file it names, see ``geo.reference.region.config_hash``), and when and
by whom it was loaded. ``unionmap load reference`` writes it; every command and the server read
the region from it, so ``UNIONMAP_REGION`` is needed only for the first load. A database loaded
before this revision has no row and behaves as before (the region comes from the settings) until
its next ``load reference``.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("loaded_region")
