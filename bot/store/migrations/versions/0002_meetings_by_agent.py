"""Meetings by agent (the agent's feed, the console's filter); the one-booking index everywhere.

Databases made before the unique index on active (agent, start) was added
never got it (tables were only created when missing): it is created here if
it is not there yet, so the database, not only the lock, refuses a double
booking on every installation.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dc_meetings_agent", "dc_meetings", ["agent_email", "start_at"])
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS ux_dc_meetings_agent_start ON dc_meetings (agent_email, start_at) "
               "WHERE status IN ('booked', 'rescheduled')")


def downgrade() -> None:
    op.drop_index("ix_dc_meetings_agent", "dc_meetings")
