"""Rasa's Pika event broker, spooled to disk and published from a thread (broker mode, `RABBITMQ_URL`).

It sends what Rasa's `PikaEventBroker` sends, configured by the same endpoint
keys: one persistent JSON event a message (with `sender_id`), to the fanout
exchange and durable queues Rasa declares, with Rasa's headers and `app_id`,
so any consumer of Rasa's stream reads it as it is. Two things differ:

* **Nothing is lost when a Rasa server dies.** `publish` appends the event to
  a spool file (one JSON line, in `DYNCHAT_VAR/events/`; the write reaches the
  kernel before `publish` returns, so it survives the process) and a thread
  publishes the spool; a file is deleted once RabbitMQ has committed all it
  holds. Rasa's broker keeps what it could not publish (RabbitMQ away) in
  memory, lost with the process. A server that starts on the folder publishes
  the files no running server holds (each holds its own with a lock): a
  crashed server's events arrive once it is restarted. A message can come
  twice (the process died between RabbitMQ's commit and the file's deletion);
  the events consumer counts each step once.
* **Less CPU on the Rasa server's event loop.** Rasa's broker publishes each
  event as an aio-pika task that waits for its own publisher confirm: some
  0.5 ms of CPU an event, twenty events a turn. Here a thread publishes with
  `pika` in transactions of up to BATCH messages (one commit, RabbitMQ's
  guarantee that they are queued, per batch).

Configured by `dynchat run` (`bot.web.serve.endpoints_for`) as
`event_broker: {type: bot.web.broker.SpooledPikaEventBroker, url: ..., spool: ...}`.
"""
from __future__ import annotations

import asyncio
import collections
import fcntl
import itertools
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional, Sequence, Tuple, Union

import pika
import pika.exceptions
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import RABBITMQ_EXCHANGE

if TYPE_CHECKING:
    from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

BATCH = 200          # messages in one transaction at most
ROTATE = 5_000       # events in a spool file before the next one is begun
BACKOFF_CAP = 30.0   # seconds between tries to reach RabbitMQ, at most
SUFFIX = ".jsonl"


@dataclass
class Segment:
    """One spool file: held (locked) by this process while it is written or published."""

    path: Path
    fd: int
    written: int = 0
    published: int = 0
    sealed: bool = False  # nothing more is written to it

    def finished(self) -> bool:
        return self.sealed and self.published == self.written

    def remove(self) -> None:
        if self.fd < 0:  # an event that could not be spooled: in memory only
            return
        self.path.unlink(missing_ok=True)
        os.close(self.fd)  # the lock goes with it


@dataclass
class Pending:
    segment: Segment
    body: bytes
    headers: Optional[Dict[str, Any]]


def _hold(path: Path, create: bool) -> Optional[int]:
    """The file opened and locked for this process, or None when a running process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _spooled_lines(fd: int) -> List[Dict[str, Any]]:
    """A spool file's records; a line torn by a crash mid-write is left out."""
    with os.fdopen(os.dup(fd), "rb") as reading:
        reading.seek(0)
        records = []
        for line in reading:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("event"), dict):
                records.append(record)
        return records


class SpooledPikaEventBroker(EventBroker):
    """Rasa's Pika event broker's messages, from a spool on disk, published by a thread (see the module)."""

    def __init__(self, host: str, username: str = "guest", password: str = "guest", port: Union[int, str] = 5672,
                 queues: Union[Sequence[str], str, None] = None, exchange_name: str = RABBITMQ_EXCHANGE,
                 spool: Optional[str] = None, retry_delay_in_seconds: float = 1.0, **_ignored: Any) -> None:
        super().__init__()
        self.parameters = pika.ConnectionParameters(
            host=host, port=int(port), credentials=pika.PlainCredentials(username, password),
            heartbeat=30, blocked_connection_timeout=30, connection_attempts=1)
        self.queues = [queues] if isinstance(queues, str) else list(queues or ["rasa_core_events"])
        self.exchange_name = exchange_name
        self.folder = Path(spool) if spool else Path("var") / "events"
        self.retry_delay = float(retry_delay_in_seconds)
        self.app_id = os.environ.get("RASA_ENVIRONMENT")
        self._pending: Deque[Pending] = collections.deque()
        self._current: Optional[Segment] = None
        self._changed = threading.Condition()
        self._stopping = False
        self._connected = False
        self._thread: Optional[threading.Thread] = None

    @classmethod
    async def from_endpoint_config(cls, broker_config: Optional["EndpointConfig"],
                                   event_loop: Optional[asyncio.AbstractEventLoop] = None
                                   ) -> Optional["SpooledPikaEventBroker"]:
        if broker_config is None:
            return None
        broker = cls(broker_config.url, **broker_config.kwargs)
        await asyncio.to_thread(broker.start)
        return broker

    def start(self) -> None:
        """Take up the spool files no running server holds, then publish from a thread."""
        self.folder.mkdir(parents=True, exist_ok=True)
        adopted = 0
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            fd = _hold(path, create=False)
            if fd is None:
                continue  # a running server's own
            records = _spooled_lines(fd)
            segment = Segment(path, fd, written=len(records), sealed=True)
            if not records:
                segment.remove()
                continue
            for record in records:
                self._pending.append(Pending(segment, self._body(record["event"]), record.get("headers")))
            adopted += len(records)
        if adopted:
            logger.info("event broker: %d events left by a stopped Rasa server will be published", adopted)
        self._thread = threading.Thread(target=self._run, name="event-broker", daemon=True)
        self._thread.start()

    @staticmethod
    def _body(event: Dict[str, Any]) -> bytes:
        return json.dumps(event).encode("utf-8")

    def publish(self, event: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> None:
        """Spool the event (its line reaches the kernel before this returns) and hand it to the thread."""
        record = json.dumps({"event": event, "headers": headers} if headers else {"event": event})
        with self._changed:
            segment = self._current
            try:
                if segment is None or segment.sealed:
                    path = self.folder / f"{uuid.uuid4().hex}{SUFFIX}"
                    fd = _hold(path, create=True)
                    if fd is None:  # a new file no one else knows: cannot be held by another
                        raise OSError(f"{path} is held by another process")
                    segment = self._current = Segment(path, fd)
                os.write(segment.fd, (record + "\n").encode("utf-8"))
            except OSError as error:  # the disk full, say: published from memory only, as Rasa's broker does
                logger.warning("event broker: could not spool an event (%s); it is kept in memory only",
                               type(error).__name__)
                segment = Segment(Path(os.devnull), -1, sealed=True)
            segment.written += 1
            if segment.written >= ROTATE:
                segment.sealed = True
            self._pending.append(Pending(segment, self._body(event), headers))
            self._changed.notify()

    def is_ready(self) -> bool:
        return self._connected

    async def close(self) -> None:
        """Publish what is left for a few seconds; what is still not published stays in the spool."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)

    def backlog(self) -> int:
        """Events spooled and not yet committed to RabbitMQ."""
        with self._changed:
            return len(self._pending)

    # the thread

    def _run(self) -> None:
        delay = self.retry_delay
        connection: Optional[pika.BlockingConnection] = None
        channel: Any = None
        while True:
            with self._changed:
                if not self._pending:
                    if self._stopping:
                        break
                    self._changed.wait(timeout=1.0)
                if self._stopping and not self._pending:
                    break
                batch = list(itertools.islice(self._pending, BATCH))
            try:
                if connection is None or connection.is_closed:
                    connection, channel = self._connect()
                    self._connected, delay = True, self.retry_delay
                if batch:
                    self._send(channel, batch)
                    self._done(len(batch))
                else:
                    connection.process_data_events(0)  # heartbeats while idle
            except Exception as error:  # noqa: BLE001 - RabbitMQ away, or anything else: the thread must go on
                self._connected = False
                logger.warning("event broker: could not publish to RabbitMQ (%s); %d events kept in the spool, "
                               "trying again in %.0f s", type(error).__name__, self.backlog(), delay)
                self._close_quietly(connection)
                connection = None
                with self._changed:
                    if self._stopping:
                        break
                    self._changed.wait(timeout=delay)
                delay = min(delay * 2, BACKOFF_CAP)
        self._close_quietly(connection)
        self._connected = False

    def _connect(self) -> Tuple[pika.BlockingConnection, Any]:
        connection = pika.BlockingConnection(self.parameters)
        channel = connection.channel()
        # as Rasa's broker declares them (aio-pika's defaults): a fanout exchange, durable queues bound to it
        channel.exchange_declare(self.exchange_name, exchange_type="fanout")
        for queue in self.queues:
            channel.queue_declare(queue, durable=True)
            channel.queue_bind(queue, self.exchange_name)
        channel.tx_select()
        logger.info("event broker: connected to RabbitMQ at %s:%s", self.parameters.host, self.parameters.port)
        return connection, channel

    def _send(self, channel: Any, batch: List[Pending]) -> None:
        """One transaction: the messages framed into the connection's buffer, then one commit that sends them
        and waits for RabbitMQ's word. (The blocking channel's `basic_publish` flushes and polls the socket
        for every message, twice the CPU; its underlying channel frames without flushing. In a transaction
        nothing is queued before the commit, so a connection lost midway loses and doubles nothing.)"""
        publish = getattr(channel, "_impl", channel).basic_publish
        for pending in batch:
            publish(self.exchange_name, "", pending.body, pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent, headers=pending.headers, app_id=self.app_id))
        channel.tx_commit()

    def _done(self, count: int) -> None:
        """The first `count` pending events are in RabbitMQ: files all of whose events are, are deleted."""
        with self._changed:
            for _ in range(count):
                pending = self._pending.popleft()
                pending.segment.published += 1
                segment = pending.segment
                if segment is self._current and not self._pending and segment.published == segment.written:
                    segment.sealed = True  # all it holds is out: the next event begins a new file
                if segment.finished():
                    segment.remove()
                    if segment is self._current:
                        self._current = None

    @staticmethod
    def _close_quietly(connection: Optional[pika.BlockingConnection]) -> None:
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass
        return None
