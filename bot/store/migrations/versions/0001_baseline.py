"""The schema of the releases before migrations (tables were created on first use).

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only
ACTIVE = sa.text("status IN ('booked', 'rescheduled')")


def upgrade() -> None:
    op.create_table(
        "dc_visitors",
        sa.Column("lead_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=True))
    op.create_index("ix_dc_visitors_email", "dc_visitors", ["email"])
    op.create_table(
        "dc_visitor_cookies",
        sa.Column("cookie", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.BigInteger, nullable=False))
    op.create_index("ix_dc_visitor_cookies_lead_id", "dc_visitor_cookies", ["lead_id"])
    op.create_table(
        "dc_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("claimed_until", sa.Float, nullable=True),
        sa.Column("claim", sa.Text, nullable=True),
        sa.Column("sent_at", sa.Float, nullable=True),
        sa.Column("failed", sa.Boolean, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True))
    op.create_index("ix_dc_outbox_pending", "dc_outbox", ["sent_at", "failed", "next_attempt_at"])
    op.create_table(
        "dc_sync_state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "dc_meetings",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("agent_email", sa.Text, nullable=False),
        sa.Column("lead_email", sa.Text, nullable=True),
        sa.Column("lead_id", sa.BigInteger, nullable=True),
        sa.Column("start_at", sa.BigInteger, nullable=False),
        sa.Column("end_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("calendar", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=True),
        sa.Column("join_url", sa.Text, nullable=True),
        sa.Column("pool", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("conversation", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False))
    op.create_index("ux_dc_meetings_agent_start", "dc_meetings", ["agent_email", "start_at"], unique=True,
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_dc_meetings_start", "dc_meetings", ["start_at"])
    op.create_table(
        "dc_meeting_history",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False))
    op.create_index("ix_dc_meeting_history_meeting_id", "dc_meeting_history", ["meeting_id"])
    op.create_table(
        "dc_routing_state",
        sa.Column("pool", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False))


def downgrade() -> None:
    for table in ("dc_routing_state", "dc_meeting_history", "dc_meetings", "dc_sync_state", "dc_outbox",
                  "dc_visitor_cookies", "dc_visitors"):
        op.drop_table(table)
