"""Rasa's `RulePolicy`, with rule matching that does not grow with the number of rules.

Rasa tests every learned rule on every prediction and decodes each rule's JSON
key through an `lru_cache(maxsize=1000)`, which a scan over more keys than
that defeats on every call (Rasa issues 8850 and 10703): with a few hundred
dialogues, 87 % of a turn and nearly all of training (the contradiction check
predicts every step of every rule and story) went there. This subclass only
changes how the matching keys are found (`bot.dialogues.rule_index`); which
keys match, which wins, the contradiction check, the rule-only slots and loops
and the rules-not-in-stories list are Rasa's own code. `tests/test_policy.py`
replays compiled rules, stories and random conversations through both
policies and compares every prediction.

Registered in `config.yml` as `bot.dialogues.policy.IndexedRulePolicy`.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Text

from rasa.core.policies.rule_policy import RULES, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogues.rule_index import RuleIndex

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain, State

# Conversations whose past states are kept between the predictions of a turn.
REMEMBERED_CONVERSATIONS = 256


class _PastStates:
    """A conversation's states up to its latest event, and the tracker that produced them."""

    def __init__(self, tracker: DialogueStateTracker, domain: "Domain", rule_only_data: Any) -> None:
        self.domain = domain
        self.rule_only_data = rule_only_data
        self.events: List[Event] = []
        self.running = tracker.init_copy()
        self.states: List["State"] = []  # the state before each ActionExecuted in `events`

    def extend(self, events: List[Event]) -> None:
        for event in events[len(self.events):]:
            if isinstance(event, ActionExecuted):
                self.states.append(self.domain._clean_state(self.domain.get_active_state(self.running)))
            self.running.update(event)
            self.events.append(event)

    def follows(self, events: List[Event], domain: "Domain", rule_only_data: Any) -> bool:
        """Whether `events` continue the very events (same objects) these states were made from."""
        return (domain is self.domain and rule_only_data == self.rule_only_data
                and len(events) >= len(self.events)
                and all(mine is theirs for mine, theirs in zip(self.events, events)))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class IndexedRulePolicy(RulePolicy):
    """A drop-in `RulePolicy` whose rule lookup is indexed by what a turn can match on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: Optional[RuleIndex] = None
        self._indexed_rules: Optional[Dict[Text, Text]] = None
        self._past: "OrderedDict[Text, _PastStates]" = OrderedDict()

    def _rule_index(self, rules: Dict[Text, Text]) -> RuleIndex:
        """The index of the learned rules, rebuilt when training replaces or extends them.

        Training only ever removes keys once they are built (a rule that a story
        overrides); `possible_keys` skips removed keys, so only a new lookup or a
        grown one needs a rebuild.
        """
        if self._index is None or self._indexed_rules is not rules or len(rules) > len(self._index):
            self._index = RuleIndex(rules.keys())
            self._indexed_rules = rules
        return self._index

    def _get_possible_keys(self, lookup: Dict[Text, Text], states: List["State"]) -> Set[Text]:
        rules = self.lookup.get(RULES)
        if lookup is not rules or rules is None:
            return super()._get_possible_keys(lookup, states)  # the loop unhappy-path lookup: a few keys
        return self._rule_index(rules).possible_keys(states, self._does_rule_match_state, still_learned=rules)

    def _rule_key_to_state(self, rule_key: Text) -> List["State"]:  # type: ignore[override]
        """Decoded once by the index instead of through Rasa's thrashing cache."""
        if self._index is not None and rule_key in self._index.reversed_states:
            return list(reversed(self._index.reversed_states[rule_key]))
        return RulePolicy._rule_key_to_state(rule_key)

    def _prediction_states(self, tracker: DialogueStateTracker, domain: "Domain",
                           use_text_for_last_user_input: bool = False,
                           rule_only_data: Optional[Dict[Text, Any]] = None) -> List["State"]:
        """Rasa's prediction states, with the past ones kept between the predictions of a turn.

        Rasa replays the whole conversation and featurizes every slot for every
        past state, twice per prediction and again for every prediction of the
        turn. Within a turn the processor's tracker only gains events (the same
        objects), so the states of the events already seen are kept and only the
        new events are replayed; any other change (a new turn's tracker, a
        reverted event) starts afresh. Each call gets its own copies: Rasa's
        featurizer edits the states it returns.
        """
        if type(tracker) is not DialogueStateTracker or self.featurizer.max_history is not None:
            return super()._prediction_states(tracker, domain, use_text_for_last_user_input, rule_only_data)
        events = tracker.applied_events()
        past = self._past.get(tracker.sender_id)
        if past is None or not past.follows(events, domain, rule_only_data):
            past = _PastStates(tracker, domain, rule_only_data)
            self._past[tracker.sender_id] = past
            if len(self._past) > REMEMBERED_CONVERSATIONS:
                self._past.popitem(last=False)
        self._past.move_to_end(tracker.sender_id)
        past.extend(events)
        final = domain._clean_state(domain.get_active_state(past.running))
        states = [{kind: dict(sub_state) for kind, sub_state in state.items()} for state in past.states + [final]]
        self.featurizer._choose_last_user_input([states], use_text_for_last_user_input)
        return states
