"""A durable outbox: what must reach Marketo is written here first, then sent.

Rows survive a Marketo outage or a crashed process: a sender claims due rows
with a lease (several senders, on several hosts, never send one row twice
while the lease holds), marks them sent, or reschedules them with backoff.
Records Marketo refuses for good are kept as failed, visible in the status.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.store.database import Database
from bot.store.schema import outbox

LEASE_SECONDS = 120.0
BACKOFF_CAP = 3600.0


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    payload: Dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    due: int
    sent: int
    failed: int
    oldest_pending_seconds: Optional[float]
    last_error: Optional[str]


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5 s, 10 s, 20 s ... up to an hour."""
    return min(BACKOFF_CAP, 5.0 * 2 ** max(0, attempts - 1))


class Outbox:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def add(self, kind: str, payload: Mapping[str, Any], now: Optional[float] = None,
            connection: Optional[Connection] = None) -> None:
        """Queue a message; inside the caller's transaction when `connection` is given."""
        now = time.time() if now is None else now
        statement = insert(outbox).values(
            kind=kind, payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), created_at=now,
            attempts=0, next_attempt_at=now, failed=False)
        if connection is not None:
            connection.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)

    def claim(self, limit: int, now: Optional[float] = None, kinds: Sequence[str] = ()) -> List[Message]:
        """Lease up to `limit` due messages, oldest first."""
        now = time.time() if now is None else now
        token = uuid.uuid4().hex
        free = or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
        due = and_(outbox.c.sent_at.is_(None), outbox.c.failed.is_(False), outbox.c.next_attempt_at <= now, free)
        if kinds:
            due = and_(due, outbox.c.kind.in_(list(kinds)))
        candidates = select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(and_(outbox.c.id.in_(candidates.scalar_subquery()), free))
                               .values(claim=token, claimed_until=now + LEASE_SECONDS))
            rows = connection.execute(select(outbox).where(outbox.c.claim == token).order_by(outbox.c.id)).all()
        return [Message(row.id, row.kind, json.loads(row.payload), row.attempts) for row in rows]

    def sent(self, ids: Sequence[int], now: Optional[float] = None) -> None:
        if ids:
            with self.engine.begin() as connection:
                connection.execute(update(outbox).where(outbox.c.id.in_(list(ids))).values(
                    sent_at=time.time() if now is None else now, claimed_until=None, last_error=None))

    def retry_later(self, messages: Sequence[Message], error: str, now: Optional[float] = None,
                    delay: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self.engine.begin() as connection:
            for message in messages:
                wait = delay if delay is not None else backoff(message.attempts + 1)
                connection.execute(update(outbox).where(outbox.c.id == message.id).values(
                    attempts=message.attempts + 1, next_attempt_at=now + wait, claimed_until=None,
                    last_error=error))

    def refused(self, message: Message, error: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.id == message.id).values(
                attempts=message.attempts + 1, failed=True, claimed_until=None, last_error=error))

    def status(self, now: Optional[float] = None) -> OutboxStatus:
        now = time.time() if now is None else now
        pending = and_(outbox.c.sent_at.is_(None), outbox.c.failed.is_(False))
        with self.engine.connect() as connection:
            def count(condition) -> int:
                return int(connection.execute(select(func.count()).select_from(outbox).where(condition)).scalar_one())

            oldest = connection.execute(select(func.min(outbox.c.created_at)).where(pending)).scalar()
            last_error = connection.execute(select(outbox.c.last_error).where(outbox.c.last_error.is_not(None))
                                            .order_by(outbox.c.id.desc()).limit(1)).scalar()
            return OutboxStatus(
                pending=count(pending), due=count(and_(pending, outbox.c.next_attempt_at <= now)),
                sent=count(outbox.c.sent_at.is_not(None)), failed=count(outbox.c.failed.is_(True)),
                oldest_pending_seconds=(now - oldest) if oldest is not None else None, last_error=last_error)

    def refused_messages(self, limit: int = 100) -> List[Dict[str, Any]]:
        """Messages Marketo refused for good, newest first: kind, error, when (never the personal data they carry)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.id, outbox.c.kind, outbox.c.created_at, outbox.c.attempts,
                                             outbox.c.last_error).where(outbox.c.failed.is_(True))
                                      .order_by(outbox.c.id.desc()).limit(limit)).all()
        return [{"id": row.id, "kind": row.kind, "created_at": row.created_at, "attempts": row.attempts,
                 "error": row.last_error} for row in rows]

    def retry_refused(self, ids: Optional[Sequence[int]] = None, now: Optional[float] = None) -> int:
        """Queue refused messages again (all, or those ids), after the cause was fixed in Marketo; how many."""
        now = time.time() if now is None else now
        condition = outbox.c.failed.is_(True)
        if ids is not None:
            condition = and_(condition, outbox.c.id.in_(list(ids)))
        with self.engine.begin() as connection:
            return int(connection.execute(update(outbox).where(condition).values(
                failed=False, next_attempt_at=now, claimed_until=None, claim=None)).rowcount)
