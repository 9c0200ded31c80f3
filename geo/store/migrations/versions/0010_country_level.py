"""A deployment may group its provinces too: ``deployment_region.level`` may be ``country``.

The nation is a region of regions of regions (provinces of cities): its start page is the roll-up of
every city it holds, and its station reads (the national finder) span them all.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("deployment_region_level", "deployment_region", type_="check")
    op.create_check_constraint("deployment_region_level", "deployment_region", "level IN ('city', 'province', 'country')")


def downgrade() -> None:
    op.execute("DELETE FROM deployment_region WHERE level = 'country'")
    op.drop_constraint("deployment_region_level", "deployment_region", type_="check")
    op.create_check_constraint("deployment_region_level", "deployment_region", "level IN ('city', 'province')")
