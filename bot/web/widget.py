"""The widget's HTTP side on the Rasa server: `/widget.js`, `/widget/config` and `/widget/visit`.

Mounted as a Rasa input channel at the server's root (credentials.yml), next
to the socket.io channel the widget chats over, so a site needs one origin:
`<script src="https://BOT/widget.js" async></script>`. Everything a page
sends is checked before use: a JSON object of bounded size, metadata values
of the contract's types (an email only when the site signed it). The visit's
answer carries the conversation id the widget chats under: the one it sent
when the bot issued it, a new one otherwise.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Mapping

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot import app
from bot.core.identity import is_conversation_id, new_conversation_id
from bot.services.widget import AVATAR_MIME, avatar_file, plan_visit, visit_metadata
from bot.web.channels import client_address, refusing_other_sites, too_fast

MAX_BODY = 16 * 1024

def _error(status: int, message: str) -> response.HTTPResponse:
    return response.json({"error": message}, status=status)


async def _slots(request: Request, session_id: str) -> Dict[str, Any]:
    """The slots of this visitor's conversation, as the Rasa server keeps them (none for a new visitor)."""
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return {}
    tracker = await agent.tracker_store.retrieve(session_id)
    return tracker.current_slot_values() if tracker is not None else {}


def _answer(services: "app.Services", metadata: Mapping[str, Any], slots: Mapping[str, Any]) -> Dict[str, Any]:
    """One request answers both questions of a page load: how the widget looks, and what it starts.

    It reads the store (maybe Marketo), the manifest and the settings file: it runs on the services' threads.
    """
    visitor = services.identifier.identify_visit(metadata)
    plan = plan_visit(services.switches.offered(services.catalog.current()), metadata, slots, visitor.attributes if visitor else None)
    return {"config": services.appearance.current().to_json(), **plan.to_json()}


class WidgetInput(InputChannel):
    """Not a chat channel: what the widget fetches before it connects to socket.io."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    def url_prefix(self) -> str:
        return "/"  # Rasa joins it to /webhooks/: an absolute path puts the routes at the root

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("dynchat_widget", __name__)

        @routes.get("/widget.js")
        async def bundle(_request: Request) -> response.HTTPResponse:
            path = app.services().settings.widget_bundle
            if not path.is_file():
                return _error(404, "the widget is not built (make builds it from widget/src)")
            return await response.file(str(path), mime_type="application/javascript; charset=utf-8",
                                       headers={"Cache-Control": "public, max-age=300"})

        @routes.get("/widget/avatar/<name>")
        async def avatar(_request: Request, name: str) -> response.HTTPResponse:
            found = avatar_file(app.services().settings.avatars, name)
            if found is None:
                return _error(404, "no such avatar")
            return await response.file(str(found), mime_type=AVATAR_MIME[found.suffix],
                                       headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
                                                "Content-Security-Policy": "default-src 'none'"})

        @routes.get("/widget/config")
        async def config(_request: Request) -> response.HTTPResponse:
            services = app.services()
            appearance = await services.run_blocking(services.appearance.current)
            return response.json(appearance.to_json(), headers={"Cache-Control": "no-cache"})

        @routes.post("/widget/visit")
        async def visit(request: Request) -> response.HTTPResponse:
            if len(request.body or b"") > MAX_BODY:
                return _error(413, "the request is too large")
            try:
                body = request.json
            except Exception:  # sanic raises InvalidUsage for a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return _error(400, "send a JSON object: {session_id, metadata}")
            services = app.services()
            wait = await services.too_fast(None, client_address(request))  # new conversations per address
            if wait is not None:
                return too_fast(wait)
            asked = body.get("session_id")
            known = is_conversation_id(services.conversation_key, asked)
            session_id = str(asked) if known else new_conversation_id(services.conversation_key)
            metadata = visit_metadata(body.get("metadata"), services.settings.identity_secret)
            slots = await _slots(request, session_id) if known else {}
            answer = await services.run_blocking(_answer, services, metadata, slots)
            return response.json({**answer, "session_id": session_id}, headers={"Cache-Control": "no-store"})

        return refusing_other_sites(routes)
