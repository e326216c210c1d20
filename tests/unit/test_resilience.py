"""A Rasa server whose action server is away tries again, then asks the visitor to wait (bot.web.resilience)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from rasa.shared.exceptions import RasaException

from bot.web.resilience import server_away, with_retries


def _raised(cause: BaseException) -> RasaException:
    """As Rasa raises it: inside the `except` for the connection error (the cause is the context, not chained)."""
    error = RasaException("Failed to execute custom action 'action_dc_step'")
    error.__context__ = cause
    return error


def test_only_an_absent_server_counts_as_away() -> None:
    assert server_away(_raised(aiohttp.ClientConnectionError("refused")))
    assert server_away(_raised(aiohttp.ServerDisconnectedError()))
    info = aiohttp.RequestInfo(url=__import__("yarl").URL("http://x/webhook"), method="POST", headers={})  # type: ignore
    assert server_away(_raised(aiohttp.ClientResponseError(info, (), status=503)))
    assert not server_away(_raised(aiohttp.ClientResponseError(info, (), status=500)))  # an answer: an error of ours
    assert not server_away(RasaException("the action returned something invalid"))


def test_retries_until_the_server_is_back_and_gives_up_after_the_delays() -> None:
    slept, calls = [], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def back_on_third() -> list:
        calls.append(1)
        if len(calls) < 3:
            raise _raised(aiohttp.ClientConnectionError("refused"))
        return ["events"]

    assert asyncio.run(with_retries(back_on_third, (0.25, 0.5, 1.0), sleep)) == ["events"] and slept == [0.25, 0.5]

    async def never() -> list:
        raise _raised(aiohttp.ClientConnectionError("refused"))

    slept.clear()
    assert asyncio.run(with_retries(never, (0.25, 0.5), sleep)) is None and slept == [0.25, 0.5]

    async def broken() -> list:
        raise RasaException("invalid answer")

    async def hung() -> list:
        calls.append(1)
        raise asyncio.TimeoutError()

    calls.clear()
    assert asyncio.run(with_retries(hung, (0.25,), sleep)) is None and calls == [1]  # no second run of a slow one

    with pytest.raises(RasaException):  # not a server that is away: Rasa's own handling
        asyncio.run(with_retries(broken, (0.25,), sleep))
