"""The console's users and their sessions; dialogues paused from the console; the chat's on/off switch.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dc_users",
        sa.Column("email", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False))
    op.create_table(
        "dc_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False))
    op.create_index("ix_dc_sessions_email", "dc_sessions", ["email"])
    op.create_table(
        "dc_dialogue_states",
        sa.Column("dialogue", sa.Text, primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=True))
    op.create_table(
        "dc_console_settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_table("dc_console_settings")
    op.drop_table("dc_dialogue_states")
    op.drop_table("dc_sessions")
    op.drop_table("dc_users")
