"""A Google Calendar v3 emulator with its OAuth token endpoint, for tests and demos (loopback).

What it answers as Google documents it (each behaviour cites its page):

- `POST /token`: the service account's JWT bearer grant, verified as Google
  does: RS256 under a key registered for the service account, `aud` Google's
  token endpoint, not expired, issued for at most an hour; `sub` (domain-wide
  delegation) must be a user of the directory (`users`), else `invalid_grant`
  (https://developers.google.com/identity/protocols/oauth2/service-account).
- `freeBusy.query`: times compared as instants (offsets, named zones, all-day
  events in the calendar's zone), transparent and cancelled events free,
  overlapping periods merged, answered in UTC or the request's `timeZone`; a
  calendar outside the directory gets a per-calendar `errors` entry
  (notFound); `timeMax` not after `timeMin` is 400 timeRangeEmpty
  (https://developers.google.com/calendar/api/v3/reference/freebusy/query).
- events insert, get, list (time bounds, `singleEvents` + `orderBy`, paging),
  patch and delete: client-chosen ids (a repeated one is 409 duplicate),
  ETags (`If-Match` that is stale: 412; `If-None-Match` that matches: 304),
  a deleted event is 410 for writes; `calendarId` percent-decoded
  (https://developers.google.com/calendar/api/v3/reference/events).
- Meet links only with `conferenceDataVersion=1`, created `pending` and ready
  on a later read (`meet_pending_reads`)
  (https://developers.google.com/calendar/api/guides/create-events#conferencing).
- Switches for 429 / 403 rateLimitExceeded (with Retry-After), 5xx, delays
  and token refusals (`bot.emulators.control`).

Run: python -m bot.emulators.google --port 8898
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sanic import Sanic, response
from sanic.request import Request
from zoneinfo import ZoneInfo

from bot.emulators.control import ControlPlane

_ID = re.compile(r"^[a-v0-9]{5,1024}$")
UTC = datetime.timezone.utc
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# the assertion's audience is Google's token endpoint, wherever the request is sent (google-auth sends that)
AUDIENCES = ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token")
Span = Tuple[datetime.datetime, datetime.datetime]


@dataclass
class State:
    tokens: Dict[str, Tuple[str, float]] = field(default_factory=dict)  # token -> (user, expiry)
    events: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)  # calendar -> id -> event
    busy: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)  # calendar -> seeded busy (RFC 3339)
    broken_calendars: set = field(default_factory=set)
    keys: Dict[str, Any] = field(default_factory=dict)  # "client_email|key id" -> public key
    users: Set[str] = field(default_factory=set)  # the directory: who may be impersonated, whose calendars exist
    zones: Dict[str, str] = field(default_factory=dict)  # calendar -> its time zone (all-day events)
    meet_pending_reads: int = 0  # reads of a new event that still find its Meet link pending
    control: ControlPlane = field(default_factory=lambda: ControlPlane("google"))
    inserts: int = 0
    etags: int = 0

    def zone(self, calendar: str) -> ZoneInfo:
        return ZoneInfo(self.zones.get(calendar, "UTC"))


def _error(status: int, reason: str, message: str, headers: Optional[Dict[str, str]] = None) -> response.HTTPResponse:
    return response.json({"error": {"code": status, "message": message,
                                    "errors": [{"domain": "global" if status != 403 else "usageLimits",
                                                "reason": reason, "message": message}]}},
                         status=status, headers=headers or {})


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_claims(assertion: str, keys: Mapping[str, Any], audiences: Collection[str],
                    now: float) -> Tuple[Optional[Dict[str, Any]], str]:
    """The assertion's claims when Google would take it, else (None, why) in Google's words."""
    try:
        header_part, claims_part, signature_part = assertion.split(".")
        header, claims = json.loads(_b64(header_part)), json.loads(_b64(claims_part))
    except (ValueError, TypeError):
        return None, "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
    key = keys.get(f"{claims.get('iss')}|{header.get('kid')}")
    if header.get("alg") != "RS256" or key is None:
        return None, "Invalid JWT Signature."
    try:
        key.verify(_b64(signature_part), f"{header_part}.{claims_part}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None, "Invalid JWT Signature."
    if claims.get("aud") not in audiences:
        return None, "Invalid JWT: Failed audience check."
    issued, expires = float(claims.get("iat", 0)), float(claims.get("exp", 0))
    if expires < now or issued > now + 300 or expires - issued > 3600:
        return None, "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
    return claims, ""


def _instant(text: Any) -> Optional[datetime.datetime]:
    """An RFC 3339 time with its offset (as timeMin, timeMax and seeded times must be)."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def event_time(when: Any, zone: ZoneInfo) -> Optional[datetime.datetime]:
    """An event's start or end as an instant: `dateTime` with an offset, or local with `timeZone`; `date` is
    midnight in the calendar's zone (all-day)."""
    if not isinstance(when, Mapping):
        return None
    if when.get("dateTime"):
        try:
            value = datetime.datetime.fromisoformat(str(when["dateTime"]).replace("Z", "+00:00"))
        except ValueError:
            return None
        if value.tzinfo is None:
            try:
                value = value.replace(tzinfo=ZoneInfo(str(when.get("timeZone"))))
            except (ValueError, KeyError, TypeError):  # no zone (ZoneInfo("None")) or an unknown one
                return None
        return value
    if when.get("date"):
        try:
            return datetime.datetime.combine(datetime.date.fromisoformat(str(when["date"])), datetime.time(), zone)
        except ValueError:
            return None
    return None


def _span(event: Mapping[str, Any], zone: ZoneInfo) -> Optional[Span]:
    start, end = event_time(event.get("start"), zone), event_time(event.get("end"), zone)
    return (start, end) if start and end else None


def merged(spans: List[Span]) -> List[Span]:
    out: List[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _rfc3339(value: datetime.datetime, zone: Optional[ZoneInfo] = None) -> str:
    if zone is None or zone.key == "UTC":
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.astimezone(zone).isoformat()


def create_app(state: State) -> Sanic:
    app = Sanic(f"google_calendar_emulator_{uuid.uuid4().hex[:8]}", configure_logging=False)

    @app.post("/token")
    async def token(request: Request):
        if state.control.token_error():
            return response.json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400)
        if request.form.get("grant_type") != JWT_BEARER:
            return response.json({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
                                 status=400)
        claims, why = verified_claims(request.form.get("assertion", ""), state.keys, AUDIENCES, time.time())
        if claims is None:
            return response.json({"error": "invalid_grant", "error_description": why}, status=400)
        user = str(claims.get("sub") or claims.get("iss") or "").lower()
        if claims.get("sub") and user not in state.users:
            return response.json({"error": "invalid_grant", "error_description": "Invalid email or User ID"}, status=400)
        access = f"ya29.{secrets.token_urlsafe(24)}"
        state.tokens[access] = (user, time.time() + 3600)
        return response.json({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    async def gate(request: Request, calendar: Optional[str] = None) -> Optional[response.HTTPResponse]:
        fault = await state.control.before_call(f"{request.method} {request.path.split('/events')[0]}")
        if fault and fault.get("status") == 429:
            return _error(429, "rateLimitExceeded", "Rate Limit Exceeded", {"Retry-After": "1"})
        if fault and fault.get("status") == 403:
            return _error(403, "rateLimitExceeded", "Rate Limit Exceeded")
        if fault and fault.get("status"):
            return _error(int(fault["status"]), "backendError", "Backend Error")
        auth = request.headers.get("authorization", "")
        user, expiry = state.tokens.get(auth[7:] if auth.startswith("Bearer ") else "", ("", 0.0))
        if not user or expiry < time.time():
            return _error(401, "authError", "Invalid Credentials")
        if calendar is not None and unquote(calendar).lower() not in ("primary", user):
            if unquote(calendar).lower() not in state.users:
                return _error(404, "notFound", "Not Found")
            return _error(403, "forbidden", "Forbidden")
        request.ctx.user = user
        return None

    def busy_spans(calendar: str) -> List[Span]:
        zone = state.zone(calendar)
        spans = [(_instant(start), _instant(end)) for start, end in state.busy.get(calendar, [])]
        for event in state.events.get(calendar, {}).values():
            # transparent events do not block time ("transparency": events reference)
            if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
                continue
            span = _span(event, zone)
            if span:
                spans.append(span)
        return merged([(s, e) for s, e in spans if s and e])

    @app.post("/calendar/v3/freeBusy")
    async def free_busy(request: Request):
        refused = await gate(request)
        if refused:
            return refused
        body = request.json if isinstance(request.json, dict) else {}
        low, high = _instant(body.get("timeMin")), _instant(body.get("timeMax"))
        if low is None or high is None:
            return _error(400, "required" if not body.get("timeMin") or not body.get("timeMax") else "invalid",
                          "Missing or invalid timeMin/timeMax.")
        if high <= low:
            return _error(400, "timeRangeEmpty", "The specified time range is empty.")
        try:
            answer_zone = ZoneInfo(str(body.get("timeZone") or "UTC"))
        except (ValueError, KeyError):
            return _error(400, "invalid", "Invalid time zone definition.")
        calendars = {}
        for item in body.get("items") or []:
            cal = str(item.get("id", "")) if isinstance(item, Mapping) else ""
            name = cal.lower()
            if name in state.broken_calendars:
                calendars[cal] = {"errors": [{"domain": "global", "reason": "backendError"}], "busy": []}
            elif name not in state.users:
                calendars[cal] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            else:
                calendars[cal] = {"busy": [{"start": _rfc3339(s, answer_zone), "end": _rfc3339(e, answer_zone)}
                                           for s, e in busy_spans(name) if s < high and e > low]}
        return response.json({"kind": "calendar#freeBusy", "timeMin": _rfc3339(low), "timeMax": _rfc3339(high),
                              "calendars": calendars})

    def tagged(event: Dict[str, Any]) -> Dict[str, Any]:
        state.etags += 1
        event["etag"] = f'"{state.etags}"'
        event["updated"] = datetime.datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return event

    def read(event: Dict[str, Any]) -> Dict[str, Any]:
        """A read of the event: a pending Meet link becomes ready after `meet_pending_reads` reads."""
        conference = event.get("conferenceData") or {}
        status = (conference.get("createRequest") or {}).get("status") or {}
        if status.get("statusCode") == "pending":
            event["_reads"] = event.get("_reads", 0) + 1
            if event["_reads"] > event.get("_pending_reads", 0):
                code = "-".join((event["id"][:3], event["id"][3:7], event["id"][7:10]))
                link = f"https://meet.google.com/{code}"
                status["statusCode"] = "success"
                conference.update({"conferenceId": code, "entryPoints": [{"entryPointType": "video", "uri": link}]})
                event["hangoutLink"] = link
                tagged(event)
        return {key: value for key, value in event.items() if not key.startswith("_")}

    def checked_times(body: Mapping[str, Any], calendar: str) -> Optional[response.HTTPResponse]:
        for side in ("start", "end"):
            when = body.get(side)
            if not isinstance(when, Mapping) or not (when.get("dateTime") or when.get("date")):
                return _error(400, "required", f"Missing {side} time.")
            if event_time(when, state.zone(calendar)) is None:
                return _error(400, "invalid", f"Missing time zone definition for {side} time."
                              if when.get("dateTime") else f"Invalid {side} time.")
        if bool(body["start"].get("date")) != bool(body["end"].get("date")):
            return _error(400, "invalid", "Start and end times must either both be date or both be dateTime.")
        span = _span(body, state.zone(calendar))
        if span is None or span[1] <= span[0]:
            return _error(400, "timeRangeEmpty", "The specified time range is empty.")
        return None

    @app.post("/calendar/v3/calendars/<calendar>/events")
    async def insert(request: Request, calendar: str):
        refused = await gate(request, calendar)
        if refused:
            return refused
        body = dict(request.json) if isinstance(request.json, dict) else {}
        cal = request.ctx.user
        event_id = body.get("id") or uuid.uuid4().hex
        if not isinstance(event_id, str) or not _ID.match(event_id):
            return _error(400, "invalid", "Invalid resource id value.")
        if event_id in state.events.get(cal, {}):
            return _error(409, "duplicate", "The requested identifier already exists.")
        bad = checked_times(body, cal)
        if bad:
            return bad
        body["id"], body["status"], body["kind"] = event_id, "confirmed", "calendar#event"
        body["_pending_reads"] = state.meet_pending_reads
        create = (body.get("conferenceData") or {}).get("createRequest")
        if request.args.get("conferenceDataVersion") != "1" or not create:
            body.pop("conferenceData", None)  # version 0 (the default): conference data is ignored
        else:
            body["conferenceData"] = {"createRequest": {**create, "status": {"statusCode": "pending"}},
                                      "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"}}
        body["sendUpdates"] = request.args.get("sendUpdates")
        state.events.setdefault(cal, {})[event_id] = tagged(body)
        state.inserts += 1
        shown = {key: value for key, value in body.items() if not key.startswith("_")}
        return response.json(shown, headers={"ETag": body["etag"]})

    @app.get("/calendar/v3/calendars/<calendar>/events")
    async def listing(request: Request, calendar: str):
        refused = await gate(request, calendar)
        if refused:
            return refused
        cal, zone = request.ctx.user, state.zone(request.ctx.user)
        low, high = request.args.get("timeMin"), request.args.get("timeMax")
        low_at, high_at = _instant(low) if low else None, _instant(high) if high else None
        if (low and low_at is None) or (high and high_at is None):
            return _error(400, "badRequest", "Bad Request")
        if low_at and high_at and high_at <= low_at:
            return _error(400, "timeRangeEmpty", "The specified time range is empty.")
        ordered = request.args.get("orderBy")
        if ordered == "startTime" and request.args.get("singleEvents") != "true":
            return _error(400, "badRequest", "The requested ordering is not available for the particular query.")
        show_deleted = request.args.get("showDeleted") == "true"
        found = []
        for event in state.events.get(cal, {}).values():
            span = _span(event, zone)
            if span is None or (event.get("status") == "cancelled" and not show_deleted):
                continue
            if (low_at and span[1] <= low_at) or (high_at and span[0] >= high_at):
                continue  # timeMin bounds the end, timeMax the start (both exclusive)
            found.append((span[0], event))
        if ordered == "startTime":
            found.sort(key=lambda pair: pair[0])
        try:
            size = max(1, min(2500, int(request.args.get("maxResults", "250"))))
            offset = int(_b64(request.args.get("pageToken", "")).decode() or 0) if request.args.get("pageToken") else 0
        except ValueError:
            return _error(400, "invalid", "Invalid page token or maxResults.")
        page = [read(event) for _, event in found[offset:offset + size]]
        answer: Dict[str, Any] = {"kind": "calendar#events", "summary": cal, "timeZone": zone.key, "items": page,
                                  "etag": f'"{state.etags}"'}
        if offset + size < len(found):
            answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode().rstrip("=")
        return response.json(answer)

    @app.route("/calendar/v3/calendars/<calendar>/events/<event_id>", methods=["GET", "PATCH", "PUT", "DELETE"])
    async def event(request: Request, calendar: str, event_id: str):
        refused = await gate(request, calendar)
        if refused:
            return refused
        found = state.events.get(request.ctx.user, {}).get(event_id)
        if found is None or (found.get("status") == "cancelled" and request.method != "GET"):
            return _error(404 if found is None else 410, "notFound" if found is None else "deleted",
                          "Not Found" if found is None else "Resource has been deleted")
        if request.method == "GET":
            if request.headers.get("if-none-match") == found["etag"]:
                return response.empty(status=304)
            shown = read(found)
            return response.json(shown, headers={"ETag": found["etag"]})
        expected = request.headers.get("if-match")
        if expected and expected != "*" and expected != found["etag"]:
            return _error(412, "conditionNotMet", "Precondition Failed")
        if request.method == "DELETE":
            found["status"] = "cancelled"
            tagged(found)
            return response.empty()
        change = dict(request.json) if isinstance(request.json, dict) else {}
        updated = {**found, **change} if request.method == "PATCH" else {**change, "id": event_id,
                                                                         "status": found["status"]}
        bad = checked_times(updated, request.ctx.user)
        if bad:
            return bad
        found.clear()
        found.update(tagged(updated))
        return response.json({key: value for key, value in found.items() if not key.startswith("_")},
                             headers={"ETag": found["etag"]})

    def on_faults(body: Mapping[str, Any]) -> None:
        state.broken_calendars.update(str(cal).lower() for cal in body.get("broken_calendars", []))
        for cal, spans in (body.get("busy") or {}).items():
            state.busy.setdefault(str(cal).lower(), []).extend(tuple(span) for span in spans)
        state.users.update(str(user).lower() for user in body.get("users", []))
        state.zones.update({str(cal).lower(): str(zone) for cal, zone in (body.get("time_zones") or {}).items()})
        for account in body.get("service_accounts", []):
            key = serialization.load_pem_public_key(str(account["public_key"]).encode())
            state.keys[f"{account['client_email']}|{account['private_key_id']}"] = key
        if "meet_pending_reads" in body:
            state.meet_pending_reads = int(body["meet_pending_reads"])
        for cal, events in (body.get("events") or {}).items():  # events made elsewhere (another app, a person)
            for event in events:
                event = {"id": uuid.uuid4().hex, "status": "confirmed", "kind": "calendar#event", **event}
                state.events.setdefault(str(cal).lower(), {})[event["id"]] = tagged(event)

    state.control.mount(app, on_faults, lambda _request: {
        "events": {cal: {eid: {k: v for k, v in e.items() if not k.startswith("_")} for eid, e in events.items()}
                   for cal, events in state.events.items()},
        "inserts": state.inserts, "users": sorted({user for user, _ in state.tokens.values()})})
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Google Calendar API emulator (loopback only)")
    parser.add_argument("--port", type=int, default=8898)
    args = parser.parse_args()
    create_app(State()).run(host="127.0.0.1", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
