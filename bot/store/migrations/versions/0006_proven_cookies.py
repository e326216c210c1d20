"""A cookie claimed by an email typed in the chat identifies nobody: associations say whether they are proven.
A visitor's meetings are found by conversation (one active meeting per visitor and dialogue).

Existing associations came from Marketo (sync, import, lookups) or from typed
emails that cannot be told apart now; they are kept as proven.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dc_visitor_cookies") as batch:
        batch.add_column(sa.Column("proven", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_index("ix_dc_meetings_conversation", "dc_meetings", ["conversation"])


def downgrade() -> None:
    op.drop_index("ix_dc_meetings_conversation", "dc_meetings")
    with op.batch_alter_table("dc_visitor_cookies") as batch:
        batch.drop_column("proven")
