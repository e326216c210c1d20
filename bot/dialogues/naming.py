"""Names of the Rasa artefacts a dialogue compiles to, in one place.

The compiler writes them and the actions read them back, so both sides must
agree; keeping the scheme here makes that agreement a single function each.
"""
from __future__ import annotations

from typing import Optional, Tuple

STEP_ACTION = "action_dc_step"
FREE_TEXT_ACTION = "action_dc_free_text"
START_INTENT = "dc_start"
GOTO_SLOT = "dc_goto"
STOP = "__stop"
SEP = "__"


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


def goto_value(dialogue: str, card: str, ask: bool = False) -> str:
    """Value of the routing slot that sends the flow into a card (or its form)."""
    return f"{dialogue}{SEP}{card}{SEP}ask" if ask else f"{dialogue}{SEP}{card}"


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


def parse_goto(value: Optional[str]) -> Optional[Tuple[str, str, bool]]:
    if not value or value == STOP:
        return None
    parts = value.split(SEP)
    if len(parts) == 2:
        return parts[0], parts[1], False
    if len(parts) == 3 and parts[2] == "ask":
        return parts[0], parts[1], True
    return None


def invalid_response(dialogue: str, card: str) -> str:
    """A capture card's own message for input that does not validate."""
    return f"utter_dc_invalid{SEP}{dialogue}{SEP}{card}"
