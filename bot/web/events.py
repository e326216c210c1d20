"""The events consumer: the dashboards' counts from Rasa's event stream (broker mode, `RABBITMQ_URL`).

Rasa's Pika event broker publishes every conversation event to a durable
queue; a step's analytics travel in it as the `dc_happened` slot
(`bot.services.activity`). This process takes the queue's messages in
batches (up to BATCH, or what has come in WAIT seconds), counts a batch's
steps in one transaction and only then acknowledges it: a crash before the
commit leaves the messages in the queue, and a message delivered twice
counts once (each event is stored once by its key). Events that are not
steps are acknowledged and skipped. While the database is away, the batch
goes back to the queue and the consumer waits (1 s, 2 s ... 30 s).

`GET /health` answers 200 with what it counted while it is connected to
RabbitMQ, 503 while it is not (the supervisor restarts it).

Run: python -m bot.web.events --port 5035
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import aio_pika
from aiohttp import web

from bot import app, logs
from bot.core import naming
from bot.core.analytics import Step, step_from_broker

if TYPE_CHECKING:
    from aio_pika.abc import AbstractIncomingMessage

    from bot.services.activity import ChatActivity

logger = logging.getLogger(__name__)

EXCHANGE = "rasa-exchange"  # the fanout exchange Rasa's Pika event broker publishes to (declared as Rasa does)
BATCH = 200
WAIT = 0.2
BACKOFF_CAP = 30.0


def steps_in(bodies: Sequence[bytes]) -> Tuple[List[Step], int]:
    """The analytics steps among published events, and how many messages were not steps."""
    steps: List[Step] = []
    for body in bodies:
        try:
            step = step_from_broker(json.loads(body), naming.Slot.HAPPENED)
        except (ValueError, UnicodeDecodeError):
            step = None
        if step is not None:
            steps.append(step)
    return steps, len(bodies) - len(steps)


@dataclass
class Progress:
    connected: bool = False
    messages: int = 0
    steps: int = 0
    batches: int = 0
    failures: int = 0           # batches the database refused (put back in the queue)
    last_batch_at: Optional[float] = None

    def as_json(self) -> Dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class EventsConsumer:
    activity: "ChatActivity"
    url: str
    queue: str
    batch: int = BATCH
    wait: float = WAIT
    progress: Progress = field(default_factory=Progress)

    async def run(self, stopping: asyncio.Event) -> None:
        connection = await aio_pika.connect_robust(self.url)
        connection.reconnect_callbacks.add(lambda *_: self._connected(True))
        connection.close_callbacks.add(lambda *_: self._connected(False))
        inbox: "asyncio.Queue[AbstractIncomingMessage]" = asyncio.Queue()
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch)
            exchange = await channel.declare_exchange(EXCHANGE, type=aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(self.queue, durable=True)
            await queue.bind(exchange, "")
            tag = await queue.consume(inbox.put)
            self._connected(True)
            logger.info("counting the steps in RabbitMQ queue %s", self.queue)
            delay = 1.0
            while not stopping.is_set():
                batch = await self._next_batch(inbox, stopping)
                if not batch:
                    continue
                if await self._count(batch):
                    delay = 1.0
                else:
                    await asyncio.sleep(delay)
                    delay = min(BACKOFF_CAP, delay * 2)
            await queue.cancel(tag)

    def _connected(self, connected: bool) -> None:
        self.progress.connected = connected

    async def _next_batch(self, inbox: "asyncio.Queue[AbstractIncomingMessage]",
                          stopping: asyncio.Event) -> List["AbstractIncomingMessage"]:
        try:
            first = await asyncio.wait_for(inbox.get(), timeout=1.0)
        except asyncio.TimeoutError:
            return []
        batch = [first]
        deadline = time.monotonic() + self.wait
        while len(batch) < self.batch and not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), timeout=left))
            except asyncio.TimeoutError:
                break
        return batch

    async def _count(self, batch: Sequence["AbstractIncomingMessage"]) -> bool:
        """Count a batch and acknowledge it; on a database error put it back (True: counted)."""
        steps, _others = steps_in([message.body for message in batch])
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.activity.record_steps, steps)
        except Exception as error:  # the database away or refusing: the messages wait in the queue
            self.progress.failures += 1
            logger.warning("could not count %d steps (%s); they stay in the queue", len(steps), type(error).__name__)
            await _settle(batch[-1], counted=False)
            return False
        await _settle(batch[-1], counted=True)
        self.progress.messages += len(batch)
        self.progress.steps += len(steps)
        self.progress.batches += 1
        self.progress.last_batch_at = time.time()
        return True


async def _settle(last: "AbstractIncomingMessage", counted: bool) -> None:
    """Acknowledge (or put back) the batch up to `last`. After a reconnection its channel is gone and RabbitMQ
    delivers the batch again: counting it twice counts nothing new."""
    try:
        if counted:
            await last.ack(multiple=True)
        else:
            await last.nack(multiple=True, requeue=True)
    except Exception as error:  # the channel closed under the batch
        logger.info("the batch could not be settled (%s); RabbitMQ delivers it again", type(error).__name__)


def health_app(consumer: EventsConsumer) -> web.Application:
    async def health(_request: web.Request) -> web.Response:
        return web.json_response(consumer.progress.as_json(), status=200 if consumer.progress.connected else 503)

    server = web.Application()
    server.router.add_get("/health", health)
    return server


async def serve(consumer: EventsConsumer, host: str, port: int) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    runner = web.AppRunner(health_app(consumer), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await consumer.run(stopping)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="Count the steps Rasa's event broker publishes (RABBITMQ_URL)")
    parser.add_argument("--port", type=int, required=True, help="the health endpoint's port")
    args = parser.parse_args()
    logs.configure()
    logs.mask_personal_data()
    services = app.services()
    settings = services.settings
    if not settings.rabbitmq_url:
        raise SystemExit("dynchat: the events consumer needs RABBITMQ_URL")
    consumer = EventsConsumer(services.activity, settings.rabbitmq_url, settings.events_queue)
    asyncio.run(serve(consumer, settings.host, args.port))


if __name__ == "__main__":
    main()
