"""Booking and cancelling with the agents' calendars: the path the chat and the CLI share.

Free/busy of external calendars is fetched first (never inside the
database lock), the booking is recorded under the lock, then the calendar
event is created idempotently; if the calendar refuses, the meeting is
marked failed and its agent gets the rotation credit back.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence, Tuple

from bot.calendars.base import CalendarError, CreatedEvent
from bot.calendars.providers import Calendars
from bot.core.agents import Agent, Routing
from bot.core.meetings import ACTIVE, BookingRequest, Meeting
from bot.dialogues.graph import condition_label
from bot.routing.router import Choice, PoolState, pool_label, weighted_order
from bot.store.meetings import BookingResult, Meetings

logger = logging.getLogger(__name__)


def book(store: Meetings, routing: Routing, calendars: Calendars, request: BookingRequest,
         now: Optional[float] = None, per_visitor: int = 0, by_email: bool = False,
         ) -> Tuple[BookingResult, Optional[CreatedEvent]]:
    end = request.start_at + request.duration_minutes * 60
    external = calendars.busy(list(routing.agents), (request.start_at - 3600, end + 3600))
    result = store.book(list(routing.agents), request, routing.rules, routing.accounts, external, now=now,
                        per_visitor=per_visitor, by_email=by_email)
    if result.meeting is None:
        return result, None
    agent = next(a for a in routing.agents if a.email == result.meeting.agent_email)
    try:
        created = calendars.create(result.meeting, agent, f"Meeting with {agent.name}")
    except CalendarError as exc:
        store.fail(result.meeting.id, f"the {agent.calendar} calendar refused the event ({exc.status} {exc.reason})")
        logger.warning("meeting %s failed: %s calendar %s", result.meeting.id, agent.calendar, exc.status)
        return BookingResult(None, Choice(None, f"{agent.email}'s calendar refused the event"),
                             calendar_failed=True), None
    if created is not None:
        store.attach_event(result.meeting.id, created.event_id, created.join_url)
    return result, created


def cancel(store: Meetings, routing: Routing, calendars: Calendars, meeting_id: str, why: str) -> Optional[Meeting]:
    meeting = store.get(meeting_id)
    if meeting is None or meeting.status not in ACTIVE:
        return meeting
    agent = next((a for a in routing.agents if a.email == meeting.agent_email), None)
    if agent is not None:
        try:
            calendars.cancel(meeting, agent)
        except CalendarError as exc:
            logger.warning("could not delete the calendar event of %s (%s); cancelling here", meeting_id, exc.status)
    return store.cancel(meeting_id, why)


def reschedule(store: Meetings, routing: Routing, calendars: Calendars, meeting_id: str, start: int,
               now: Optional[float] = None) -> Optional[Meeting]:
    """Move a meeting to a new time with the same agent; None when they are not free then."""
    meeting = store.get(meeting_id)
    agent = next((a for a in routing.agents if meeting and a.email == meeting.agent_email), None)
    if meeting is None or agent is None:
        return None
    end = start + (meeting.end_at - meeting.start_at)
    external = calendars.busy([agent], (start - 3600, end + 3600)).get(agent.email, [])
    if meeting.event_id:  # the meeting's own event is not in the way
        external = [span for span in external if span != (meeting.start_at, meeting.end_at)]
    moved = store.reschedule(meeting_id, agent, start, now=now, external_busy=external)
    if moved is not None:
        try:
            calendars.reschedule(moved, agent)
        except CalendarError as exc:
            logger.warning("could not move the calendar event of %s (%s)", meeting_id, exc.status)
    return moved


def reassign(store: Meetings, routing: Routing, calendars: Calendars, meeting_id: str,
             to: Optional[str] = None) -> Tuple[Optional[Meeting], Choice]:
    """Move a meeting to another agent: their calendar gets the event, the old one loses it."""
    before = store.get(meeting_id)
    if before is None:
        return None, Choice(None, "no such meeting")
    window = (before.start_at - 3600, before.end_at + 3600)
    external = calendars.busy([a for a in routing.agents if a.email != before.agent_email], window)
    moved, choice = store.reassign(meeting_id, list(routing.agents), to, external)
    if moved is None:
        return None, choice
    old = next((a for a in routing.agents if a.email == before.agent_email), None)
    new = next(a for a in routing.agents if a.email == moved.agent_email)
    try:
        if old is not None:
            calendars.cancel(before, old)
        created = calendars.create(moved, new, f"Meeting with {new.name}")
    except CalendarError as exc:
        logger.warning("reassigning %s: calendar error %s", meeting_id, exc.status)
        return moved, choice
    if created is not None:
        store.attach_event(moved.id, created.event_id, created.join_url)
    return store.get(meeting_id), choice


def routing_view(routing: Routing, store: Meetings, recent: int = 30) -> Dict[str, Any]:
    """Each rotation (order, last, next, credits), meetings per agent, the rules, and the latest choices
    with their reasons: what `dynchat routing show` prints and the console's Routing tab shows."""
    states, counts = store.states(), store.counts()
    pools: Dict[str, Sequence[Agent]] = {"all": routing.agents}
    for team in sorted({t for a in routing.agents for t in a.teams}):
        pools[f"team:{team}"] = [a for a in routing.agents if team in a.teams]
    shown = []
    for key, members in pools.items():
        state = states.get(key, PoolState())
        order = weighted_order([a for a in members if a.active])
        if not order:
            continue
        position = state.position if 0 <= state.position < len(order) else -1
        shown.append({"pool": key, "label": pool_label(key), "order": [a.email for a in order],
                      "last": state.last_agent, "next": order[(position + 1) % len(order)].email,
                      "credits": dict(sorted(state.credits.items()))})
    return {
        "pools": shown,
        "agents": [{"email": a.email, "name": a.name, "active": a.active, "calendar": a.calendar,
                    "teams": list(a.teams), "meetings": counts.get(a.email, 0)} for a in routing.agents],
        "rules": len(routing.rules), "accounts": len(routing.accounts or {}),
        "rule_list": [{"if": condition_label(dict(rule.condition)) if rule.condition else "always",
                       "to": f"team {rule.team}" if rule.team else f"agent {rule.agent}"} for rule in routing.rules],
        "account_list": [{"account": account, "agent": agent}
                         for account, agent in sorted((routing.accounts or {}).items())[:200]],
        "recent": [{"at": at, "meeting": meeting_id, "status": status, "reason": note}
                   for at, meeting_id, status, note in store.recent_history(recent)],
    }
