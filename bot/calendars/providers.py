"""The agents' external calendars behind one small interface: busy time, create, cancel.

Local agents need nothing here (their bookings are in the store). An agent
whose calendar is not connected (no key configured) counts as busy: the bot
never offers a time it cannot check.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence

from bot.calendars.base import CalendarError, CreatedEvent
from bot.calendars.google import GoogleCalendar
from bot.calendars.outlook import OutlookCalendar
from bot.core.agents import Agent
from bot.core.meetings import Interval, Meeting

logger = logging.getLogger(__name__)


class Calendars:
    def __init__(self, google: Optional[GoogleCalendar] = None, outlook: Optional[OutlookCalendar] = None) -> None:
        self.google, self.outlook = google, outlook

    def _provider(self, kind: str):
        return {"google": self.google, "outlook": self.outlook}.get(kind)

    def busy(self, agents: Sequence[Agent], window: Interval) -> Dict[str, List[Interval]]:
        """External busy time per agent (local agents: none)."""
        busy: Dict[str, List[Interval]] = {}
        by_kind: Dict[str, List[Agent]] = {}
        for agent in agents:
            if agent.calendar != "local":
                by_kind.setdefault(agent.calendar, []).append(agent)
        for kind, members in by_kind.items():
            provider = self._provider(kind)
            if provider is None:
                for agent in members:
                    busy[agent.email] = [window]
                continue
            try:
                busy.update(provider.busy([a.email for a in members], window))
            except CalendarError as exc:
                logger.warning("%s free/busy failed (%s); those agents count as busy", kind, exc.status)
                for agent in members:
                    busy[agent.email] = [window]
        return busy

    def create(self, meeting: Meeting, agent: Agent, summary: str) -> Optional[CreatedEvent]:
        provider = self._provider(agent.calendar)
        if provider is None:
            return None
        return provider.create(meeting.id, agent.email, meeting.start_at, meeting.end_at, summary, meeting.lead_email)

    def reschedule(self, meeting: Meeting, agent: Agent) -> None:
        provider = self._provider(agent.calendar)
        if provider is not None and meeting.event_id:
            provider.reschedule(agent.email, meeting.event_id, meeting.start_at, meeting.end_at)

    def cancel(self, meeting: Meeting, agent: Agent) -> None:
        provider = self._provider(agent.calendar)
        if provider is not None and meeting.event_id:
            provider.cancel(agent.email, meeting.event_id)

    def check(self, agent: Agent, window: Interval) -> str:
        """Ask the agent's calendar for its busy time (the console's connection test); CalendarError or a
        LookupError (not connected) when it cannot answer, else what it said."""
        if agent.calendar == "local":
            return "the local calendar: meetings are kept here and offered as an iCalendar feed"
        provider = self._provider(agent.calendar)
        if provider is None:
            raise LookupError(f"the {agent.calendar} calendar is not connected (no credentials configured)")
        found, errors = provider.busy_and_errors([agent.email], window)
        if agent.email in errors:  # a calendar the provider could not read is no answer
            raise CalendarError(404 if errors[agent.email] == "notFound" else 0, errors[agent.email])
        busy = found.get(agent.email, [])
        return f"the {agent.calendar} calendar answered: {len(busy)} busy period(s) in the next 7 days"
