"""A Microsoft Graph calendar emulator with login's OpenID configuration and token endpoint (TLS, loopback).

msal only talks https, so the emulator serves TLS with a certificate the
tests make (and a CA they hand to the client). What it answers as Microsoft
documents it:

- client-credentials tokens for the registered app (msal's flow).
- `calendar/getSchedule`
  (https://learn.microsoft.com/graph/api/calendar-getschedule): parameters
  by name whatever their case (the SDKs send `Schedules`, `StartTime`...),
  `startTime`/`endTime` required (400 otherwise), times as instants in any
  zone (IANA or Windows names), items answered in UTC or in the zone of
  `Prefer: outlook.timezone`, `availabilityView` one digit per
  `availabilityViewInterval` minutes (0 free, 1 tentative, 2 busy, 3 away,
  4 elsewhere), `showAs: free` events free, and a per-schedule `error` for
  a mailbox that does not exist (the directory: `users`).
- events create (a `transactionId` repeated in the same mailbox returns
  that mailbox's event while it exists,
  https://learn.microsoft.com/graph/api/resources/event; an `isAllDay` one
  from midnight to midnight in its zone), get, patch and
  delete, with `@odata.etag` and `If-Match` (a stale one is 412), and 404
  for a user who does not exist.
- Switches for 429 (with Retry-After), 5xx, delays and token errors.

Run: python -m bot.emulators.graph --port 8897 --cert server.pem --key server.key
"""
from __future__ import annotations

import argparse
import datetime
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from sanic import Sanic, response
from sanic.request import Request
from zoneinfo import ZoneInfo

from bot.emulators.control import ControlPlane

UTC = datetime.timezone.utc
# Windows time zone names Graph takes beside IANA ones (a few common ones; CLDR's windowsZones has them all)
WINDOWS_ZONES = {"UTC": "UTC", "Pacific Standard Time": "America/Los_Angeles",
                 "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
                 "GMT Standard Time": "Europe/London", "W. Europe Standard Time": "Europe/Berlin",
                 "Central Europe Standard Time": "Europe/Budapest", "India Standard Time": "Asia/Kolkata",
                 "Tokyo Standard Time": "Asia/Tokyo", "AUS Eastern Standard Time": "Australia/Sydney"}
SHOW_AS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}


@dataclass
class State:
    client_id: str
    client_secret: str
    tokens: Dict[str, float] = field(default_factory=dict)
    events: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)
    transactions: Dict[Tuple[str, str], str] = field(default_factory=dict)  # (mailbox, transactionId) -> event
    busy: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)
    broken: set = field(default_factory=set)
    users: Set[str] = field(default_factory=set)  # the tenant's mailboxes
    control: ControlPlane = field(default_factory=lambda: ControlPlane("graph"))
    creates: int = 0
    versions: int = 0


INVALID_SECRET = "AADSTS7000215: Invalid client secret"


def _graph_error(status: int, code: str, message: str, headers=None) -> response.HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status, headers=headers or {})


def zone_named(name: Any) -> Optional[ZoneInfo]:
    try:
        return ZoneInfo(WINDOWS_ZONES.get(str(name), str(name)))
    except (ValueError, KeyError):
        return None


def graph_time(value: Any) -> Optional[datetime.datetime]:
    """A dateTimeTimeZone ({dateTime, timeZone}) as an instant (None: missing or not understood)."""
    value = _insensitive(value)
    if not isinstance(value.get("datetime"), str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value["datetime"][:26].rstrip("Z"))
    except ValueError:
        return None
    zone = zone_named(value.get("timezone") or "UTC")
    return moment.replace(tzinfo=zone) if zone and moment.tzinfo is None else None


def shown_time(moment: datetime.datetime, zone: ZoneInfo, label: str) -> Dict[str, str]:
    """As Graph shows a time: local to the zone asked for, named as it was asked."""
    local = moment.astimezone(zone)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": label}


def _insensitive(body: Any) -> Dict[str, Any]:
    """Graph reads a request's property names without regard to case."""
    return {str(key).lower(): value for key, value in body.items()} if isinstance(body, Mapping) else {}


def create_app(state: State, port: int) -> Sanic:
    app = Sanic(f"graph_emulator_{uuid.uuid4().hex[:8]}", configure_logging=False)
    base = f"https://127.0.0.1:{port}"

    @app.get("/<tenant>/v2.0/.well-known/openid-configuration")
    async def openid(request: Request, tenant: str):
        return response.json({
            "issuer": f"{base}/{tenant}/v2.0", "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys", "response_types_supported": ["code", "token"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"]})

    @app.post("/<tenant>/oauth2/v2.0/token")
    async def token(request: Request, tenant: str):
        if state.control.token_error():
            return response.json({"error": "invalid_client", "error_description": INVALID_SECRET}, status=401)
        if request.form.get("grant_type") != "client_credentials":
            return response.json({"error": "unsupported_grant_type"}, status=400)
        if request.form.get("client_id") != state.client_id or request.form.get("client_secret") != state.client_secret:
            return response.json({"error": "invalid_client", "error_description": INVALID_SECRET}, status=401)
        access = secrets.token_urlsafe(32)
        state.tokens[access] = time.time() + 3599
        return response.json({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                              "access_token": access})

    async def gate(request: Request, user: str) -> Optional[response.HTTPResponse]:
        fault = await state.control.before_call(f"{request.method} {request.path.split('/events')[0]}")
        if fault and fault.get("status") == 429:
            return _graph_error(429, "TooManyRequests", "Too many requests", {"Retry-After": "1"})
        if fault and fault.get("status"):
            return _graph_error(int(fault["status"]), "ServiceUnavailable", "Service unavailable")
        auth = request.headers.get("authorization", "")
        if state.tokens.get(auth[7:] if auth.startswith("Bearer ") else "", 0) < time.time():
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        if user.lower() not in state.users:
            return _graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        return None

    def items_of(mailbox: str) -> List[Tuple[datetime.datetime, datetime.datetime, str]]:
        spans = [(graph_time({"dateTime": s.rstrip("Z"), "timeZone": "UTC"}),
                  graph_time({"dateTime": e.rstrip("Z"), "timeZone": "UTC"}), "busy")
                 for s, e in state.busy.get(mailbox, [])]
        for event in state.events.get(mailbox, {}).values():
            if not event.get("isCancelled"):
                spans.append((graph_time(event.get("start")), graph_time(event.get("end")), event.get("showAs") or "busy"))
        return sorted((s, e, how) for s, e, how in spans if s and e)

    @app.post("/v1.0/users/<user>/calendar/getSchedule")
    async def schedule(request: Request, user: str):
        refused = await gate(request, user)
        if refused:
            return refused
        body = _insensitive(request.json)
        low, high = graph_time(body.get("starttime")), graph_time(body.get("endtime"))
        if low is None or high is None or not isinstance(body.get("schedules"), list):
            return _graph_error(400, "ErrorInvalidRequest", "Schedules, StartTime and EndTime are required.")
        if high <= low:
            return _graph_error(400, "ErrorInvalidParameter", "The end time must be after the start time.")
        interval = int(body.get("availabilityviewinterval") or 30)
        if not 5 <= interval <= 1440:
            return _graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval must be 5 to 1440 minutes.")
        prefer = request.headers.get("prefer", "")
        wanted = prefer.split("outlook.timezone=", 1)[1].strip().strip('"') if "outlook.timezone=" in prefer else "UTC"
        zone = zone_named(wanted)
        if zone is None:
            wanted, zone = "UTC", ZoneInfo("UTC")
        values = []
        for who in body["schedules"]:
            name = str(who).lower()
            if name in state.broken or name not in state.users:
                values.append({"scheduleId": who, "error": {
                    "message": "The user doesn't have a mailbox." if name not in state.users else "Service error",
                    "responseCode": "ErrorMailboxNotFound" if name not in state.users else "ErrorInternalServerError"}})
                continue
            found = [(s, e, how) for s, e, how in items_of(name) if s < high and e > low]
            view = []
            step = datetime.timedelta(minutes=interval)
            slot = low
            while slot < high:
                codes = [SHOW_AS.get(how, "2") for s, e, how in found if s < slot + step and e > slot]
                view.append(max(codes, default="0"))
                slot += step
            values.append({"scheduleId": who, "availabilityView": "".join(view), "workingHours": {},
                           "scheduleItems": [{"isPrivate": False, "status": how, "start": shown_time(s, zone, wanted),
                                              "end": shown_time(e, zone, wanted)} for s, e, how in found]})
        return response.json({"value": values})

    def versioned(event: Dict[str, Any]) -> Dict[str, Any]:
        state.versions += 1
        event["@odata.etag"] = f'W/"{state.versions}"'
        event["changeKey"] = str(state.versions)
        return event

    def checked(event: Mapping[str, Any]) -> Optional[response.HTTPResponse]:
        start, end = graph_time(event.get("start")), graph_time(event.get("end"))
        if start is None or end is None:
            return _graph_error(400, "ErrorInvalidRequest", "start and end need a dateTime and a known timeZone.")
        if end < start:
            return _graph_error(400, "ErrorInvalidParameter", "The end of the event is before its start.")
        return None

    def all_day(event: Dict[str, Any]) -> Dict[str, Any]:
        """An `isAllDay` event runs from midnight to midnight in its zone: a start that is not midnight moves
        to the midnight before it, an end to the midnight after it (Exchange's rule,
        https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-create-all-day-events-by-using-ews-in-exchange)."""
        if not event.get("isAllDay"):
            return event
        for key, later in (("start", False), ("end", True)):
            moment = graph_time(event[key])
            assert moment is not None  # checked
            midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            if later and midnight != moment:
                midnight += datetime.timedelta(days=1)
            event[key] = {"dateTime": midnight.strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                          "timeZone": _insensitive(event[key]).get("timezone") or "UTC"}
        return event

    @app.post("/v1.0/users/<user>/events")
    async def create(request: Request, user: str):
        refused = await gate(request, user)
        if refused:
            return refused
        body = dict(request.json) if isinstance(request.json, dict) else {}
        mailbox = user.lower()
        transaction = body.get("transactionId")
        existing = state.transactions.get((mailbox, str(transaction))) if transaction else None
        if existing and not state.events[mailbox][existing].get("isCancelled"):
            return response.json(state.events[mailbox][existing], status=201)
        bad = checked(body)
        if bad:
            return bad
        event_id = "AAMk" + uuid.uuid4().hex
        body = all_day(body)
        body["id"] = event_id
        if body.get("isOnlineMeeting"):
            body["onlineMeeting"] = {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{uuid.uuid4().hex}"}
        state.events.setdefault(mailbox, {})[event_id] = versioned(body)
        if transaction:
            state.transactions[(mailbox, str(transaction))] = event_id
        state.creates += 1
        return response.json(body, status=201)

    @app.route("/v1.0/users/<user>/events/<event_id>", methods=["GET", "PATCH", "DELETE"])
    async def event(request: Request, user: str, event_id: str):
        refused = await gate(request, user)
        if refused:
            return refused
        found = state.events.get(user.lower(), {}).get(event_id)
        if found is None or found.get("isCancelled"):
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        expected = request.headers.get("if-match")
        if request.method != "GET" and expected and expected not in ("*", found["@odata.etag"]):
            return _graph_error(412, "ErrorIrresolvableConflict",
                                "The send or update operation could not be performed because the change key passed in "
                                "the request does not match the current change key for the item.")
        if request.method == "DELETE":
            found["isCancelled"] = True
            return response.empty()
        if request.method == "PATCH":
            change = dict(request.json) if isinstance(request.json, dict) else {}
            bad = checked({**found, **change})
            if bad:
                return bad
            found.update(change)
            versioned(found)
        return response.json(found)

    def on_faults(body: Mapping[str, Any]) -> None:
        state.broken.update(str(who).lower() for who in body.get("broken", []))
        state.users.update(str(who).lower() for who in body.get("users", []))
        for who, spans in (body.get("busy") or {}).items():
            state.busy.setdefault(str(who).lower(), []).extend(tuple(span) for span in spans)
        for who, events in (body.get("events") or {}).items():  # made elsewhere (Outlook, another app)
            for event in events:
                made = versioned({"id": "AAMk" + uuid.uuid4().hex, **event})
                state.events.setdefault(str(who).lower(), {})[made["id"]] = made

    state.control.mount(app, on_faults, lambda _request: {"events": state.events, "creates": state.creates})
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Microsoft Graph calendar emulator (TLS, loopback only)")
    parser.add_argument("--port", type=int, default=8897)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-id", default="emulator-app")
    parser.add_argument("--client-secret", default="emulator-secret")
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    create_app(State(args.client_id, args.client_secret), args.port).run(
        host="127.0.0.1", port=args.port, ssl=context, access_log=False, workers=1)


if __name__ == "__main__":
    main()
