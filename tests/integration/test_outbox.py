"""The durable outbox: leases, retries, refusals, and delivery to the emulator through outages."""
from __future__ import annotations

import subprocess

import pytest

from bot.marketo import writeback
from bot.marketo.client import MarketoClient, MarketoConfig
from bot.store.database import open_database
from bot.store.outbox import Outbox, backoff
from tests.support import FIXTURES, PYTHON, ROOT
from tests.support.marketo import start_emulator

TYPE_IDS = writeback.DEFAULT_TYPE_IDS


def test_lease_retry_refuse_and_status(database_url) -> None:
    box = Outbox(open_database(database_url))
    now = 1_000_000.0
    for n in range(3):
        box.add("activity", {"n": n}, now=now)
    first = box.claim(2, now=now)
    second = box.claim(5, now=now)
    assert [m.payload["n"] for m in first] == [0, 1] and [m.payload["n"] for m in second] == [2]
    assert box.claim(5, now=now) == []  # all leased
    box.sent([first[0].id], now=now)
    box.retry_later([first[1]], "606", now=now)
    box.refused(second[0], "1004")
    status = box.status(now=now + 1)
    assert (status.pending, status.due, status.sent, status.failed) == (1, 0, 1, 1)
    assert status.last_error == "1004"  # the latest message's error
    assert box.claim(5, now=now + backoff(1) - 0.1) == []
    again = box.claim(5, now=now + backoff(1))
    assert [m.payload["n"] for m in again] == [1] and again[0].attempts == 1


def test_a_sender_that_died_holding_messages_releases_them_when_its_lease_ends(database_url) -> None:
    box = Outbox(open_database(database_url))
    box.add("activity", {"n": 1}, now=100.0)
    assert len(box.claim(10, now=100.0)) == 1  # ... and the process dies here
    assert box.claim(10, now=150.0) == []
    assert len(box.claim(10, now=100.0 + 121)) == 1


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(30) == 3600.0


@pytest.fixture
def emulator():
    running = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    yield running
    running.stop()


def _client(emulator) -> MarketoClient:
    return MarketoClient(MarketoConfig(base_url=emulator.base_url, client_id=emulator.client_id,
                                       client_secret=emulator.client_secret, max_attempts=2,
                                       backoff_base=0.01, backoff_cap=0.02, timeout=2))


def test_activities_reach_marketo_and_refusals_are_kept(tmp_path, emulator) -> None:
    box = Outbox(open_database(f"sqlite:///{tmp_path / 'out.db'}"))
    writeback.record_activity(box, "goal", 501, "pricing", {"goal": "demo_booked"})
    writeback.record_activity(box, "triggered", 424242, "pricing", {"page": "https://x.test/"})
    writeback.record_lead(box, {"email": "new@lead.test", "firstName": "Nia"}, "id:100-NEW-001&token:_mch-x-1")
    report = writeback.flush(box, _client(emulator), TYPE_IDS)
    assert (report.sent, report.refused) == (2, 1)
    follow_up = writeback.flush(box, _client(emulator), TYPE_IDS)  # the association the new lead queued
    assert follow_up.sent == 1
    stats = emulator.stats()
    assert [(a["leadId"], a["activityTypeId"], a["primaryAttributeValue"]) for a in stats["activities"]] == [
        (501, TYPE_IDS["goal"], "pricing")]
    assert stats["activities"][0]["attributes"] == [{"name": "goal", "value": "demo_booked"}]
    assert stats["leads"] == 3 and "id:100-NEW-001&token:_mch-x-1" in stats["cookies"]
    status = box.status()
    assert (status.sent, status.failed, status.pending) == (3, 1, 0) and status.last_error == "1004"


def test_nothing_is_lost_while_marketo_is_down(tmp_path) -> None:
    emulator = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    box = Outbox(open_database(f"sqlite:///{tmp_path / 'out.db'}"))
    client = _client(emulator)
    writeback.record_activity(box, "captured", 501, "pricing", {"field": "person.phone"})
    emulator.faults(calls=[{"status": 503}] * 4)
    report = writeback.flush(box, client, TYPE_IDS)
    assert report.retried == 1 and box.status().pending == 1 and box.status().last_error == "http-503"
    emulator.stop()  # a real outage: nobody answers
    writeback.record_activity(box, "goal", 501, "pricing", {"goal": "g"})
    assert writeback.flush(box, client, TYPE_IDS).retried >= 1
    assert box.status().pending == 2
    back = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    try:
        client = _client(back)
        # pretend time has passed beyond every backoff
        with box.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE dc_outbox SET next_attempt_at = 0")
        assert writeback.flush(box, client, TYPE_IDS).sent == 2
        assert box.status().pending == 0 and len(back.stats()["activities"]) == 2
    finally:
        back.stop()


def test_outbox_cli(tmp_path, emulator) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    writeback.record_activity(Outbox(open_database(url)), "goal", 501, "pricing", {"goal": "g"})
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    status = subprocess.run([PYTHON, "-m", "bot", "outbox", "status"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert status.returncode == 0 and status.stdout.startswith("pending 1 (due now 1), sent 0")
    unconfigured = subprocess.run([PYTHON, "-m", "bot", "outbox", "flush"], cwd=ROOT, env=env, capture_output=True,
                                  text=True)
    assert unconfigured.returncode == 1 and "not configured" in unconfigured.stderr
    env.update(MARKETO_BASE_URL=emulator.base_url, MARKETO_CLIENT_ID=emulator.client_id,
               MARKETO_CLIENT_SECRET=emulator.client_secret)
    flushed = subprocess.run([PYTHON, "-m", "bot", "outbox", "flush"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert flushed.returncode == 0 and "sent 1" in flushed.stdout
    assert emulator.client_secret not in flushed.stdout + flushed.stderr
