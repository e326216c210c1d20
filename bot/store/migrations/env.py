"""Alembic's environment: migrate the connection `bot.store.migrations.upgrade` hands in."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
else:  # the `alembic` command line, pointed at a database with `-x url=...`
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    with create_engine(url, future=True).begin() as own:
        context.configure(connection=own, target_metadata=metadata, render_as_batch=True)
        context.run_migrations()
