"""The console's Calendar tab: the agents as the running bot has them, their file edited with the same
checks as `data/agents.yml` by hand, a connection test per agent, and the local calendar's feed URLs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.calendars import local
from bot.calendars.base import CalendarError
from bot.calendars.providers import Calendars
from bot.core.agents import WEEKDAYS, Agent
from bot.core.diagnostics import Diagnostic
from bot.routing.agents import RoutingFile, parse_routing
from bot.services.dialogue_admin import problem_json, write_atomically

MAX_SOURCE = 512 * 1024


def _minutes(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def agent_json(agent: Agent, public_url: str, feed_secret: Optional[str]) -> Dict[str, Any]:
    return {"name": agent.name, "email": agent.email, "timezone": agent.timezone, "calendar": agent.calendar,
            "hours": {WEEKDAYS[day]: [f"{_minutes(a)}-{_minutes(b)}" for a, b in spans] for day, spans in agent.availability},
            "meeting_minutes": agent.duration_minutes, "buffer_minutes": agent.buffer_minutes,
            "min_notice_minutes": agent.min_notice_minutes, "max_per_day": agent.max_per_day, "weight": agent.weight,
            "teams": list(agent.teams), "active": agent.active,
            "feed_url": local.feed_url(public_url, feed_secret, agent.email) if agent.calendar == "local" else None}


class CalendarAdmin:
    def __init__(self, routing: RoutingFile, calendars: Calendars, public_url: str, feed_secret: Optional[str]) -> None:
        self.routing, self.calendars = routing, calendars
        self.public_url, self.feed_secret = public_url, feed_secret

    @property
    def path(self) -> Path:
        return self.routing.agents

    def view(self) -> Dict[str, Any]:
        source = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        agents, rules, problems = parse_routing(source, self.path.name) if source else ([], [], [])
        return {"file": self.path.name, "source": source, "problems": [problem_json(p, self.path.parent) for p in problems],
                "agents": [agent_json(a, self.public_url, self.feed_secret) for a in agents], "rules": len(rules),
                "meetings_on": self.routing.current() is not None, "feeds_on": bool(self.feed_secret)}

    def validate(self, source: str) -> List[Diagnostic]:
        if len(source.encode("utf-8")) > MAX_SOURCE:
            return [Diagnostic(self.path.name, 1, 1, f"an agents file has at most {MAX_SOURCE // 1024} kB")]
        return parse_routing(source, self.path.name)[2]

    def save(self, source: str) -> List[Diagnostic]:
        """Write the agents file when it has no problems (atomically); the bot re-reads it at once."""
        problems = self.validate(source)
        if not problems:
            write_atomically(self.path, source)
        return problems

    def test(self, email: str) -> Optional[Tuple[bool, str]]:
        """Ask one agent's calendar; None for an unknown agent."""
        routing = self.routing.current()
        agent = routing.agent(email) if routing else None
        if agent is None:
            return None
        now = int(time.time())
        try:
            return True, self.calendars.check(agent, (now, now + 7 * 86400))
        except LookupError as exc:
            return False, str(exc)
        except CalendarError as exc:
            return False, f"the {agent.calendar} calendar answered {exc.status}: {exc.reason}"
        except OSError as exc:
            return False, f"the {agent.calendar} calendar could not be reached ({type(exc).__name__})"

