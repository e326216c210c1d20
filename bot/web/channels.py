"""Rasa's REST and socket.io channels, with the visit start of the dialogue contract.

Rasa runs `action_session_start` for a `/session_start` message and then stops
predicting, so the bot could never answer it. The contract says the bot answers
a visit's `/session_start` with the first card; these channels therefore follow
every `/session_start` with a `/dc_start` (same sender, same metadata), whose
compiled rule starts the chosen dialogue. Everything else is Rasa's own code.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels import channel, rest, socketio

from bot.core.naming import START_INTENT

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


class RestInput(rest.RestInput):
    """`POST /webhooks/rest/webhook`, as Rasa's, plus the visit start."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        return super().blueprint(starting_dialogues(on_new_message))


class SocketIOInput(socketio.SocketIOInput):
    """Rasa's socket.io channel (`user_uttered`/`bot_uttered`), plus the visit start."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: OnNewMessage):  # type: ignore[override]
        return super().blueprint(starting_dialogues(on_new_message))
