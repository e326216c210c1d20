"""The per-turn speed-ups do what Rasa's originals do, on valid and invalid input."""
from __future__ import annotations

import warnings
from typing import Any, Dict

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.core.constants import SlotMappingType
from rasa.shared.core.domain import Domain
from rasa.shared.core.slot_mappings import SlotMapping
from rasa.shared.nlu.training_data.message import Message

from bot.dialogues import naming
from bot.dialogues.payloads import PayloadAwareDIETClassifier, is_payload
from bot.web import rasa_speedups

ANSWERS = [
    {"events": [{"event": "slot", "timestamp": None, "name": "dc_goto", "value": "welcome__greet"}],
     "responses": [{"response": "utter_dc__welcome__greet"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "followup", "name": "action_dc_step"}]},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": [{"text": 5}]},
    {"events": [{"event": "slot", "name": 7}]},
]


def _outcome(validate, answer: Dict[str, Any]) -> Any:
    try:
        return validate(RemoteAction("action_dc_step", None), answer)
    except ValidationError as error:
        return ("error", error.message, list(error.path))


@pytest.mark.parametrize("answer", ANSWERS)
def test_action_answers_are_judged_as_rasa_judges_them(answer: Dict[str, Any]) -> None:
    original = rasa_speedups.ORIGINALS["_validate_action_result"]
    assert _outcome(rasa_speedups.validate_action_result, answer) == _outcome(original, answer)


def test_mapping_validity_is_rasa_s_with_known_and_unknown_intents() -> None:
    domain = Domain.from_dict({"intents": ["greet", "dc__a__q__1", "dc__a__q__2"], "entities": ["dc_slot"]})
    original = rasa_speedups.ORIGINALS["check_mapping_validity"]
    cases = [
        (SlotMappingType.FROM_INTENT, {"type": "from_intent", "intent": ["dc__a__q__1", "dc__a__q__2"], "value": 1}),
        (SlotMappingType.FROM_INTENT, {"type": "from_intent", "intent": "greet", "value": 1}),
        (SlotMappingType.FROM_INTENT, {"type": "from_intent", "intent": ["greet", "no_such_intent"], "value": 1}),
        (SlotMappingType.FROM_INTENT, {"type": "from_intent", "value": 1}),
        (SlotMappingType.FROM_ENTITY, {"type": "from_entity", "entity": "dc_slot"}),
        (SlotMappingType.FROM_ENTITY, {"type": "from_entity", "entity": "no_such_entity"}),
        (SlotMappingType.FROM_TEXT, {"type": "from_text"}),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mapping_type, mapping in cases:
            ours = rasa_speedups.check_mapping_validity("slot", mapping_type, mapping, domain)
            theirs = original(slot_name="slot", mapping_type=mapping_type, mapping=mapping, domain=domain)
            assert ours == theirs, mapping


def test_install_is_idempotent_and_swaps_both_methods() -> None:
    rasa_speedups.install()
    rasa_speedups.install()
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result
    assert SlotMapping.check_mapping_validity is rasa_speedups.check_mapping_validity
    assert rasa_speedups.ORIGINALS["_validate_action_result"] is not rasa_speedups.validate_action_result


def test_payloads_skip_diet_and_typed_text_does_not(monkeypatch) -> None:
    assert is_payload(Message({"text": "/dc__welcome__ask__1"}))
    assert is_payload(Message({"text": "  /session_start"}))
    assert not is_payload(Message({"text": "hello /there"}))
    assert not is_payload(Message({"text": ""}))

    seen = []  # what reaches DIET's own model
    monkeypatch.setattr(DIETClassifier, "process", lambda self, messages: seen.extend(messages) or messages)
    messages = [Message({"text": "/dc__a__q__1"}), Message({"text": "I want a demo"})]
    object.__new__(PayloadAwareDIETClassifier).process(messages)
    assert [m.get("text") for m in seen] == ["I want a demo"]
    assert messages[0].get("intent") == {"name": None, "confidence": 0.0}


def test_compiled_slot_types_are_rasa_s_types() -> None:
    from rasa.shared.core.slots import Slot
    from rasa.shared.utils.common import class_from_module_path

    for rasa_name, path in naming.SLOT_TYPES.items():
        ours = class_from_module_path(path)
        assert issubclass(ours, Slot) and ours.type_name == rasa_name
        assert Slot.resolve_by_type(rasa_name) is not ours  # Rasa's plain names still mean Rasa's classes
    route = class_from_module_path(naming.GOTO_SLOT_TYPE)("dc_goto", [], values=["a__x", "a__Y", "b__z"])
    route.add_default_value()
    for value, position in (("a__x", 1), ("A__y", 2), ("b__z", 3), ("nowhere", 4), (None, 0)):
        route.value = value
        assert route.as_feature() == [float(position)]
    one = route.fingerprint()
    route.value = "b__z"
    assert route.fingerprint() != one
