"""A Microsoft Graph calendar emulator with login's OpenID configuration and token endpoint (TLS, loopback).

msal only talks https, so the emulator serves TLS with a certificate the
tests make (and a CA they hand to the client). It issues client-credentials
tokens, answers getSchedule (availabilityView and scheduleItems, per-schedule
errors), creates events (a repeated transactionId returns the first event;
Teams join links), patches and deletes them, with switches for 429 (with
Retry-After), 5xx, delays and token errors.

Run: python -m bot.emulators.graph --port 8897 --cert server.pem --key server.key
"""
from __future__ import annotations

import argparse
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sanic import Sanic, response
from sanic.request import Request

from bot.emulators.control import ControlPlane


@dataclass
class State:
    client_id: str
    client_secret: str
    tokens: Dict[str, float] = field(default_factory=dict)
    events: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)
    transactions: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    busy: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)
    broken: set = field(default_factory=set)
    control: ControlPlane = field(default_factory=lambda: ControlPlane("graph"))
    creates: int = 0


INVALID_SECRET = "AADSTS7000215: Invalid client secret"


def _graph_error(status: int, code: str, message: str, headers=None) -> response.HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status, headers=headers or {})


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

    async def gate(request: Request) -> Optional[response.HTTPResponse]:
        fault = await state.control.before_call(f"{request.method} {request.path.split('/events')[0]}")
        if fault and fault.get("status") == 429:
            return _graph_error(429, "TooManyRequests", "Too many requests", {"Retry-After": "1"})
        if fault and fault.get("status"):
            return _graph_error(int(fault["status"]), "ServiceUnavailable", "Service unavailable")
        auth = request.headers.get("authorization", "")
        if state.tokens.get(auth[7:] if auth.startswith("Bearer ") else "", 0) < time.time():
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        return None

    @app.post("/v1.0/users/<user>/calendar/getSchedule")
    async def schedule(request: Request, user: str):
        refused = await gate(request)
        if refused:
            return refused
        body = request.json or {}
        low, high = body["startTime"]["dateTime"], body["endTime"]["dateTime"]
        values = []
        for who in body.get("schedules", []):
            if who in state.broken:
                values.append({"scheduleId": who, "error": {"message": "The user does not have a mailbox",
                                                            "responseCode": "ErrorMailboxNotFound"}})
                continue
            spans = list(state.busy.get(who, [])) + [
                (e["start"]["dateTime"], e["end"]["dateTime"]) for e in state.events.get(who, {}).values()
                if not e.get("isCancelled")]
            items = [{"isPrivate": False, "status": "busy", "start": {"dateTime": s, "timeZone": "UTC"},
                      "end": {"dateTime": e, "timeZone": "UTC"}} for s, e in sorted(spans) if s < high and e > low]
            values.append({"scheduleId": who, "availabilityView": "2" * len(items), "scheduleItems": items,
                           "workingHours": {}})
        return response.json({"value": values})

    @app.post("/v1.0/users/<user>/events")
    async def create(request: Request, user: str):
        refused = await gate(request)
        if refused:
            return refused
        body = dict(request.json or {})
        transaction = body.get("transactionId")
        if transaction and transaction in state.transactions:
            owner, event_id = state.transactions[transaction]
            return response.json(state.events[owner][event_id], status=201)
        event_id = "AAMk" + uuid.uuid4().hex
        body["id"] = event_id
        if body.get("isOnlineMeeting"):
            body["onlineMeeting"] = {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{uuid.uuid4().hex}"}
        state.events.setdefault(user, {})[event_id] = body
        if transaction:
            state.transactions[transaction] = (user, event_id)
        state.creates += 1
        return response.json(body, status=201)

    @app.route("/v1.0/users/<user>/events/<event_id>", methods=["GET", "PATCH", "DELETE"])
    async def event(request: Request, user: str, event_id: str):
        refused = await gate(request)
        if refused:
            return refused
        found = state.events.get(user, {}).get(event_id)
        if found is None or found.get("isCancelled"):
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if request.method == "DELETE":
            found["isCancelled"] = True
            return response.empty()
        if request.method == "PATCH":
            found.update(request.json or {})
        return response.json(found)

    def on_faults(body: Mapping[str, Any]) -> None:
        state.broken.update(body.get("broken", []))
        for who, spans in (body.get("busy") or {}).items():
            state.busy.setdefault(who, []).extend(tuple(span) for span in spans)

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
