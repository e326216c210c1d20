"""What happened in the chat, counted for the dashboards and written back to Marketo in one transaction.

A step that Rasa retries (the action server restarted mid-call, a timeout)
hands in the same events with the same turn: the analytics rows already
stored are not counted again, and their Marketo activities are not queued
again.

With an event broker (`RABBITMQ_URL`), a step's counts are not written by the
action: the step travels as the `dc_happened` slot through Rasa's Pika event
broker, and the events consumer (`bot.web.events`) counts a batch of steps
in one transaction, so the turn does not wait on the dashboards' shared rows.
A request for a person and a booked meeting are counted where they are
stored, in every mode.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.core.analytics import Step, event_for
from bot.marketo.writeback import WriteBack
from bot.store import analytics
from bot.store.database import Database
from bot.store.requests import PersonRequests

logger = logging.getLogger(__name__)

Happened = Tuple[str, Mapping[str, Any]]


class ChatActivity:
    def __init__(self, database: Database, writeback: WriteBack, requests: PersonRequests,
                 clock: Callable[[], float], deferred: bool = False) -> None:
        self.database, self.writeback, self.requests, self.clock = database, writeback, requests, clock
        self.deferred = deferred  # an event broker carries the steps to the events consumer

    def _record(self, connection: Any, steps: Sequence[Step]) -> None:
        counted = [[(item, event_for(item[0], item[1], step.conversation, step.turn, step.at, step.lead_id))
                    for item in step.happened] for step in steps]
        new = {event.key for event in analytics.record(
            connection, [event for pairs in counted for _, event in pairs if event is not None])}
        for step, pairs in zip(steps, counted):
            fresh = []
            for item, event in pairs:
                if event is None or event.key in new:
                    fresh.append(item)
                if event is not None:
                    new.discard(event.key)  # the same step twice in a batch: its activities once
            self.writeback.chat_events(fresh, step.lead_id, connection)

    def record(self, happened: Sequence[Happened], conversation: str, turn: str,
               lead_id: Optional[int]) -> Optional[Step]:
        """Count the step's events and queue their activities (known leads), each once per turn; with an event
        broker, return the step for the broker instead (the caller sets it as the `dc_happened` slot)."""
        if not happened:
            return None
        step = Step(conversation, turn, lead_id, tuple(happened), self.clock())
        if self.deferred:
            return step
        self.record_steps([step])
        return None

    def record_steps(self, steps: Sequence[Step]) -> None:
        """Count steps in one transaction (the events consumer's batch); a step counted before counts nothing."""
        if not steps:
            return
        with self.database.engine.begin() as connection:
            self._record(connection, steps)
        self.writeback.nudge()

    def person_requested(self, conversation: str, turn: str, dialogue: str, page: Optional[str],
                         lead_id: Optional[int], email: Optional[str], transcript: List[Dict[str, Any]]) -> bool:
        """The visitor asked for a person: the request with its transcript, its count and (known leads) the
        "Requested a Person" activity. False when this turn's request was recorded already."""
        with self.database.engine.begin() as connection:
            recorded = self.requests.add(connection, f"{conversation}|{turn}", conversation, dialogue, page,
                                         lead_id, email, transcript, now=self.clock())
            if recorded:
                self._record(connection, [Step(conversation, turn, lead_id,
                                               (("human", {"dialogue": dialogue, "page": page or ""}),), self.clock())])
        self.writeback.nudge()
        if recorded:
            logger.info("%s: asked for a person (request %s)", conversation, recorded)
        return recorded is not None
