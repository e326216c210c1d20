"""The actions the compiled dialogues call. Each is a few lines over `bot`."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (ActionExecuted, ActiveLoop, FollowupAction, Restarted, SlotSet, UserUttered,
                             UserUtteranceReverted)
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogues import naming, runtime
from bot.dialogues.catalog import current_dialogues
from bot.dialogues.flow import resolve_entry
from bot.marketo import leads, writeback
from bot.store import identify

logger = logging.getLogger(__name__)


def _latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def _previous_action(tracker: Tracker) -> str | None:
    """The action that ran before this one (rasa-sdk's latest_action_name is that)."""
    return tracker.latest_action_name


def _visit_metadata(tracker: Tracker) -> Dict[str, Any]:
    message_metadata = (tracker.latest_message or {}).get("metadata") or {}
    if _latest_intent(tracker) == naming.START_INTENT and message_metadata:
        return dict(message_metadata)
    return dict(tracker.get_slot("dc_visit") or tracker.get_slot("session_started_metadata") or message_metadata)


class ActionStep(Action):
    """Enter the next card where rules alone cannot decide (start, branch, capture, goal, end)."""

    def name(self) -> Text:
        return naming.STEP_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = current_dialogues()
        entry = resolve_entry(_previous_action(tracker), _latest_intent(tracker), tracker.get_slot(naming.GOTO_SLOT), dialogues)
        declared = domain.get("slots", {}).keys()
        if entry.kind == "start":
            prefer = None if _latest_intent(tracker) == naming.START_INTENT else tracker.get_slot("dc_dialogue")
            metadata = _visit_metadata(tracker)
            visitor = identify.identify_visit(identify.default_store(), metadata)
            decision = runtime.start(dialogues, metadata, tracker.get_slot("dc_completed") or [], prefer,
                                     visitor.attributes if visitor else None)
            if visitor:
                decision.slots.update(identify.known_slots(visitor, declared))
        else:
            decision = runtime.step(entry, dialogues, tracker.current_slot_values())
            runtime.note_engagement(decision, entry.dialogue, tracker.current_slot_values(),
                                    responded=_latest_intent(tracker) != naming.START_INTENT)
            typed = decision.slots.get(naming.field_slot("person.email")) if entry.kind == "captured" else None
            if typed and not tracker.get_slot("dc_known"):
                known = _match_typed_email(tracker, typed, declared)
                decision.slots.update(known)
                if known:
                    decision.events.insert(0, ("triggered", {"dialogue": tracker.get_slot("dc_dialogue") or ""}))
        lead_id = decision.slots.get("dc_lead_id", tracker.get_slot("dc_lead_id"))
        writeback.chat_events(decision.events, lead_id)
        if lead_id is not None and entry.kind == "captured":
            _update_lead(tracker, decision)
        for line in decision.log:
            logger.info("%s: %s", tracker.sender_id, line)
        for response in decision.responses:
            dispatcher.utter_message(response=response)
        events: List[Dict] = []
        if entry.kind == "start" and (tracker.active_loop or {}).get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]  # a new page leaves an open capture
        return events + [SlotSet(name, value) for name, value in decision.slots.items()] + [
            SlotSet(naming.GOTO_SLOT, decision.goto)]


def _match_typed_email(tracker: Tracker, email: str, declared) -> Dict[str, Any]:
    """A typed email of a known lead makes the visit known and ties the cookie to the lead."""
    store = identify.default_store()
    visitor = identify.identify(store, email=email)
    cookie = (tracker.get_slot("dc_visit") or {}).get("mkto_trk")
    if visitor is None:
        captured = runtime.facts_from_slots({**tracker.current_slot_values(), naming.field_slot("person.email"): email})
        writeback.new_lead(leads.marketo_record(captured, leads.field_map()), cookie)
        return {}
    if cookie:
        store.associate_cookie(str(cookie), visitor.lead_id)
        writeback.visitor_identified(visitor.lead_id, str(cookie))
    logger.info("%s: identified as lead %s by the email they typed", tracker.sender_id, visitor.lead_id)
    slots = identify.known_slots(visitor, declared)
    slots.pop(naming.field_slot("person.email"), None)  # keep what the visitor typed
    return slots


def _update_lead(tracker: Tracker, decision: runtime.Decision) -> None:
    """A known visitor told us something new: update their lead in Marketo (by email)."""
    slots = {**tracker.current_slot_values(), **decision.slots}
    captured = [details["field"] for event, details in decision.events if event == "captured"]
    email = slots.get(naming.field_slot("person.email"))
    if captured and email:
        fields = {field: slots.get(naming.field_slot(field)) for field in captured}
        writeback.new_lead(leads.marketo_record({**fields, "person.email": email}, leads.field_map()), None)


class ActionFreeText(Action):
    """Free text: pick the option it names, or help the visitor on without losing the place."""

    def name(self) -> Text:
        return naming.FREE_TEXT_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = current_dialogues()
        current = runtime.current_question(tracker.applied_events(), dialogues)
        text = (tracker.latest_message or {}).get("text") or ""
        intent = _latest_intent(tracker)
        if current:
            option = runtime.match_option(text, intent, current[1], tracker.get_slot("dc_locale"))
            if option:
                parse = {"intent": {"name": option.intent, "confidence": 1.0}, "entities": [], "text": text}
                return [UserUtteranceReverted(), ActionExecuted("action_listen"),
                        UserUttered(text, parse_data=parse, input_channel=tracker.get_latest_input_channel())]
        if intent == "human":
            dispatcher.utter_message(response="utter_dc_human")
        elif current:
            dispatcher.utter_message(response="utter_dc_choose_option")
        else:
            dispatcher.utter_message(response="utter_dc_no_dialogue")
        if current:
            dispatcher.utter_message(response=naming.card_response(current[0].id, current[1].id))
        return []


class ActionBack(Action):
    """`back`: undo the last answer and show the previous question again."""

    def name(self) -> Text:
        return "action_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = current_dialogues()
        events = tracker.applied_events()
        turns, response = runtime.back_target(events, dialogues)
        if response is None:
            dispatcher.utter_message(response="utter_dc_at_start")
            current = runtime.current_question(events, dialogues)
            if current:
                dispatcher.utter_message(response=naming.card_response(current[0].id, current[1].id))
        else:
            dispatcher.utter_message(response=response)
        return [UserUtteranceReverted() for _ in range(turns)] + [FollowupAction("action_listen")]


class ActionRestart(Action):
    """`restart`: forget this conversation and play the current dialogue from its start."""

    def name(self) -> Text:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        keep = {name: tracker.get_slot(name) for name in ("dc_visit", "dc_dialogue", "dc_completed")}
        return [Restarted()] + [SlotSet(k, v) for k, v in keep.items() if v is not None] + [FollowupAction(naming.STEP_ACTION)]
