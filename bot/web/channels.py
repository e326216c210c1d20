"""Rasa's REST and socket.io channels, with the visit start of the dialogue contract.

Rasa runs `action_session_start` for a `/session_start` message and then stops
predicting, so the bot could never answer it. The contract says the bot answers
a visit's `/session_start` with the first card; these channels therefore follow
every `/session_start` with a `/dc_start` (same sender, same metadata), whose
compiled rule starts the chosen dialogue. A browser's page on a site that the
console's list of embedding domains leaves out is refused (REST: 403;
socket.io: the connection). A message is checked before Rasa sees it: a
JSON object whose sender is a conversation id the bot issued (REST; a
caller with the internal token may name its own), a socket.io session that
the bot issued and this connection joined, a text of at most 2,000
characters (a longer one gets a polite answer, not NLU), metadata cut to
the contract's keys and 16 kB, with an email only when the site signed it.
Everything else is Rasa's own code.
"""
from __future__ import annotations

import hmac
import json
from typing import Any, Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit

from rasa.core.channels import channel, rest, socketio
from sanic import Blueprint, response
from sanic.request import Request

from bot import app, logs
from bot.core.identity import is_conversation_id, new_conversation_id
from bot.core.naming import START_INTENT
from bot.services.widget import SENDER, TOO_FAST, TOO_LONG, check_message, origin_allowed, visit_metadata

SESSION_START = "/session_start"
MAX_BODY = 64 * 1024
OnNewMessage = Callable[[channel.UserMessage], Awaitable[Any]]


def starting_dialogues(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wrap Rasa's message handler so a visit start also starts the dialogue."""

    async def handle(message: channel.UserMessage) -> None:
        await on_new_message(message)
        if (message.text or "").strip() == SESSION_START:
            await on_new_message(channel.UserMessage(
                f"/{START_INTENT}", message.output_channel, message.sender_id,
                input_channel=message.input_channel, metadata=message.metadata,
            ))

    return handle


async def allowed_origin(origin: Optional[str]) -> bool:
    """The console's list of sites that may embed the widget, checked for a browser's Origin."""
    if not origin:
        return True
    services = app.services()
    allowed = await services.run_blocking(services.switches.allowed_domains)
    own = {urlsplit(services.settings.public_url).hostname or "", services.settings.host}
    return origin_allowed(origin, allowed, sorted(own))


def internal_caller(request: Request) -> bool:
    """Does the request carry the token our processes share (a backend of the site's own, a test harness)?"""
    token = app.services().settings.internal_token
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or request.args.get("token", "")
    return bool(token and sent) and hmac.compare_digest(str(sent).encode(), str(token).encode())


async def checked_rest_message(request: Request) -> Optional[response.HTTPResponse]:
    """A REST message as the contract has it, or the answer that refuses it before Rasa (and NLU) sees it:
    400 for a malformed body or a sender the bot did not issue (a missing one would join a conversation named
    "default"; a chosen one, someone else's), the bot's polite "too long" for a long text; the metadata is cut
    to the contract's keys and 16 kB."""
    if request.method != "POST" or not request.path.endswith("/webhook"):
        return None
    if len(request.body or b"") > MAX_BODY:
        return response.json({"error": f"the body is larger than {MAX_BODY // 1024} kB"}, status=413)
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return response.json({"error": "the body is not valid JSON"}, status=400)
    if not isinstance(data, dict):
        return response.json({"error": "send a JSON object: {sender, message, metadata}"}, status=400)
    sender = data.get("sender")
    if internal_caller(request):
        if not isinstance(sender, str) or not SENDER.match(sender):
            return response.json({"error": "'sender' is required: 1 to 128 letters, digits or _ . : @ -"}, status=400)
    elif not is_conversation_id(app.services().conversation_key, sender):
        return response.json({"error": "'sender' is a conversation id the bot issued: POST /widget/visit "
                                       "answers with one (session_id)"}, status=400)
    wait = await app.services().too_fast(sender, client_address(request))
    if wait is not None:
        return too_fast(wait)
    problem = check_message(data.get("message"))
    if problem == TOO_LONG:
        return response.json([{"recipient_id": sender, "text": TOO_LONG}])
    if problem:
        return response.json({"error": problem}, status=400)
    data["metadata"] = visit_metadata(data.get("metadata"), app.services().settings.identity_secret)
    request.body = json.dumps(data).encode("utf-8")
    request.parsed_json = None  # Rasa's handler parses the checked body
    return None


def client_address(request: Request) -> str:
    """The client's IP address (from X-Forwarded-For when SANIC_PROXIES_COUNT says a proxy is in front)."""
    return request.remote_addr or request.ip


def too_fast(wait: float) -> response.HTTPResponse:
    """429 with when to try again: a person never sees it, a script replaying messages does."""
    seconds = max(1, int(wait + 0.999))
    return response.json({"error": TOO_FAST, "retry_after": seconds}, status=429, headers={"Retry-After": str(seconds)})


def refusing_other_sites(blueprint: Blueprint) -> Blueprint:
    """A browser on a site that is not on the list gets 403 before the chat sees anything."""
    @blueprint.middleware("request")
    async def check(request: Request) -> Optional[response.HTTPResponse]:
        if not await allowed_origin(request.headers.get("origin")):
            return response.json({"error": "this site may not use the chat"}, status=403)
        return None

    return blueprint


def _address(environ: Dict[str, Any]) -> Optional[str]:
    """The client's IP address as the socket.io connection's request saw it (engine.io's REMOTE_ADDR is always
    127.0.0.1 under sanic)."""
    request = environ.get("sanic.request")
    return client_address(request) if request is not None else None


class RestInput(rest.RestInput):
    """`POST /webhooks/rest/webhook`, as Rasa's, plus the visit start."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        logs.mask_personal_data()  # the Rasa server's logging is set up by now; its handlers mask from here on
        blueprint = refusing_other_sites(super().blueprint(starting_dialogues(on_new_message)))
        blueprint.middleware("request")(checked_rest_message)
        return blueprint


class SocketIOInput(socketio.SocketIOInput):
    """Rasa's socket.io channel (`user_uttered`/`bot_uttered`), plus the visit start."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        blueprint = super().blueprint(starting_dialogues(on_new_message))
        rasas_connect = self.sio.handlers[self.namespace or "/"]["connect"]

        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]]) -> bool:
            if not await allowed_origin(environ.get("HTTP_ORIGIN")):
                return False  # the page's site is not on the console's list
            connected = bool(await rasas_connect(sid, environ, auth))
            if connected:
                await self.sio.save_session(sid, {"address": _address(environ)}, namespace=self.namespace or "/")
            return connected

        self.sio.on("connect", namespace=self.namespace)(connect)
        rasas_session_request = self.sio.handlers[self.namespace or "/"]["session_request"]

        async def session_request(sid: str, data: Any) -> None:
            """A session the bot issued is resumed; anything else gets a new one (`session_confirm` says which)."""
            key = app.services().conversation_key
            asked = data.get("session_id") if isinstance(data, dict) else None
            await rasas_session_request(sid, {"session_id": asked if is_conversation_id(key, asked)
                                              else new_conversation_id(key)})

        self.sio.on("session_request", namespace=self.namespace)(session_request)
        rasas_message = self.sio.handlers[self.namespace or "/"][self.user_message_evt]

        async def message(sid: str, data: Any) -> None:
            """Only a text of the contract's length, with the contract's metadata, from the session this connection
            was confirmed in, reaches Rasa."""
            if not isinstance(data, dict) or data.get("session_id") not in self.sio.rooms(sid, self.namespace or "/") \
                    or data.get("session_id") == sid:
                return
            session = await self.sio.get_session(sid, namespace=self.namespace or "/")
            wait = await app.services().too_fast(data["session_id"], session.get("address"))
            problem = TOO_FAST if wait is not None else check_message(data.get("message", ""))
            if problem:
                await self.sio.emit(self.bot_message_evt, {"text": problem}, room=sid)
                return
            metadata = data.get(self.metadata_key)
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            secret = app.services().settings.identity_secret
            await rasas_message(sid, {**data, self.metadata_key: visit_metadata(metadata, secret)})

        self.sio.on(self.user_message_evt, namespace=self.namespace)(message)
        return blueprint
