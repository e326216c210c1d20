"""Retention and `forget` over every table that keeps a person, on SQLite and PostgreSQL (issue 11).

Before, visitors, cookies, outbox entries, meetings and trackers were kept forever, and there was no way to
delete a person.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, List

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.calendars.providers import Calendars
from bot.core.analytics import event_for
from bot.core.meetings import BookingRequest
from bot.core.visitors import Visitor
from bot.routing.agents import RoutingFile
from bot.services.privacy import DAY, Privacy, Retention
from bot.store import analytics
from bot.store.database import open_database
from bot.store.meetings import Meetings
from bot.store.outbox import Outbox
from bot.store.privacy import PersonalData
from bot.store.requests import PersonRequests
from bot.store.visitors import VisitorStore
from bot.web.tracker_store import SQLTrackerStore
from tests.support import FIXTURES
from tests.support.agents import AGENTS

NOW = 1_900_000_000.0
DOMAIN = Domain.from_dict({
    "intents": ["dc_start"],
    "slots": {name: {"type": "any", "mappings": [{"type": "custom"}]}
              for name in ("person_email", "dc_lead_id", "dc_engaged", "person_firstName")},
})


def _conversation(store: SQLTrackerStore, sender: str, at: float, slots: List[Any], typed: str = "/dc_start") -> None:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for event in [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
                  UserUttered(typed, {"name": "dc_start", "confidence": 1.0}, timestamp=at + 1)] + [
                      SlotSet(name, value, timestamp=at + 2) for name, value in slots]:
        tracker.update(event, DOMAIN)
    asyncio.run(store.save(tracker))


def _events(database_url: str) -> List[str]:
    engine = open_database(database_url).engine
    with engine.connect() as connection:
        return sorted({row[0] for row in connection.exec_driver_sql("SELECT sender_id FROM events").all()})


def _setup(database_url: str):
    database = open_database(database_url)
    database.upgrade()
    tracker_store = SQLTrackerStore(domain=DOMAIN, host=database_url)
    visitors = VisitorStore(database)
    visitors.upsert([Visitor(501, "ann@corp.test", {"person.firstName": "Ann"}),
                     Visitor(502, "bob@corp.test", {"person.firstName": "Bob"})])
    visitors.associate_cookie("id:ann-cookie", 501)
    visitors.associate_cookie("id:bob-cookie", 502)
    return database, tracker_store, visitors


def test_forget_deletes_a_person_everywhere_and_keeps_everyone_else(database_url: str, tmp_path: Path) -> None:
    database, tracker_store, visitors = _setup(database_url)
    _conversation(tracker_store, "ann-known", NOW - 100, [("dc_lead_id", 501), ("person_firstName", "Ann")])
    _conversation(tracker_store, "ann-typed", NOW - 50, [("person_email", "ann@corp.test")], typed="Ann@Corp.test")
    _conversation(tracker_store, "bob", NOW - 50, [("dc_lead_id", 502), ("person_email", "bob@corp.test")])
    _conversation(tracker_store, "lead-5012", NOW - 50, [("dc_lead_id", 5012)])  # a lead id that starts like Ann's
    meetings = Meetings(database)
    meetings.book(AGENTS, BookingRequest(int(NOW - 7 * DAY), 30, "ann@corp.test", conversation="ann-known"),
                  now=NOW - 8 * DAY)  # past
    meetings.book(AGENTS, BookingRequest(int(NOW + DAY), 30, "ann@corp.test", conversation="ann-typed"),
                  now=NOW)  # future: cancelled in the calendar first
    bobs = meetings.book(AGENTS, BookingRequest(int(NOW + 2 * DAY), 30, "bob@corp.test", conversation="bob"), now=NOW)
    outbox = Outbox(database)
    outbox.add("activity", {"leadId": 501, "activityTypeId": 100001}, now=NOW)
    outbox.add("lead", {"email": "ann@corp.test", "firstName": "Ann"}, now=NOW)
    outbox.add("activity", {"leadId": 502, "activityTypeId": 100001}, now=NOW)
    with database.engine.begin() as connection:
        PersonRequests(database).add(connection, "ann-typed#1", "ann-typed", "pricing", None, 501, "ann@corp.test",
                                     [], now=NOW)
        analytics.record(connection, [e for e in (
            event_for("triggered", {"dialogue": "pricing"}, "ann-known", "#1", NOW - 100, 501),
            event_for("triggered", {"dialogue": "pricing"}, "bob", "#1", NOW - 50, 502)) if e])
    routing = RoutingFile(FIXTURES / "agents" / "always.yml", tmp_path / "none.csv")
    privacy = Privacy(PersonalData(database), meetings, routing, Calendars(), Retention(), clock=lambda: NOW)

    assert privacy.forget("not an email") is None
    deleted = privacy.forget(" ANN@corp.test ")
    assert deleted is not None
    assert deleted.counts == {"conversations": 2, "conversation events": 9, "meetings": 2,
                              "requests for a person": 1, "messages for Marketo": 2,
                              "analytics events made anonymous": 3, "cookies": 1, "visitors": 1,  # 2 meetings
                              "future meetings cancelled in the agents' calendars": 1}
    assert _events(database_url) == ["bob", "lead-5012"]
    assert visitors.by_email("ann@corp.test") is None and visitors.by_cookie("id:ann-cookie") is None
    assert visitors.by_email("bob@corp.test").lead_id == 502 and visitors.by_cookie("id:bob-cookie").lead_id == 502
    assert [m.id for m in meetings.list(now=NOW)] == [bobs.meeting.id]  # Ann's past and future meetings went
    remaining = [json.loads(json.dumps(m.payload)) for m in outbox.claim(10, now=NOW + 1)]
    assert remaining == [{"leadId": 502, "activityTypeId": 100001}]
    counts = analytics.Analytics(database).report("2020-01-01", "2040-12-31")
    assert counts.total.counts["triggered"] == 2  # the counts stay; Ann's event no longer says whose it was
    assert "ann" not in json.dumps(PersonalData(database).count())


def test_retention_deletes_quiet_anonymous_visitors_and_old_records(database_url: str, tmp_path: Path) -> None:
    database, tracker_store, _ = _setup(database_url)
    _conversation(tracker_store, "anon-quiet-old", NOW - 100 * DAY, [])
    _conversation(tracker_store, "anon-engaged-old", NOW - 100 * DAY, [("dc_engaged", ["pricing"])])
    _conversation(tracker_store, "known-old", NOW - 100 * DAY, [("dc_lead_id", 501)])
    _conversation(tracker_store, "anon-quiet-recent", NOW - 10 * DAY, [])
    _conversation(tracker_store, "ancient", NOW - 800 * DAY, [("dc_lead_id", 502)])
    meetings = Meetings(database)
    meetings.book(AGENTS, BookingRequest(int(NOW - 800 * DAY), 30, "ann@corp.test"), now=NOW - 801 * DAY)
    recent = meetings.book(AGENTS, BookingRequest(int(NOW - 10 * DAY), 30, "bob@corp.test"), now=NOW - 11 * DAY)
    outbox = Outbox(database)
    outbox.add("activity", {"leadId": 501}, now=NOW - 40 * DAY)
    sent = outbox.claim(10, now=NOW - 40 * DAY)
    outbox.sent([m.id for m in sent], now=NOW - 40 * DAY)
    outbox.add("activity", {"leadId": 502}, now=NOW)  # not sent yet: kept
    routing = RoutingFile(FIXTURES / "agents" / "always.yml", tmp_path / "none.csv")
    privacy = Privacy(PersonalData(database), meetings, routing, Calendars(), Retention(), clock=lambda: NOW)
    deleted = privacy.expire()
    assert _events(database_url) == ["anon-engaged-old", "anon-quiet-recent", "known-old"]
    assert deleted.counts["anonymous conversations without engagement"] == 1
    assert deleted.counts["conversations older than the record limit"] == 1
    assert deleted.counts["meetings"] == 1 and [m.id for m in meetings.list(now=NOW)] == [recent.meeting.id]
    assert deleted.counts["messages for Marketo"] == 1 and len(outbox.claim(10, now=NOW + 1)) == 1
    assert privacy.expire().counts == {}  # nothing more to do


def test_the_commands_say_what_they_deleted(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.support import PYTHON, ROOT

    url = f"sqlite:///{tmp_path / 'store.db'}"
    database, tracker_store, _ = _setup(url)
    _conversation(tracker_store, "ann", NOW - 100, [("dc_lead_id", 501)])
    tracker_store.engine.dispose()
    database.dispose()
    env = {**os.environ, "DATABASE_URL": url, "DYNCHAT_VAR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT),
           "DYNCHAT_AGENTS": str(FIXTURES / "agents" / "always.yml"), "DYNCHAT_ACCOUNTS": str(tmp_path / "none.csv")}

    def dynchat(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)

    forgot = dynchat("forget", "Ann@Corp.test", "--yes")
    assert forgot.returncode == 0, forgot.stderr
    assert forgot.stdout.splitlines()[:5] == ["forgot ann@corp.test:", "  conversations: 1",
                                              "  conversation events: 4", "  cookies: 1", "  visitors: 1"]
    assert dynchat("forget", "not-an-email", "--yes").returncode == 1
    expired = dynchat("retention", "run")
    assert expired.returncode == 0 and expired.stdout.splitlines()[0].startswith(
        "retention: anonymous visitors without engagement after 90 days, records after 24 months")
    assert expired.stdout.splitlines()[1] == "  nothing"
