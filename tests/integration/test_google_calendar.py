"""Google Calendar through google-auth against the emulator: delegation, free/busy, idempotent inserts, limits."""
from __future__ import annotations

import datetime

import pytest

from bot.calendars.base import CalendarError
from bot.calendars.google import GoogleCalendar, event_id_for
from tests.support.google import registered_service_account, start_google

ANN, BO = "ann@agents.test", "bo@agents.test"
START = int(datetime.datetime(2026, 12, 7, 10, tzinfo=datetime.timezone.utc).timestamp())


@pytest.fixture
def google():
    emulator = start_google()
    yield emulator
    emulator.stop()


def calendar_for(google, **options) -> GoogleCalendar:
    return GoogleCalendar(registered_service_account(google, [ANN, BO]), base_url=google.base_url,
                          sleep=lambda seconds: None, **options)


def test_events_are_created_as_the_agent_with_a_meet_link_and_show_as_busy(google) -> None:
    calendar = calendar_for(google)
    meeting_id = "8a1c6a52-4b7e-4a52-9d2c-0f3e1b2a4c5d"
    created = calendar.create(meeting_id, ANN, START, START + 1800, "Demo with Ann", "visitor@x.test")
    assert created.event_id == event_id_for(meeting_id) and created.join_url.startswith("https://meet.google.com/")
    stats = google.stats()
    event = stats["events"][ANN][created.event_id]
    assert event["attendees"] == [{"email": "visitor@x.test"}] and event["sendUpdates"] == "all"
    assert ANN in stats["users"]  # domain-wide delegation: the token was for Ann
    busy = calendar.busy([ANN, BO], (START - 3600, START + 7200))
    assert busy == {ANN: [(START, START + 1800)], BO: []}


def test_a_retried_insert_makes_one_event(google) -> None:
    calendar = calendar_for(google)
    meeting_id = "0b7f8e3c-9a4d-4c1e-8f2a-6d5b4c3a2e1f"
    first = calendar.create(meeting_id, ANN, START, START + 1800, "Demo", None)
    again = calendar.create(meeting_id, ANN, START, START + 1800, "Demo", None)  # as after a lost answer
    assert first == again and google.stats()["inserts"] == 1


def test_rate_limits_and_server_errors_are_retried(google) -> None:
    calendar = calendar_for(google)
    google.faults(calls=[{"status": 429}, {"status": 403}, {"status": 503}])
    created = calendar.create("5c4b3a29-1817-4615-9a4b-3c2d1e0f9a8b", BO, START, START + 1800, "Demo", None)
    assert created.event_id and google.stats()["inserts"] == 1
    google.faults(calls=[{"status": 500}] * 5)
    with pytest.raises(CalendarError) as failure:
        calendar.busy([ANN], (START, START + 3600))
    assert failure.value.status == 500


def test_long_windows_are_split_and_a_calendar_with_errors_counts_as_busy(google) -> None:
    calendar = calendar_for(google)
    google.faults(broken_calendars=[BO], busy={ANN: [["2027-02-01T09:00:00Z", "2027-02-01T10:00:00Z"]]})
    window = (START, START + 200 * 86400)
    busy = calendar.busy([ANN, BO], window)
    feb = int(datetime.datetime(2027, 2, 1, 9, tzinfo=datetime.timezone.utc).timestamp())
    assert busy[ANN] == [(feb, feb + 3600)]
    assert busy[BO][0][0] == START and busy[BO][-1][1] == window[1]  # unknown: never bookable
    assert google.stats()["calls"]["POST /calendar/v3/freeBusy"] == 3  # 200 days in windows of 90


def test_cancel_and_reschedule(google) -> None:
    calendar = calendar_for(google)
    created = calendar.create("7e6d5c4b-3a29-4817-8615-4a3b2c1d0e9f", ANN, START, START + 1800, "Demo", None)
    calendar.reschedule(ANN, created.event_id, START + 3600, START + 5400)
    assert calendar.busy([ANN], (START, START + 7200))[ANN] == [(START + 3600, START + 5400)]
    calendar.cancel(ANN, created.event_id)
    calendar.cancel(ANN, created.event_id)  # twice is fine
    assert calendar.busy([ANN], (START, START + 7200))[ANN] == []


def test_token_refusals_are_a_clear_error(google) -> None:
    google.faults(token_errors=1)
    with pytest.raises(CalendarError) as refused:
        calendar_for(google).busy([ANN], (START, START + 3600))
    assert refused.value.reason == "RefreshError"


def test_retry_after_is_honoured_and_backoff_is_capped() -> None:
    from bot.calendars.retry import retry_delay

    assert retry_delay(1, "7") == 7.0
    assert all(0 <= retry_delay(attempt) <= 30.0 for attempt in range(1, 12))


def test_the_server_asked_wait_is_used(google) -> None:
    waits = []
    calendar = GoogleCalendar(registered_service_account(google, [ANN, BO]), base_url=google.base_url,
                              sleep=waits.append)
    google.faults(calls=[{"status": 429}])
    calendar.busy([ANN], (START, START + 3600))
    assert waits == [1.0]  # the emulator's Retry-After: 1
