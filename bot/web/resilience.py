"""When the action server is away (restarting, or a replica just died), visitors wait a moment, not in silence.

Rasa calls the action server once per custom action; if it cannot connect
(or the load balancer in front answers 502/503/504), Rasa logs an error,
drops the action's events and the visitor gets no answer at all. Here the
call is tried again for up to about 7 s (the supervisor restarts a dead
action server within seconds); if it still fails, the visitor gets the
response `utter_dc_one_moment` and their message is taken back, so the
conversation stays where it was and the same click or text works again.
An action server that accepts the call but does not answer within 30 s
(Rasa waits 5 minutes) gets the same "one moment", without a second try.

An action whose server died after it had done its work (a booking
committed, say) is safe to run again: analytics and the Marketo outbox are
keyed by the message, and the meeting card confirms a meeting that its
conversation holds but was never told about (`MeetingChat`).

`install()` is called once when the Rasa server loads our response generator
(`bot.web.nlg`), beside `bot.web.rasa_speedups`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Sequence

import aiohttp
import rasa.core.actions.action as rasa_actions
from rasa.core.actions.action import RemoteAction, create_bot_utterance
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import Event, FollowupAction, UserUtteranceReverted
from rasa.shared.exceptions import RasaException

if TYPE_CHECKING:
    from rasa.core.channels.channel import OutputChannel
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 3.5)  # about 7 s in all
ACTION_TIMEOUT = 30                        # seconds an action may take (a slow calendar included)
AWAY = (502, 503, 504)                     # a load balancer with no action server behind it
ONE_MOMENT = "utter_dc_one_moment"
_installed = False


def server_away(error: BaseException) -> bool:
    """Did the call fail because no action server answered (as opposed to one answering with an error)?"""
    cause: Optional[BaseException] = error
    while cause is not None:
        if isinstance(cause, (aiohttp.ClientConnectionError, asyncio.TimeoutError)):
            return True
        if isinstance(cause, aiohttp.ClientResponseError) and cause.status in AWAY:
            return True
        cause = cause.__cause__ or cause.__context__
    return "Couldn't connect" in str(error)


async def with_retries(call: Callable[[], Awaitable[List[Event]]], delays: Sequence[float] = RETRY_DELAYS,
                       sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> Optional[List[Event]]:
    """The call's events, trying again while the action server is away; None if it stayed away."""
    for delay in (*delays, None):
        try:
            return await call()
        except asyncio.TimeoutError:
            return None  # it may still be working: running it again could do its work twice
        except RasaException as error:
            if not server_away(error):
                raise
            if delay is None:
                return None
            await sleep(delay)
    return None


def _patched(original: Callable[..., Awaitable[List[Event]]]) -> Callable[..., Awaitable[List[Event]]]:
    async def run(self: RemoteAction, output_channel: "OutputChannel", nlg: "NaturalLanguageGenerator",
                  tracker: "DialogueStateTracker", domain: "Domain") -> List[Event]:
        events = await with_retries(lambda: original(self, output_channel, nlg, tracker, domain))
        if events is not None:
            return events
        logger.error("%s: the action server did not answer %s; the visitor was asked to wait a moment",
                     tracker.sender_id, self.name())
        message = await nlg.generate(ONE_MOMENT, tracker, output_channel.name())
        said = [create_bot_utterance(message)] if message else []
        return said + [UserUtteranceReverted(), FollowupAction(ACTION_LISTEN_NAME)]

    return run


def install() -> None:
    """Wrap Rasa's `RemoteAction.run` in this process; calling it again changes nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    RemoteAction.run = _patched(RemoteAction.run)  # type: ignore[assignment]
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT  # read by RemoteAction.run at each call
