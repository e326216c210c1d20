"""The per-turn speed-ups do what Rasa's originals do, on valid and invalid input."""
from __future__ import annotations

import warnings
from typing import Any, Dict, List

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.core.constants import SlotMappingType
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.slot_mappings import SlotMapping
from rasa.shared.nlu.training_data.message import Message

from bot.core import naming
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
    # each type's own schema, as the `oneOf` holds it: a visitor's message with parse data, a bot message,
    # an unknown type, a known one with a field of the wrong type, timestamps and metadata of the wrong type
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1.0},
                                                               "entities": [{"entity": "e", "value": 1, "start": 0}]}},
                {"event": "bot", "text": "Hello", "data": {"buttons": []}}, {"event": "session_started"}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "e"}]}}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "action", "name": 3}]},
    {"events": [{"event": "slot", "name": "x", "timestamp": "noon"}]},
    {"events": [{"event": "followup", "name": "action_x", "metadata": []}]},
    {"events": [{"event": 5}], "responses": []},
    {"events": [["slot"]]},
    {"events": [], "responses": ["text"]},
    {"events": [{"event": "user", "input_channel": 5}]},
    [],
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


ACTION_DOMAIN = {
    "intents": ["greet", {"faq": {"is_retrieval_intent": True}}],
    "responses": {"utter_greet": [{"text": "Hi"}], "utter_faq/price": [{"text": "It costs"}],
                  "utter_ask_email": [{"text": "Email?"}]},
    "actions": ["action_dc_step", "action_restart", "validate_signup", "override_form"],
    "forms": {"signup": {"required_slots": ["email"]}, "override_form": {"required_slots": ["email"]}},
    "slots": {"email": {"type": "text", "mappings": [{"type": "from_text"}]}},
}


def _action_outcome(find, name: str, domain: Domain) -> Any:
    try:
        action = find(name, domain, None)
    except Exception as error:  # noqa: BLE001 - the exception itself is what is compared
        return ("error", type(error), str(error))
    return (type(action), action.name())


def test_actions_are_found_as_rasa_finds_them() -> None:
    domain = Domain.from_dict(ACTION_DOMAIN)
    texts = Domain.from_dict({**ACTION_DOMAIN, "e2e_actions": ["Hello there"]})
    original = rasa_speedups.ORIGINALS["action_for_name_or_text"]
    for each in (domain, texts):
        names = list(each.action_names_or_texts) + ["utter_faq", "no_such_action", "Hello there", ""]
        kinds = {_action_outcome(original, name, each)[0] for name in names}
        assert len(kinds) >= 6, kinds  # bot responses, retrieval, forms, remote, defaults, errors
        for name in names:
            assert _action_outcome(rasa_speedups.action_for_name_or_text, name, each) == \
                _action_outcome(original, name, each), name


def test_action_positions_are_rasa_s() -> None:
    domain = Domain.from_dict(ACTION_DOMAIN)
    original = rasa_speedups.ORIGINALS["index_for_action"]
    for name in domain.action_names_or_texts:
        assert rasa_speedups.index_for_action(domain, name) == original(domain, name)
    for call in (original, rasa_speedups.index_for_action):
        with pytest.raises(Exception, match="no_such_action") as raised:
            call(domain, "no_such_action")
        assert type(raised.value).__name__ == "ActionNotFoundException"


def test_install_is_idempotent_and_swaps_every_function() -> None:
    import rasa.core.actions.action as rasa_actions

    rasa_speedups.install()
    rasa_speedups.install()
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result
    assert SlotMapping.check_mapping_validity is rasa_speedups.check_mapping_validity
    assert Domain.index_for_action is rasa_speedups.index_for_action
    assert rasa_actions.action_for_name_or_text is rasa_speedups.action_for_name_or_text
    from rasa.core.policies.policy import Policy, PolicyPrediction

    assert Policy._default_predictions is rasa_speedups.default_predictions
    assert PolicyPrediction.max_confidence.fget is rasa_speedups.max_confidence
    assert Event.resolve_by_type is rasa_speedups.resolve_by_type
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


def test_probabilities_know_their_maximum_after_any_change() -> None:
    import random

    from rasa.core.policies.policy import PolicyPrediction

    rng = random.Random(7)
    domain = Domain.from_dict(ACTION_DOMAIN)
    assignments = [
        lambda p: p.__setitem__(rng.randrange(len(p)), rng.random()),
        lambda p: p.__setitem__(rng.randrange(len(p)), rng.choice([0.0, 0.3, 1.0, 1, 0])),  # ties, ints
        lambda p: p.__setitem__(-1, rng.choice([0.0, 0.9])),
        lambda p: p.__setitem__(p.index(max(p)), rng.random() / 2),  # the maximum itself lowered
    ]
    others = [
        lambda p: p.__setitem__(rng.randrange(len(p)), rng.choice([float("nan"), float("inf")])),
        lambda p: p.__setitem__(slice(0, 2), [rng.random(), 2.0]),
        lambda p: p.__delitem__(0),
        lambda p: p.append(rng.random() * 3),
        lambda p: p.extend([rng.random()]),
        lambda p: p.insert(1, 5.0),
        lambda p: p.pop(),
        lambda p: p.remove(p[0]),
        lambda p: p.sort(),
        lambda p: p.reverse(),
        lambda p: p.__iadd__([0.5]),
        lambda p: p.__imul__(1),
    ]
    original = rasa_speedups.ORIGINALS["max_confidence"].fget
    for _ in range(500):  # a policy's list: fresh zeros, then a few changes, mostly assignments
        ours = rasa_speedups.default_predictions(None, domain)
        assert type(ours) is rasa_speedups.Probabilities and ours == [0.0] * domain.num_actions
        plain = [0.0] * domain.num_actions
        for _ in range(6):
            change = rng.choice(assignments if rng.random() < 0.8 else others)
            state = rng.getstate()
            change(ours)
            rng.setstate(state)
            change(plain)
            assert str(list(ours)) == str(plain)
            mine = rasa_speedups.max_confidence(PolicyPrediction(ours, "P"))
            theirs = original(PolicyPrediction(plain, "P"))
            assert (str(mine), type(mine)) == (str(theirs), type(theirs))
    ours.clear()
    assert ours.maximum() == 0.0 == original(PolicyPrediction([], "P"))


def test_intent_lookups_warn_and_answer_as_rasa_s() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.from_dict({"intents": ["greet", "dc__a__q__1"], "entities": ["dc_slot"]})
    pattern = YAMLStoryReader._regex_message_pattern()

    def outcome(call, *args):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answer = call(*args)
        return answer, [str(w.message) for w in caught]

    original = rasa_speedups.ORIGINALS["_intent_name_from_regex_match"]
    for text in ("/greet", "/dc__a__q__1", "/no_such_intent", "/greet{\"dc_slot\": 1}"):
        match = pattern.match(text)
        for each in (domain, None):
            assert outcome(rasa_speedups.intent_name_from_regex_match, match, each) == outcome(original, match, each)

    processor = object.__new__(MessageProcessor)
    processor.domain = domain
    original = rasa_speedups.ORIGINALS["_check_for_unseen_features"]
    for parse in ({"intent": {"name": "greet"}, "entities": []},
                  {"intent": {"name": "no_such_intent"}, "entities": []},
                  {"intent": {"name": None}, "entities": None},
                  {"intent": {"name": "greet"}, "entities": [{"entity": "no_such_entity"}]}):
        assert outcome(rasa_speedups.check_for_unseen_features, processor, parse) == \
            outcome(original, processor, parse)


class _Sum(GraphComponent):
    """A graph component that adds what it needs to its configured number, and counts its runs."""

    runs: List[str] = []

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: Any, resource: Any, execution_context: Any) -> "_Sum":
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        self.add, self.name = config.get("add", 0), name

    def total(self, **needed: Any) -> int:
        _Sum.runs.append(self.name)
        if self.add == "fail":
            raise RuntimeError("broken component")
        return sum(needed.values()) + self.add


def _runner(tmp_path, add_to_d: Any = 4) -> DaskGraphRunner:
    def node(needs: Dict[str, str], add: Any, target: bool = False) -> SchemaNode:
        return SchemaNode(needs=needs, uses=_Sum, constructor_name="create", fn="total", config={"add": add},
                          is_target=target)

    schema = GraphSchema({  # a diamond over an input, a node off to the side, two targets
        "a": node({"x": "__input__"}, 1), "b": node({"a": "a"}, 10), "c": node({"a": "a"}, 100),
        "d": node({"b": "b", "c": "c"}, add_to_d, target=True), "side": node({}, 1000, target=True)})
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "model"))


def test_the_graph_runs_as_dask_runs_it_each_node_once(tmp_path) -> None:
    runner, original = _runner(tmp_path), rasa_speedups.ORIGINALS["run"]
    for targets in (None, ["d"], ["b", "side"], ["a"]):
        _Sum.runs.clear()
        theirs = original(runner, {"__input__": 5}, targets)
        their_runs = sorted(_Sum.runs)
        _Sum.runs.clear()
        assert rasa_speedups.run_graph(runner, {"__input__": 5}, targets) == theirs
        assert sorted(_Sum.runs) == their_runs  # the same nodes, each once
    assert rasa_speedups.run_graph(runner, {"__input__": 5}, ["d"]) == {"d": 16 + 106 + 4}  # a = 5 + 1, b = a + 10, c = a + 100
    broken = _runner(tmp_path, add_to_d="fail")
    for run in (original, rasa_speedups.run_graph):
        with pytest.raises(GraphComponentException):
            run(broken, {"__input__": 5}, ["d"])
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(runner, {"__input__": "a"}, ["d"])


def _resolved(resolve, type_name: str, default: Any) -> Any:
    try:
        return resolve(type_name, default)
    except ValueError as error:
        return ("error", str(error))


def test_event_classes_are_found_as_rasa_finds_them() -> None:
    """Every event type Rasa knows, the old `topic`, unknown names with and without a default, and a class
    defined after the first lookup."""
    original = rasa_speedups.ORIGINALS["resolve_by_type"]
    from rasa.shared.utils.common import all_subclasses

    names = sorted({cls.type_name for cls in all_subclasses(Event)}) + ["topic", "no_such_event", ""]
    for name in names:
        for default in (None, SlotSet):
            assert _resolved(rasa_speedups.resolve_by_type, name, default) == _resolved(original, name, default)

    class LateEvent(ActionExecuted):
        type_name = "dynchat_late_test_event"

    assert rasa_speedups.resolve_by_type("dynchat_late_test_event") is LateEvent is original("dynchat_late_test_event")
    rasa_speedups._event_types.pop("dynchat_late_test_event")  # the test's class not kept for later tests
    assert Event.from_parameters({"event": "slot", "name": "a", "value": 1}) == SlotSet("a", 1)
