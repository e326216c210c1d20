"""Tables of the visitor store (SQLAlchemy Core; SQLite by default, PostgreSQL in production)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text

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
)
