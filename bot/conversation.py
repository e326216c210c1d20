"""One step of a conversation with its I/O: dialogue decisions, who the visitor is, write-back.

The step action hands in what Rasa's tracker says as plain data and gets a
`Decision` back; the pure dialogue logic stays in `bot.dialogues.runtime`,
and this module adds the edges: the visitor store, Marketo and the outbox.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, Mapping, Optional

from bot.dialogues import naming, runtime
from bot.dialogues.flow import Entry
from bot.dialogues.model import Dialogue
from bot.marketo import leads, writeback
from bot.store import identify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """What the tracker says when the step action runs."""

    sender: str
    latest_intent: Optional[str]
    slots: Mapping[str, Any]
    visit: Mapping[str, Any]                      # the widget's metadata for this visit
    declared_slots: Collection[str] = field(default_factory=tuple)

    @property
    def cookie(self) -> Optional[str]:
        value = self.visit.get("mkto_trk")
        return str(value) if value else None


def step(entry: Entry, dialogues: Mapping[str, Dialogue], turn: Turn) -> runtime.Decision:
    """Decide the step, identify the visitor where it matters, and write back what happened."""
    if entry.kind == "start":
        decision = _start(dialogues, turn)
    else:
        from bot.meetings.chat import configured_routing

        decision = runtime.step(entry, dialogues, turn.slots, meetings=configured_routing() is not None)
        runtime.note_engagement(decision, entry.dialogue, turn.slots,
                                responded=turn.latest_intent != naming.START_INTENT)
        typed = decision.slots.get(naming.field_slot("person.email")) if entry.kind == "captured" else None
        if typed and not turn.slots.get("dc_known"):
            known = _typed_email(turn, typed)
            decision.slots.update(known)
            if known:
                decision.events.insert(0, ("triggered", {"dialogue": turn.slots.get("dc_dialogue") or ""}))
    lead_id = decision.slots.get("dc_lead_id", turn.slots.get("dc_lead_id"))
    writeback.chat_events(decision.events, lead_id)
    if lead_id is not None and entry.kind == "captured":
        _update_lead(turn, decision)
    for line in decision.log:
        logger.info("%s: %s", turn.sender, line)
    return decision


def _start(dialogues: Mapping[str, Dialogue], turn: Turn) -> runtime.Decision:
    prefer = None if turn.latest_intent == naming.START_INTENT else turn.slots.get("dc_dialogue")
    visitor = identify.identify_visit(identify.default_store(), turn.visit)
    decision = runtime.start(dialogues, turn.visit, turn.slots.get("dc_completed") or [], prefer,
                             visitor.attributes if visitor else None)
    if visitor:
        decision.slots.update(identify.known_slots(visitor, turn.declared_slots))
    return decision


def _typed_email(turn: Turn, email: str) -> Dict[str, Any]:
    """A typed email of a known lead makes the visit known and ties the cookie to the lead;
    an email nobody knows becomes a new lead in Marketo."""
    store = identify.default_store()
    visitor = identify.identify(store, email=email)
    if visitor is None:
        captured = runtime.facts_from_slots({**turn.slots, naming.field_slot("person.email"): email})
        writeback.new_lead(leads.marketo_record(captured, leads.field_map()), turn.cookie)
        return {}
    if turn.cookie:
        store.associate_cookie(turn.cookie, visitor.lead_id)
        writeback.visitor_identified(visitor.lead_id, turn.cookie)
    logger.info("%s: identified as lead %s by the email they typed", turn.sender, visitor.lead_id)
    slots = identify.known_slots(visitor, turn.declared_slots)
    slots.pop(naming.field_slot("person.email"), None)  # keep what the visitor typed
    return slots


def _update_lead(turn: Turn, decision: runtime.Decision) -> None:
    """A known visitor told us something new: update their lead in Marketo (by email)."""
    slots = {**turn.slots, **decision.slots}
    captured = [details["field"] for event, details in decision.events if event == "captured"]
    email = slots.get(naming.field_slot("person.email"))
    if captured and email:
        fields = {name: slots.get(naming.field_slot(name)) for name in captured}
        writeback.new_lead(leads.marketo_record({**fields, "person.email": email}, leads.field_map()), None)
