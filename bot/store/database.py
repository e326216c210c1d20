"""The database every store of ours shares: one engine per `Database`, the schema by migrations.

SQLite (the embedded default) gets WAL and a busy timeout, so readers never
wait for an import and several processes can share the file; PostgreSQL
gets connections checked before use. Tables are never created on first
use: `upgrade()` (run by `dynchat run`, `dynchat db upgrade` and the tests)
brings the schema to the latest migration.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bot.store import migrations


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")      # readers do not wait for an import
    cursor.execute("PRAGMA synchronous=NORMAL")    # durable at checkpoints, safe with WAL
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def insert_for(connection: Connection, table: Table) -> Any:
    """An INSERT with ON CONFLICT clauses (`on_conflict_do_nothing`/`_do_update`) for the connection's database."""
    return postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table)


class Database:
    """A connection pool to the store at `url` (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    def upgrade(self) -> str:
        """Bring the schema to the latest migration; returns the revision it is at."""
        return migrations.upgrade(self.engine)

    def revision(self) -> str | None:
        """The schema's migration, or None for a database no migration has touched."""
        return migrations.current(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections (tests drop their databases)."""
        self.engine.dispose()


def open_database(url: str) -> Database:
    """A database at `url` with its schema at the latest migration."""
    database = Database(url)
    database.upgrade()
    return database
