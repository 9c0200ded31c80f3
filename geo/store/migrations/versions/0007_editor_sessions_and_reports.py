"""The browser editor's sessions, riders' reports, and the app's own secret.

``editor_session``: a planner signs in with an editor key and gets a session cookie instead of
typing the key on every page. Only a SHA-256 of the cookie's token is stored (as for keys); the
CSRF token every write must echo is stored as is (it grants nothing without the cookie). A
session ends at ``expires_at`` or at sign-out (``ended_at``), and with its key: revoking the key
ends them all (the join in ``geo.store.sessions``), deleting it deletes them.

``station_report``: what a rider says is wrong with a station (closed, no water, wrong place,
other), with a short optional text and nothing personal: the client address only as a keyed
hash (``app_secret``) for rate limits. A report is open until a planner resolves or dismisses
it; who and when are kept. Reports go with their station when demo data is reloaded (the only
hard delete of stations), hence ``ON DELETE CASCADE``.

``app_secret``: random values made once per database (the key of the client hash), so that
every server process of one deployment hashes alike and nothing secret lives in settings.

Revision ID: 0007
Revises: 0006
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As geo.store.models had them at this revision (a migration is a snapshot, it imports no models).
REPORT_KINDS = ("closed", "no_water", "wrong_place", "other")
RESOLUTIONS = ("resolved", "dismissed")
REPORT_NOTE_MAX = 200


def upgrade() -> None:
    op.create_table(
        "editor_session",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_key.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "station_report",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("station_id", sa.BigInteger, sa.ForeignKey("station.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("resolution", sa.String(16)),
        sa.Column("resolution_note", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"kind IN {REPORT_KINDS}", name="station_report_kind"),
        sa.CheckConstraint(f"resolution IS NULL OR resolution IN {RESOLUTIONS}", name="station_report_resolution"),
        sa.CheckConstraint(f"char_length(note) <= {REPORT_NOTE_MAX}", name="station_report_note_length"),
        sa.CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name="station_report_resolved_at"),
    )
    # The inbox and the finder read open reports per station; rate limits count a client's recent ones.
    op.create_index("ix_station_report_open", "station_report", ["station_id"],
                    postgresql_where=sa.text("resolution IS NULL"))
    op.create_index("ix_station_report_client", "station_report", ["client_hash", "created_at"])
    op.create_index("ix_station_report_station_time", "station_report", ["station_id", "created_at"])
    op.create_table(
        "app_secret",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute(sa.text("INSERT INTO app_secret (name, value) VALUES ('report_client', :value)")
               .bindparams(value=secrets.token_hex(32)))


def downgrade() -> None:
    op.drop_table("app_secret")
    op.drop_table("station_report")
    op.drop_table("editor_session")
