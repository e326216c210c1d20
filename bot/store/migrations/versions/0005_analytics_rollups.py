"""Analytics counted per day for all dialogues and per month for each, so a year reads in milliseconds.

The new tables are filled from the per-day counts that exist already.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dc_analytics_days",
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False))
    op.create_table(
        "dc_analytics_months",
        sa.Column("month", sa.Text, primary_key=True),
        sa.Column("dialogue", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("detail", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False))
    op.create_index("ix_dc_analytics_daily_dialogue", "dc_analytics_daily", ["dialogue", "day"])
    op.execute("INSERT INTO dc_analytics_days (day, kind, count) "
               "SELECT day, kind, SUM(count) FROM dc_analytics_daily GROUP BY day, kind")
    op.execute("INSERT INTO dc_analytics_months (month, dialogue, kind, detail, count) "
               "SELECT SUBSTR(day, 1, 7), dialogue, kind, detail, SUM(count) FROM dc_analytics_daily "
               "GROUP BY SUBSTR(day, 1, 7), dialogue, kind, detail")


def downgrade() -> None:
    op.drop_index("ix_dc_analytics_daily_dialogue", "dc_analytics_daily")
    op.drop_table("dc_analytics_months")
    op.drop_table("dc_analytics_days")
