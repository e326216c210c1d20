"""What happened in the chat, counted for the dashboards and written back to Marketo in one transaction.

A step that Rasa retries (the action server restarted mid-call, a timeout)
hands in the same events with the same turn: the analytics rows already
stored are not counted again, and their Marketo activities are not queued
again.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.core.analytics import event_for
from bot.marketo.writeback import WriteBack
from bot.store import analytics
from bot.store.database import Database
from bot.store.requests import PersonRequests

logger = logging.getLogger(__name__)

Happened = Tuple[str, Mapping[str, Any]]


class ChatActivity:
    def __init__(self, database: Database, writeback: WriteBack, requests: PersonRequests,
                 clock: Callable[[], float]) -> None:
        self.database, self.writeback, self.requests, self.clock = database, writeback, requests, clock

    def _record(self, connection: Any, happened: Sequence[Happened], conversation: str, turn: str,
                lead_id: Optional[int]) -> None:
        now = self.clock()
        counted = [(item, event_for(item[0], item[1], conversation, turn, now, lead_id)) for item in happened]
        new = {event.key for event in analytics.record(connection, [e for _, e in counted if e is not None])}
        fresh = [item for item, event in counted if event is None or event.key in new]
        self.writeback.chat_events(fresh, lead_id, connection)

    def record(self, happened: Sequence[Happened], conversation: str, turn: str, lead_id: Optional[int]) -> None:
        """Count the step's events and queue their activities (known leads), each once per turn."""
        if not happened:
            return
        with self.database.engine.begin() as connection:
            self._record(connection, happened, conversation, turn, lead_id)
        self.writeback.nudge()

    def person_requested(self, conversation: str, turn: str, dialogue: str, page: Optional[str],
                         lead_id: Optional[int], email: Optional[str], transcript: List[Dict[str, Any]]) -> bool:
        """The visitor asked for a person: the request with its transcript, its count and (known leads) the
        "Requested a Person" activity. False when this turn's request was recorded already."""
        with self.database.engine.begin() as connection:
            recorded = self.requests.add(connection, f"{conversation}|{turn}", conversation, dialogue, page,
                                         lead_id, email, transcript, now=self.clock())
            if recorded:
                self._record(connection, [("human", {"dialogue": dialogue, "page": page or ""})],
                             conversation, turn, lead_id)
        self.writeback.nudge()
        if recorded:
            logger.info("%s: asked for a person (request %s)", conversation, recorded)
        return recorded is not None
