"""Rasa's REST and socket.io channels, with the visit start of the dialogue contract.

Rasa runs `action_session_start` for a `/session_start` message and then stops
predicting, so the bot could never answer it. The contract says the bot answers
a visit's `/session_start` with the first card; these channels therefore follow
every `/session_start` with a `/dc_start` (same sender, same metadata), whose
compiled rule starts the chosen dialogue. A browser's page on a site that the
console's list of embedding domains leaves out is refused (REST: 403;
socket.io: the connection). Everything else is Rasa's own code.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit

from rasa.core.channels import channel, rest, socketio
from sanic import Blueprint, response
from sanic.request import Request

from bot import app
from bot.core.naming import START_INTENT
from bot.services.widget import origin_allowed

SESSION_START = "/session_start"
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


def refusing_other_sites(blueprint: Blueprint) -> Blueprint:
    """A browser on a site that is not on the list gets 403 before the chat sees anything."""
    @blueprint.middleware("request")
    async def check(request: Request) -> Optional[response.HTTPResponse]:
        if not await allowed_origin(request.headers.get("origin")):
            return response.json({"error": "this site may not use the chat"}, status=403)
        return None

    return blueprint


class RestInput(rest.RestInput):
    """`POST /webhooks/rest/webhook`, as Rasa's, plus the visit start."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        return refusing_other_sites(super().blueprint(starting_dialogues(on_new_message)))


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
            return bool(await rasas_connect(sid, environ, auth))

        self.sio.on("connect", namespace=self.namespace)(connect)
        return blueprint
