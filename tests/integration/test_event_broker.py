"""The spooled event broker (`bot.web.broker`) against a real RabbitMQ: Rasa's messages, and none lost when a
Rasa server dies while RabbitMQ is away (issue 11).

Without RabbitMQ on this machine the module is skipped with a message; in CI it fails.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pika
import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from bot.web.broker import SpooledPikaEventBroker
from tests.support import PYTHON, ROOT, require_service

AMQP = pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture()
def exchange() -> Iterator[Tuple[str, str]]:
    """An exchange and a queue of this test's own (Rasa's exchange is shared by whatever else runs here)."""
    require_service("RabbitMQ", 5672)
    name = f"dynchat-test-{uuid.uuid4().hex[:8]}"
    yield name, name
    connection = pika.BlockingConnection(AMQP)
    channel = connection.channel()
    channel.queue_delete(name)
    channel.exchange_delete(name)
    connection.close()


def _bodies(sender: str, count: int) -> List[Dict[str, Any]]:
    """Events as Rasa's tracker store streams them: `sender_id` and the event's dict."""
    events = [UserUttered("hi", {"name": "greet", "confidence": 1.0}), ActionExecuted("action_dc_step"),
              SlotSet("dc_happened", {"dialogue": "pricing", "step": 2})]
    return [{"sender_id": sender, **events[n % len(events)].as_dict()} for n in range(count)]


def _received(queue: str, expected: int, timeout: float = 20) -> List[Tuple[Any, bytes]]:
    connection = pika.BlockingConnection(AMQP)
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)  # as the broker declares it, if it has not yet
    got: List[Tuple[Any, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        got.append((properties, body))
    time.sleep(0.3)  # nothing more than expected comes
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        got.append((properties, body))
    connection.close()
    return got


def _ours(exchange_queue: Tuple[str, str], spool: Path, port: int = 5672) -> SpooledPikaEventBroker:
    exchange, queue = exchange_queue
    broker = SpooledPikaEventBroker("127.0.0.1", "guest", "guest", port=port, queues=[queue], exchange_name=exchange,
                                    spool=str(spool), retry_delay_in_seconds=0.2)
    broker.start()
    return broker


def test_the_same_messages_as_rasa_s_own_broker(exchange, tmp_path: Path) -> None:
    bodies = _bodies("a" * 32, 30)

    async def with_rasa() -> None:
        rasa = PikaEventBroker("127.0.0.1", "guest", "guest", port=5672, queues=[exchange[1]], exchange_name=exchange[0])
        await rasa.connect()
        for body in bodies:
            rasa.publish(body, headers={"rasa-environment": "test"})
        while rasa._background_tasks:
            await asyncio.sleep(0.01)
        await rasa.close()

    asyncio.run(with_rasa())
    theirs = _received(exchange[1], len(bodies))
    ours = _ours(exchange, tmp_path / "events")
    for body in bodies:
        ours.publish(body, headers={"rasa-environment": "test"})
    mine = _received(exchange[1], len(bodies))
    asyncio.run(ours.close())
    assert [json.loads(body) for _, body in mine] == [json.loads(body) for _, body in theirs] == bodies
    for (my, _), (their, _) in zip(mine, theirs):
        assert (my.delivery_mode, my.headers, my.app_id) == (their.delivery_mode, their.headers, their.app_id)
        assert my.delivery_mode == 2  # persistent, in durable queues
    assert list((tmp_path / "events").iterdir()) == []  # all published: no spool file is left


SPOOLING = textwrap.dedent("""
    import sys, time
    from bot.web.broker import SpooledPikaEventBroker
    broker = SpooledPikaEventBroker("127.0.0.1", port=9, queues=[sys.argv[2]], exchange_name=sys.argv[2],
                                    spool=sys.argv[1], retry_delay_in_seconds=0.2)
    broker.start()
    for n in range(int(sys.argv[3])):
        broker.publish({"sender_id": "b" * 32, "event": "slot", "name": "dc_happened", "value": n})
    print("published", flush=True)
    time.sleep(600)
""")


def test_events_a_dead_server_could_not_publish_are_published_by_the_next(exchange, tmp_path: Path) -> None:
    """Before, Rasa's broker kept what it could not publish (RabbitMQ away) in memory: gone with a killed
    server. Here a server publishing to a RabbitMQ that does not answer is SIGKILLed; the next one to start on
    the spool publishes every event, once."""
    spool = tmp_path / "events"
    dying = subprocess.Popen([PYTHON, "-c", SPOOLING, str(spool), exchange[1], "250"], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    assert dying.stdout is not None and dying.stdout.readline().strip() == "published"
    dying.send_signal(signal.SIGKILL)
    dying.wait(timeout=10)
    assert sum(len(path.read_text().splitlines()) for path in spool.iterdir()) == 250
    with (spool / f"{uuid.uuid4().hex}.jsonl").open("w") as torn:  # a line cut by a crash mid-write is left out
        torn.write('{"event": {"sender_id": "c", "event": "slot", "value": 1}}\n{"event": {"sender_')
    successor = _ours(exchange, spool)
    got = [json.loads(body) for _, body in _received(exchange[1], 251)]
    asyncio.run(successor.close())
    assert sorted(event["value"] for event in got if event["sender_id"] == "b" * 32) == list(range(250))
    assert [event for event in got if event["sender_id"] == "c"] == [{"sender_id": "c", "event": "slot", "value": 1}]
    assert list(spool.iterdir()) == []


def test_a_running_server_s_spool_is_its_own(exchange, tmp_path: Path) -> None:
    """Two Rasa servers on one machine share the folder: one that starts does not take (and publish twice) the
    spool of one still running, which publishes it itself when RabbitMQ is back."""
    spool = tmp_path / "events"
    running = subprocess.Popen([PYTHON, "-c", SPOOLING, str(spool), exchange[1], "20"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout is not None and running.stdout.readline().strip() == "published"
        starting = _ours(exchange, spool)
        starting.publish({"sender_id": "d", "event": "slot", "value": 0})
        got = _received(exchange[1], 1, timeout=5)
        asyncio.run(starting.close())
        assert [json.loads(body)["sender_id"] for _, body in got] == ["d"]
        assert sum(len(path.read_text().splitlines()) for path in spool.iterdir()) == 20  # still the other's
    finally:
        running.kill()
        running.wait(timeout=10)


def test_rabbitmq_away_then_back_loses_nothing_and_the_order_holds(exchange, tmp_path: Path) -> None:
    """Published while RabbitMQ does not answer, the events wait in the spool and go, in order, once it does."""
    spool = tmp_path / "events"
    away = _ours(exchange, spool, port=9)
    for n in range(40):
        away.publish({"sender_id": "e", "event": "slot", "value": n})
    time.sleep(0.5)
    assert not away.is_ready() and away.backlog() == 40
    away.parameters.port = 5672  # "back": the next try reaches it
    got = [json.loads(body)["value"] for _, body in _received(exchange[1], 40)]
    asyncio.run(away.close())
    assert got == list(range(40)) and list(spool.iterdir()) == []


def test_an_event_that_cannot_be_spooled_is_still_published(exchange, tmp_path: Path) -> None:
    """The spool unwritable (a full disk, say): the turn goes on and the event is published from memory, as
    Rasa's broker would."""
    broker = _ours(exchange, tmp_path / "events")
    (tmp_path / "not-a-folder").write_text("")
    broker.folder = tmp_path / "not-a-folder" / "events"
    broker.publish({"sender_id": "f", "event": "slot", "value": 1})
    got = [json.loads(body) for _, body in _received(exchange[1], 1)]
    asyncio.run(broker.close())
    assert got == [{"sender_id": "f", "event": "slot", "value": 1}]
