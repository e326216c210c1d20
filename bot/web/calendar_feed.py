"""iCalendar over HTTP from the Rasa server: a meeting's invitation and each agent's feed.

Mounted as a Rasa input channel (credentials.yml), so it needs no server of
its own: `GET /webhooks/calendar/invitation/<meeting id>.ics` (the id is an
unguessable UUID, handed only to the visitor) and
`GET /webhooks/calendar/feed/<token>.ics`, where the token is an HMAC of the
agent's email with DYNCHAT_FEED_SECRET (feeds are off without a secret).
"""
from __future__ import annotations

import hmac
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot import app
from bot.calendars import local
from bot.core.agents import Agent


class CalendarFeedInput(InputChannel):
    """Not a chat channel: serves meetings as iCalendar next to the chat endpoints."""

    @classmethod
    def name(cls) -> str:
        return "calendar"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        feeds = Blueprint("dynchat_calendar_feed", __name__)

        def agents() -> Dict[str, Agent]:
            routing = app.services().routing.current()
            return {a.email: a for a in routing.agents} if routing else {}

        # Both answers read the agents file and the database: they run on the services' threads.
        def invitation_text(meeting_id: str) -> Optional[str]:
            meeting = app.services().meetings.get(meeting_id) if meeting_id else None
            agent = agents().get(meeting.agent_email) if meeting else None
            return local.invitation(meeting, agent, time.time()) if meeting and agent else None

        def feed_text(token: str) -> Optional[str]:
            secret = app.services().settings.feed_secret
            match = next((a for email, a in agents().items()
                          if secret and token and hmac.compare_digest(local.feed_token(email, secret), token)), None)
            if match is None:
                return None
            return local.feed(match, app.services().meetings.list(agent=match.email), time.time())

        async def ics(answer: Callable[[str], Optional[str]], filename: str) -> response.HTTPResponse:
            text = await app.services().run_blocking(answer, filename[:-4] if filename.endswith(".ics") else "")
            if text is None:
                return response.text("not found", status=404)
            return response.text(text, content_type="text/calendar; charset=utf-8")

        @feeds.get("/invitation/<filename>")
        async def invitation(_request: Request, filename: str) -> response.HTTPResponse:
            return await ics(invitation_text, filename)

        @feeds.get("/feed/<filename>")
        async def feed(_request: Request, filename: str) -> response.HTTPResponse:
            return await ics(feed_text, filename)

        return feeds
