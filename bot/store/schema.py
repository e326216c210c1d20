"""Tables of the store (SQLAlchemy Core; SQLite by default, PostgreSQL in production).

A change here needs a migration in `bot/store/migrations/versions/`; a test
compares the migrated schema with these tables.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, Table, Text
from sqlalchemy import true as sa_true

from bot.core.meetings import ACTIVE

metadata = MetaData()

visitors = Table(
    "dc_visitors", metadata,
    Column("lead_id", BigInteger, primary_key=True, autoincrement=False),
    Column("email", Text, nullable=True),          # lower-cased; Marketo allows duplicates
    Column("attributes", Text, nullable=False),    # JSON: {"person.firstName": "Ann", ...}
    Column("updated_at", Text, nullable=True),     # Marketo's updatedAt (ISO 8601) when known
)
Index("ix_dc_visitors_email", visitors.c.email)

cookies = Table(
    "dc_visitor_cookies", metadata,
    Column("cookie", Text, primary_key=True),      # the _mkto_trk value
    Column("lead_id", BigInteger, nullable=False, index=True),
    # Marketo's own association, or a signed identity on this browser; an email typed in the chat only
    # claims the cookie: Marketo hears of it, but the cookie identifies nobody in the chat
    Column("proven", Boolean, nullable=False, default=True, server_default=sa_true()),
)

outbox = Table(
    "dc_outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),               # activity | associate | lead
    Column("payload", Text, nullable=False),            # JSON, as Marketo wants it
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_until", Float, nullable=True),      # a sender working on it (lease)
    Column("claim", Text, nullable=True),
    Column("sent_at", Float, nullable=True),
    Column("failed", Boolean, nullable=False, default=False),  # Marketo refused the record for good
    Column("last_error", Text, nullable=True),          # a code, never personal data
)
Index("ix_dc_outbox_pending", outbox.c.sent_at, outbox.c.failed, outbox.c.next_attempt_at)

sync_state = Table(
    "dc_sync_state", metadata,
    Column("key", Text, primary_key=True),          # "leads"
    Column("value", Text, nullable=False),          # JSON: phase, cursor, current job, totals
)

meetings = Table(
    "dc_meetings", metadata,
    Column("id", Text, primary_key=True),
    Column("agent_email", Text, nullable=False),
    Column("lead_email", Text, nullable=True),
    Column("lead_id", BigInteger, nullable=True),
    Column("start_at", BigInteger, nullable=False),     # epoch seconds, UTC
    Column("end_at", BigInteger, nullable=False),
    Column("status", Text, nullable=False),             # booked | rescheduled | cancelled | failed | past
    Column("calendar", Text, nullable=False),
    Column("event_id", Text, nullable=True),
    Column("join_url", Text, nullable=True),
    Column("pool", Text, nullable=True),                # the rotation that assigned it
    Column("reason", Text, nullable=False),             # why this agent
    Column("conversation", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("dialogue", Text, nullable=True),            # the dialogue whose meeting card booked it
)
# one active meeting per agent and start time, whatever process books it
Index("ux_dc_meetings_agent_start", meetings.c.agent_email, meetings.c.start_at, unique=True,
      postgresql_where=meetings.c.status.in_(ACTIVE),
      sqlite_where=meetings.c.status.in_(ACTIVE))
Index("ix_dc_meetings_start", meetings.c.start_at)
Index("ix_dc_meetings_agent", meetings.c.agent_email, meetings.c.start_at)  # an agent's feed
Index("ix_dc_meetings_conversation", meetings.c.conversation)  # a visitor's meetings (one per dialogue)

meeting_history = Table(
    "dc_meeting_history", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("meeting_id", Text, nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text, nullable=False),
)

routing_state = Table(
    "dc_routing_state", metadata,
    Column("pool", Text, primary_key=True),             # "all" or "team:<name>"
    Column("value", Text, nullable=False),              # JSON PoolState
)

chat_events = Table(
    "dc_chat_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),   # a retried step writes the same key: counted once
    Column("kind", Text, nullable=False),               # triggered | engaged | completed | acquired | goal | meeting | human
    Column("dialogue", Text, nullable=False),
    Column("detail", Text, nullable=False),             # the goal's name, the meeting's id
    Column("day", Text, nullable=False),                # UTC date, YYYY-MM-DD
    Column("at", Float, nullable=False),
    Column("conversation", Text, nullable=True),
    Column("lead_id", BigInteger, nullable=True),
)
Index("ix_dc_chat_events_day", chat_events.c.day)

# the dashboards read these: one row per day, dialogue, kind and detail, kept with the events
analytics_daily = Table(
    "dc_analytics_daily", metadata,
    Column("day", Text, primary_key=True),
    Column("dialogue", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("detail", Text, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# the same counts summed two more ways, so a year's dashboard reads thousands of rows, not millions:
# all dialogues per day (the totals and the chart), and each dialogue per month (the per-dialogue table)
analytics_days = Table(
    "dc_analytics_days", metadata,
    Column("day", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

analytics_months = Table(
    "dc_analytics_months", metadata,
    Column("month", Text, primary_key=True),            # YYYY-MM
    Column("dialogue", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("detail", Text, primary_key=True),
    Column("count", BigInteger, nullable=False),
)
Index("ix_dc_analytics_daily_dialogue", analytics_daily.c.dialogue, analytics_daily.c.day)

human_requests = Table(
    "dc_human_requests", metadata,
    Column("id", Text, primary_key=True),
    Column("key", Text, nullable=False, unique=True),   # one request per visitor message
    Column("at", Float, nullable=False),
    Column("conversation", Text, nullable=False),
    Column("dialogue", Text, nullable=False),
    Column("page", Text, nullable=True),
    Column("lead_id", BigInteger, nullable=True),
    Column("email", Text, nullable=True),
    Column("transcript", Text, nullable=False),         # JSON: [{"from": "visitor"|"bot", "text", "at"}]
    Column("status", Text, nullable=False),             # open | done
    Column("handled_by", Text, nullable=True),
    Column("handled_at", Float, nullable=True),
)
Index("ix_dc_human_requests_open", human_requests.c.status, human_requests.c.at)

users = Table(
    "dc_users", metadata,
    Column("email", Text, primary_key=True),            # lower-cased
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),               # admin | designer | viewer
    Column("password_hash", Text, nullable=False),      # Argon2id, with its parameters and salt
    Column("created_at", Float, nullable=False),
    Column("active", Boolean, nullable=False),
)

sessions = Table(
    "dc_sessions", metadata,
    Column("token_hash", Text, primary_key=True),       # SHA-256 of the cookie's token: a leaked table opens nothing
    Column("email", Text, nullable=False, index=True),
    Column("csrf", Text, nullable=False),               # sent back in X-CSRF-Token / the form's csrf field
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

dialogue_states = Table(
    "dc_dialogue_states", metadata,
    Column("dialogue", Text, primary_key=True),
    Column("paused", Boolean, nullable=False),          # a paused dialogue is not chosen for new visits
    Column("changed_at", Float, nullable=False),
    Column("changed_by", Text, nullable=True),
)

console_settings = Table(
    "dc_console_settings", metadata,
    Column("key", Text, primary_key=True),              # "chat_enabled", ...
    Column("value", Text, nullable=False),              # JSON
    Column("changed_at", Float, nullable=False),
    Column("changed_by", Text, nullable=True),
)
