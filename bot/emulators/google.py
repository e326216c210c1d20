"""A Google Calendar v3 emulator with its OAuth token endpoint, for tests and demos (loopback).

The token endpoint takes the service account's JWT bearer assertion and
reads its `sub` (domain-wide delegation) without checking the signature's
audience, as the issue's tests require; calendar calls must carry a token
of the calendar's own user. freeBusy, events insert/get/patch/delete with
client-chosen ids (a repeated id is 409 duplicate), Meet links when asked,
and switches for 429 / 403 rateLimitExceeded (with Retry-After), 5xx,
delays and token refusals.

Run: python -m bot.emulators.google --port 8898
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sanic import Sanic, response
from sanic.request import Request

from bot.emulators.control import ControlPlane

_ID = re.compile(r"^[a-v0-9]{5,1024}$")


@dataclass
class State:
    tokens: Dict[str, Tuple[str, float]] = field(default_factory=dict)  # token -> (user, expiry)
    events: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)  # calendar -> id -> event
    busy: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)  # calendar -> seeded busy (RFC 3339)
    broken_calendars: set = field(default_factory=set)
    control: ControlPlane = field(default_factory=lambda: ControlPlane("google"))
    inserts: int = 0


def _error(status: int, reason: str, message: str, headers: Optional[Dict[str, str]] = None) -> response.HTTPResponse:
    return response.json({"error": {"code": status, "message": message,
                                    "errors": [{"domain": "global" if status != 403 else "usageLimits",
                                                "reason": reason, "message": message}]}},
                         status=status, headers=headers or {})


def _claims(assertion: str) -> Dict[str, Any]:
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def create_app(state: State) -> Sanic:
    app = Sanic(f"google_calendar_emulator_{uuid.uuid4().hex[:8]}", configure_logging=False)

    @app.post("/token")
    async def token(request: Request):
        if state.control.token_error():
            return response.json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400)
        if request.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return response.json({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = _claims(request.form.get("assertion", ""))
        except (ValueError, IndexError):
            return response.json({"error": "invalid_grant", "error_description": "Bad assertion"}, status=400)
        user = str(claims.get("sub") or claims.get("iss") or "")
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
        if calendar is not None and calendar not in ("primary", user):
            return _error(403, "forbidden", "Forbidden")
        request.ctx.user = user
        return None

    @app.post("/calendar/v3/freeBusy")
    async def free_busy(request: Request):
        refused = await gate(request)
        if refused:
            return refused
        body = request.json or {}
        low, high = body.get("timeMin", ""), body.get("timeMax", "")
        calendars = {}
        for item in body.get("items", []):
            cal = item.get("id")
            if cal in state.broken_calendars:
                calendars[cal] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            spans = list(state.busy.get(cal, []))
            spans += [(e["start"]["dateTime"], e["end"]["dateTime"]) for e in state.events.get(cal, {}).values()
                      if e.get("status") != "cancelled"]
            calendars[cal] = {"busy": [{"start": s, "end": e} for s, e in sorted(spans) if s < high and e > low]}
        return response.json({"kind": "calendar#freeBusy", "timeMin": low, "timeMax": high, "calendars": calendars})

    @app.post("/calendar/v3/calendars/<calendar>/events")
    async def insert(request: Request, calendar: str):
        refused = await gate(request, calendar)
        if refused:
            return refused
        body = dict(request.json or {})
        cal = request.ctx.user
        event_id = body.get("id") or uuid.uuid4().hex
        if not _ID.match(event_id):
            return _error(400, "invalid", "Invalid resource id value.")
        if event_id in state.events.get(cal, {}):
            return _error(409, "duplicate", "The requested identifier already exists.")
        body["id"], body["status"] = event_id, "confirmed"
        if request.args.get("conferenceDataVersion") == "1" and body.get("conferenceData", {}).get("createRequest"):
            body["hangoutLink"] = f"https://meet.google.com/{event_id[:3]}-{event_id[3:7]}-{event_id[7:10]}"
        body["sendUpdates"] = request.args.get("sendUpdates")
        state.events.setdefault(cal, {})[event_id] = body
        state.inserts += 1
        return response.json(body)

    @app.route("/calendar/v3/calendars/<calendar>/events/<event_id>", methods=["GET", "PATCH", "DELETE"])
    async def event(request: Request, calendar: str, event_id: str):
        refused = await gate(request, calendar)
        if refused:
            return refused
        found = state.events.get(request.ctx.user, {}).get(event_id)
        if found is None or (found.get("status") == "cancelled" and request.method != "GET"):
            return _error(404 if found is None else 410, "notFound" if found is None else "deleted", "Not Found")
        if request.method == "DELETE":
            found["status"] = "cancelled"
            return response.empty()
        if request.method == "PATCH":
            found.update(request.json or {})
        return response.json(found)

    def on_faults(body: Mapping[str, Any]) -> None:
        state.broken_calendars.update(body.get("broken_calendars", []))
        for cal, spans in (body.get("busy") or {}).items():
            state.busy.setdefault(cal, []).extend(tuple(span) for span in spans)

    state.control.mount(app, on_faults, lambda _request: {
        "events": state.events, "inserts": state.inserts, "users": sorted({user for user, _ in state.tokens.values()})})
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Google Calendar API emulator (loopback only)")
    parser.add_argument("--port", type=int, default=8898)
    args = parser.parse_args()
    create_app(State()).run(host="127.0.0.1", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
