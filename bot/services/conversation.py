"""One step of a conversation with its I/O: dialogue decisions, who the visitor is, write-back.

The step action hands in what Rasa's tracker says as plain data and gets a
`Decision` back; the pure dialogue logic stays in `bot.dialogues.runtime`,
and this service adds the edges: the visitor store, Marketo and the outbox.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, Mapping, Optional

from bot.core import naming
from bot.core.dialogue import Dialogue
from bot.dialogues import runtime
from bot.dialogues.flow import Entry
from bot.marketo import leads
from bot.marketo.writeback import WriteBack
from bot.routing.agents import RoutingFile
from bot.services.activity import ChatActivity
from bot.services.identify import Identifier, known_slots
from bot.store.switches import Switches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """What the tracker says when the step action runs."""

    sender: str
    latest_intent: Optional[str]
    slots: Mapping[str, Any]
    visit: Mapping[str, Any]                      # the widget's metadata for this visit
    declared_slots: Collection[str] = field(default_factory=tuple)
    message: str = ""                             # the visitor's message this step answers (a retry: the same)

    @property
    def cookie(self) -> Optional[str]:
        value = self.visit.get("mkto_trk")
        return str(value) if value else None


class Conversations:
    def __init__(self, identifier: Identifier, writeback: WriteBack, activity: ChatActivity, switches: Switches,
                 routing: RoutingFile, field_map: Mapping[str, str]) -> None:
        self.identifier, self.writeback, self.activity, self.switches = identifier, writeback, activity, switches
        self.routing, self.field_map = routing, field_map

    def step(self, entry: Entry, dialogues: Mapping[str, Dialogue], turn: Turn) -> runtime.Decision:
        """Decide the step, identify the visitor where it matters, and write back what happened."""
        if entry.kind == "start":
            decision = self._start(dialogues, turn)
        else:
            blocked = self.switches.blocked_email_domains() if entry.kind == "captured" else ()
            decision = runtime.step(entry, dialogues, turn.slots, meetings=self.routing.current() is not None,
                                    blocked_domains=blocked)
            runtime.note_engagement(decision, entry.dialogue, turn.slots,
                                    responded=turn.latest_intent != naming.START_INTENT)
            typed = decision.slots.get(naming.field_slot("person.email")) if entry.kind == "captured" else None
            if typed and not turn.slots.get(naming.Slot.KNOWN):
                known = self._typed_email(turn, typed)
                decision.slots.update(known)
                if known:
                    decision.events.insert(0, ("triggered", {"dialogue": turn.slots.get(naming.Slot.DIALOGUE) or ""}))
        lead_id = decision.slots.get(naming.Slot.LEAD_ID, turn.slots.get(naming.Slot.LEAD_ID))
        later = self.activity.record(decision.events, turn.sender, turn.message, lead_id)
        if later is not None:  # broker mode: the events consumer counts it
            decision.slots[naming.Slot.HAPPENED] = later.as_slot()
        if lead_id is not None and entry.kind == "captured":
            self._update_lead(turn, decision)
        for line in decision.log:
            logger.info("%s: %s", turn.sender, line)
        return decision

    def _start(self, dialogues: Mapping[str, Dialogue], turn: Turn) -> runtime.Decision:
        prefer = None if turn.latest_intent == naming.START_INTENT else turn.slots.get(naming.Slot.DIALOGUE)
        visitor = self.identifier.identify_visit(turn.visit)
        if visitor is not None and turn.visit.get("email") and turn.cookie:
            self._prove_cookie(turn, visitor.lead_id)
        decision = runtime.start(self.switches.offered(dialogues), turn.visit, turn.slots.get(naming.Slot.COMPLETED) or [], prefer,
                                 visitor.attributes if visitor else None)
        if visitor:
            decision.slots.update(known_slots(visitor, turn.declared_slots))
        return decision

    def _prove_cookie(self, turn: Turn, lead_id: int) -> None:
        """The site signed who this visitor is: their browser's cookie is theirs (here and in Marketo)."""
        store = self.identifier.store
        owner = store.by_cookie(str(turn.cookie))
        if owner is None or owner.lead_id != lead_id:
            store.associate_cookie(str(turn.cookie), lead_id, proven=True)
            self.writeback.visitor_identified(lead_id, str(turn.cookie))

    def _typed_email(self, turn: Turn, email: str) -> Dict[str, Any]:
        """A typed email is a claim, not a proof: the lead it names gets the conversation's activities (and the
        cookie, when no lead has it yet, in Marketo as a form fill would), but nothing of theirs is shown to
        this visitor, and the cookie identifies nobody here. An email nobody knows becomes a new lead."""
        visitor = self.identifier.identify(email=email)
        if visitor is None:
            captured = runtime.facts_from_slots({**turn.slots, naming.field_slot("person.email"): email})
            self.writeback.new_lead(leads.marketo_record(captured, self.field_map), turn.cookie)
            return {}
        if turn.cookie and self.identifier.store.associate_cookie(turn.cookie, visitor.lead_id, proven=False):
            self.writeback.visitor_identified(visitor.lead_id, turn.cookie)
        logger.info("%s: the email they typed is lead %s's (a claim: nothing of the lead is shown)",
                    turn.sender, visitor.lead_id)
        return {naming.Slot.LEAD_ID: visitor.lead_id}

    def _update_lead(self, turn: Turn, decision: runtime.Decision) -> None:
        """A known visitor told us something new: update their lead in Marketo (by email)."""
        slots = {**turn.slots, **decision.slots}
        captured = [details["field"] for event, details in decision.events if event == "captured"]
        email = slots.get(naming.field_slot("person.email"))
        if captured and email:
            fields = {name: slots.get(naming.field_slot(name)) for name in captured}
            self.writeback.new_lead(leads.marketo_record({**fields, "person.email": email}, self.field_map), None)
