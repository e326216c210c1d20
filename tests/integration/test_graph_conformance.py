"""The Microsoft Graph emulator driven as Microsoft documents its calendar API: msal's client-credentials token
and the documented request shapes, as the SDKs send them (issue 12).

https://learn.microsoft.com/graph/api/calendar-getschedule and
https://learn.microsoft.com/graph/api/user-post-events; each case failed against the emulator before it was made
faithful.
"""
from __future__ import annotations

import datetime
from typing import Any, Dict, Iterator

import msal
import pytest
import requests

from bot.calendars.outlook import OutlookCalendar, VerifyingSession
from tests.support.outlook import start_graph

ANN, BO = "ann@contoso.test", "bo@contoso.test"
UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Any]:
    emulator = start_graph(tmp_path_factory.mktemp("graph-conformance"))
    emulator.faults(users=[ANN, BO])
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def session(graph) -> requests.Session:
    """An app token from msal (client credentials), on a session that trusts the emulator's CA."""
    client = VerifyingSession()  # REQUESTS_CA_BUNDLE would otherwise win over `verify`
    client.verify = str(graph.ca)
    app = msal.ConfidentialClientApplication(graph.client_id, client_credential="emulator-secret",
                                             authority=f"{graph.base_url}/contoso.test", http_client=client,
                                             instance_discovery=False)
    token = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return client


def schedule(graph, session, body: Dict[str, Any], prefer: str = "") -> requests.Response:
    return session.post(f"{graph.base_url}/v1.0/users/{ANN}/calendar/getSchedule", json=body, timeout=10,
                        headers={"Prefer": prefer} if prefer else {})


def event(graph, session, mailbox: str, body: Dict[str, Any]) -> Dict[str, Any]:
    answer = session.post(f"{graph.base_url}/v1.0/users/{mailbox}/events", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_get_schedule_as_the_sdk_sends_it_across_zones_with_one_digit_per_interval(graph, session) -> None:
    # 09:00-10:00 in Los Angeles (PST) is 17:00-18:00 UTC; 14:30-15:00 in Kolkata (a Windows zone name) is 09:00
    event(graph, session, BO, {"subject": "LA", "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "America/Los_Angeles"},
                               "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "America/Los_Angeles"}})
    event(graph, session, BO, {"subject": "India", "start": {"dateTime": "2027-01-04T14:30:00", "timeZone": "India Standard Time"},
                               "end": {"dateTime": "2027-01-04T15:00:00", "timeZone": "India Standard Time"}})
    event(graph, session, BO, {"subject": "Focus", "showAs": "free",
                               "start": {"dateTime": "2027-01-04T12:00:00", "timeZone": "UTC"},
                               "end": {"dateTime": "2027-01-04T13:00:00", "timeZone": "UTC"}})
    answer = schedule(graph, session, {  # the SDKs' action parameters: PascalCase
        "Schedules": [BO], "StartTime": {"dateTime": "2027-01-04T08:00:00", "timeZone": "UTC"},
        "EndTime": {"dateTime": "2027-01-04T18:00:00", "timeZone": "UTC"}, "AvailabilityViewInterval": 60})
    assert answer.status_code == 200, answer.text
    found = answer.json()["value"][0]
    # ten hours, an hour a digit: 09:00 busy, 12:00 free (showAs free), 17:00 busy
    assert found["availabilityView"] == "0200000002"
    busy = [(item["start"]["dateTime"], item["status"]) for item in found["scheduleItems"]]
    assert busy == [("2027-01-04T09:00:00.0000000", "busy"), ("2027-01-04T12:00:00.0000000", "free"),
                    ("2027-01-04T17:00:00.0000000", "busy")]
    assert found["scheduleItems"][0]["start"]["timeZone"] == "UTC"  # UTC unless asked otherwise
    local = schedule(graph, session, {"schedules": [BO], "startTime": {"dateTime": "2027-01-04T08:00:00", "timeZone": "UTC"},
                                      "endTime": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"}},
                     prefer='outlook.timezone="Pacific Standard Time"').json()["value"][0]["scheduleItems"][0]
    assert local["start"] == {"dateTime": "2027-01-04T01:00:00.0000000", "timeZone": "Pacific Standard Time"}


def test_an_all_day_event_is_busy_from_midnight_to_midnight_in_its_own_zone(graph, session) -> None:
    """Made in Outlook in Stockholm (a Windows zone name) for 10 January, with a start that is not midnight as
    Exchange takes it (moved to the midnight before): busy 23:00 UTC on the 9th to 23:00 UTC on the 10th."""
    made = event(graph, session, BO, {"subject": "Away", "isAllDay": True,
                                      "start": {"dateTime": "2027-01-10T09:00:00", "timeZone": "W. Europe Standard Time"},
                                      "end": {"dateTime": "2027-01-11T00:00:00", "timeZone": "W. Europe Standard Time"}})
    assert made["start"] == {"dateTime": "2027-01-10T00:00:00.0000000", "timeZone": "W. Europe Standard Time"}
    found = schedule(graph, session, {"schedules": [BO], "availabilityViewInterval": 60,
                                      "startTime": {"dateTime": "2027-01-09T20:00:00", "timeZone": "UTC"},
                                      "endTime": {"dateTime": "2027-01-11T02:00:00", "timeZone": "UTC"}}).json()["value"][0]
    assert [(item["start"]["dateTime"], item["end"]["dateTime"]) for item in found["scheduleItems"]] == [
        ("2027-01-09T23:00:00.0000000", "2027-01-10T23:00:00.0000000")]
    assert found["availabilityView"] == "000" + "2" * 24 + "000"
    calendar = OutlookCalendar("contoso.test", graph.client_id, "emulator-secret", authority_host=graph.base_url,
                               graph_url=graph.base_url, verify=str(graph.ca), sleep=lambda seconds: None)
    day = (int(datetime.datetime(2027, 1, 9, tzinfo=UTC).timestamp()), int(datetime.datetime(2027, 1, 12, tzinfo=UTC).timestamp()))
    eleven = int(datetime.datetime(2027, 1, 9, 23, tzinfo=UTC).timestamp())
    assert calendar.busy([BO], day)[BO] == [(eleven, eleven + 86_400)]


def test_an_unknown_mailbox_is_an_error_and_a_missing_start_is_400(graph, session) -> None:
    answer = schedule(graph, session, {"schedules": [ANN, "ann@contoso.tset"],
                                       "startTime": {"dateTime": "2027-01-04T08:00:00", "timeZone": "UTC"},
                                       "endTime": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"}}).json()
    typo = answer["value"][1]
    assert typo["scheduleId"] == "ann@contoso.tset" and typo["error"]["responseCode"] == "ErrorMailboxNotFound"
    assert "error" not in answer["value"][0]
    missing = schedule(graph, session, {"schedules": [ANN], "endTime": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"}})
    assert missing.status_code == 400 and missing.json()["error"]["code"]
    nobody = session.post(f"{graph.base_url}/v1.0/users/ann@contoso.tset/events", timeout=10, json={
        "subject": "x", "start": {"dateTime": "2027-01-04T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"}})
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "ErrorInvalidUser"


def test_transaction_ids_are_per_mailbox_and_end_with_the_event_and_etags_guard_updates(graph, session) -> None:
    body = {"subject": "Demo", "transactionId": "7a0c5f0e-0c1e-4f5e-9a2b-1c2d3e4f5a6b",
            "start": {"dateTime": "2027-02-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-02-01T10:30:00", "timeZone": "UTC"}}
    first = event(graph, session, ANN, body)
    assert event(graph, session, ANN, body)["id"] == first["id"]  # a retry: the same event
    assert event(graph, session, BO, body)["id"] != first["id"]  # another mailbox: its own event
    url = f"{graph.base_url}/v1.0/users/{ANN}/events/{first['id']}"
    moved = session.patch(url, json={"subject": "Moved"}, timeout=10, headers={"If-Match": first["@odata.etag"]})
    assert moved.status_code == 200 and moved.json()["@odata.etag"] != first["@odata.etag"]
    stale = session.patch(url, json={"subject": "Lost"}, timeout=10, headers={"If-Match": first["@odata.etag"]})
    assert stale.status_code == 412
    assert session.delete(url, timeout=10).status_code == 204
    assert event(graph, session, ANN, body)["id"] != first["id"]  # deleted: the transaction id makes a new one


def test_our_client_finds_a_mistyped_agent_and_reads_other_zones(graph) -> None:
    """Before, an unknown mailbox was free, and a mistyped agent asked as first of the group made all busy."""
    calendar = OutlookCalendar("contoso.test", graph.client_id, "emulator-secret", authority_host=graph.base_url,
                               graph_url=graph.base_url, verify=str(graph.ca), sleep=lambda seconds: None)
    day = (int(datetime.datetime(2027, 1, 4, tzinfo=UTC).timestamp()), int(datetime.datetime(2027, 1, 5, tzinfo=UTC).timestamp()))
    busy, errors = calendar.busy_and_errors(["bo@contoso.tset", BO], day)
    assert busy["bo@contoso.tset"] == [day] and errors == {"bo@contoso.tset": "ErrorInvalidUser"}
    nine = int(datetime.datetime(2027, 1, 4, 9, tzinfo=UTC).timestamp())
    seventeen = int(datetime.datetime(2027, 1, 4, 17, tzinfo=UTC).timestamp())
    assert busy[BO] == [(nine, nine + 1800), (seventeen, seventeen + 3600)]  # Kolkata and Los Angeles, as UTC


def test_tokens_throttling_and_server_errors_in_graph_s_format(graph, session) -> None:
    body = {"schedules": [ANN], "startTime": {"dateTime": "2027-01-04T08:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"}}
    stale = requests.post(f"{graph.base_url}/v1.0/users/{ANN}/calendar/getSchedule", json=body, timeout=10,
                          headers={"Authorization": "Bearer expired"}, verify=str(graph.ca))
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "InvalidAuthenticationToken"
    graph.faults(calls=[{"status": 429}, {"status": 503}])
    throttled, down = schedule(graph, session, body), schedule(graph, session, body)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "TooManyRequests" and down.status_code == 503
    missing = session.get(f"{graph.base_url}/v1.0/users/{ANN}/events/AAMknothere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
