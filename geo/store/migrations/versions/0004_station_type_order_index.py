"""An index for paging the live stations of one type in id order (OGC items, exports).

A page of ``/ogc/collections/{type}/items`` takes the type's live ids in order with their count;
without this index PostgreSQL scans and sorts every live station of the type for each page.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_station_live_type", "station", ["type_code", "id"],
                    postgresql_where=sa.text("deleted_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_station_live_type", table_name="station")
