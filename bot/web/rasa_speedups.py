"""Two of Rasa 3.6's per-turn costs, removed without changing what Rasa does.

Measured on the Rasa server during a visit (py-spy, 200 dialogues), two
places in Rasa took more than half of every turn, and neither does anything
that depends on the call:

- `RemoteAction._validate_action_result` validates each action server answer
  with `jsonschema.validate`, which first checks Rasa's constant response
  schema against the JSON-Schema meta-schema: 18.6 ms of a 19.6 ms call, on
  every custom action. Here the validator is built (and the schema checked)
  once; the answer is validated against the same schema and the same error,
  with Rasa's explanation, is raised.
- `SlotMapping.check_mapping_validity`, run for every mapping of every slot
  at every user turn, looks up each `from_intent` intent in the domain's
  sorted list of intents: with a few hundred dialogues, hundreds of mappings
  times hundreds of intents per turn. Here the lookup is in a set; unknown
  intents still go to Rasa's own code, which warns and skips the mapping.

`install()` is called once when the Rasa server loads our response generator
(`bot.web.nlg`); `tests/test_rasa_speedups.py` holds both against Rasa's
originals.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Optional, Text

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import SlotMappingType
from rasa.shared.core.slot_mappings import SlotMapping

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain

# Rasa's own methods, kept for unknown intents and for the tests that compare.
ORIGINALS: Dict[str, Callable[..., Any]] = {
    "_validate_action_result": RemoteAction._validate_action_result,
    "check_mapping_validity": SlotMapping.check_mapping_validity,
}
_response_validator: Optional[Any] = None
_installed = False


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Rasa's `_validate_action_result` with the schema's validator built once."""
    global _response_validator
    if _response_validator is None:
        schema = RemoteAction.action_response_format_spec()
        validator_class = validators.validator_for(schema)
        validator_class.check_schema(schema)
        _response_validator = validator_class(schema)
    error: Optional[ValidationError] = best_match(_response_validator.iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def _known_intents(domain: "Domain") -> FrozenSet[Text]:
    known = domain.__dict__.get("_dynchat_intent_set")
    if known is None:
        known = frozenset(domain.intents)
        domain.__dict__["_dynchat_intent_set"] = known
    return known


def check_mapping_validity(slot_name: Text, mapping_type: SlotMappingType, mapping: Dict[Text, Any],
                           domain: "Domain") -> bool:
    """Rasa's `check_mapping_validity`, looking intents up in a set."""
    if mapping_type == SlotMappingType.FROM_INTENT and mapping.get("intent") is not None:
        valid = domain.__dict__.setdefault("_dynchat_valid_intent_mappings", {})
        remembered = valid.get(id(mapping))
        if remembered is not None and remembered[0] is mapping:
            return True
        known = _known_intents(domain)
        if all(not intent or intent in known for intent in SlotMapping.to_list(mapping.get("intent"))):
            valid[id(mapping)] = (mapping,)  # the domain's mappings do not change while it lives
            return True  # Rasa's check would pass: the entity check is for from_entity only
    return ORIGINALS["check_mapping_validity"](slot_name=slot_name, mapping_type=mapping_type, mapping=mapping,
                                               domain=domain)


def install() -> None:
    """Replace the two methods in this process; calling it again changes nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    SlotMapping.check_mapping_validity = staticmethod(check_mapping_validity)  # type: ignore[assignment]
