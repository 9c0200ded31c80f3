"""Plan jobs: exact plans run in the background by one job runner, visible to every server process.

A job is a row: its parameters, its state (``queued`` → ``running`` → ``succeeded`` | ``failed``
| ``cancelled``), the solver's latest incumbent and bound with a short history of both, and the
plan when there is one (the JSON a synchronous plan answers). The partial index serves the
runner's claim of the oldest queued job (``FOR UPDATE SKIP LOCKED``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_job",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        # The key that asked for it (it, or an editor key, may cancel); kept when the key is revoked.
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_key.id", ondelete="SET NULL")),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True)),
        sa.Column("incumbent", sa.Float),
        sa.Column("bound", sa.Float),
        sa.Column("history", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("result", JSONB),
        sa.Column("error", sa.Text),
        sa.Column("runner_pid", sa.Integer),
        sa.Column("solver_pid", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                           name="plan_job_status"),
    )
    op.create_index("ix_plan_job_queued", "plan_job", ["id"], postgresql_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    op.drop_table("plan_job")
