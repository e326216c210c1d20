"""Rasa 3.6's per-turn costs that grow with the domain, removed without changing what Rasa does.

Measured on the Rasa server during a visit (py-spy, 200 dialogues), two
places in Rasa took more than half of every turn, and neither does anything
that depends on the call:

- `RemoteAction._validate_action_result` validates each action server answer
  with `jsonschema.validate`, which first checks Rasa's constant response
  schema against the JSON-Schema meta-schema: 18.6 ms of a 19.6 ms call, on
  every custom action. Here the validator is built (and the schema checked)
  once, and each event is checked against its own type's schema instead of
  all 23 in turn (the schema's `oneOf`, a tenth of a turn at load); an answer
  that does not pass is validated against Rasa's whole schema and the same
  error, with Rasa's explanation, is raised.
- `SlotMapping.check_mapping_validity`, run for every mapping of every slot
  at every user turn, looks up each `from_intent` intent in the domain's
  sorted list of intents: with a few hundred dialogues, hundreds of mappings
  times hundreds of intents per turn. Here the lookup is in a set; unknown
  intents still go to Rasa's own code, which warns and skips the mapping.
- `Domain.index_for_action` and `action_for_name_or_text`, run several times
  per prediction, search the list of every action name (a response per card:
  1,300 at 200 dialogues). Here they look names up in a dict built once per
  domain; what they return and raise is Rasa's.
- Every prediction is a list of probabilities over every action, and Rasa
  takes its maximum some 20 times a turn (`PolicyPrediction.max_confidence`).
  Here the policies' lists remember their maximum until they are changed.
- A button's `/intent` payload and each parsed intent are checked against the
  list of every intent (an intent per option: 1,500 at 200 dialogues); here
  known intents are found in a set and anything else goes to Rasa's code.
- Each message is parsed and each action predicted by running Rasa's graph
  of components through dask's scheduler, whose bookkeeping cost as much as
  the components (py-spy under load); here the same nodes are called in
  dependency order, directly (`run_graph`).
- Every stored event read back (the whole conversation, each message) and
  every event an action returns is turned into its class by
  `Event.resolve_by_type`, which lists every subclass of `Event` again,
  through `inspect.isabstract`, for each: nearly a tenth of the Rasa server's
  event loop under load. Here the names are looked up in a dict of the same
  classes; a name it does not know goes to Rasa's code (its default, its
  error, a class defined since).

`install()` is called once when the Rasa server loads our response generator
(`bot.web.nlg`); `tests/test_rasa_speedups.py` holds each against Rasa's
original.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Optional, Text

import rasa.core.actions.action as rasa_actions
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import (
    UTTER_PREFIX,
    ActionBotResponse,
    ActionEndToEndResponse,
    ActionRetrieveResponse,
    RemoteAction,
    default_actions,
)
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import SlotMappingType
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.slot_mappings import SlotMapping
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses
from rasa.shared.utils.schemas.events import EVENT_SCHEMA

if TYPE_CHECKING:
    from rasa.core.actions.action import Action
    from rasa.utils.endpoints import EndpointConfig

# Rasa's own methods, kept for unknown intents and for the tests that compare.
ORIGINALS: Dict[str, Callable[..., Any]] = {
    "_validate_action_result": RemoteAction._validate_action_result,
    "check_mapping_validity": SlotMapping.check_mapping_validity,
    "index_for_action": Domain.index_for_action,
    "action_for_name_or_text": rasa_actions.action_for_name_or_text,
    "_default_predictions": Policy._default_predictions,
    "max_confidence": PolicyPrediction.max_confidence,
    "_intent_name_from_regex_match": YAMLStoryReader._intent_name_from_regex_match,
    "_check_for_unseen_features": MessageProcessor._check_for_unseen_features,
    "run": DaskGraphRunner.run,
    "resolve_by_type": Event.resolve_by_type,
}
_response_validator: Optional[Any] = None
_by_event: Optional[Dict[Text, Any]] = None
_installed = False


def _event_validators() -> Dict[Text, Any]:
    """A validator per event type: Rasa's event schema with, instead of its `oneOf` over the 23 event
    schemas, the one whose `event` constant is that type (the constants are distinct, so an event is valid
    under the `oneOf` exactly when it is valid under its own type's schema)."""
    options = EVENT_SCHEMA["oneOf"]
    kinds = [option["properties"]["event"]["const"] for option in options]
    assert len(set(kinds)) == len(kinds), "Rasa's event schemas no longer have distinct `event` constants"
    common = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    validator_class = validators.validator_for(EVENT_SCHEMA)
    return {kind: validator_class({**common, "allOf": [option]}) for kind, option in zip(kinds, options)}


def _plainly_valid(result: Any) -> bool:
    """True only for answers Rasa's schema accepts, checked without trying every event schema on every event
    (what made the validation a tenth of a turn); anything else goes to the full validation and its error."""
    global _by_event
    if _by_event is None:
        _by_event = _event_validators()
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    for event in events:
        kind = event.get("event") if isinstance(event, dict) else None
        validator = _by_event.get(kind) if isinstance(kind, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return all(isinstance(response, dict) for response in responses)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Rasa's `_validate_action_result` with the schema's validator built once, and a plainly valid answer
    accepted by its events' own schemas."""
    global _response_validator
    if _plainly_valid(result):
        return True
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


def _remembered(domain: Domain, name: Text, build: Callable[[], Any]) -> Any:
    """What `build` makes of the domain, made once: a loaded domain does not change."""
    value = domain.__dict__.get(name)
    if value is None:
        value = build()
        domain.__dict__[name] = value
    return value


def _known_intents(domain: Domain) -> FrozenSet[Text]:
    return _remembered(domain, "_dynchat_intent_set", lambda: frozenset(domain.intents))


def _action_positions(domain: Domain) -> Dict[Text, int]:
    """Each action name's first position in the domain's list, as `list.index` finds it."""
    def build() -> Dict[Text, int]:
        positions: Dict[Text, int] = {}
        for position, name in enumerate(domain.action_names_or_texts):
            positions.setdefault(name, position)
        return positions
    return _remembered(domain, "_dynchat_action_positions", build)


def index_for_action(self: Domain, action_name: Text) -> int:
    """Rasa's `Domain.index_for_action`, looked up in a dict."""
    position = _action_positions(self).get(action_name)
    if position is None:
        self.raise_action_not_found_exception(action_name)
    return position  # type: ignore[return-value]


def action_for_name_or_text(action_name_or_text: Text, domain: Domain,
                            action_endpoint: Optional["EndpointConfig"]) -> "Action":
    """Rasa's `action_for_name_or_text`, step for step, with the domain's name lists as sets."""
    if action_name_or_text not in _action_positions(domain):
        domain.raise_action_not_found_exception(action_name_or_text)
    names = _remembered(domain, "_dynchat_action_name_sets", lambda: {
        "user_actions_and_forms": frozenset(domain.user_actions_and_forms),
        "retrieval_intents": frozenset(domain.retrieval_intents),
        "action_texts": frozenset(domain.action_texts),
        "form_names": frozenset(domain.form_names),
        "user_actions": frozenset(domain.user_actions),
    })
    defaults = {action.name(): action for action in default_actions(action_endpoint)}
    if action_name_or_text in defaults and action_name_or_text not in names["user_actions_and_forms"]:
        return defaults[action_name_or_text]
    if action_name_or_text.startswith(UTTER_PREFIX) and \
            ActionRetrieveResponse.intent_name_from_action(action_name_or_text) in names["retrieval_intents"]:
        return ActionRetrieveResponse(action_name_or_text)
    if action_name_or_text in names["action_texts"]:
        return ActionEndToEndResponse(action_name_or_text)
    if action_name_or_text.startswith(UTTER_PREFIX):
        return ActionBotResponse(action_name_or_text)
    is_form = action_name_or_text in names["form_names"]
    if is_form and action_name_or_text not in names["user_actions"]:
        from rasa.core.actions.forms import FormAction  # as Rasa does: forms import this module

        return FormAction(action_name_or_text, action_endpoint)
    return RemoteAction(action_name_or_text, action_endpoint)


class Probabilities(list):
    """A policy's probabilities that keep their maximum up to date as they change.

    A policy starts from all zeros and sets one or two actions, so the maximum
    is followed through those assignments; any other change (or a tie, a value
    that is not a plain number) makes the next `maximum()` compute it afresh.
    """

    __slots__ = ("_maximum", "_followed")

    def maximum(self) -> float:
        try:
            return self._maximum
        except AttributeError:
            self._maximum: float = max(self, default=0.0)
            try:  # with a NaN anywhere, max() depends on the order: count afresh after any change
                self._followed = sum(self) == sum(self)
            except TypeError:
                self._followed = False
            return self._maximum

    def _changed(self) -> None:
        try:
            del self._maximum
        except AttributeError:
            pass

    def __setitem__(self, index: Any, value: Any) -> None:
        known = getattr(self, "_maximum", None)
        if known is None or not self._followed or type(index) is not int or type(value) not in (float, int) \
                or value != value:
            self._changed()
            list.__setitem__(self, index, value)
            return
        replaced = list.__getitem__(self, index)
        list.__setitem__(self, index, value)
        if value > known:
            self._maximum = value
        elif value == known or replaced >= known:  # a tie, or the maximum itself replaced: recount
            del self._maximum


def _forgetting(name: Text) -> Callable[..., Any]:
    method = getattr(list, name)

    def changing(self: Probabilities, *args: Any) -> Any:
        self._changed()
        return method(self, *args)

    changing.__name__ = name
    return changing


for _name in ("__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):
    setattr(Probabilities, _name, _forgetting(_name))


def default_predictions(self: Policy, domain: Domain) -> Probabilities:
    """Rasa's zero for every action, as a list that follows its maximum."""
    zeros = Probabilities([0.0] * domain.num_actions)
    zeros._maximum, zeros._followed = 0.0, True  # max([0.0, ...], default=0.0), and of no actions too
    return zeros


def max_confidence(self: PolicyPrediction) -> float:
    """Rasa's highest predicted confidence, remembered by our lists."""
    probabilities = self.probabilities
    if type(probabilities) is Probabilities:
        return probabilities.maximum()
    return max(probabilities, default=0.0)


def intent_name_from_regex_match(match: Any, domain: Optional[Domain]) -> Optional[Text]:
    """Rasa's check of a `/intent` message's intent, with known intents found in a set."""
    intent_name = match.group(INTENT_NAME_KEY).strip()
    if domain and intent_name in _known_intents(domain):
        return intent_name
    return ORIGINALS["_intent_name_from_regex_match"](match, domain)


def check_for_unseen_features(self: MessageProcessor, parse_data: Dict[Text, Any]) -> None:
    """Rasa's warning for parsed intents and entities outside the domain, for known intents in a set."""
    intent = parse_data["intent"][INTENT_NAME_KEY]
    if self.domain and intent and intent in _known_intents(self.domain) and not parse_data["entities"]:
        return  # Rasa's check would find nothing to warn about
    ORIGINALS["_check_for_unseen_features"](self, parse_data)


def check_mapping_validity(slot_name: Text, mapping_type: SlotMappingType, mapping: Dict[Text, Any],
                           domain: Domain) -> bool:
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


def run_graph(self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None,
              targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    """`DaskGraphRunner.run` without dask: the nodes a target needs, each run once after what it needs.

    Rasa hands dask a graph of `(node, *needed names)` tasks, inputs as `(name, value)` literals, and turns
    the targets' `(name, output)` results into a dict; dask's scheduler (queues, callbacks, a task per node)
    cost as much as the components it ran for a message. The same calls happen here, depth first, with the
    minimal schema for a set of targets worked out once."""
    run_targets = list(targets) if targets else self._graph_schema.target_names
    cached = self.__dict__.setdefault("_dynchat_minimal", {})
    schema = cached.get(tuple(run_targets))
    if schema is None:
        schema = cached[tuple(run_targets)] = self._graph_schema.minimal_graph_schema(run_targets)
    results: Dict[Text, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and (value in schema.nodes or value in results):  # Rasa's check
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names passed "
                f"to the `run` method are the same as node names in the graph schema.")
        results[name] = (name, value)

    def result(name: Text) -> Any:
        if name not in results:
            needs = [result(needed) for needed in schema.nodes[name].needs.values()]
            results[name] = self._instantiated_nodes[name](*needs)
        return results[name]

    try:
        return dict(result(target) for target in run_targets)
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error


_event_types: Dict[Text, Any] = {}


def resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
    """Rasa's `Event.resolve_by_type`: the first of `all_subclasses(Event)` with that `type_name`, from a dict."""
    found = _event_types.get(type_name)
    if found is None:
        for cls in reversed(all_subclasses(Event)):  # the first of Rasa's order wins, as in its loop
            _event_types[cls.type_name] = cls
        found = _event_types.get(type_name)
    return found if found is not None else ORIGINALS["resolve_by_type"](type_name, default)


def install() -> None:
    """Replace Rasa's functions in this process; calling it again changes nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    SlotMapping.check_mapping_validity = staticmethod(check_mapping_validity)  # type: ignore[assignment]
    Domain.index_for_action = index_for_action  # type: ignore[assignment]
    rasa_actions.action_for_name_or_text = action_for_name_or_text
    Policy._default_predictions = default_predictions  # type: ignore[assignment]
    PolicyPrediction.max_confidence = property(max_confidence)  # type: ignore[assignment]
    YAMLStoryReader._intent_name_from_regex_match = staticmethod(intent_name_from_regex_match)  # type: ignore
    MessageProcessor._check_for_unseen_features = check_for_unseen_features  # type: ignore[assignment]
    DaskGraphRunner.run = run_graph  # type: ignore[assignment]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
