"""Alembic revisions, applied in order by `bot.store.migrations.upgrade` (Alembic skips this file)."""
