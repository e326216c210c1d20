"""Retention and the right to be forgotten, as Dynamic Chat has them, over `bot.store.privacy`.

Retention (configurable, `Settings`): anonymous visitors who never engaged
are deleted 90 days after their last message; goal and meeting records,
conversations and requests for a person after 24 months; messages for
Marketo 30 days after they were sent. `dynchat retention run` runs it, and
`dynchat run` runs it once a day.

`forget(email)` deletes a person everywhere we keep them; their future
meetings are cancelled in the agents' calendars first, so no invitation
outlives the record. Marketo keeps its own lead (delete it there).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Optional

from bot.calendars.providers import Calendars
from bot.core.meetings import ACTIVE
from bot.routing.agents import RoutingFile
from bot.services import meetings as meeting_service
from bot.store.meetings import Meetings
from bot.store.privacy import Deleted, PersonalData
from bot.store.visitors import normal_email

logger = logging.getLogger(__name__)
DAY = 86400.0


@dataclass(frozen=True)
class Retention:
    anonymous_days: int = 90     # anonymous visitors with no engagement
    record_months: int = 24      # goal and meeting records, conversations, requests for a person
    sent_days: int = 30          # messages Marketo has received


class Privacy:
    def __init__(self, data: PersonalData, meetings: Meetings, routing: RoutingFile, calendars: Calendars,
                 retention: Retention, clock: Callable[[], float] = time.time) -> None:
        self.data, self.meetings, self.routing, self.calendars = data, meetings, routing, calendars
        self.retention, self.clock = retention, clock

    def forget(self, email: str) -> Optional[Deleted]:
        """Delete the person with this email everywhere; None for something that is not an email."""
        wanted = normal_email(email)
        if not wanted or "@" not in wanted:
            return None
        lead_ids = self.data.lead_ids(wanted)
        conversations = self.data.conversations_of(wanted, lead_ids)
        cancelled = 0
        routing = self.routing.current()
        now = self.clock()
        for meeting in self.meetings.list(now=now):
            mine = meeting.lead_email == wanted or meeting.conversation in conversations
            if mine and meeting.status in ACTIVE and meeting.end_at > now and routing is not None:
                meeting_service.cancel(self.meetings, routing, self.calendars, meeting.id, "the visitor was forgotten")
                cancelled += 1
        deleted = self.data.forget(wanted, lead_ids, conversations)
        deleted.add("future meetings cancelled in the agents' calendars", cancelled)
        logger.info("forgot a person on request: %s", "; ".join(deleted.lines()))
        return deleted

    def expire(self) -> Deleted:
        now = self.clock()
        deleted = self.data.expire(now, anonymous_before=now - self.retention.anonymous_days * DAY,
                                   records_before=now - self.retention.record_months * 30.44 * DAY,
                                   sent_before=now - self.retention.sent_days * DAY)
        logger.info("retention: %s", "; ".join(deleted.lines()))
        return deleted
