"""Outlook through msal and Microsoft Graph against the TLS emulator."""
from __future__ import annotations

import datetime

import pytest

from bot.calendars.base import CalendarError
from bot.calendars.outlook import OutlookCalendar
from tests.support.outlook import start_graph

ANN, BO = "ann@agents.test", "bo@agents.test"
START = int(datetime.datetime(2026, 12, 7, 10, tzinfo=datetime.timezone.utc).timestamp())


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    emulator = start_graph(tmp_path_factory.mktemp("graph"))
    emulator.faults(users=[ANN, BO])  # the tenant's mailboxes
    yield emulator
    emulator.stop()


def outlook(graph, secret: str = "emulator-secret") -> OutlookCalendar:
    return OutlookCalendar("contoso.example", graph.client_id, secret, authority_host=graph.base_url,
                           graph_url=graph.base_url, verify=str(graph.ca), sleep=lambda seconds: None)


def test_events_with_teams_links_idempotent_by_transaction_id_and_busy(graph) -> None:
    calendar = outlook(graph)
    meeting_id = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    first = calendar.create(meeting_id, ANN, START, START + 1800, "Demo", "visitor@x.test")
    again = calendar.create(meeting_id, ANN, START, START + 1800, "Demo", "visitor@x.test")  # a retry
    assert first == again and first.join_url.startswith("https://teams.microsoft.com/")
    assert graph.stats()["creates"] == 1
    assert calendar.busy([ANN, BO], (START - 3600, START + 7200)) == {ANN: [(START, START + 1800)], BO: []}
    calendar.reschedule(ANN, first.event_id, START + 3600, START + 5400)
    assert calendar.busy([ANN], (START, START + 7200))[ANN] == [(START + 3600, START + 5400)]
    calendar.cancel(ANN, first.event_id)
    calendar.cancel(ANN, first.event_id)
    assert calendar.busy([ANN], (START, START + 7200))[ANN] == []


def test_windows_of_62_days_errors_per_schedule_and_throttling(graph) -> None:
    calendar = outlook(graph)
    graph.faults(broken=[BO], calls=[{"status": 429}, {"status": 503}])
    before = graph.stats()["calls"].get(f"POST /v1.0/users/{ANN}/calendar/getSchedule", 0)
    busy = calendar.busy([ANN, BO], (START, START + 100 * 86400))
    assert busy[ANN] == [] and busy[BO] == [(START, START + 62 * 86400), (START + 62 * 86400, START + 100 * 86400)]
    calls = graph.stats()["calls"][f"POST /v1.0/users/{ANN}/calendar/getSchedule"] - before
    assert calls == 4  # two windows, plus the 429 and 503 that were retried


def test_token_errors_are_checked_not_ignored(graph) -> None:
    with pytest.raises(CalendarError) as refused:
        outlook(graph, secret="wrong").busy([ANN], (START, START + 3600))
    assert refused.value.status == 401 and refused.value.reason == "invalid_client"
