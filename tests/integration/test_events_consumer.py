"""Broker mode (RABBITMQ_URL): a step's counts leave the action as the `dc_happened` slot, Rasa's own Pika event
broker publishes it, and the events consumer counts it from a real RabbitMQ (issue 11).

Without RabbitMQ on this machine the module is skipped with a message; in CI it fails.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import aio_pika
import pytest
import yaml
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from sqlalchemy import select, text

from bot.app import Services
from bot.core.analytics import Step
from bot.marketo.client import MarketoClient, MarketoConfig
from bot.marketo.writeback import DEFAULT_TYPE_IDS, WriteBack
from bot.store.schema import outbox
from bot.web.events import EventsConsumer, steps_in
from tests.integration.test_actions import build_services, run
from tests.support import FIXTURES, require_service

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DAY = "2030-03-18"
AT = 1900051200.0  # 2030-03-18 (the fixture clock's day)


@pytest.fixture()
def queue() -> Iterator[str]:
    require_service("RabbitMQ", 5672)
    name = f"dynchat_test_{uuid.uuid4().hex[:8]}"
    yield name
    asyncio.run(_delete(name))


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path, RABBITMQ_URL=AMQP)
    # Marketo on a port nothing answers: what is queued for it stays in the outbox, where the test reads it
    client = MarketoClient(MarketoConfig("http://127.0.0.1:9", "id", "secret", max_attempts=1, timeout=0.5))
    built.__dict__["writeback"] = WriteBack(built.outbox, client, DEFAULT_TYPE_IDS)
    yield built
    built.close()


async def _delete(name: str) -> None:
    connection = await aio_pika.connect_robust(AMQP)
    async with connection:
        await (await connection.channel()).queue_delete(name)


def _published(sender: str, step: Step) -> List[Dict[str, Any]]:
    """A turn's events as Rasa's tracker store streams them (`_stream_new_events`): the visitor's message, the
    action, and the step's slot."""
    events = [UserUttered("hi", timestamp=step.at), ActionExecuted("action_dc_step", timestamp=step.at),
              SlotSet("dc_happened", step.as_slot(), timestamp=step.at)]
    return [{"sender_id": sender, **event.as_dict()} for event in events]


async def _publish_with_rasa(queue: str, bodies: List[Dict[str, Any]], raw: List[bytes] = ()) -> None:
    broker = PikaEventBroker("127.0.0.1", "guest", "guest", port=5672, queues=[queue])
    await broker.connect()
    for body in bodies:
        broker.publish(body)
    connection = await aio_pika.connect_robust(AMQP)
    async with connection:
        channel = await connection.channel()
        for body in raw:  # what no Rasa sends: the consumer must take it and go on
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)
        for _ in range(100):
            if (await channel.declare_queue(queue, passive=True)).declaration_result.message_count >= len(bodies) + len(raw):
                break
            await asyncio.sleep(0.05)
    await broker.close()


def _consume_until(consumer: EventsConsumer, done: Callable[[], bool], timeout: float = 20.0) -> None:
    stopping = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stopping,), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert worker.is_alive() and time.monotonic() < deadline, f"not done in {timeout}s: {consumer.progress}"
            time.sleep(0.05)
    finally:
        stopping.set()
        worker.join(10)


def _activities(services: Services) -> List[str]:
    with services.database.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.payload).where(outbox.c.kind == "activity")).all()
    return sorted(json.loads(row.payload)["kind"] for row in rows)


def test_in_broker_mode_the_step_action_counts_nothing_and_hands_the_step_to_the_broker(services: Services) -> None:
    case = yaml.safe_load((FIXTURES / "trackers" / "step_knows_a_returning_lead.yml").read_text(encoding="utf-8"))
    sent = run(services, case["action"], case["tracker"])
    handed = [e["value"] for e in sent["events"] if e["event"] == "slot" and e["name"] == "dc_happened"]
    assert len(handed) == 1 and handed[0]["lead_id"] == 501
    assert [kind for kind, _ in handed[0]["events"]] == ["triggered"]
    assert services.analytics.event_count() == 0 and _activities(services) == []


def test_the_consumer_counts_each_step_once_from_what_rasa_published(services: Services, queue: str) -> None:
    known = Step("visitor-1", "m-1", 501, (("triggered", {"dialogue": "shop", "page": "/"}),
                                             ("captured", {"dialogue": "shop", "field": "person.email"})), AT)
    anonymous = Step("visitor-2", "m-1", None, (("triggered", {"dialogue": "shop"}), ("engaged", {"dialogue": "shop"})),
                     AT + 5)
    bodies = _published("visitor-1", known) + _published("visitor-2", anonymous) + _published("visitor-1", known)
    asyncio.run(_publish_with_rasa(queue, bodies, raw=[b"not json", b'{"event": "slot", "name": "dc_happened"}']))
    consumer = EventsConsumer(services.activity, AMQP, queue, wait=0.1)
    _consume_until(consumer, lambda: consumer.progress.messages == len(bodies) + 2)
    counts = services.analytics.report(DAY, DAY).dialogues["shop"].counts
    assert (counts["triggered"], counts["acquired"], counts["engaged"]) == (2, 1, 1)  # the repeated step: once
    assert _activities(services) == ["captured", "triggered"]  # the known lead's, once; nothing for the anonymous
    assert consumer.progress.steps == 3 and consumer.progress.failures == 0


def test_a_batch_the_database_refuses_stays_in_the_queue_and_is_counted_when_it_is_back(services: Services,
                                                                                      queue: str) -> None:
    step = Step("visitor-3", "m-1", None, (("triggered", {"dialogue": "shop"}),), AT)
    asyncio.run(_publish_with_rasa(queue, _published("visitor-3", step)))
    with services.database.engine.begin() as connection:  # a real failure: the table the counts go to is gone
        connection.execute(text("ALTER TABLE dc_chat_events RENAME TO dc_chat_events_away"))
    consumer = EventsConsumer(services.activity, AMQP, queue, wait=0.1)

    def renamed_back() -> bool:
        if consumer.progress.failures:
            with services.database.engine.begin() as connection:
                connection.execute(text("ALTER TABLE dc_chat_events_away RENAME TO dc_chat_events"))
            return True
        return False

    _consume_until(consumer, renamed_back)
    assert consumer.progress.messages == 0  # refused: back in the queue, not acknowledged
    _consume_until(consumer, lambda: consumer.progress.messages == 3)
    assert services.analytics.report(DAY, DAY).dialogues["shop"].counts["triggered"] == 1


def test_what_is_not_a_step_is_skipped() -> None:
    step = Step("v", "m", 7, (("goal", {"dialogue": "d", "goal": "demo"}),), AT)
    bodies = [json.dumps(body).encode() for body in _published("v", step)]
    bodies += [b"\xff", b"[]", json.dumps({"event": "slot", "name": "dc_happened", "sender_id": "v", "timestamp": 1,
                                           "value": {"turn": "m", "lead_id": True, "events": [["goal", {}]]}}).encode()]
    steps, others = steps_in(bodies)
    assert steps == [step] and others == 5
