"""Scaling out as Rasa does, for real: two Rasa servers and two action servers behind HAProxy, on PostgreSQL,
Redis (Rasa's lock store) and RabbitMQ (Rasa's Pika event broker), started by `dynchat run` (issue 11).

Without PostgreSQL, Redis or RabbitMQ on this machine the module is skipped with a message; in CI it fails.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Set

import pytest
import requests
from sqlalchemy import and_, func, select

from bot.store.database import open_database
from bot.store.meetings import Meetings
from bot.store.schema import chat_events
from tests.support import FIXTURES, require_service
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e

HOME = "https://acme.test/"


def ports_in_a_row(count: int) -> int:
    """A port with the next `count` ones free too (the servers behind HAProxy take the ones after it)."""
    for _ in range(50):
        base = e2e_support.free_port()
        free = True
        for port in range(base, base + count + 1):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    free = False
        if free:
            return base
    raise AssertionError("no run of free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, module_postgres_url: str) -> Iterator[e2e_support.Bot]:
    require_service("Redis", 6379)
    require_service("RabbitMQ", 5672)
    queue = f"dynchat_test_{uuid.uuid4().hex[:8]}"
    env = e2e_support.environment(tmp_path_factory.mktemp("scale"), FIXTURES / "dialogues",
                                  rasa_port=ports_in_a_row(2), action_port=ports_in_a_row(2))
    env.update({"DATABASE_URL": module_postgres_url, "REDIS_URL": "redis://127.0.0.1:6379/3",
                "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/", "DYNCHAT_EVENTS_QUEUE": queue,
                "DYNCHAT_RASA_SERVERS": "2", "DYNCHAT_ACTION_SERVERS": "2",
                "DYNCHAT_AGENTS": str(FIXTURES / "agents" / "always.yml"),
                "DYNCHAT_RATE_PER_VISITOR": "10"})  # more than a conversation here sends; a script meets it
    e2e_support.train(env)
    running = e2e_support.start(env, timeout=600)
    yield running
    assert running.stop() == 0, "".join(running.output[-50:])
    asyncio.run(_delete_queue(queue))


async def _delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


def _conversation(bot: e2e_support.Bot, me: str) -> List[str]:
    """A whole conversation with a booking; which server answered each turn."""
    served = []
    rest = bot.base + "/webhooks/rest/webhook"
    sender = bot.conversation(me)
    turns = [("/session_start", {"url": HOME, **bot.signed(f"{me}@x.test"), "person": {"phone": "+46700000000"}}),
             ("/dc__general__colour__2", None)]
    answer = None
    for text, metadata in turns:
        answer = requests.post(rest, json={"sender": sender, "message": text, "metadata": metadata or {}}, timeout=60)
        assert answer.status_code == 200 and answer.json(), (text, answer.status_code, answer.text[:300])
        served.append(answer.headers["X-Dynchat-Server"])
    offer = answer.json()[0]["buttons"]
    payload = offer[int(me.rsplit("-", 1)[1]) % len(offer[:-1])]["payload"]
    for _ in range(5):
        booked = requests.post(rest, json={"sender": sender, "message": payload}, timeout=60)
        served.append(booked.headers["X-Dynchat-Server"])
        texts = [m.get("text", "") for m in booked.json()]
        buttons = [b for m in booked.json() for b in m.get("buttons") or [] if b["payload"].startswith("/dc_meeting{")]
        if texts and texts[0].startswith("You're booked"):
            return served
        payload = buttons[0]["payload"] if buttons else payload
    raise AssertionError(f"{me} was not booked: {texts}")


def test_conversations_are_spread_over_both_rasa_servers_and_every_booking_is_one_meeting(cluster) -> None:
    visitors = [f"scale-{n}" for n in range(16)]
    with ThreadPoolExecutor(8) as pool:
        served = [name for names in pool.map(lambda me: _conversation(cluster, me), visitors) for name in names]
    assert {"rasa1", "rasa2"} <= set(served)  # round robin over both, each visitor's turns on either
    store = Meetings(open_database(cluster.env["DATABASE_URL"]))
    ids = {cluster.conversation(me) for me in visitors}
    booked = [m for m in store.list() if m.conversation in ids and m.status == "booked"]
    assert sorted(m.conversation for m in booked) == sorted(ids)  # one meeting per visitor
    assert len({(m.agent_email, m.start_at) for m in booked}) == len(booked)  # no agent double-booked
    # the dashboards' counts came through RabbitMQ: the events consumer counted each visitor's visit once
    assert _wait_counted(cluster, ids) == {conversation: 1 for conversation in ids}


def _triggered(cluster: e2e_support.Bot, ids: Set[str]) -> Dict[str, int]:
    database = open_database(cluster.env["DATABASE_URL"])
    try:
        with database.engine.connect() as connection:
            rows = connection.execute(select(chat_events.c.conversation, func.count()).where(and_(
                chat_events.c.kind == "triggered", chat_events.c.conversation.in_(ids))).group_by(chat_events.c.conversation)).all()
    finally:
        database.dispose()
    return {conversation: int(count) for conversation, count in rows}


def _wait_counted(cluster: e2e_support.Bot, ids: Set[str], timeout: float = 30) -> Dict[str, int]:
    """What the events consumer counted for these conversations, once it has counted each."""
    deadline = time.monotonic() + timeout
    seen = _triggered(cluster, ids)
    while set(seen) != ids and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = _triggered(cluster, ids)
    return seen


def test_the_dashboards_counts_wait_in_rabbitmq_while_the_events_consumer_is_down(cluster) -> None:
    """Stopped, then killed with what it had taken unacknowledged: nothing is lost and nothing counted twice."""
    found = subprocess.run(["pgrep", "-f", f"bot.web.events .*--port {cluster.env['DYNCHAT_EVENTS_PORT']}$"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, "the events consumer is not running"
    os.kill(int(found[0]), signal.SIGSTOP)
    try:
        visitors = [f"while-down-{n}" for n in range(3)]
        for me in visitors:
            _conversation(cluster, me)
        ids = {cluster.conversation(me) for me in visitors}
        time.sleep(1)
        assert _triggered(cluster, ids) == {}  # taken by the stopped consumer, not counted
    finally:
        os.kill(int(found[0]), signal.SIGKILL)  # its deliveries go back to the queue
    assert _wait_counted(cluster, ids, timeout=60) == {conversation: 1 for conversation in ids}
    assert "the events consumer stopped (code -9); restarting it" in cluster.everything_printed()


def test_a_visitor_is_limited_across_both_rasa_servers(cluster) -> None:
    """Before, each Rasa server counted alone: round robin over two gave a script twice the limit (here all 20)."""
    sender = cluster.conversation("replaying")
    answers = [requests.post(cluster.base + "/webhooks/rest/webhook", timeout=60,
                             json={"sender": sender, "message": "/session_start", "metadata": {"url": HOME}})
               for _ in range(20)]
    assert {answer.headers.get("X-Dynchat-Server") for answer in answers} == {"rasa1", "rasa2"}
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {200, 429} and statuses.count(200) <= 12, statuses  # 10 a minute, refilled as it goes
    assert all(answer.headers["Retry-After"] for answer in answers if answer.status_code == 429)


def test_a_rasa_server_killed_under_traffic_leaves_the_other_answering(cluster) -> None:
    found = subprocess.run(["pgrep", "-f", f"rasa run .* --port {cluster.rasa_port + 1} "], capture_output=True,
                           text=True).stdout.split()
    assert found, "the first Rasa server is not running"
    os.kill(int(found[0]), signal.SIGKILL)
    answered = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        me = uuid.uuid4().hex
        reply = requests.post(cluster.base + "/webhooks/rest/webhook", timeout=60, json={
            "sender": cluster.conversation(me), "message": "/session_start", "metadata": {"url": HOME}})
        answered.append((reply.status_code, reply.headers.get("X-Dynchat-Server")))
        time.sleep(0.2)
    assert all(status == 200 for status, _ in answered), answered  # a refused connection is tried on the other
    assert {server for _, server in answered[:20]} == {"rasa2"}  # the other took every visitor meanwhile
    assert "the Rasa server 1 stopped (code -9); restarting it" in cluster.everything_printed()


def test_only_the_chat_is_routed_for_other_machines(cluster) -> None:
    """HAProxy routes the chat's paths for everyone and Rasa's API for this machine alone (the token still applies)."""
    def status_from(source: str, path: str) -> int:
        with socket.create_connection(("127.0.0.1", cluster.rasa_port), timeout=10, source_address=(source, 0)) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n".encode())
            return int(conn.recv(64).split()[1])

    other = "127.0.0.2"  # another address: to the balancer, another machine
    assert status_from("127.0.0.1", "/status") == 401  # this machine reaches Rasa's API (which wants its token)
    assert status_from(other, "/status") == 403 and status_from(other, "/conversations/x/tracker") == 403
    assert status_from(other, "/widget.js") == 200 and status_from(other, "/") == 200
