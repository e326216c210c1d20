"""How a dialogue's cards map onto Rasa actions: shared by compiler and runtime.

The compiled rules say what follows each action; the step action at run time
must agree with them about which card it is entering. Both read this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from bot.core import naming
from bot.core.dialogue import Card, Dialogue, GoalCard, MessageCard, QuestionCard


def has_response(card: Card) -> bool:
    """Cards that show a text as a Rasa response of their own."""
    return isinstance(card, (MessageCard, QuestionCard)) or (isinstance(card, GoalCard) and card.text is not None)


def first_action(dialogue: Dialogue, card: Card) -> str:
    """The action that starts a card: its response, or the step action to decide."""
    return naming.card_response(dialogue.id, card.id) if has_response(card) else naming.STEP_ACTION


def waits_after(action: str, dialogues: Mapping[str, Dialogue]) -> bool:
    """Whether the bot listens after `action` (a question's response)."""
    parsed = naming.parse_card_name(action, "utter_dc")
    if not parsed or parsed[0] not in dialogues:
        return False
    card = dialogues[parsed[0]].cards.get(parsed[1])
    return isinstance(card, QuestionCard)


@dataclass(frozen=True)
class Entry:
    """What the step action is about to do: start a visit, enter a card or finish."""

    kind: str  # "start" | "enter" | "captured" | "finish"
    dialogue: Optional[str] = None
    card: Optional[str] = None


def after_card(dialogue: Dialogue, card: Card) -> Entry:
    """Where the flow goes once a card's own work is done."""
    if card.end or not card.next:
        return Entry("finish", dialogue.id, card.id)
    return Entry("enter", dialogue.id, card.next)


def resolve_entry(
    previous_action: Optional[str],
    latest_intent: Optional[str],
    goto: Optional[str],
    dialogues: Mapping[str, Dialogue],
) -> Entry:
    """Which card the step action works on, from the action that ran before it.

    The compiled rules only ever run the step right after one of these, so the
    previous action (plus the routing slot or the option intent) names the card.
    """
    for prefix, is_form in (("utter_dc", False), ("form_dc", True)):
        parsed = naming.parse_card_name(previous_action, prefix)
        if parsed and parsed[0] in dialogues and parsed[1] in dialogues[parsed[0]].cards:
            dialogue = dialogues[parsed[0]]
            card = dialogue.cards[parsed[1]]
            if is_form:
                return Entry("captured", dialogue.id, card.id)
            if isinstance(card, GoalCard):
                return Entry("enter", dialogue.id, card.id)
            return after_card(dialogue, card)
    if previous_action in (naming.STEP_ACTION, naming.MEETING_ACTION):
        target = naming.parse_goto(goto)
        if target and target[0] in dialogues and target[1] in dialogues[target[0]].cards:
            if previous_action == naming.MEETING_ACTION:  # the meeting card it names is done
                return after_card(dialogues[target[0]], dialogues[target[0]].cards[target[1]])
            return Entry("enter", target[0], target[1])
    option = naming.parse_option_intent(latest_intent)
    if previous_action == "action_listen" and option and option[0] in dialogues:
        question = dialogues[option[0]].cards.get(option[1])
        if isinstance(question, QuestionCard) and 0 < option[2] <= len(question.options):
            return Entry("enter", option[0], question.options[option[2] - 1].next)
    return Entry("start")

