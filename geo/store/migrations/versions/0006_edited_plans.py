"""Plans edited by hand: ``plan.upper_bound`` may be null.

A planner may save the sites on the plan page after removing proposals or adding their own (a
what-if, ``geo.analysis.whatif``). No solver proved a bound for that list, so it is saved with
method ``edited`` and no upper bound rather than a number that would read as a proof.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("plan", "upper_bound", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM plan WHERE upper_bound IS NULL")  # edited plans cannot be kept without one
    op.alter_column("plan", "upper_bound", existing_type=sa.Float(), nullable=False)
