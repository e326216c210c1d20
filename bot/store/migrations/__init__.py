"""Schema migrations (Alembic): one history for SQLite and PostgreSQL.

`upgrade` brings any database to the latest revision in one transaction;
PostgreSQL replicas starting together queue on an advisory lock, so only
one of them migrates. A database made by a release before migrations
(tables created on first use, no `alembic_version`) is recognised and
stamped at the baseline first, then upgraded in place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

BASELINE = "0001"
_LOCK_KEY = 0x64796E63  # "dync": the advisory lock that serialises migrations on PostgreSQL


def config(connection: Optional[Connection] = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> Optional[str]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Upgrade to `revision` (default: the latest) and return where the schema stands."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        cfg = config(connection)
        if MigrationContext.configure(connection).get_current_revision() is None and \
                inspect(connection).has_table("dc_visitors"):
            command.stamp(cfg, BASELINE)  # made by a release before migrations: its schema is the baseline
        command.upgrade(cfg, revision)
        return MigrationContext.configure(connection).get_current_revision() or ""
