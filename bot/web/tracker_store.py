"""Rasa's SQL tracker store, with the connection handling our own store uses.

Rasa's `SQLTrackerStore` (its table, its queries, its events) keeps every
conversation in our database so that it survives a restart. On SQLite,
SQLAlchemy 1.4 opens a new connection for every session and Rasa leaves the
file in its default rollback journal with a full sync on every commit: a
third of a turn went to opening, syncing and closing the file. Here SQLite
connections are pooled and set up as our store sets them up (WAL, a
busy timeout, `synchronous=NORMAL`: durable at checkpoints, safe against a
crashed process); PostgreSQL's engine is Rasa's, and a query that finds its
pooled connection cut (the database restarted) runs once more on a new one
instead of the whole pool being pinged before every query. New
events are written with one multi-row insert instead of one ORM object each
(the same rows, in the same order), and read back as their JSON column only.
The queries run on a thread, not on the Rasa server's event loop, which goes
on with other visitors' messages meanwhile (Rasa's lock store keeps one
conversation's messages in order). A tracker remembers how many of its
events are stored, so a save neither counts them nor, with an event broker,
retrieves the whole conversation again to find what to publish.

Configured by `dynchat run` (`bot.web.serve.endpoints_for`) as
`tracker_store: {type: bot.web.tracker_store.SQLTrackerStore, url: ...}`.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TypeVar

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from bot.store.database import sqlite_pragmas

if TYPE_CHECKING:
    from rasa.shared.core.events import Event
    from sqlalchemy.orm import Session

T = TypeVar("T")

STORED = "_dynchat_stored_events"  # on a tracker: how many of its events are in the table


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    """Rasa's SQL tracker store; on SQLite, pooled connections with our pragmas."""

    engine: sa.engine.Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            # one thread (the server's event loop) uses it, so one kept connection serves
            self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4,
                                           connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's `_retrieve`, reading only the events' JSON (not whole ORM objects), off the event loop."""
        rows = await asyncio.to_thread(self._event_data, sender_id, fetch_events_from_all_sessions)
        events = [json.loads(data) for data in rows]
        if self.domain and events:
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            if not fetch_events_from_all_sessions:  # what save's own count would find: no query needed then
                tracker.__dict__[STORED] = len(tracker.events)
            return tracker
        return None

    def _event_data(self, sender_id: str, fetch_events_from_all_sessions: bool) -> List[str]:
        def read(session: "Session") -> List[str]:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions) \
                .with_entities(self.SQLEvent.data).all()
            return [data for (data,) in rows]

        return self._on_a_live_connection(read)

    def _on_a_live_connection(self, work: Callable[["Session"], T], commit: bool = False) -> T:
        """`work` in a session; when it finds its pooled connection dead (the database restarted), once more
        on a new one. (SQLAlchemy's `pool_pre_ping` gives the same with a round trip before every query.) A
        failed commit is not tried again: it may have been written."""
        for attempt in range(2):
            with self.session_scope() as session:
                try:
                    result = work(session)
                except sa.exc.DBAPIError as error:
                    if attempt == 0 and error.connection_invalidated:  # the pool is renewed: try again
                        continue
                    raise
                if commit:
                    session.commit()
                return result
        raise AssertionError("unreachable")

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save`: the events not yet stored, published to the event broker (Rasa's order: published,
        then stored) and stored as Rasa's rows in one insert, the database's part off the event loop.

        Rasa finds the new events by counting the stored ones, and its event broker by retrieving the whole
        tracker again; a tracker this store retrieved (or saved) knows how many of its events are stored, so
        neither query is made for it."""
        stored = tracker.__dict__.get(STORED)
        if stored is None or stored > len(tracker.events):
            new = await asyncio.to_thread(self._unstored, tracker)
        else:
            new = list(itertools.islice(tracker.events, stored, len(tracker.events)))
        if self.event_broker is not None and new:
            await self._stream_new_events(self.event_broker, new, tracker.sender_id)
        await asyncio.to_thread(self._insert, tracker.sender_id, new)
        tracker.__dict__[STORED] = len(tracker.events)

    def _unstored(self, tracker: DialogueStateTracker) -> List["Event"]:
        return self._on_a_live_connection(lambda session: list(self._additional_events(session, tracker)))

    def _insert(self, sender_id: str, events: List["Event"]) -> None:
        rows = [self._row(sender_id, event) for event in events]
        if rows:
            self._on_a_live_connection(lambda session: session.execute(sa.insert(self.SQLEvent.__table__), rows),
                                       commit=True)

    @staticmethod
    def _row(sender_id: str, event: "Event") -> Dict[str, Any]:
        data = event.as_dict()
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)}
