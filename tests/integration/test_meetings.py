"""Meeting records: booking through the router, cancellation credits, history, no double booking."""
from __future__ import annotations

import datetime
import os
import subprocess
import time

from bot.calendars import local
from bot.core.meetings import BookingRequest
from bot.store.database import open_database
from bot.store.meetings import Meetings
from tests.support import PYTHON, ROOT
from tests.support.agents import AGENTS

START = int(datetime.datetime(2026, 12, 7, 10, tzinfo=datetime.timezone.utc).timestamp())
NOW = START - 86400


def test_rotation_cancellation_credit_history_and_past(database_url) -> None:
    store = Meetings(open_database(database_url))
    booked = [store.book(AGENTS, BookingRequest(START + n * 3600, 30, f"v{n}@x.test"), now=NOW).meeting
              for n in range(3)]
    assert [m.agent_email for m in booked] == ["agent1@x.test", "agent2@x.test", "agent3@x.test"]
    assert store.cancel(booked[1].id).status == "cancelled"
    again = store.book(AGENTS, BookingRequest(START + 5 * 3600, 30, "v9@x.test"), now=NOW)
    assert again.meeting.agent_email == "agent2@x.test" and "cancelled" in again.choice.reason
    following = store.book(AGENTS, BookingRequest(START + 6 * 3600, 30, "v10@x.test"), now=NOW)
    assert following.meeting.agent_email == "agent4@x.test"  # the rotation goes on after agent 3
    assert [status for _, status, _ in store.history(booked[1].id)] == ["booked", "cancelled"]
    assert store.cancel(booked[1].id).status == "cancelled"  # cancelling twice changes nothing
    assert [m.status for m in store.list(now=START + 2 * 86400)][:1] == ["past"]
    assert store.list(status="cancelled")[0].id == booked[1].id


def test_rescheduling_keeps_the_agent_and_is_refused_when_they_are_busy(database_url) -> None:
    store = Meetings(open_database(database_url))
    first = store.book(AGENTS[:1], BookingRequest(START, 30, "a@x.test"), now=NOW).meeting
    second = store.book(AGENTS[:1], BookingRequest(START + 3600, 30, "b@x.test"), now=NOW).meeting
    assert store.reschedule(first.id, AGENTS[0], START + 3600 + 600, now=NOW) is None  # overlaps the second
    moved = store.reschedule(first.id, AGENTS[0], START + 7200, now=NOW)
    assert (moved.status, moved.start_at, moved.end_at) == ("rescheduled", START + 7200, START + 7200 + 1800)
    assert [status for _, status, _ in store.history(first.id)] == ["booked", "rescheduled"]
    assert store.reschedule(second.id, AGENTS[0], START, now=NOW).start_at == START  # its old time is free now


def test_reassignment_credits_the_previous_agent(database_url) -> None:
    store = Meetings(open_database(database_url))
    meeting = store.book(AGENTS, BookingRequest(START, 30, "a@x.test"), now=NOW).meeting
    assert meeting.agent_email == "agent1@x.test"
    moved, choice = store.reassign(meeting.id, AGENTS, now=NOW)
    assert moved.agent_email == "agent2@x.test" and moved.status == "booked"
    assert "reassigned from agent1@x.test to agent2@x.test" in store.history(meeting.id)[-1][2]
    assert store.states()["all"].credits == {"agent1@x.test": 1}
    named, _ = store.reassign(meeting.id, AGENTS, to="agent5@x.test", now=NOW)
    assert named.agent_email == "agent5@x.test"
    blocker = store.book(AGENTS[2:3], BookingRequest(START, 30, "b@x.test"), now=NOW).meeting
    refused, why = store.reassign(meeting.id, AGENTS, to=blocker.agent_email, now=NOW)
    assert refused is None and why.skipped == [(blocker.agent_email, "busy")]
    nxt = store.book(AGENTS, BookingRequest(START + 7200, 30, "c@x.test"), now=NOW).meeting
    assert nxt.agent_email == "agent1@x.test"  # the credit puts agent 1 first in line


def test_the_same_agent_time_is_never_booked_twice_and_caps_hold(database_url) -> None:
    store = Meetings(open_database(database_url))
    agents = AGENTS[:2]
    first = store.book(agents, BookingRequest(START, 30, "a@x.test"), now=NOW).meeting
    second = store.book(agents, BookingRequest(START + 600, 30, "b@x.test"), now=NOW).meeting
    assert {first.agent_email, second.agent_email} == {"agent1@x.test", "agent2@x.test"}
    third = store.book(agents, BookingRequest(START + 900, 30, "c@x.test"), now=NOW)
    assert third.meeting is None and third.choice.skipped == [("agent1@x.test", "busy"), ("agent2@x.test", "busy")]
    for n in range(2, 6):
        store.book(agents[:1], BookingRequest(START + n * 3600, 30, f"d{n}@x.test"), now=NOW)
    capped = store.book(agents[:1], BookingRequest(START + 8 * 3600, 30, "e@x.test"), now=NOW)
    assert capped.meeting is None and capped.choice.skipped == [("agent1@x.test", "has 3 meetings that day")]


def test_a_hundred_simultaneous_bookings_from_several_processes(postgres_url) -> None:
    """100 visitors pick the same slot at once, from 4 processes: one meeting per agent, no double booking."""
    Meetings(open_database(postgres_url))  # create the tables before the race
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [subprocess.Popen([PYTHON, "-m", "tests.support.meeting_worker", postgres_url, str(START), "25"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = []
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0
        outcomes += output.split()
    assert len(outcomes) == 100
    winners = [o for o in outcomes if o != "none"]
    assert sorted(winners) == [agent.email for agent in AGENTS]  # each agent exactly once
    active = [m for m in Meetings(open_database(postgres_url)).list() if m.status == "booked"]
    assert len(active) == 5 and len({(m.agent_email, m.start_at) for m in active}) == 5


def test_a_visitor_racing_themselves_holds_one_meeting_per_dialogue(database_url) -> None:
    """Ten requests of one conversation at once (a replayed pick) book one meeting; another dialogue, another
    conversation, or the limit lifted book more; a proven email counts across conversations."""
    from concurrent.futures import ThreadPoolExecutor

    store = Meetings(open_database(database_url))

    def request(n: int, conversation: str = "c-1", dialogue: str = "demo", email: str = "v@x.test") -> BookingRequest:
        return BookingRequest(START + n * 3600, 30, email, conversation=conversation, dialogue=dialogue)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda n: store.book(AGENTS, request(n), now=NOW, per_visitor=1), range(10)))
    booked = [r.meeting for r in results if r.meeting]
    assert len(booked) == 1 and all(r.existing.id == booked[0].id for r in results if not r.meeting)
    assert store.book(AGENTS, request(11, dialogue="pricing"), now=NOW, per_visitor=1).meeting is not None
    assert store.book(AGENTS, request(12, conversation="c-2"), now=NOW, per_visitor=1).meeting is not None
    assert store.book(AGENTS, request(13, conversation="c-3"), now=NOW, per_visitor=1, by_email=True).existing is not None
    assert store.book(AGENTS, request(14), now=NOW, per_visitor=2).meeting is not None
    assert store.book(AGENTS, request(15), now=NOW).meeting is not None  # no limit
    store.cancel(booked[0].id)
    assert store.book(AGENTS, request(16, conversation="c-2"), now=NOW, per_visitor=1).existing is not None
    assert store.book(AGENTS, request(16, conversation="c-4"), now=NOW, per_visitor=1).meeting is not None


def test_ics_invitation_and_feed(tmp_path) -> None:
    store = Meetings(open_database(f"sqlite:///{tmp_path / 'ics.db'}"))
    meeting = store.book(AGENTS, BookingRequest(START, 45, "visitor@x.test"), now=NOW).meeting
    invitation = local.invitation(meeting, AGENTS[0], now=NOW)
    assert invitation.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and "METHOD:REQUEST\r\n" in invitation
    assert "DTSTART:20261207T100000Z\r\n" in invitation and "DTEND:20261207T104500Z\r\n" in invitation
    assert f"UID:{meeting.id}@dynchat" in invitation and "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:visitor@x.test" in invitation
    assert all(len(line.encode()) <= 75 for line in invitation.split("\r\n"))
    feed = local.feed(AGENTS[0], store.list(now=NOW), now=NOW)
    assert feed.count("BEGIN:VEVENT") == 1 and "METHOD" not in feed
    cancelled = store.cancel(meeting.id)
    assert "METHOD:CANCEL" in local.invitation(cancelled, AGENTS[0], now=time.time())


def _next_tuesday_1400_utc() -> str:
    """A Tuesday at least three days ahead, 14:00 UTC: 15:00-16:00 in Stockholm and Paris, 09:00-10:00 in New York."""
    day = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=3)
    day += datetime.timedelta(days=(1 - day.weekday()) % 7)
    return f"{day.isoformat()}T14:00:00+00:00"


def test_cli_book_cancel_list_and_routing(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True)

    listed = run("agents", "list")
    assert listed.returncode == 0 and "astrid@example.com" in listed.stdout
    when = _next_tuesday_1400_utc()  # all three agents work then, in summer and in winter
    picked = [run("meetings", "book", "--email", f"v{n}@x.test", "--start", when) for n in range(4)]
    assert [p.stdout.split()[0] for p in picked[:3]] == ["astrid@example.com", "ben@example.com", "chloe@example.com"]
    assert picked[3].returncode == 1 and "no agent is free" in picked[3].stderr
    cancelled = run("meetings", "cancel", picked[1].stdout.split()[1])
    assert cancelled.returncode == 0 and cancelled.stdout.endswith("cancelled\n")
    shown = run("routing", "show")
    assert "last chloe@example.com" in shown.stdout and "credits ben@example.com x1" in shown.stdout
    assert len(run("meetings", "list", "--status", "booked").stdout.splitlines()) == 2
    feed = run("calendar", "feed", "astrid@example.com")
    assert feed.stdout.count("BEGIN:VEVENT") == 1
    reassigned = run("meetings", "reassign", picked[0].stdout.split()[1], "--agent", "ben@example.com")
    assert reassigned.returncode == 0 and reassigned.stdout.startswith("ben@example.com ")
    taken = run("meetings", "reassign", picked[2].stdout.split()[1], "--agent", "ben@example.com")
    assert taken.returncode == 1 and "not reassigned" in taken.stderr
    bad = run("meetings", "book", "--email", "x@x.test", "--start", when[:19])
    assert bad.returncode == 1 and "has no time zone" in bad.stderr and "Traceback" not in bad.stderr
