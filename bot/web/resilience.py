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

Rasa opens a new aiohttp session, and a new TCP connection through the
load balancer, for every action call, and closes both after it: a twentieth of
the Rasa server's event loop under load, besides HAProxy's and the action
server's work on each connection. Here the action endpoint's calls share one
session per event loop whose connections are kept for a few seconds
(`kept_session`); the requests are Rasa's own (`EndpointConfig.request`),
with the endpoint's headers and basic auth, and no cookies kept between
them. A kept connection the server has just closed fails like an absent
server and is tried again as above.

`install()` is called once when the Rasa server loads our response generator
(`bot.web.nlg`), beside `bot.web.rasa_speedups`.
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import weakref
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Sequence, Tuple

import aiohttp
import rasa.core.actions.action as rasa_actions
import rasa.utils.endpoints as rasa_endpoints
from rasa.core.actions.action import RemoteAction, create_bot_utterance
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import Event, FollowupAction, UserUtteranceReverted
from rasa.shared.exceptions import RasaException

if TYPE_CHECKING:
    from rasa.core.channels.channel import OutputChannel
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 3.5)  # about 7 s in all
ACTION_TIMEOUT = 30                        # seconds an action may take (a slow calendar included)
AWAY = (502, 503, 504)                     # a load balancer with no action server behind it
ONE_MOMENT = "utter_dc_one_moment"
KEEP_ALIVE = 4.0  # seconds an idle connection is kept: less than HAProxy's 10 s and Sanic's 5 s, so we close first
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


class _Kept:
    """What `async with endpoint.session()` gets in Rasa's `request`: the loop's session, left open after."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


# per event loop, per (headers, basic auth): a session whose connections outlive a call
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def kept_session(endpoint: "EndpointConfig") -> _Kept:
    """Rasa's `EndpointConfig.session` (same headers, auth and default timeout), made once per event loop."""
    kept = _sessions.setdefault(asyncio.get_running_loop(), {})
    key: Tuple[Any, ...] = (tuple(sorted(endpoint.headers.items())), tuple(sorted(endpoint.basic_auth.items())))
    session = kept.get(key)
    if session is None or session.closed:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = kept[key] = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=rasa_endpoints.DEFAULT_REQUEST_TIMEOUT),
            cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEP_ALIVE))
    return _Kept(session)


def _close_kept_sessions() -> None:
    """At exit: the kept connections closed, so aiohttp has no unclosed session to warn about."""
    for kept in list(_sessions.values()):
        for session in kept.values():
            connector = session.connector
            if connector is not None and not connector.closed:
                connector._close()  # the synchronous part of `close()`: every transport closed


def _patched(original: Callable[..., Awaitable[List[Event]]]) -> Callable[..., Awaitable[List[Event]]]:
    async def run(self: RemoteAction, output_channel: "OutputChannel", nlg: "NaturalLanguageGenerator",
                  tracker: "DialogueStateTracker", domain: "Domain") -> List[Event]:
        endpoint = self.action_endpoint
        if endpoint is not None and "session" not in vars(endpoint):
            endpoint.session = lambda: kept_session(endpoint)  # this endpoint's calls, on kept connections
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
    atexit.register(_close_kept_sessions)
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT  # read by RemoteAction.run at each call
