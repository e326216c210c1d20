"""A dialogue played without Rasa: the console's preview chats with a draft before it is published.

The same decisions as the running bot (branch conditions, capture checks,
typed answers matched to options, tokens filled from what is known), walked
card by card over the draft's parsed `Dialogue`; what only the live bot can
do (book a meeting, know a returning lead from Marketo) is said, not done.
The state travels with the caller and is checked on every turn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from bot.core import naming
from bot.core.dialogue import BranchCard, CaptureCard, Dialogue, GoalCard, MeetingCard, MessageCard, QuestionCard
from bot.dialogues import conditions
from bot.dialogues.runtime import facts_from_slots, match_option, validate_capture
from bot.dialogues.tokens import render_with_slots

MAX_CARDS_PER_TURN = 200   # a loop in a draft ends the turn instead of the server
Message = Dict[str, Any]


@dataclass
class PreviewState:
    waiting: Optional[str] = None              # the question or capture that waits for an answer
    slots: Dict[str, Any] = field(default_factory=dict)
    done: bool = False

    def as_json(self) -> Dict[str, Any]:
        return {"waiting": self.waiting, "slots": self.slots, "done": self.done}

    @classmethod
    def from_json(cls, data: Any, dialogue: Dialogue) -> "PreviewState":
        """A state sent back by a browser: only a card of this dialogue, only short plain values."""
        if not isinstance(data, Mapping):
            return cls()
        waiting = data.get("waiting")
        raw = data.get("slots")
        slots: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        kept = {str(k)[:100]: v for k, v in list(slots.items())[:200]
                if isinstance(v, (str, int, float, bool)) and (not isinstance(v, str) or len(v) <= 500)}
        return cls(waiting if isinstance(waiting, str) and waiting in dialogue.cards else None, kept,
                   bool(data.get("done")))


def start(dialogue: Dialogue, known: Optional[Mapping[str, Any]] = None) -> Tuple[List[Message], PreviewState]:
    """The dialogue's opening, for a visitor with these `person.*`/`company.*` fields known."""
    state = PreviewState(slots={naming.field_slot(k): v for k, v in (known or {}).items()
                                if isinstance(v, (str, int, float, bool))})
    messages: List[Message] = []
    _run(dialogue, dialogue.start, state, messages)
    return messages, state


def answer(dialogue: Dialogue, state: PreviewState, reply: Union[str, int]) -> Tuple[List[Message], PreviewState]:
    """The visitor's answer (an option's number, or typed text) to the card that waits."""
    messages: List[Message] = []
    card = dialogue.cards.get(state.waiting or "")
    if state.done or card is None:
        return [_note("the dialogue has ended: restart the preview" if state.done
                      else "nothing waits for an answer: restart the preview")], state
    if isinstance(card, QuestionCard):
        chosen = None
        if isinstance(reply, int) and 0 <= reply < len(card.options):
            chosen = card.options[reply]
        elif isinstance(reply, str):
            chosen = match_option(reply, None, card, dialogue.locale)
        if chosen is None:
            messages.append({"from": "bot", "text": "Please pick one of the options below."})
            messages.append(_question(card, state))
            return messages, state
        if card.field:
            state.slots[naming.field_slot(card.field)] = chosen.value
        state.waiting = None
        _run(dialogue, chosen.next, state, messages)
        return messages, state
    if isinstance(card, CaptureCard):
        value = validate_capture(card.capture, str(reply))
        if value is None:
            text = card.invalid_text.default if card.invalid_text else f"That doesn't look like a valid {card.capture}."
            messages += [{"from": "bot", "text": render_with_slots(text, state.slots)}, _prompt(card, state)]
            return messages, state
        state.slots[naming.field_slot(card.slot_field)] = value
        state.waiting = None
        _after(dialogue, card, state, messages)
        return messages, state
    return [_note("nothing waits for an answer: restart the preview")], state


def _note(text: str) -> Message:
    return {"from": "system", "text": text}


def _question(card: QuestionCard, state: PreviewState) -> Message:
    return {"from": "bot", "text": render_with_slots(card.text.default, state.slots),
            "buttons": [{"title": render_with_slots(o.label.default, state.slots), "payload": index}
                        for index, o in enumerate(card.options)]}


def _prompt(card: CaptureCard, state: PreviewState) -> Message:
    return {"from": "bot", "text": render_with_slots(card.text.default, state.slots), "expects": card.capture}


def _ends(card: Any, state: PreviewState, messages: List[Message]) -> bool:
    """Does the dialogue end after this card? Then the state and the transcript say so."""
    if card.end or not card.next:
        state.done, state.waiting = True, None
        messages.append(_note("the dialogue is complete"))
        return True
    return False


def _after(dialogue: Dialogue, card: Any, state: PreviewState, messages: List[Message]) -> None:
    if not _ends(card, state, messages):
        _run(dialogue, card.next, state, messages)


def _run(dialogue: Dialogue, card_id: str, state: PreviewState, messages: List[Message]) -> None:
    """Enter cards from `card_id` until one waits for the visitor or the dialogue ends."""
    for _ in range(MAX_CARDS_PER_TURN):
        card = dialogue.cards[card_id]
        if isinstance(card, QuestionCard):
            messages.append(_question(card, state))
            state.waiting = card.id
            return
        if isinstance(card, CaptureCard):
            known = state.slots.get(naming.field_slot(card.slot_field))
            if not (card.skip_if_known and known not in (None, "")):
                messages.append(_prompt(card, state))
                state.waiting = card.id
                return
            messages.append(_note(f"{card.slot_field} is known: the capture is skipped"))
        elif isinstance(card, BranchCard):
            facts = facts_from_slots(state.slots)
            arm = next(a for a in card.arms if a.condition is None or conditions.evaluate(a.condition, facts))
            card_id = arm.next
            continue
        elif isinstance(card, MessageCard):
            messages.append({"from": "bot", "text": render_with_slots(card.text.default, state.slots)})
        elif isinstance(card, GoalCard):
            if card.text is not None:
                messages.append({"from": "bot", "text": render_with_slots(card.text.default, state.slots)})
            messages.append(_note(f"goal reached: {card.goal}"))
        elif isinstance(card, MeetingCard):
            messages.append(_note("the meeting card: the live bot offers the agents' free times here "
                                  "(nothing is booked in a preview)"))
        if _ends(card, state, messages):
            return
        card_id = str(card.next)
    messages.append(_note(f"stopped after {MAX_CARDS_PER_TURN} cards without a question: is there a loop?"))
