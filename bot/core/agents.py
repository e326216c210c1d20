"""Sales agents, routing rules and the routing configuration they make together."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple, Union

from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How a meeting finds its agent: "round_robin", "rules", {"agent": EMAIL} or {"team": NAME}
RoutingSpec = Union[str, Mapping[str, str]]
CALENDARS = ("google", "outlook", "local")


@dataclass(frozen=True)
class Agent:
    name: str
    email: str
    timezone: str
    calendar: str = "local"
    availability: Tuple[Tuple[int, Tuple[Tuple[int, int], ...]], ...] = ()  # (weekday 0=mon, ((start, end) minutes))
    duration_minutes: int = 30
    buffer_minutes: int = 0
    min_notice_minutes: int = 0
    max_per_day: Optional[int] = None
    weight: int = 1
    teams: Tuple[str, ...] = ()
    active: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours(self, weekday: int) -> Tuple[Tuple[int, int], ...]:
        return dict(self.availability).get(weekday, ())


@dataclass(frozen=True)
class Rule:
    """`- {if: condition, team: NAME}` or `- {if: condition, agent: EMAIL}`, in priority order."""

    condition: Optional[Mapping[str, Any]]
    team: Optional[str] = None
    agent: Optional[str] = None


@dataclass(frozen=True)
class Routing:
    """Everything the router needs besides the moment: agents, rules and the account list."""

    agents: Tuple[Agent, ...]
    rules: Tuple[Rule, ...] = ()
    accounts: Mapping[str, str] = field(default_factory=dict)  # company or email domain -> agent email

    def agent(self, email: Optional[str]) -> Optional[Agent]:
        return next((a for a in self.agents if email and a.email == email.lower()), None)
