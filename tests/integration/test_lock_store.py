"""The conversation lock shared by every Rasa server (`bot.web.lock_store`) against a real Redis (issue 11).

Without Redis on this machine the module is skipped with a message; in CI it fails.
"""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import List

import pytest
from rasa.utils.endpoints import EndpointConfig

from bot.web.lock_store import RedisLockStore
from tests.support import require_service


@pytest.fixture()
def conversation() -> str:
    require_service("Redis", 6379)
    return f"test-{uuid.uuid4().hex}"


def _store() -> RedisLockStore:
    """As `dynchat run` configures it (endpoints.yml's `lock_store`)."""
    return RedisLockStore(endpoint_config=EndpointConfig("127.0.0.1", type="bot.web.lock_store.RedisLockStore",
                                                         port=6379, db=5))


def test_two_servers_never_handle_one_conversation_at_once_and_serve_it_in_order(conversation: str) -> None:
    """Two servers (two stores, each on its own event loop and thread) take 40 messages of one conversation
    at once: never two inside the lock together, and each message in the order its ticket was taken."""
    inside: List[str] = []
    overlaps: List[str] = []
    served: List[int] = []
    order_taken: List[int] = []
    taking = threading.Lock()

    def server(name: str, numbers: range) -> None:
        store = _store()

        async def message(number: int) -> None:
            with taking:
                order_taken.append(number)
            async with store.lock(conversation):
                if inside:
                    overlaps.append(f"{name}:{number} with {inside}")
                inside.append(f"{name}:{number}")
                served.append(number)
                await asyncio.sleep(0.005)
                inside.remove(f"{name}:{number}")

        async def run() -> None:
            await asyncio.gather(*(message(number) for number in numbers))
            await store.red.close()

        asyncio.run(run())

    threads = [threading.Thread(target=server, args=("a", range(0, 20))),
               threading.Thread(target=server, args=("b", range(20, 40)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == [] and sorted(served) == list(range(40))


def test_tickets_are_served_first_come_first_served(conversation: str) -> None:
    store = _store()
    served: List[int] = []

    async def run() -> None:
        async def message(number: int) -> None:
            async with store.lock(conversation):
                served.append(number)
                await asyncio.sleep(0.01)

        tasks = []
        for number in range(8):
            tasks.append(asyncio.create_task(message(number)))
            await asyncio.sleep(0.005)  # each takes its ticket before the next
        await asyncio.gather(*tasks)
        await store.red.close()

    asyncio.run(run())
    assert served == list(range(8))


def test_a_crashed_server_s_ticket_expires_and_frees_the_conversation(conversation: str) -> None:
    """A ticket taken and never given back (its server died) holds the conversation only for its lifetime."""
    store = _store()

    async def run() -> float:
        held = store.lock(conversation, lock_lifetime=0.5)
        await held.__aenter__()  # ... and the server dies: no __aexit__
        started = time.monotonic()
        async with store.lock(conversation, lock_lifetime=5):
            waited = time.monotonic() - started
        await store.red.close()
        return waited

    waited = asyncio.run(run())
    assert 0.3 < waited < 2.0, waited


def test_redis_away_leaves_each_server_its_own_lock_at_once() -> None:
    """Redis away: messages are answered (Rasa's store failed each with a LockError), one conversation's still
    one at a time on this server, without waiting on Redis."""
    store = RedisLockStore(host="127.0.0.1", port=9, socket_timeout=2)
    inside: List[int] = []
    overlaps: List[int] = []

    async def message(number: int) -> None:
        async with store.lock("anyone"):
            if inside:
                overlaps.append(number)
            inside.append(number)
            await asyncio.sleep(0.01)
            inside.remove(number)

    async def run() -> None:
        await asyncio.gather(*(message(number) for number in range(10)))

    started = time.monotonic()
    asyncio.run(run())
    assert overlaps == [] and time.monotonic() - started < 3
    assert store._local == {}  # nothing kept once the conversation's messages are done
