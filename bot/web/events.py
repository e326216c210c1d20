"""The events consumer: the dashboards' counts from Rasa's event stream (broker mode, `RABBITMQ_URL`).

Rasa's Pika event broker publishes every conversation event to a durable
queue; a step's analytics travel in it as the `dc_happened` slot
(`bot.services.activity`). This process takes the queue's messages in
batches (up to BATCH, or what has come in WAIT seconds: a transaction per
batch, not per turn), counts a batch's steps in one transaction and only
then acknowledges it: a crash before the commit leaves the messages in the
queue, and a message delivered twice counts once (each event is stored once
by its key). Events that are not steps are acknowledged and skipped. While
the database is away, the batch goes back to the queue and the consumer
waits (1 s, 2 s ... 30 s); while RabbitMQ is away, it reconnects likewise.

It reads with `pika` (RabbitMQ's own client, blocking, in one thread): a
turn publishes some twenty events, and aio-pika's per-message cost made
this process the second busiest of a scaled-out bot.

`GET /health` answers 200 with what it counted while it is connected to
RabbitMQ, 503 while it is not (the supervisor restarts it).

Run: python -m bot.web.events --port 5035 [--host 127.0.0.1]
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import pika
import pika.exceptions

from bot import app, logs
from bot.core import naming
from bot.core.analytics import Step, step_from_broker

if TYPE_CHECKING:
    from bot.services.activity import ChatActivity

logger = logging.getLogger(__name__)

EXCHANGE = "rasa-exchange"  # the fanout exchange Rasa's Pika event broker publishes to (declared as Rasa does)
BATCH = 500   # messages at most in a batch (RabbitMQ hands out no more unacknowledged)
WAIT = 1.0    # seconds a batch waits for more: the dashboards need no fresher counts
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

    def run(self, stopping: threading.Event) -> None:
        """Consume until `stopping` is set, reconnecting with backoff when RabbitMQ goes away."""
        delay = 1.0
        while not stopping.is_set():
            try:
                self._consume(stopping)
                delay = 1.0
            except pika.exceptions.AMQPError as error:
                self.progress.connected = False
                logger.warning("RabbitMQ: %s; connecting again in %.0f s", type(error).__name__, delay)
                stopping.wait(delay)
                delay = min(BACKOFF_CAP, delay * 2)

    def _consume(self, stopping: threading.Event) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.batch)
            channel.exchange_declare(EXCHANGE, exchange_type="fanout")
            channel.queue_declare(self.queue, durable=True)
            channel.queue_bind(self.queue, EXCHANGE, routing_key="")
            self.progress.connected = True
            logger.info("counting the steps in RabbitMQ queue %s", self.queue)
            delay = 1.0
            bodies: List[bytes] = []
            last_tag: Optional[int] = None
            first_at = 0.0
            for method, _properties, body in channel.consume(self.queue, inactivity_timeout=min(self.wait, 0.5)):
                if method is not None:
                    if not bodies:
                        first_at = time.monotonic()
                    bodies.append(body)
                    last_tag = method.delivery_tag
                due = bodies and (len(bodies) >= self.batch or time.monotonic() - first_at >= self.wait or stopping.is_set())
                if due and last_tag is not None:
                    if self._count(bodies, functools.partial(_settle, channel, last_tag)):
                        delay = 1.0
                    else:
                        stopping.wait(delay)
                        delay = min(BACKOFF_CAP, delay * 2)
                    bodies, last_tag = [], None
                if stopping.is_set() and not bodies:
                    break
            channel.cancel()
        finally:
            self.progress.connected = False
            if connection.is_open:
                connection.close()

    def _count(self, bodies: Sequence[bytes], settle: Callable[[bool], None]) -> bool:
        """Count a batch and acknowledge it; on a database error put it back (True: counted)."""
        steps, _others = steps_in(bodies)
        try:
            self.activity.record_steps(steps)
        except Exception as error:  # the database away or refusing: the messages wait in the queue
            self.progress.failures += 1
            logger.warning("could not count %d steps (%s); they stay in the queue", len(steps), type(error).__name__)
            settle(False)
            return False
        settle(True)
        self.progress.messages += len(bodies)
        self.progress.steps += len(steps)
        self.progress.batches += 1
        self.progress.last_batch_at = time.time()
        return True


def _settle(channel: Any, last_tag: int, counted: bool) -> None:
    """Acknowledge (or put back) the batch up to `last_tag`."""
    if counted:
        channel.basic_ack(delivery_tag=last_tag, multiple=True)
    else:
        channel.basic_nack(delivery_tag=last_tag, multiple=True, requeue=True)


def health_server(consumer: EventsConsumer, host: str, port: int) -> ThreadingHTTPServer:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            ok = self.path == "/health" and consumer.progress.connected
            body = json.dumps(consumer.progress.as_json() if self.path == "/health" else {"error": "not found"}).encode()
            self.send_response(200 if ok else 503 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:  # the supervisor asks every few seconds: no line each time
            return

    return ThreadingHTTPServer((host, port), Health)


def main() -> None:
    parser = argparse.ArgumentParser(description="Count the steps Rasa's event broker publishes (RABBITMQ_URL)")
    parser.add_argument("--port", type=int, required=True, help="the health endpoint's port")
    parser.add_argument("--host", help="the health endpoint's interface (default: DYNCHAT_HOST)")
    args = parser.parse_args()
    logs.configure()
    logs.mask_personal_data()
    logging.getLogger("pika").setLevel(logging.WARNING)
    services = app.services()
    settings = services.settings
    if not settings.rabbitmq_url:
        raise SystemExit("dynchat: the events consumer needs RABBITMQ_URL")
    consumer = EventsConsumer(services.activity, settings.rabbitmq_url, settings.events_queue)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    health = health_server(consumer, args.host or settings.host, args.port)
    threading.Thread(target=health.serve_forever, name="health", daemon=True).start()
    try:
        consumer.run(stopping)
    finally:
        health.shutdown()


if __name__ == "__main__":
    main()
