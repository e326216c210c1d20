"""Analytics and requests for a person, recorded by the actions: once per visitor message, with what they count."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from sqlalchemy import select

from bot.app import Services
from bot.core.analytics import report
from bot.core.meetings import BookingRequest
from bot.marketo.client import MarketoClient, MarketoConfig
from bot.marketo.writeback import DEFAULT_TYPE_IDS, WriteBack
from bot.store.schema import chat_events, outbox
from tests.integration.test_actions import CLOCK, build_services, run
from tests.support import FIXTURES
from tests.support.agents import AGENTS

DAY = "2030-03-18"


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path)
    # Marketo on a port nothing answers: what is queued for it stays in the outbox, where the test reads it
    client = MarketoClient(MarketoConfig("http://127.0.0.1:9", "id", "secret", max_attempts=1, timeout=0.5))
    built.__dict__["writeback"] = WriteBack(built.outbox, client, DEFAULT_TYPE_IDS)
    yield built
    built.close()


def _activities(services: Services) -> list:
    with services.database.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.payload).where(outbox.c.kind == "activity")).all()
    return [json.loads(row.payload) for row in rows]


def test_a_retried_step_is_counted_once_and_written_back_once(services: Services) -> None:
    happened = [("triggered", {"dialogue": "shop", "page": "/"}), ("engaged", {"dialogue": "shop"}),
                ("captured", {"dialogue": "shop", "field": "person.email", "value": "a@b.test"})]
    for _ in range(3):  # Rasa retried the action twice
        services.activity.record(happened, "visitor-1", "m-1", 501)
    counts = services.analytics.report(DAY, DAY).total.counts
    assert (counts["triggered"], counts["engaged"], counts["acquired"]) == (1, 1, 1)
    assert sorted(a["kind"] for a in _activities(services)) == ["captured", "engaged", "triggered"]
    services.activity.record(happened[:1], "visitor-1", "m-2", 501)  # the next message triggers again
    assert services.analytics.report(DAY, DAY).total.counts["triggered"] == 2


def test_anonymous_visitors_are_counted_and_nothing_goes_to_marketo(services: Services) -> None:
    services.activity.record([("triggered", {"dialogue": "shop"})], "anonymous-1", "m-1", None)
    assert services.analytics.report(DAY, DAY).dialogues["shop"].counts["triggered"] == 1
    assert _activities(services) == []


def test_scripted_conversations_give_exact_counts_and_rates(services: Services) -> None:
    script = {
        "v1": [("triggered", {"dialogue": "shop"}), ("engaged", {"dialogue": "shop"}),
               ("captured", {"dialogue": "shop", "field": "person.email", "value": "x@y.test"}),
               ("goal", {"dialogue": "shop", "goal": "lead"}), ("completed", {"dialogue": "shop"})],
        "v2": [("triggered", {"dialogue": "shop"}), ("engaged", {"dialogue": "shop"})],
        "v3": [("triggered", {"dialogue": "shop"})],
        "v4": [("triggered", {"dialogue": "general"})],
    }
    for visitor, happened in script.items():
        for number, item in enumerate(happened):
            services.activity.record([item], visitor, f"m{number}", None)
    result = services.analytics.report(DAY, DAY)
    shop = result.dialogues["shop"]
    assert (shop.counts["triggered"], shop.counts["engaged"], shop.counts["acquired"], shop.counts["goal"],
            shop.counts["completed"]) == (3, 2, 1, 1, 1)
    assert shop.engagement_rate == round(2 / 3, 4) and shop.conversion_rate == 0.5
    assert result.total.counts["triggered"] == 4 and result.goals == {"shop.lead": 1}
    assert services.analytics.report("2030-03-19", "2030-03-20").total.counts["triggered"] == 0


def test_a_booking_is_counted_in_its_own_transaction_and_a_refused_one_is_not(services: Services) -> None:
    request = BookingRequest(1_900_000_800 + 86400 * 2, 30, "v@x.test", conversation="visitor-9", dialogue="shop")
    booked = services.meetings.book(AGENTS[:1], request, now=CLOCK)
    assert booked.meeting is not None and booked.meeting.dialogue == "shop"
    again = services.meetings.book(AGENTS[:1], request, now=CLOCK)  # the only agent is taken then
    assert again.meeting is None
    with services.database.engine.connect() as connection:
        rows = connection.execute(select(chat_events.c.kind, chat_events.c.detail)).all()
    assert rows == [("meeting", booked.meeting.id)]
    cli = services.meetings.book(AGENTS[1:2], BookingRequest(request.start_at, 30, "w@x.test"), now=CLOCK)
    assert cli.meeting is not None  # booked from the CLI, not in a chat: not a chat event
    assert services.analytics.event_count() == 1


def test_a_request_for_a_person_is_recorded_once_with_its_transcript(services: Services) -> None:
    case = yaml.safe_load((FIXTURES / "trackers" / "free_text_records_a_request_for_a_person.yml").read_text())
    tracker = dict(case["tracker"], slots={**case["tracker"]["slots"], "dc_lead_id": 501})
    first, retried = run(services, case["action"], tracker), run(services, case["action"], tracker)
    assert first == retried == case["expect"]
    [request] = services.person_requests.list()
    assert (request.conversation, request.dialogue, request.email, request.lead_id, request.status) == (
        "visitor-human", "general", "ann@corp.test", 501, "open")
    assert request.page == "https://www.example.test/pricing"
    assert [(line["from"], line["text"]) for line in request.transcript] == [
        ("bot", "Hi! What is your favourite colour?"), ("visitor", "Red"), ("bot", "Thanks! Anything else?"),
        ("visitor", "can I talk to a human")]
    assert services.person_requests.open_count() == 1
    assert [a["kind"] for a in _activities(services)] == ["human"]
    assert services.analytics.report(DAY, DAY).total.counts["human"] == 1
    handled = services.person_requests.handle(request.id, "admin@corp.test")
    assert handled is not None and handled.status == "done" and services.person_requests.open_count() == 0


def test_a_long_range_reads_whole_months_and_the_days_at_its_ends_exactly_as_the_raw_events_count(
        services: Services) -> None:
    """The dashboard of a long range adds month sums and day sums; it must equal grouping every raw event."""
    day = 86400.0
    for n in range(120):  # one event every 1.5 days over six months, two dialogues, several kinds
        at = 1_893_456_000.0 + n * 1.5 * day  # from 2030-01-01
        kind = ("triggered", "engaged", "goal", "captured")[n % 4]
        details = {"dialogue": f"d{n % 2}", "goal": "g", "field": "person.email"}
        services.activity.clock = lambda at=at: at  # the event happens then
        services.activity.record([(kind, details)], f"v{n}", "m", None)
    with services.database.engine.connect() as connection:
        rows = [(r.day, r.dialogue, r.kind, r.detail, 1) for r in connection.execute(select(chat_events))]
    for start, end in (("2030-01-15", "2030-05-20"), ("2030-02-01", "2030-04-30"), ("2030-03-03", "2030-03-09")):
        assert services.analytics.report(start, end).as_json() == \
            report([row for row in rows if start <= row[0] <= end], start, end).as_json(), (start, end)
        assert services.analytics.report(start, end, "d1").as_json() == \
            report([row for row in rows if start <= row[0] <= end and row[1] == "d1"], start, end).as_json()
    assert len({row[0][:7] for row in rows}) == 6  # the events span six months
