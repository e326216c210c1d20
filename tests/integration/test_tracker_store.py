"""Our SQL tracker store writes and reads exactly what Rasa's does, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.web.tracker_store import SQLTrackerStore

DOMAIN = Domain.from_dict({
    "intents": ["dc_start", "dc__shop__q__1"],
    "slots": {"dc_completed": {"type": "any", "mappings": [{"type": "custom"}]},
              "person_email": {"type": "text", "mappings": [{"type": "custom"}]}},
    "responses": {"utter_hello": [{"text": "Hello"}]},
})

TURNS: List[List[Any]] = [
    [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.0),
     ActionExecuted("action_listen", timestamp=1.1)],
    [UserUttered("/dc_start", {"name": "dc_start", "confidence": 1.0}, timestamp=2.0,
                 metadata={"url": "https://acme.test/"}),
     ActionExecuted("utter_hello", timestamp=2.1), BotUttered("Hello", timestamp=2.1),
     SlotSet("person_email", "ceo@bigcorp.com", timestamp=2.2), ActionExecuted("action_listen", timestamp=2.3)],
    [UserUttered("back", {"name": "dc__shop__q__1", "confidence": 0.8}, timestamp=3.0),
     UserUtteranceReverted(timestamp=3.1), SlotSet("dc_completed", ["shop"], timestamp=3.2)],
    [ActionExecuted("action_session_start", timestamp=9000.0), SessionStarted(timestamp=9000.0),
     SlotSet("dc_completed", ["shop"], timestamp=9000.0), ActionExecuted("action_listen", timestamp=9000.1)],
]


def _rows(url: str) -> List[Tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"))]
    finally:
        engine.dispose()


class Published(EventBroker):
    """What the store hands to an event broker (Rasa's Pika broker publishes exactly these bodies)."""

    def __init__(self) -> None:
        self.bodies: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.bodies.append(event)


def _converse(store: Any) -> List[Any]:
    """Save a conversation turn by turn as the processor does (the third turn on the object the second saved,
    as the processor saves twice in a turn); what Rasa reads back each time, and what it publishes."""
    store.event_broker = Published()

    async def run() -> List[Any]:
        seen = []
        tracker = DialogueStateTracker("visitor-1", DOMAIN.slots)
        for number, turn in enumerate(TURNS):
            retrieved = await store.retrieve("visitor-1") if number != 2 else None
            if retrieved is not None:
                tracker = retrieved
            for event in turn:
                tracker.update(event, DOMAIN)
            await store.save(tracker)
            for read in (await store.retrieve("visitor-1"), await store.retrieve_full_tracker("visitor-1")):
                seen.append((read.current_state(), [e.as_dict() for e in read.events]))
        seen.append(await store.retrieve("nobody"))
        seen.append(store.event_broker.bodies)
        return seen
    return asyncio.run(run())


def _both(url_ours: str, url_rasa: str) -> None:
    ours = SQLTrackerStore(domain=DOMAIN, host=url_ours)
    theirs = RasaSQLTrackerStore(domain=DOMAIN, host=url_rasa)
    try:
        assert _converse(ours) == _converse(theirs)
        assert _rows(url_ours) == _rows(url_rasa) and len(_rows(url_ours)) == sum(len(t) for t in TURNS)
        assert len(ours.event_broker.bodies) == sum(len(t) for t in TURNS)  # each event published once
    finally:
        ours.engine.dispose()
        theirs.engine.dispose()


def test_on_sqlite_the_same_rows_and_trackers_with_pooled_wal_connections(tmp_path) -> None:
    _both(f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'rasa.db'}")
    store = SQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'ours.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert type(store.engine.pool).__name__ == "QueuePool"
    finally:
        store.engine.dispose()


def test_on_postgresql_the_same_rows_and_trackers_as_rasa_s(postgres_url: str, tmp_path_factory) -> None:
    # Rasa's own store on SQLite for reference (not in a folder named after this test: Rasa takes
    # any URL with "postgresql" in it for PostgreSQL)
    _both(postgres_url, f"sqlite:///{tmp_path_factory.mktemp('reference') / 'rasa.db'}")


def test_connections_cut_by_a_database_restart_are_replaced_within_the_turn(postgres_url: str) -> None:
    """PostgreSQL restarted between two turns (its connections to us cut): the next read and the next save
    each find their pooled connection dead and succeed on a new one, writing each event once."""
    store = SQLTrackerStore(domain=DOMAIN, host=postgres_url)
    database = sa.engine.make_url(postgres_url).database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def cut() -> None:
        with admin.connect() as connection:
            killed = connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database}).scalar()
        assert killed >= 1  # the store's pooled connection was there to cut

    async def run() -> List[int]:
        tracker = DialogueStateTracker("visitor-2", DOMAIN.slots)
        for event in TURNS[0]:
            tracker.update(event, DOMAIN)
        await store.save(tracker)
        cut()
        tracker = await store.retrieve("visitor-2")
        for event in TURNS[1]:
            tracker.update(event, DOMAIN)
        cut()
        await store.save(tracker)
        cut()
        return [len((await store.retrieve("visitor-2")).events)]

    try:
        assert asyncio.run(run()) == [len(TURNS[0]) + len(TURNS[1])]
        assert len(_rows(postgres_url)) == len(TURNS[0]) + len(TURNS[1])
    finally:
        store.engine.dispose()
        admin.dispose()
