"""Meetings, their statuses and what a booking asks for."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

from bot.core.agents import RoutingSpec

Interval = Tuple[int, int]  # [start, end) in epoch seconds, UTC


class MeetingStatus(str, enum.Enum):
    """A meeting's status as stored; `past` is computed on read for active meetings that have ended."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    FAILED = "failed"
    PAST = "past"

    def __str__(self) -> str:
        return self.value


ACTIVE = (MeetingStatus.BOOKED.value, MeetingStatus.RESCHEDULED.value)
ENDED = (MeetingStatus.CANCELLED.value, MeetingStatus.FAILED.value)  # the time is free again


@dataclass(frozen=True)
class Meeting:
    id: str
    agent_email: str
    lead_email: Optional[str]
    start_at: int
    end_at: int
    status: str
    calendar: str
    reason: str
    pool: Optional[str] = None
    event_id: Optional[str] = None
    join_url: Optional[str] = None
    lead_id: Optional[int] = None
    conversation: Optional[str] = None
    dialogue: Optional[str] = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class BookingRequest:
    start_at: int
    duration_minutes: int
    lead_email: Optional[str]
    facts: Mapping[str, Any] = field(default_factory=dict)   # person.*/company.* for account and rule routing
    routing: RoutingSpec = "round_robin"
    lead_id: Optional[int] = None
    conversation: Optional[str] = None
    dialogue: Optional[str] = None       # the dialogue whose meeting card asked (counted for its dashboard)
