"""The meeting card in the conversation: propose times, book, confirm, cancel, reschedule.

`handle` decides from plain data what the meeting action says and stores;
it reads and writes the meetings store (the I/O edge) and leaves Rasa
events to the action.
"""
from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.calendars import local
from bot.calendars.providers import Calendars
from bot.core import naming
from bot.core.agents import Agent, Routing, RoutingSpec
from bot.core.dialogue import Dialogue, MeetingCard
from bot.core.meetings import ACTIVE, BookingRequest, Meeting
from bot.dialogues.runtime import BLOCKED_EMAIL, blocked_domain, facts_from_slots, validate_capture
from bot.routing.agents import RoutingFile
from bot.routing.availability import describe, free_slots, known_zone
from bot.services import meetings as service
from bot.store.meetings import Meetings
from bot.store.switches import Switches

logger = logging.getLogger(__name__)

SHOWN = 5            # times per message
HORIZON_DAYS = 14
MORE = {"en": "More times", "sv": "Fler tider"}


@dataclass
class MeetingReply:
    messages: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)  # (response, kwargs)
    slots: Dict[str, Any] = field(default_factory=dict)
    done: bool = False          # the card is finished: the flow goes on after it
    ask_email: bool = False     # start the form that asks for the invitation's email
    events: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)


def _eligible(agents: Sequence[Agent], routing: RoutingSpec) -> List[Agent]:
    if isinstance(routing, Mapping) and routing.get("agent"):
        return [a for a in agents if a.email == str(routing["agent"]).lower()]
    if isinstance(routing, Mapping) and routing.get("team"):
        return [a for a in agents if routing["team"] in a.teams]
    return list(agents)


def free_times(store: Meetings, calendars: Calendars, agents: Sequence[Agent], minutes: int, now: int) -> List[int]:
    """Start times when at least one of `agents` is free, for the next two weeks."""
    window = (now, now + HORIZON_DAYS * 86400)
    busy = store.busy_between(window[0] - 86400, window[1] + 86400)
    for email, spans in calendars.busy(agents, window).items():
        busy.setdefault(email, []).extend(spans)
    starts = set()
    for agent in agents:
        starts.update(free_slots(agent, window, busy.get(agent.email, []), now, duration_minutes=minutes,
                                 step_minutes=30))
    return sorted(starts)


class MeetingChat:
    """The meeting card's turns, over the meetings store, the routing file and the agents' calendars."""

    def __init__(self, store: Meetings, routing: RoutingFile, calendars: Calendars, switches: Switches, public_url: str,
                 clock: Callable[[], float] = time.time, per_visitor: int = 1) -> None:
        self.store, self.routing, self.calendars, self.public_url = store, routing, calendars, public_url
        self.switches = switches
        self.clock = clock
        self.per_visitor = per_visitor  # active meetings a visitor may hold per dialogue (0: no limit)

    def _propose(self, reply: MeetingReply, slots: Mapping[str, Any], routing: Routing, card: MeetingCard, offset: int,
                 zone: str, locale: str, now: int, response: str = "utter_dc_meeting_pick") -> MeetingReply:
        minutes = card.meeting.duration_seconds // 60
        times = free_times(self.store, self.calendars, _eligible(routing.agents, card.meeting.routing), minutes, now)
        if not times:
            reply.messages.append(("utter_dc_meeting_none", {}))
            reply.done = True
            return reply
        shown = times[offset:offset + SHOWN] or times[:SHOWN]
        buttons = [{"title": describe(start, zone), "payload": f'/{naming.MeetingIntent.PICK}{{"{naming.SLOT_ENTITY}": "{start}"}}'}
                   for start in shown]
        if len(times) > offset + SHOWN:
            buttons.append({"title": MORE.get(locale, MORE["en"]), "payload": f"/{naming.MeetingIntent.MORE}"})
        reply.messages.append((response, {"buttons": buttons, "timezone": zone}))
        reply.slots[naming.Slot.MEETING_OFFSET] = offset if times[offset:offset + SHOWN] else 0
        earlier = [t for t in offered_times(slots) if t > now - 86400]
        reply.slots[naming.Slot.MEETING_OFFERED] = sorted(set(earlier) | set(shown))[-MAX_OFFERED:]
        return reply

    def handle(self, dialogue: Dialogue, card: MeetingCard, intent: Optional[str], after_email_form: bool,
               slots: Mapping[str, Any], visit: Mapping[str, Any], conversation: str,
               now: Optional[int] = None) -> MeetingReply:
        """What the meeting action does for this turn of the meeting card.

        Times are shown in the visitor's time zone when the tz database knows it; otherwise in UTC, and the
        visitor is told so (before, an unknown zone's name labelled UTC times).
        """
        asked = str(visit.get("timezone") or "")
        zone = asked if known_zone(asked) else "UTC"
        reply = self._handle(dialogue, card, intent, after_email_form, slots, zone, conversation, now)
        if asked and zone != asked and any(values.get("timezone") for _, values in reply.messages):
            reply.messages.insert(0, ("utter_dc_unknown_timezone", {}))
        return reply

    def _handle(self, dialogue: Dialogue, card: MeetingCard, intent: Optional[str], after_email_form: bool,
                slots: Mapping[str, Any], zone: str, conversation: str, now: Optional[int]) -> MeetingReply:
        now = int(self.clock()) if now is None else now
        reply = MeetingReply(slots={naming.Slot.MEETING_CARD: naming.goto_value(dialogue.id, card.id)})
        routing = self.routing.current()
        locale = str(slots.get(naming.Slot.LOCALE) or dialogue.locale)
        store = self.store
        if routing is None:
            reply.messages.append(("utter_dc_meeting_unavailable", {}))
            reply.done = True
            return reply
        unconfirmed = [] if slots.get(naming.Slot.MEETING_ID) else store.held(conversation, dialogue.id, now)
        if unconfirmed and intent in (naming.MeetingIntent.CANCEL, naming.MeetingIntent.RESCHEDULE):
            slots = {**slots, naming.Slot.MEETING_ID: unconfirmed[0].id}
        elif unconfirmed:  # booked on a turn whose answer never reached the visitor (the action server died)
            held = unconfirmed[0]
            return self._confirm(reply, dialogue, card, routing, held, zone, held.join_url, held.lead_email)
        if intent in (naming.MeetingIntent.CANCEL, naming.MeetingIntent.RESCHEDULE):
            meeting = store.get(str(slots.get(naming.Slot.MEETING_ID) or ""))
            if meeting is None or meeting.status not in ACTIVE:
                reply.messages.append(("utter_dc_meeting_nothing_to_cancel", {}))
                return reply
            if intent == naming.MeetingIntent.RESCHEDULE:  # same agent, another time: propose their free times
                reply.slots[naming.Slot.RESCHEDULING] = meeting.id
                agent_only = _routed(card, {"agent": meeting.agent_email})
                return self._propose(reply, slots, routing, agent_only, 0, zone, locale, now)
            service.cancel(store, routing, self.calendars, meeting.id, "cancelled by the visitor in the chat")
            reply.messages.append(("utter_dc_meeting_cancelled", {"time": describe(meeting.start_at, zone),
                                                                 "timezone": zone}))
            reply.slots[naming.Slot.MEETING_ID] = None
            return reply
        if intent == naming.MeetingIntent.MORE:
            return self._propose(reply, slots, routing, card, int(slots.get(naming.Slot.MEETING_OFFSET) or 0) + SHOWN,
                                 zone, locale, now)
        chosen = slots.get(naming.Slot.CHOSEN_TIME)
        if intent != naming.MeetingIntent.PICK and not after_email_form or not was_offered(chosen, slots):
            return self._propose(reply, slots, routing, card, 0, zone, locale, now)
        chosen_at = int(str(chosen))
        moving = slots.get(naming.Slot.RESCHEDULING)
        if moving:
            moved = service.reschedule(store, routing, self.calendars, str(moving), chosen_at, now=now)
            if moved is None:  # that time went meanwhile: the same agent's next free times
                original = store.get(str(moving))
                same_agent = {"agent": original.agent_email} if original else card.meeting.routing
                return self._propose(reply, slots, routing, _routed(card, same_agent),
                                     0, zone, locale, now, response="utter_dc_meeting_taken")
            reply.messages.append(("utter_dc_meeting_moved", {"time": describe(moved.start_at, zone), "timezone": zone}))
            reply.slots.update({naming.Slot.RESCHEDULING: None, naming.Slot.CHOSEN_TIME: None,
                                naming.Slot.MEETING_OFFERED: []})
            return reply
        email = validate_capture("email", slots.get(naming.field_slot("person.email")) or "")
        if email is not None and after_email_form and blocked_domain(email, self.switches.blocked_email_domains()):
            reply.messages.append((BLOCKED_EMAIL, {}))
            email = None
        elif email is None and after_email_form:
            reply.messages.append(("utter_dc_invalid_email", {}))
        if email is None:
            reply.slots[naming.field_slot("person.email")] = None
            reply.ask_email = True
            return reply
        request = BookingRequest(chosen_at, card.meeting.duration_seconds // 60, email,
                                 facts_from_slots({**slots, naming.field_slot("person.email"): email}),
                                 card.meeting.routing, slots.get(naming.Slot.LEAD_ID), conversation, dialogue.id)
        result, created = service.book(store, routing, self.calendars, request, now=now, per_visitor=self.per_visitor,
                                       by_email=bool(slots.get(naming.Slot.KNOWN)))
        logger.info("%s: meeting %s: %s", conversation, "booked" if result.meeting else "not booked", result.choice.reason)
        if result.existing is not None:  # one is enough: the visitor may move or cancel it instead
            held = result.existing
            agent = routing.agent(held.agent_email)
            reply.messages.append(("utter_dc_meeting_exists", {"time": describe(held.start_at, zone), "timezone": zone,
                                                               "agent": agent.name if agent else held.agent_email}))
            reply.slots.update({naming.Slot.MEETING_ID: held.id, naming.Slot.CHOSEN_TIME: None})
            return reply
        if result.calendar_failed:  # nothing was booked; the offer stands, to try again
            reply.messages.append(("utter_dc_meeting_calendar_down", {}))
            reply.slots[naming.Slot.CHOSEN_TIME] = None
            return reply
        if result.meeting is None:
            return self._propose(reply, slots, routing, card, 0, zone, locale, now, response="utter_dc_meeting_taken")
        return self._confirm(reply, dialogue, card, routing, result.meeting, zone,
                             created.join_url if created is not None else None, email)

    def _confirm(self, reply: MeetingReply, dialogue: Dialogue, card: MeetingCard, routing: Routing, meeting: Meeting,
                 zone: str, join_url: Optional[str], email: Optional[str]) -> MeetingReply:
        """The visitor hears that the meeting is booked: when, with whom, the link; the card is done."""
        agent = routing.agent(meeting.agent_email)
        name = agent.name if agent else meeting.agent_email
        reply.messages.append(("utter_dc_meeting_booked", {"time": describe(meeting.start_at, zone),
                                                           "timezone": zone, "agent": name, "email": email}))
        if join_url:
            reply.messages.append(("utter_dc_meeting_link", {"link": join_url}))
        if agent is not None and agent.calendar == "local":  # no calendar sends it: offer the invitation to add
            reply.messages.append(("utter_dc_meeting_invitation",
                                   {"link": local.invitation_url(self.public_url, meeting.id)}))
        reply.slots.update({naming.Slot.MEETING_ID: meeting.id, naming.Slot.CHOSEN_TIME: None,
                            naming.Slot.MEETING_OFFERED: [], naming.field_slot("person.email"): email})
        if card.meeting.write_agent_to:
            reply.slots[naming.field_slot(card.meeting.write_agent_to)] = meeting.agent_email
        start = datetime.datetime.fromtimestamp(meeting.start_at, datetime.timezone.utc)
        reply.events.append(("meeting", {"dialogue": dialogue.id, "agent": meeting.agent_email,
                                         "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "meeting": meeting.id}))
        reply.done = True
        return reply


MAX_OFFERED = 60  # offered times a conversation remembers (the latest pages of "More times")


def offered_times(slots: Mapping[str, Any]) -> List[int]:
    return [t for t in slots.get(naming.Slot.MEETING_OFFERED) or [] if isinstance(t, int) and not isinstance(t, bool)]


def was_offered(chosen: Any, slots: Mapping[str, Any]) -> bool:
    """Only a time the bot offered in this conversation is booked: a replayed or forged payload with another
    (15:07, a year ahead, the year 2100, a 30-digit number that raised OverflowError) gets the offer again."""
    text = str(chosen or "")
    return text.isdigit() and len(text) <= 11 and int(text) in offered_times(slots)


def _routed(card: MeetingCard, routing: RoutingSpec) -> MeetingCard:
    """The card with other routing (a reschedule stays with the meeting's agent)."""
    return replace(card, meeting=replace(card.meeting, routing=routing))
