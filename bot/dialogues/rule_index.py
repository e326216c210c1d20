"""An index over Rasa rule keys, so a prediction looks at a few rules, not all.

Rasa's `RulePolicy` learns rules as JSON keys (a list of states, the last one
being the state a prediction sees) and, on every prediction, decodes and
tests every key against the conversation. Here each key is decoded once and
filed under one feature its last state requires (the rarest one: a previous
action, an intent, a routing-slot value, an active loop). A conversation's last
state has only a handful of features, so the candidates are the rules filed
under those features plus the few rules that require none; each candidate is
then checked with Rasa's own matching rule, unchanged. A rule can only match a
state that has every feature the rule requires, so no applicable rule is ever
left out: the index narrows the search and never changes its answer.

Pure: states are plain dicts as Rasa builds them; nothing here imports Rasa.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable, Dict, Hashable, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

State = Mapping[str, Mapping[str, Any]]
Feature = Tuple[str, str, Hashable]
# (rule state, conversation state) -> whether the conversation state satisfies it: Rasa's own test.
StateMatch = Callable[[State, State], bool]

PREVIOUS_ACTION = "prev_action"
SHOULD_NOT_BE_SET = "should_not_be_set"


def _hashable(value: Any) -> Optional[Hashable]:
    """JSON turns tuples into lists; Rasa compares them as tuples again."""
    if isinstance(value, list):
        value = tuple(_hashable(item) for item in value)
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _features(state: State, required: bool) -> Iterable[Feature]:
    for state_type, sub_state in state.items():
        if not isinstance(sub_state, Mapping):
            continue
        for key, value in sub_state.items():
            if required and (not value or value == SHOULD_NOT_BE_SET):
                continue
            hashable = _hashable(value)
            if hashable is not None:
                yield state_type, key, hashable


def required_features(state: State) -> List[Feature]:
    """Features a conversation state must have for this rule state to match it.

    Rasa's test: a truthy rule value other than `should_not_be_set` must equal the
    conversation's value; everything else (falsy values, `should_not_be_set`)
    constrains by absence and is left to the full check.
    """
    return list(_features(state, required=True))


def present_features(state: State) -> Iterable[Feature]:
    """Every feature a conversation state has."""
    return _features(state, required=False)


class RuleIndex:
    """Rule keys, decoded once, filed by one feature their last state requires."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.reversed_states: Dict[str, List[State]] = {}
        required: Dict[str, List[Feature]] = {}
        for key in keys:
            states = list(reversed(json.loads(key)))
            self.reversed_states[key] = states
            required[key] = required_features(states[0]) if states else []
        # File each rule under its rarest required feature: the buckets stay small.
        frequency = Counter(feature for features in required.values() for feature in set(features))
        self.by_feature: Dict[Feature, List[str]] = {}
        self.unfiled: List[str] = []  # rules whose last state requires no feature
        self.without_previous_action: List[str] = []
        for key, features in required.items():
            if features:
                anchor = min(features, key=lambda feature: (frequency[feature], repr(feature)))
                self.by_feature.setdefault(anchor, []).append(key)
            else:
                self.unfiled.append(key)
            states = self.reversed_states[key]
            if not states or not states[0].get(PREVIOUS_ACTION):
                self.without_previous_action.append(key)

    def __len__(self) -> int:
        return len(self.reversed_states)

    def candidates(self, last_state: State) -> Set[str]:
        """Every rule key that could match a conversation whose last state is this one."""
        if not last_state.get(PREVIOUS_ACTION):
            # A conversation's first state matches only rules that start a conversation.
            return set(self.without_previous_action)
        found = set(self.unfiled)
        for feature in present_features(last_state):
            bucket = self.by_feature.get(feature)
            if bucket:
                found.update(bucket)
        return found

    def applicable(self, key: str, states: Sequence[State], matches: StateMatch) -> bool:
        """Rasa's `_is_rule_applicable` over every turn, on the decoded key."""
        rule_states = self.reversed_states[key]
        for turn, conversation_state in enumerate(reversed(states)):
            if turn >= len(rule_states):
                return True
            current_previous_action = conversation_state.get(PREVIOUS_ACTION)
            rule_previous_action = rule_states[turn].get(PREVIOUS_ACTION)
            if not rule_previous_action and not current_previous_action:
                continue
            if not rule_previous_action or not current_previous_action:
                return False
            if not matches(rule_states[turn], conversation_state):
                return False
        return True

    def possible_keys(self, states: Sequence[State], matches: StateMatch,
                      still_learned: Optional[Mapping[str, Any]] = None) -> Set[str]:
        """The keys Rasa's `_get_possible_keys` returns for these states.

        `still_learned`: the policy's current lookup, which training may have
        pruned since the index was built.
        """
        if not states:
            return set(still_learned if still_learned is not None else self.reversed_states)
        return {key for key in self.candidates(states[-1])
                if (still_learned is None or key in still_learned) and self.applicable(key, states, matches)}
