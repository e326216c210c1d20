"""Names of the Rasa artefacts a dialogue compiles to, in one place.

The compiler writes them and the actions read them back, so both sides must
agree; keeping the scheme here makes that agreement a single function each.
"""
from __future__ import annotations

from typing import Optional, Tuple

STEP_ACTION = "action_dc_step"
MEETING_ACTION = "action_dc_meeting"
MEETING_FORM = "form_dc_meeting_email"


class MeetingIntent:
    """What a visitor can ask of the meeting card (buttons and NLU)."""

    PICK = "dc_meeting"                   # with the chosen time as the dc_slot entity
    MORE = "dc_meeting_more"
    CANCEL = "dc_meeting_cancel"
    RESCHEDULE = "dc_meeting_reschedule"


MEETING_INTENTS = (MeetingIntent.PICK, MeetingIntent.MORE, MeetingIntent.CANCEL, MeetingIntent.RESCHEDULE)
SLOT_ENTITY = "dc_slot"
FREE_TEXT_ACTION = "action_dc_free_text"
START_INTENT = "dc_start"
GOTO_SLOT = "dc_goto"
# The routing slot's type: categorical, featurized compactly (bot/dialogues/slots.py).
GOTO_SLOT_TYPE = "bot.dialogues.slots.RouteSlot"
# Rasa's slot types -> the same types with a one-pass fingerprint (bot/dialogues/slots.py).
SLOT_TYPES = {name: f"bot.dialogues.slots.{cls}" for name, cls in (
    ("any", "AnySlot"), ("text", "TextSlot"), ("list", "ListSlot"), ("bool", "BooleanSlot"), ("float", "FloatSlot"),
    ("categorical", "CategoricalSlot"))}
STOP = "__stop"
SEP = "__"


class Slot:
    """The slots the actions read and set besides the captured fields (the compiler declares them)."""

    DIALOGUE = "dc_dialogue"          # the dialogue this visit is in
    LOCALE = "dc_locale"              # the language the dialogue speaks to this visitor
    COMPLETED = "dc_completed"        # dialogues this visitor finished (not offered again)
    ENGAGED = "dc_engaged"            # dialogues this visitor answered in
    GOALS = "dc_goals"                # "dialogue.goal" reached
    KNOWN = "dc_known"                # a known lead
    LEAD_ID = "dc_lead_id"            # their Marketo lead id
    VISIT = "dc_visit"                # the widget's metadata for this visit
    MEETING_CARD = "dc_meeting_card"  # the meeting card in progress ("dialogue__card")
    MEETING_ID = "dc_meeting_id"      # the visitor's booked meeting
    MEETING_OFFSET = "dc_meeting_offset"  # how far "More times" has paged
    MEETING_OFFERED = "dc_meeting_offered"  # the times the bot offered in this conversation (only these are booked)
    RESCHEDULING = "dc_rescheduling"  # the meeting being moved
    HAPPENED = "dc_happened"          # broker mode: what the step did, for the events consumer to count
    CHOSEN_TIME = SLOT_ENTITY         # the time the visitor picked (epoch seconds)


def field_slot(field: str) -> str:
    """`person.firstName` -> `person_firstName` (dots are awkward in Rasa names)."""
    return field.replace(".", "_")


def card_response(dialogue: str, card: str) -> str:
    return f"utter_dc{SEP}{dialogue}{SEP}{card}"


def option_intent(dialogue: str, card: str, index: int) -> str:
    return f"dc{SEP}{dialogue}{SEP}{card}{SEP}{index}"


def capture_form(dialogue: str, card: str) -> str:
    return f"form_dc{SEP}{dialogue}{SEP}{card}"


def ask_response(dialogue: str, card: str, field: str) -> str:
    return f"utter_ask_{capture_form(dialogue, card)}_{field_slot(field)}"


def goto_value(dialogue: str, card: str, phase: Optional[str] = None) -> str:
    """Value of the routing slot that sends the flow into a card, or into a phase of it
    ("ask": a capture's form, "slots": a meeting card's proposed times)."""
    return f"{dialogue}{SEP}{card}{SEP}{phase}" if phase else f"{dialogue}{SEP}{card}"


def parse_card_name(name: Optional[str], prefix: str) -> Optional[Tuple[str, str]]:
    """`utter_dc__demo__ask` with prefix `utter_dc` -> ('demo', 'ask')."""
    if not name or not name.startswith(prefix + SEP):
        return None
    parts = name[len(prefix) + len(SEP):].split(SEP)
    return (parts[0], parts[1]) if len(parts) == 2 else None


def parse_option_intent(name: Optional[str]) -> Optional[Tuple[str, str, int]]:
    if not name or not name.startswith("dc" + SEP):
        return None
    parts = name[len("dc" + SEP):].split(SEP)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


def parse_goto(value: Optional[str]) -> Optional[Tuple[str, str, Optional[str]]]:
    """(dialogue, card, phase or None)."""
    if not value or value == STOP:
        return None
    parts = value.split(SEP)
    if len(parts) == 2:
        return parts[0], parts[1], None
    if len(parts) == 3 and parts[2] in ("ask", "slots"):
        return parts[0], parts[1], parts[2]
    return None


def invalid_response(dialogue: str, card: str) -> str:
    """A capture card's own message for input that does not validate."""
    return f"utter_dc_invalid{SEP}{dialogue}{SEP}{card}"
