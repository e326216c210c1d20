"""What every calendar provider shares: the created event and the error."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


class CalendarError(Exception):
    """The calendar refused, or could not be reached after retries."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"calendar error {status}: {reason}")
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class CreatedEvent:
    event_id: str
    join_url: Optional[str]
