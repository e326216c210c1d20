"""The actions the compiled dialogues call. Each is a few lines over the services of `bot.app`.

rasa-sdk awaits every action on its one event loop: work that waits on a
database, Marketo or a calendar runs on the services' thread pool
(`Services.run_blocking`), so a slow calendar delays only the visitor who
asked for times. rasa-sdk builds each action with no arguments (the
process's services); a test hands in its own.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    FollowupAction,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from bot import app
from bot.core import naming
from bot.core.dialogue import MeetingCard
from bot.core.transcript import transcript
from bot.dialogues import runtime
from bot.dialogues.flow import resolve_entry
from bot.services.conversation import Turn
from bot.services.widget import expected_input, widget_events


def _latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def _previous_action(tracker: Tracker) -> str | None:
    """The action that ran before this one (rasa-sdk's latest_action_name is that)."""
    return tracker.latest_action_name


def _tell_the_widget(dispatcher: CollectingDispatcher, tracker: Tracker, events: List[Tuple[str, Any]],
                     expect: Optional[Dict[str, Any]] = None) -> None:
    """The widget's page callbacks hear what happened, and its text field what comes next
    (socket.io only: REST clients get texts)."""
    heard = widget_events(events) + ([expect] if expect else [])
    if heard and tracker.get_latest_input_channel() == "socketio":
        dispatcher.utter_message(json_message={"data": {"dc_events": heard}})  # emitted as bot_uttered(data)


def _turn(tracker: Tracker) -> str:
    """The visitor's message this action answers: Rasa's message id, the same when Rasa retries the action."""
    message_id = (tracker.latest_message or {}).get("message_id")
    return str(message_id) if message_id else f"#{sum(1 for e in tracker.events if e.get('event') == 'user')}"


def _visit_metadata(tracker: Tracker) -> Dict[str, Any]:
    message_metadata = (tracker.latest_message or {}).get("metadata") or {}
    if _latest_intent(tracker) == naming.START_INTENT and message_metadata:
        return dict(message_metadata)
    return dict(tracker.get_slot(naming.Slot.VISIT) or tracker.get_slot("session_started_metadata") or message_metadata)


class UsesServices:
    """The services an action works with: the process's, or those a test hands in.

    A mixin, not an `Action`: rasa-sdk registers every `Action` subclass it finds.
    """

    def __init__(self, services: Optional[app.Services] = None) -> None:
        self._services = services

    @property
    def services(self) -> app.Services:
        return self._services or app.services()


class ActionStep(UsesServices, Action):
    """Enter the next card where rules alone cannot decide (start, branch, capture, goal, end)."""

    def name(self) -> Text:
        return naming.STEP_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = self.services.catalog.current()
        entry = resolve_entry(_previous_action(tracker), _latest_intent(tracker), tracker.get_slot(naming.GOTO_SLOT), dialogues)
        turn = Turn(tracker.sender_id, _latest_intent(tracker), tracker.current_slot_values(),
                    _visit_metadata(tracker), tracker.slots.keys(), _turn(tracker))
        decision = await self.services.run_blocking(self.services.conversations.step, entry, dialogues, turn)
        for response in decision.responses:
            dispatcher.utter_message(response=response)
        _tell_the_widget(dispatcher, tracker, decision.events, expected_input(dialogues, decision.goto))
        events: List[Dict] = []
        if entry.kind == "start" and (tracker.active_loop or {}).get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]  # a new page leaves an open capture
        return events + [SlotSet(name, value) for name, value in decision.slots.items()] + [
            SlotSet(naming.GOTO_SLOT, decision.goto)]


class ActionMeeting(UsesServices, Action):
    """The meeting card: propose times, book the chosen one, cancel or reschedule from the chat."""

    def name(self) -> Text:
        return naming.MEETING_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = self.services.catalog.current()
        target = naming.parse_goto(tracker.get_slot(naming.GOTO_SLOT) if _previous_action(tracker) == naming.STEP_ACTION
                                   else tracker.get_slot(naming.Slot.MEETING_CARD))
        card = dialogues[target[0]].cards.get(target[1]) if target and target[0] in dialogues else None
        if target is None or not isinstance(card, MeetingCard):
            dispatcher.utter_message(response="utter_dc_meeting_nothing_to_cancel")
            return []
        dialogue = dialogues[target[0]]
        reply = await self.services.run_blocking(
            self.services.meeting_chat.handle, dialogue, card, _latest_intent(tracker),
            _previous_action(tracker) == naming.MEETING_FORM, tracker.current_slot_values(),
            _visit_metadata(tracker), tracker.sender_id)
        await self.services.run_blocking(self.services.writeback.chat_events, reply.events,
                                         tracker.get_slot(naming.Slot.LEAD_ID))
        for response, values in reply.messages:
            dispatcher.utter_message(response=response, **values)
        _tell_the_widget(dispatcher, tracker, reply.events)
        events: List[Dict] = [SlotSet(name, value) for name, value in reply.slots.items()]
        if reply.ask_email:
            return events + [FollowupAction(naming.MEETING_FORM)]
        if reply.done:
            return events + [SlotSet(naming.GOTO_SLOT, naming.goto_value(dialogue.id, target[1])),
                             FollowupAction(naming.STEP_ACTION)]
        return events


class ActionFreeText(UsesServices, Action):
    """Free text: pick the option it names, or help the visitor on without losing the place. A button of a
    question that is not on screen comes here too (`bot.dialogues.guard`): it is taken back."""

    def name(self) -> Text:
        return naming.FREE_TEXT_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = self.services.catalog.current()
        current = runtime.current_question(tracker.applied_events(), dialogues)
        text = (tracker.latest_message or {}).get("text") or ""
        intent = _latest_intent(tracker)
        if current:
            confidence = float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)
            option = runtime.match_option(text, intent, current[1], tracker.get_slot(naming.Slot.LOCALE), confidence)
            if option:
                parse: Dict[str, Any] = {"intent": {"name": option.intent, "confidence": 1.0}, "entities": [], "text": text}
                if (tracker.latest_message or {}).get("message_id"):  # the same message, read again
                    parse["message_id"] = tracker.latest_message["message_id"]
                return [UserUtteranceReverted(), ActionExecuted("action_listen"),
                        UserUttered(text, parse_data=parse, input_channel=tracker.get_latest_input_channel())]
        if intent == "human":
            email = tracker.get_slot(naming.field_slot("person.email"))
            await self.services.run_blocking(
                self.services.activity.person_requested, tracker.sender_id, _turn(tracker),
                tracker.get_slot(naming.Slot.DIALOGUE) or "", tracker.get_slot(runtime.PAGE_METADATA["url"]),
                tracker.get_slot(naming.Slot.LEAD_ID), email, transcript(tracker.events))
            dispatcher.utter_message(response="utter_dc_human_email" if email else "utter_dc_human", email=email)
        elif current:
            dispatcher.utter_message(response="utter_dc_choose_option")
        else:
            dispatcher.utter_message(response="utter_dc_no_dialogue")
        if current:
            dispatcher.utter_message(response=naming.card_response(current[0].id, current[1].id))
        if naming.parse_option_intent(intent):  # a button of no question on screen: taken back, slots and all
            return [UserUtteranceReverted(), FollowupAction("action_listen")]
        return []


class ActionBack(UsesServices, Action):
    """`back`: undo the last answer and show the previous question again."""

    def name(self) -> Text:
        return "action_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        dialogues = self.services.catalog.current()
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


class ActionRestart(UsesServices, Action):
    """`restart`: forget this conversation and play the current dialogue from its start."""

    def name(self) -> Text:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        keep = {name: tracker.get_slot(name) for name in (naming.Slot.VISIT, naming.Slot.DIALOGUE, naming.Slot.COMPLETED)}
        return [Restarted()] + [SlotSet(k, v) for k, v in keep.items() if v is not None] + [FollowupAction(naming.STEP_ACTION)]
