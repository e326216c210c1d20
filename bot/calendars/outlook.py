"""Outlook calendars through Microsoft Graph, with msal's client-credentials flow.

`ConfidentialClientApplication.acquire_token_for_client` gets an app token
for `https://graph.microsoft.com/.default` (msal caches and renews it; its
answer is a dict that carries `error` instead of raising, and is checked).
Free/busy comes from `getSchedule` in windows of at most 62 days, with each
schedule's own errors counting as busy. Events are created with a
`transactionId` derived from the meeting, so a retried create returns the
first event, and with a Teams meeting. 429 and 5xx are retried, honouring
Retry-After.
"""
from __future__ import annotations

import datetime
import functools
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import msal
import requests
from zoneinfo import ZoneInfo

from bot.calendars.base import CalendarError, CreatedEvent, ask_as_one_of
from bot.calendars.retry import call_with_retries
from bot.core.meetings import Interval

SCOPE = ["https://graph.microsoft.com/.default"]
MAX_WINDOW = 62 * 86400
MAX_SCHEDULES = 20


def _graph_time(epoch: int) -> Dict[str, str]:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _epoch(value: Dict[str, str]) -> int:
    """A dateTimeTimeZone Graph answered (UTC, as asked with Prefer; an IANA zone read as such)."""
    text = value["dateTime"].split(".")[0]
    zone = value.get("timeZone") or "UTC"
    tz = datetime.timezone.utc if zone == "UTC" else ZoneInfo(zone)
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp())


class VerifyingSession(requests.Session):
    """A session whose `verify` wins over REQUESTS_CA_BUNDLE (requests lets the environment override it)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        return super().request(*args, **kwargs)


class OutlookCalendar:
    def __init__(self, tenant: str, client_id: str, client_secret: str,
                 authority_host: str = "https://login.microsoftonline.com",
                 graph_url: str = "https://graph.microsoft.com", verify: Any = True, max_attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = VerifyingSession()
        self.session.verify = verify
        self.app = msal.ConfidentialClientApplication(
            client_id, client_credential=client_secret, authority=f"{authority_host.rstrip('/')}/{tenant}",
            http_client=self.session,
            instance_discovery=authority_host.rstrip("/") == "https://login.microsoftonline.com")
        self.graph = graph_url.rstrip("/")
        self.max_attempts, self.sleep = max_attempts, sleep

    def _token(self) -> str:
        result = self.app.acquire_token_for_client(scopes=SCOPE)
        if "access_token" not in result:
            raise CalendarError(401, str(result.get("error") or "no token"))
        return result["access_token"]

    def _call(self, method: str, path: str, headers: Optional[Mapping[str, str]] = None, **kwargs: Any) -> Any:
        """One Graph call, retried on throttling (429) and server errors."""
        return call_with_retries(
            lambda: self.session.request(method, self.graph + path, timeout=30,
                                         headers={**(headers or {}), "Authorization": f"Bearer {self._token()}"},
                                         **kwargs),
            attempts=self.max_attempts, sleep=self.sleep,
            reason_of=lambda reply: reply.json().get("error", {}).get("code", ""))

    def busy(self, agents: Sequence[str], window: Interval) -> Dict[str, List[Interval]]:
        return self.busy_and_errors(agents, window)[0]

    def busy_and_errors(self, agents: Sequence[str], window: Interval) -> Tuple[Dict[str, List[Interval]], Dict[str, str]]:
        """Busy intervals per agent, and why a schedule could not be read (Graph's responseCode, or
        `ErrorInvalidUser` for an address that is no user of the tenant)."""
        busy: Dict[str, List[Interval]] = {agent: [] for agent in agents}
        errors: Dict[str, str] = {}
        for group_start in range(0, len(agents), MAX_SCHEDULES):
            group = list(agents[group_start:group_start + MAX_SCHEDULES])
            start = window[0]
            while start < window[1]:
                end = min(window[1], start + MAX_WINDOW)
                body = {"schedules": group, "startTime": _graph_time(start), "endTime": _graph_time(end),
                        "availabilityViewInterval": 30}
                answer = ask_as_one_of(  # 404 for a user outside the tenant; times answered in UTC
                    group, errors, functools.partial(self._schedule_as, body), lambda exc: exc.status == 404)
                seen = set()
                for schedule in answer.get("value", []):
                    agent = schedule.get("scheduleId")
                    seen.add(agent)
                    if agent not in busy:
                        continue
                    if schedule.get("error"):
                        errors.setdefault(agent, str(schedule["error"].get("responseCode") or "error"))
                        busy[agent].append((start, end))
                        continue
                    busy[agent] += [(_epoch(item["start"]), _epoch(item["end"]))
                                    for item in schedule.get("scheduleItems", []) if item.get("status") != "free"]
                for agent in set(group) - seen:
                    errors.setdefault(agent, "missing")
                    busy[agent].append((start, end))
                start = end
        return busy, errors


    def _schedule_as(self, body: Mapping[str, Any], asker: str) -> Any:
        return self._call("POST", f"/v1.0/users/{asker}/calendar/getSchedule", json=body,
                          headers={"Prefer": 'outlook.timezone="UTC"'})

    def create(self, meeting_id: str, agent_email: str, start: int, end: int, summary: str,
               attendee: Optional[str]) -> CreatedEvent:
        body = {"subject": summary, "start": _graph_time(start), "end": _graph_time(end),
                "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}] if attendee else [],
                "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
                "transactionId": str(uuid.UUID(meeting_id))}
        event = self._call("POST", f"/v1.0/users/{agent_email}/events", json=body)
        return CreatedEvent(event["id"], (event.get("onlineMeeting") or {}).get("joinUrl"))

    def cancel(self, agent_email: str, event_id: str) -> None:
        try:
            self._call("DELETE", f"/v1.0/users/{agent_email}/events/{event_id}")
        except CalendarError as exc:
            if exc.status != 404:
                raise

    def reschedule(self, agent_email: str, event_id: str, start: int, end: int) -> None:
        self._call("PATCH", f"/v1.0/users/{agent_email}/events/{event_id}",
                   json={"start": _graph_time(start), "end": _graph_time(end)})
