"""Rasa's SQL tracker store, with the connection handling our own store uses.

Rasa's `SQLTrackerStore` (its table, its queries, its events) keeps every
conversation in our database so that it survives a restart. On SQLite,
SQLAlchemy 1.4 opens a new connection for every session and Rasa leaves the
file in its default rollback journal with a full sync on every commit: a
third of a turn went to opening, syncing and closing the file. Here SQLite
connections are pooled and set up as our store sets them up (WAL, a
busy timeout, `synchronous=NORMAL`: durable at checkpoints, safe against a
crashed process); PostgreSQL is left exactly as Rasa configures it. New
events are written with one multi-row insert instead of one ORM object each
(the same rows, in the same order), and read back as their JSON column only.

Configured by `dynchat run` (`bot.web.serve.endpoints_for`) as
`tracker_store: {type: bot.web.tracker_store.SQLTrackerStore, url: ...}`.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Optional

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from bot.store.database import sqlite_pragmas

if TYPE_CHECKING:
    from rasa.shared.core.events import Event


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    """Rasa's SQL tracker store; on SQLite, pooled connections with our pragmas."""

    engine: sa.engine.Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "postgresql":
            # a database restarted under load: a pooled connection is tested before use, not failed in a turn
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **tracker_store.create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            # one thread (the server's event loop) uses it, so one kept connection serves
            self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4,
                                           connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's `_retrieve`, reading only the events' JSON (not whole ORM objects)."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions) \
                .with_entities(self.SQLEvent.data).all()
            events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save`: the events not yet stored, as Rasa's rows, in one insert."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [self._row(tracker.sender_id, event) for event in self._additional_events(session, tracker)]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()

    @staticmethod
    def _row(sender_id: str, event: "Event") -> Dict[str, Any]:
        data = event.as_dict()
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)}
