"""What every calendar provider shares: the created event, the error, asking a group's free/busy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence


class CalendarError(Exception):
    """The calendar refused, or could not be reached after retries."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"calendar error {status}: {reason}")
        self.status, self.reason = status, reason


def ask_as_one_of(askers: Sequence[str], errors: Dict[str, str], ask: Callable[[str], Any],
                  unknown: Callable[["CalendarError"], bool]) -> Any:
    """A group's free/busy, asked as the first agent of the group the provider knows: an address it does not
    know (a typo: no user of the domain or tenant) is put in `errors` and the next agent asked, so the typo
    makes that agent unbookable, not the whole group."""
    for asker in askers:
        if asker in errors:
            continue
        try:
            return ask(asker)
        except CalendarError as exc:
            if not unknown(exc) or asker == askers[-1]:
                raise
            errors[asker] = exc.reason
    raise CalendarError(0, "no agent of the group is known to the calendar")


@dataclass(frozen=True)
class CreatedEvent:
    event_id: str
    join_url: Optional[str]
