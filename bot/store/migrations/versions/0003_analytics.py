"""Analytics for every visitor, requests for a person, and the dialogue that booked a meeting.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("dc_meetings", sa.Column("dialogue", sa.Text, nullable=True))
    op.create_table(
        "dc_chat_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("dialogue", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("day", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("conversation", sa.Text, nullable=True),
        sa.Column("lead_id", sa.BigInteger, nullable=True))
    op.create_index("ix_dc_chat_events_day", "dc_chat_events", ["day"])
    op.create_table(
        "dc_analytics_daily",
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("dialogue", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("detail", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False))
    op.create_table(
        "dc_human_requests",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("conversation", sa.Text, nullable=False),
        sa.Column("dialogue", sa.Text, nullable=False),
        sa.Column("page", sa.Text, nullable=True),
        sa.Column("lead_id", sa.BigInteger, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("transcript", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("handled_by", sa.Text, nullable=True),
        sa.Column("handled_at", sa.Float, nullable=True))
    op.create_index("ix_dc_human_requests_open", "dc_human_requests", ["status", "at"])


def downgrade() -> None:
    op.drop_table("dc_human_requests")
    op.drop_table("dc_analytics_daily")
    op.drop_table("dc_chat_events")
    with op.batch_alter_table("dc_meetings") as batch:
        batch.drop_column("dialogue")
