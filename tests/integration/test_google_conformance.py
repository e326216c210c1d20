"""The Google Calendar emulator driven by Google's own client (google-api-python-client, its bundled discovery
document, google-auth service-account credentials): what Google documents, answered as Google does (issue 12).

Each case names the documented behaviour; each failed against the emulator before it was made faithful.
"""
from __future__ import annotations

import datetime
import json
import time
from typing import Any, Dict, Iterator, List

import pytest
import requests
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from bot.calendars.google import GoogleCalendar
from bot.calendars.providers import Calendars
from bot.core.agents import Agent, Routing
from bot.core.meetings import BookingRequest
from bot.services.meeting_chat import free_times
from bot.services.meetings import book
from bot.store.database import open_database
from bot.store.meetings import Meetings
from tests.support.agents import ALWAYS
from tests.support.google import registered_service_account, service_account_info, start_google

ANN, BO, CY = "ann@corp.test", "bo@corp.test", "cy@corp.test"
SCOPES = ["https://www.googleapis.com/auth/calendar"]
UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def google() -> Iterator[Any]:
    emulator = start_google()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def key(google) -> Dict[str, str]:
    return registered_service_account(google, [ANN, BO, CY])


def calendar_api(google, key: Dict[str, str], user: str) -> Any:
    """The official client as an application would build it, pointed at the emulator."""
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES).with_subject(user)
    return build("calendar", "v3", credentials=credentials, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": f"{google.base_url}/calendar/v3/"})


def reason(error: HttpError) -> str:
    return json.loads(error.content)["error"]["errors"][0]["reason"]


def utc(*parts: int) -> str:
    return datetime.datetime(*parts, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- authentication (https://developers.google.com/identity/protocols/oauth2/service-account) ---------------------

def test_a_key_google_does_not_know_is_refused(google) -> None:
    stranger = service_account_info(f"{google.base_url}/token")  # a key never registered with the project
    credentials = service_account.Credentials.from_service_account_info(stranger, scopes=SCOPES).with_subject(ANN)
    with pytest.raises(RefreshError, match="invalid_grant: Invalid JWT Signature"):
        credentials.refresh(google_request())


def test_a_user_outside_the_directory_cannot_be_impersonated(google, key) -> None:
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES).with_subject(
        "ann@corp.tset")  # a typo in an agent's address
    with pytest.raises(RefreshError, match="Invalid email or User ID"):
        credentials.refresh(google_request())


@pytest.mark.parametrize("claims, why", [
    ({"aud": "https://example.test/token"}, "Failed audience check"),
    ({"iat": 1_000_000_000, "exp": 1_000_003_600}, "short-lived token"),
    ({"exp": None}, "short-lived token"),  # issued for more than an hour
])
def test_a_wrong_audience_or_an_expired_assertion_is_refused(google, key, claims, why) -> None:
    now = int(time.time())
    payload = {"iss": key["client_email"], "sub": ANN, "scope": SCOPES[0], "aud": "https://oauth2.googleapis.com/token",
               "iat": now, "exp": now + 3600, **claims}
    if payload["exp"] is None:
        payload["exp"] = now + 7200
    assertion = jwt.encode(crypt.RSASigner.from_service_account_info(key), payload).decode()
    answer = requests.post(f"{google.base_url}/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant" and why in answer.json()["error_description"]


def test_a_call_without_a_valid_token_is_401(google) -> None:
    answer = requests.post(f"{google.base_url}/calendar/v3/freeBusy", headers={"Authorization": "Bearer ya29.stale"},
                           json={"timeMin": utc(2027, 1, 4), "timeMax": utc(2027, 1, 5), "items": [{"id": ANN}]},
                           timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["errors"][0]["reason"] == "authError"


def google_request() -> Any:
    from google.auth.transport.requests import Request

    return Request()


# --- free/busy (https://developers.google.com/calendar/api/v3/reference/freebusy/query) ---------------------------

def test_free_busy_compares_instants_across_zones_all_day_and_transparent_events(google, key) -> None:
    api = calendar_api(google, key, BO)
    google.faults(time_zones={BO: "Asia/Kolkata"})
    events = api.events()
    made = [
        # 09:00 in Los Angeles (PST, UTC-8) given as a local time and a zone: 17:00 UTC
        {"start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "America/Los_Angeles"},
         "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "America/Los_Angeles"}},
        # an offset: 14:30 in Kolkata is 09:00 UTC
        {"start": {"dateTime": "2027-01-04T14:30:00+05:30"}, "end": {"dateTime": "2027-01-04T15:00:00+05:30"}},
        # all day in the calendar's zone (Kolkata): 2027-01-05 00:00 +05:30 to 2027-01-06 00:00 +05:30
        {"start": {"date": "2027-01-05"}, "end": {"date": "2027-01-06"}},
        # "free" (transparent): does not block time
        {"start": {"dateTime": "2027-01-04T12:00:00Z"}, "end": {"dateTime": "2027-01-04T13:00:00Z"},
         "transparency": "transparent"},
        # Stockholm, the night summer time ends (2026-10-25 03:00 CEST -> 02:00 CET): 01:30 CEST to 02:30 CET
        {"start": {"dateTime": "2026-10-25T01:30:00", "timeZone": "Europe/Stockholm"},
         "end": {"dateTime": "2026-10-25T02:30:00+01:00"}},
    ]
    for body in made:
        events.insert(calendarId=BO, body=body).execute()
    answer = api.freebusy().query(body={"timeMin": "2026-10-24T00:00:00Z", "timeMax": "2027-01-07T00:00:00Z",
                                        "items": [{"id": BO}]}).execute()
    assert answer["calendars"][BO]["busy"] == [
        {"start": "2026-10-24T23:30:00Z", "end": "2026-10-25T01:30:00Z"},
        {"start": "2027-01-04T09:00:00Z", "end": "2027-01-04T09:30:00Z"},
        {"start": "2027-01-04T17:00:00Z", "end": "2027-01-04T18:00:00Z"},
        {"start": "2027-01-04T18:30:00Z", "end": "2027-01-05T18:30:00Z"},
    ]
    in_zone = api.freebusy().query(body={"timeMin": "2027-01-04T00:00:00Z", "timeMax": "2027-01-05T00:00:00Z",
                                         "timeZone": "Asia/Kolkata", "items": [{"id": BO}]}).execute()
    assert in_zone["calendars"][BO]["busy"][0] == {"start": "2027-01-04T14:30:00+05:30", "end": "2027-01-04T15:00:00+05:30"}


def test_an_unknown_calendar_is_an_error_not_free_time(google, key) -> None:
    answer = calendar_api(google, key, ANN).freebusy().query(body={
        "timeMin": utc(2027, 1, 4), "timeMax": utc(2027, 1, 5), "items": [{"id": ANN}, {"id": "ann@corp.tset"}]}).execute()
    assert answer["calendars"]["ann@corp.tset"] == {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    assert answer["calendars"][ANN] == {"busy": []}


def test_an_empty_time_range_is_400(google, key) -> None:
    with pytest.raises(HttpError) as refused:
        calendar_api(google, key, ANN).freebusy().query(body={
            "timeMin": utc(2027, 1, 5), "timeMax": utc(2027, 1, 4), "items": [{"id": ANN}]}).execute()
    assert refused.value.resp.status == 400 and reason(refused.value) == "timeRangeEmpty"


# --- events (https://developers.google.com/calendar/api/v3/reference/events) --------------------------------------

def test_insert_get_patch_delete_with_a_percent_encoded_calendar_id_and_etags(google, key) -> None:
    events = calendar_api(google, key, CY).events()  # the client sends calendarId as cy%40corp.test
    body = {"id": "conformance0001", "summary": "Demo", "start": {"dateTime": "2027-02-01T10:00:00Z"},
            "end": {"dateTime": "2027-02-01T10:30:00Z"}}
    created = events.insert(calendarId=CY, body=body).execute()
    assert created["id"] == "conformance0001" and created["etag"]
    with pytest.raises(HttpError) as duplicate:
        events.insert(calendarId=CY, body=body).execute()
    assert duplicate.value.resp.status == 409 and reason(duplicate.value) == "duplicate"
    moved = events.patch(calendarId=CY, eventId="conformance0001",
                         body={"start": {"dateTime": "2027-02-01T11:00:00Z"},
                               "end": {"dateTime": "2027-02-01T11:30:00Z"}}).execute()
    assert moved["etag"] != created["etag"]
    stale = events.patch(calendarId=CY, eventId="conformance0001", body={"summary": "Lost update"})
    stale.headers["If-Match"] = created["etag"]
    with pytest.raises(HttpError) as precondition:
        stale.execute()
    assert precondition.value.resp.status == 412 and reason(precondition.value) == "conditionNotMet"
    assert events.get(calendarId=CY, eventId="conformance0001").execute()["summary"] == "Demo"
    events.delete(calendarId=CY, eventId="conformance0001").execute()
    with pytest.raises(HttpError) as gone:
        events.patch(calendarId=CY, eventId="conformance0001", body={"summary": "again"}).execute()
    assert gone.value.resp.status == 410
    with pytest.raises(HttpError) as missing:
        events.get(calendarId=CY, eventId="neverexisted1").execute()
    assert missing.value.resp.status == 404 and reason(missing.value) == "notFound"


def test_list_pages_in_start_order_within_the_bounds(google, key) -> None:
    api = calendar_api(google, key, ANN)
    for day in (9, 7, 8, 6, 10):
        api.events().insert(calendarId=ANN, body={"start": {"dateTime": utc(2027, 3, day, 9)},
                                                  "end": {"dateTime": utc(2027, 3, day, 10)}}).execute()
    request = api.events().list(calendarId=ANN, timeMin=utc(2027, 3, 6, 10), timeMax=utc(2027, 3, 10, 9),
                                singleEvents=True, orderBy="startTime", maxResults=2)
    starts: List[str] = []
    pages = 0
    while request is not None:
        page = request.execute()
        pages += 1
        starts += [item["start"]["dateTime"] for item in page["items"]]
        request = api.events().list_next(request, page)
    assert starts == [utc(2027, 3, 7, 9), utc(2027, 3, 8, 9), utc(2027, 3, 9, 9)] and pages == 2
    with pytest.raises(HttpError) as unordered:
        api.events().list(calendarId=ANN, orderBy="startTime").execute()  # startTime ordering needs singleEvents
    assert unordered.value.resp.status == 400


def test_meet_links_only_with_conference_data_version_1_and_ready_later(google, key) -> None:
    """https://developers.google.com/calendar/api/guides/create-events#conferencing"""
    events = calendar_api(google, key, ANN).events()
    asking = {"start": {"dateTime": utc(2027, 4, 1, 9)}, "end": {"dateTime": utc(2027, 4, 1, 10)},
              "conferenceData": {"createRequest": {"requestId": "r-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
    ignored = events.insert(calendarId=ANN, body=asking).execute()  # conferenceDataVersion 0, the default
    assert "conferenceData" not in ignored and "hangoutLink" not in ignored
    made = events.insert(calendarId=ANN, body=asking, conferenceDataVersion=1).execute()
    assert made["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending" and "hangoutLink" not in made
    ready = events.get(calendarId=ANN, eventId=made["id"]).execute()
    assert ready["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert ready["hangoutLink"].startswith("https://meet.google.com/")


def test_throttling_and_server_errors_in_google_s_format(google, key) -> None:
    api = calendar_api(google, key, ANN)
    google.faults(calls=[{"status": 429}, {"status": 503}])
    for status in (429, 503):
        with pytest.raises(HttpError) as refused:
            api.freebusy().query(body={"timeMin": utc(2027, 1, 4), "timeMax": utc(2027, 1, 5),
                                       "items": [{"id": ANN}]}).execute()
        assert refused.value.resp.status == status
    # the official client's own retries (num_retries) honour the same answers
    google.faults(calls=[{"status": 429}])
    assert api.freebusy().query(body={"timeMin": utc(2027, 1, 4), "timeMax": utc(2027, 1, 5),
                                      "items": [{"id": ANN}]}).execute(num_retries=2)["calendars"][ANN]


# --- what our production client relied on ----------------------------------------------------------------------

def test_a_mistyped_agent_is_unbookable_and_the_others_are_not(google, key) -> None:
    """Before, an unknown calendar was free (bookable in tests, never in production); and a mistyped agent asked
    as first of the group made every agent busy."""
    calendar = GoogleCalendar(key, base_url=google.base_url, sleep=lambda seconds: None)
    window = (int(datetime.datetime(2027, 5, 3, tzinfo=UTC).timestamp()),
              int(datetime.datetime(2027, 5, 4, tzinfo=UTC).timestamp()))
    busy, errors = calendar.busy_and_errors(["ann@corp.tset", ANN], window)
    assert busy["ann@corp.tset"] == [window] and busy[ANN] == [] and errors == {"ann@corp.tset": "RefreshError"}
    with pytest.raises(Exception, match="RefreshError|notFound"):
        Calendars(google=calendar).check(Agent("Typo", "ann@corp.tset", "UTC", "google"), window)


def test_our_client_reads_the_meet_link_once_google_has_made_it(google, key) -> None:
    google.faults(meet_pending_reads=1)  # still pending at the first read after the insert
    try:
        waits: List[float] = []
        calendar = GoogleCalendar(key, base_url=google.base_url, sleep=waits.append)
        created = calendar.create("4f1e2d3c-b4a5-4697-8a1b-2c3d4e5f6a7b", ANN, 1_900_000_000, 1_900_001_800, "Demo", None)
        assert created.join_url and created.join_url.startswith("https://meet.google.com/") and len(waits) == 2
    finally:
        google.faults(meet_pending_reads=0)


def test_our_client_reads_busy_time_made_in_other_zones_and_all_day(google, key) -> None:
    """Events another app made in Los Angeles, Kolkata, Stockholm's DST night and all day (the calendar in
    Stockholm): our client sees each at its instant, so nothing is offered over them."""
    google.faults(time_zones={CY: "Europe/Stockholm"}, events={CY: [
        {"start": {"dateTime": "2027-06-01T09:00:00", "timeZone": "America/Los_Angeles"},
         "end": {"dateTime": "2027-06-01T09:30:00", "timeZone": "America/Los_Angeles"}},
        {"start": {"dateTime": "2027-06-02T09:00:00+05:30"}, "end": {"dateTime": "2027-06-02T10:00:00+05:30"}},
        {"start": {"date": "2027-06-03"}, "end": {"date": "2027-06-04"}},
        {"start": {"dateTime": "2027-06-04T12:00:00Z"}, "end": {"dateTime": "2027-06-04T13:00:00Z"},
         "transparency": "transparent"},
    ]})
    calendar = GoogleCalendar(key, base_url=google.base_url, sleep=lambda seconds: None)

    def at(*parts: int) -> int:
        return int(datetime.datetime(*parts, tzinfo=UTC).timestamp())

    busy = calendar.busy([CY], (at(2027, 6, 1), at(2027, 6, 5)))[CY]
    assert busy == [(at(2027, 6, 1, 16), at(2027, 6, 1, 16, 30)),   # 09:00 PDT
                    (at(2027, 6, 2, 3, 30), at(2027, 6, 2, 4, 30)),  # 09:00 IST
                    (at(2027, 6, 2, 22), at(2027, 6, 3, 22))]        # all of 3 June in Stockholm (CEST)


def test_an_expired_access_token_is_401_and_google_auth_gets_a_new_one(google, key) -> None:
    api = calendar_api(google, key, ANN)
    query = {"timeMin": utc(2027, 1, 4), "timeMax": utc(2027, 1, 5), "items": [{"id": ANN}]}
    api.freebusy().query(body=query).execute()
    credentials = api._http.credentials
    credentials.token = "ya29.expired-or-revoked"  # as after an hour, or a revoked grant
    assert api.freebusy().query(body=query).execute()["calendars"][ANN] == {"busy": []}  # 401, refreshed, retried
    assert credentials.token != "ya29.expired-or-revoked"


def test_times_offered_and_booked_around_events_made_in_other_zones(google, key, tmp_path) -> None:
    """The meeting card's offers and a booking, for an agent in Kolkata whose calendar holds an event made in
    Los Angeles and an all-day one in Stockholm (the calendar's zone): neither time is offered or booked."""
    def at(*parts: int) -> int:
        return int(datetime.datetime(*parts, tzinfo=UTC).timestamp())

    google.faults(time_zones={CY: "Europe/Stockholm"}, events={CY: [
        {"start": {"dateTime": "2027-07-05T09:00:00", "timeZone": "America/Los_Angeles"},  # 16:00 UTC
         "end": {"dateTime": "2027-07-05T10:00:00", "timeZone": "America/Los_Angeles"}},
        {"start": {"date": "2027-07-07"}, "end": {"date": "2027-07-08"}},  # 6 July 22:00 to 7 July 22:00 UTC
    ]})
    agent = Agent("Cy", CY, "Asia/Kolkata", "google", availability=ALWAYS)
    calendars = Calendars(google=GoogleCalendar(key, base_url=google.base_url, sleep=lambda seconds: None))
    store = Meetings(open_database(f"sqlite:///{tmp_path / 'store.db'}"))
    offered = set(free_times(store, calendars, [agent], 30, at(2027, 7, 5)))
    assert at(2027, 7, 5, 15, 30) in offered and at(2027, 7, 5, 17) in offered
    assert not offered & {at(2027, 7, 5, 16), at(2027, 7, 5, 16, 30), at(2027, 7, 7, 12), at(2027, 7, 6, 22)}
    assert at(2027, 7, 7, 22) in offered
    refused, _ = book(store, Routing((agent,)), calendars, BookingRequest(at(2027, 7, 5, 16, 30), 30, "v@x.test"),
                      now=at(2027, 7, 5))
    assert refused.meeting is None
    booked, created = book(store, Routing((agent,)), calendars, BookingRequest(at(2027, 7, 5, 17), 30, "v@x.test"),
                           now=at(2027, 7, 5))
    assert booked.meeting is not None and created is not None and created.join_url
