"""Google Calendar v3 with google-auth: service account with domain-wide delegation.

Each agent's calendar is used as the agent (`with_subject(agent)`), through an
`AuthorizedSession` (tokens are fetched and refreshed by google-auth from the
key's `token_uri`). Free/busy is asked in windows of at most 90 days and 50
calendars a query, and a calendar that answers with an error counts as busy
(never book what we cannot see). Events get an id derived from the meeting
(base32hex), so an insert retried after a lost answer gets 409 and the
existing event is used: no duplicates. The Meet link is read once Google
has made it (the conference is `pending` at first; read again for a few
seconds, else the meeting has no link). Rate limits (403 usageLimits, 429)
and 5xx are retried with backoff, honouring Retry-After.
"""
from __future__ import annotations

import base64
import datetime
import functools
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from bot.calendars.base import CalendarError, CreatedEvent, ask_as_one_of
from bot.calendars.retry import RETRYABLE_STATUSES, call_with_retries
from bot.core.meetings import Interval

SCOPES = ["https://www.googleapis.com/auth/calendar"]
MAX_WINDOW = 90 * 86400
MAX_CALENDARS = 50
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
# Meet links are made asynchronously: an inserted event's conference may be "pending", to be read again
# (https://developers.google.com/calendar/api/guides/create-events#conferencing); waits between reads, short
# at first: the visitor waits for the confirmation, and a link is usually ready within a read or two
MEET_POLL = (0.05, 0.1, 0.2, 0.4, 0.8, 1.5)


def event_id_for(meeting_id: str) -> str:
    """A Google event id from a meeting id: base32hex (0-9, a-v), stable for retries."""
    raw = uuid.UUID(meeting_id).bytes
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def _conference_status(event: Mapping[str, Any]) -> str:
    return str((((event.get("conferenceData") or {}).get("createRequest") or {}).get("status") or {}).get("statusCode", ""))


def _rfc3339(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class GoogleCalendar:
    def __init__(self, service_account_info: Mapping[str, Any], base_url: str = "https://www.googleapis.com",
                 max_attempts: int = 5, sleep: Callable[[float], None] = time.sleep, verify: Any = True) -> None:
        self.base = base_url.rstrip("/")
        self.credentials = service_account.Credentials.from_service_account_info(dict(service_account_info),
                                                                                 scopes=SCOPES)
        self.max_attempts, self.sleep, self.verify = max_attempts, sleep, verify
        self._sessions: Dict[str, AuthorizedSession] = {}

    def _session(self, agent_email: str) -> AuthorizedSession:
        if agent_email not in self._sessions:
            session = AuthorizedSession(self.credentials.with_subject(agent_email))
            session.verify = self.verify
            self._sessions[agent_email] = session
        return self._sessions[agent_email]

    def _call(self, agent_email: str, method: str, path: str, **kwargs: Any) -> Any:
        """One API call as the agent, retried on rate limits (429, or 403 rateLimitExceeded) and server errors."""
        return call_with_retries(
            lambda: self._session(agent_email).request(method, self.base + path, timeout=30, **kwargs),
            attempts=self.max_attempts, sleep=self.sleep,
            reason_of=lambda reply: (reply.json().get("error", {}).get("errors") or [{}])[0].get("reason", ""),
            retryable=lambda status, reason: status in RETRYABLE_STATUSES or (status == 403 and reason in RATE_REASONS),
            transport_error=lambda exc: True,  # google-auth raises RefreshError, requests ConnectionError
            fatal=lambda exc: "RefreshError" in type(exc).__name__)

    def busy(self, agents: Sequence[str], window: Interval) -> Dict[str, List[Interval]]:
        """Busy intervals per agent; an agent whose calendar errs is busy for the whole window."""
        return self.busy_and_errors(agents, window)[0]

    def busy_and_errors(self, agents: Sequence[str], window: Interval) -> Tuple[Dict[str, List[Interval]], Dict[str, str]]:
        """Busy intervals per agent, and why an agent's calendar could not be read (its reason: `notFound` for an
        address that is no calendar of the domain, `RefreshError` for one that cannot be acted as)."""
        busy: Dict[str, List[Interval]] = {agent: [] for agent in agents}
        errors: Dict[str, str] = {}
        for group_start in range(0, len(agents), MAX_CALENDARS):
            group = list(agents[group_start:group_start + MAX_CALENDARS])
            start = window[0]
            while start < window[1]:
                end = min(window[1], start + MAX_WINDOW)
                body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "items": [{"id": a} for a in group]}
                answer = ask_as_one_of(  # no token for a subject outside the domain
                    group, errors, functools.partial(self._free_busy_as, body), lambda exc: exc.reason == "RefreshError")
                for agent in group:
                    calendar = (answer.get("calendars") or {}).get(agent, {})
                    if calendar.get("errors") or agent not in (answer.get("calendars") or {}):
                        errors.setdefault(agent, str((calendar.get("errors") or [{}])[0].get("reason") or "missing"))
                        busy[agent].append((start, end))
                    busy[agent] += [(_epoch(b["start"]), _epoch(b["end"])) for b in calendar.get("busy", [])]
                start = end
        return busy, errors


    def _free_busy_as(self, body: Mapping[str, Any], subject: str) -> Any:
        return self._call(subject, "POST", "/calendar/v3/freeBusy", json=body)

    def create(self, meeting_id: str, agent_email: str, start: int, end: int, summary: str,
               attendee: Optional[str]) -> CreatedEvent:
        """Insert the event (with a Meet link) idempotently: a retried insert finds the first one."""
        event_id = event_id_for(meeting_id)
        body = {"id": event_id, "summary": summary, "start": {"dateTime": _rfc3339(start)},
                "end": {"dateTime": _rfc3339(end)},
                "attendees": [{"email": attendee}] if attendee else [],
                "conferenceData": {"createRequest": {"requestId": meeting_id,
                                                     "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
        path = f"/calendar/v3/calendars/{agent_email}/events"
        try:
            event = self._call(agent_email, "POST", path, params={"conferenceDataVersion": 1, "sendUpdates": "all"},
                               json=body)
        except CalendarError as exc:
            if exc.status != 409:
                raise
            event = self._call(agent_email, "GET", f"{path}/{event_id}")
        for wait in MEET_POLL:
            if _conference_status(event) != "pending":
                break
            self.sleep(wait)
            event = self._call(agent_email, "GET", f"{path}/{event_id}")
        return CreatedEvent(event["id"], event.get("hangoutLink"))

    def cancel(self, agent_email: str, event_id: str) -> None:
        try:
            self._call(agent_email, "DELETE", f"/calendar/v3/calendars/{agent_email}/events/{event_id}",
                       params={"sendUpdates": "all"})
        except CalendarError as exc:
            if exc.status not in (404, 410):  # already gone is what we wanted
                raise

    def reschedule(self, agent_email: str, event_id: str, start: int, end: int) -> None:
        self._call(agent_email, "PATCH", f"/calendar/v3/calendars/{agent_email}/events/{event_id}",
                   params={"sendUpdates": "all"},
                   json={"start": {"dateTime": _rfc3339(start)}, "end": {"dateTime": _rfc3339(end)}})
