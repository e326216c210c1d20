"""Schema migrations: a new database gets exactly the declared tables; an old one upgrades in place, data kept."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import threading
import time
from types import ModuleType
from typing import List

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.core.meetings import BookingRequest
from bot.core.visitors import Visitor
from bot.store import migrations
from bot.store.database import Database, open_database
from bot.store.meetings import Meetings
from bot.store.outbox import Outbox
from bot.store.schema import metadata
from bot.store.visitors import VisitorStore
from tests.support import FIXTURES, PYTHON, ROOT
from tests.support.agents import AGENTS

START = 1_900_000_800  # 2030-03-17, a Sunday, on the half hour


def _previous_release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("previous_release", FIXTURES / "schema" / "previous_release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _indexes(database: Database, table: str) -> List[str]:
    return sorted(index["name"] for index in sqlalchemy.inspect(database.engine).get_indexes(table))


def test_a_new_database_gets_exactly_the_declared_schema(database_url: str) -> None:
    database = open_database(database_url)
    try:
        assert database.revision() == migrations.head()
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []
        assert database.upgrade() == migrations.head()  # again: nothing to do
    finally:
        database.dispose()


def test_a_database_of_the_previous_release_upgrades_in_place(database_url: str) -> None:
    old = sqlalchemy.create_engine(database_url, future=True)
    release = _previous_release()
    release.metadata.create_all(old)
    with old.begin() as connection:
        connection.execute(release.visitors.insert().values(
            lead_id=501, email="ann@corp.test", attributes=json.dumps({"person.firstName": "Ann"})))
        connection.execute(release.cookies.insert().values(cookie="id:1-AAA", lead_id=501))
        connection.execute(release.meetings.insert().values(
            id="m-1", agent_email=AGENTS[0].email, lead_email="ann@corp.test", start_at=START, end_at=START + 1800,
            status="booked", calendar="local", reason="round robin", pool="all", created_at=1.0, updated_at=1.0))
        connection.execute(release.outbox.insert().values(kind="activity", payload="{}", created_at=1.0, attempts=0,
                                                          next_attempt_at=1.0, failed=False))
    old.dispose()
    database = Database(database_url)
    try:
        assert database.revision() is None
        assert database.upgrade() == migrations.head()
        assert "ix_dc_meetings_agent" in _indexes(database, "dc_meetings")
        with database.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        visitor = VisitorStore(database).by_cookie("id:1-AAA")
        assert visitor == Visitor(501, "ann@corp.test", {"person.firstName": "Ann"}, None)
        store = Meetings(database)
        assert [m.id for m in store.list(now=START - 60)] == ["m-1"]
        taken = store.book(AGENTS[:1], BookingRequest(START, 30, "bo@corp.test"), now=START - 86400)
        assert taken.meeting is None  # the one-booking index and the lock hold on the old data
        assert Outbox(database).status().pending == 1
    finally:
        database.dispose()


def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    """Four processes' worth of engines upgrade at once: the advisory lock lets one migrate, the rest wait."""
    results: List[str] = []
    errors: List[BaseException] = []

    def upgrade() -> None:
        database = Database(postgres_url)
        try:
            results.append(database.upgrade())
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [migrations.head()] * 4


def test_reading_meetings_writes_nothing(tmp_path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'read.db'}")
    store = Meetings(database)
    booked = store.book(AGENTS[:1], BookingRequest(START, 30, "ann@corp.test"), now=START - 86400).meeting
    assert booked is not None
    with database.engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT status, updated_at FROM dc_meetings").all()
    after_it_ended = START + 3600
    assert [m.status for m in store.list(now=after_it_ended)] == ["past"]
    assert [m.id for m in store.list("past", now=after_it_ended)] == [booked.id]
    assert store.list("booked", now=after_it_ended) == []
    assert [m.status for m in store.list(now=START - 60)] == ["booked"]
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT status, updated_at FROM dc_meetings").all() == before
    assert [status for _, status, _ in store.history(booked.id)] == ["booked"]
    database.dispose()


def test_dynchat_db_status_and_upgrade(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "DYNCHAT_VAR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def dynchat(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-m", "bot", *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    pending = dynchat("db", "status")
    assert pending.returncode == 1 and "run 'dynchat db upgrade'" in pending.stdout
    started = time.monotonic()
    upgraded = dynchat("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database at revision {migrations.head()} (was unversioned)"
    assert time.monotonic() - started < 60
    assert dynchat("db", "status").returncode == 0
    assert dynchat("db", "upgrade").stdout.strip() == f"database at revision {migrations.head()} (already current)"
