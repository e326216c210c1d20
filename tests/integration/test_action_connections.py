"""The Rasa server's calls to the action server reuse their connections, and survive the server closing them
(bot.web.resilience.kept_session), against a real HTTP server on loopback."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.web import resilience
from tests.support.e2e import free_port

ANSWER = {"events": [{"event": "slot", "name": "dc_goto", "value": "welcome__greet", "timestamp": None}],
          "responses": []}


class ActionServer:
    """An action server that answers every call and notes the connection (client port) and the query."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: List[Tuple[int, Dict[str, str], str]] = []
        self.runner: Any = None

    async def start(self) -> None:
        async def webhook(request: web.Request) -> web.Response:
            peer = request.transport.get_extra_info("peername") if request.transport else ("", 0)
            body = await request.json()
            self.calls.append((peer[1], dict(request.query), body["next_action"]))
            return web.json_response(ANSWER)

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()  # closes its open connections, as a restarted action server would


async def _call(action: RemoteAction) -> List[Any]:
    return await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}),
                            DialogueStateTracker("visitor", []), Domain.empty())


def test_action_calls_share_kept_connections_and_survive_a_restart() -> None:
    resilience.install()
    port = free_port()

    async def scenario() -> None:
        server = ActionServer(port)
        await server.start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="internal-secret")
        action = RemoteAction("action_dc_step", endpoint)
        for _ in range(3):
            assert await _call(action) == [SlotSet("dc_goto", "welcome__greet")]
        assert len({peer for peer, _, _ in server.calls}) == 1  # one connection (Rasa's own: three)
        assert all(query == {"token": "internal-secret"} for _, query, _ in server.calls)
        await asyncio.gather(*(_call(action) for _ in range(5)))  # at once: more connections, all kept
        await server.stop()
        await server.start()  # restarted: the kept connections are gone
        assert await _call(action) == [SlotSet("dc_goto", "welcome__greet")]
        assert len(server.calls) == 9 and all(name == "action_dc_step" for _, _, name in server.calls)
        await server.stop()

    asyncio.run(scenario())
    resilience._close_kept_sessions()  # what exit does: nothing left for aiohttp to warn about


@pytest.mark.parametrize("headers", [{}, {"X-Team": "a"}])
def test_each_loop_and_each_endpoint_setting_has_its_own_session(headers: Dict[str, str]) -> None:
    async def two() -> Tuple[Any, Any, Any]:
        first = resilience.kept_session(EndpointConfig("http://127.0.0.1:1/webhook", headers=headers)).session
        again = resilience.kept_session(EndpointConfig("http://127.0.0.1:1/webhook", headers=headers)).session
        other = resilience.kept_session(EndpointConfig("http://127.0.0.1:1/webhook", headers={"X-Other": "b"})).session
        return first, again, other

    first, again, other = asyncio.run(two())
    assert first is again and first is not other and dict(first.headers) == headers
    second_loop, _, _ = asyncio.run(two())
    assert second_loop is not first  # a session belongs to the loop it was made on
    resilience._close_kept_sessions()
