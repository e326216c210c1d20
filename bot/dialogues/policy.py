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

Both policies here also keep a conversation's past states between the
predictions of a turn instead of replaying it whole for each (`RememberingPastStates`).

Registered in `config.yml` as `bot.dialogues.policy.IndexedRulePolicy` and
`bot.dialogues.policy.RememberingMemoizationPolicy`.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional, Set, Text, Tuple

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RULES, RULES_NOT_IN_STORIES, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.events import ActionExecuted, Event, LoopInterrupted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogues.rule_index import RuleIndex

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain, State

# Conversations whose past states a policy keeps between the predictions of a turn.
REMEMBERED_CONVERSATIONS = 256


class _History:
    """Rasa's `Domain.states_for_tracker_history`, run one event at a time.

    Rasa replays the whole conversation into a fresh tracker for every
    prediction; this keeps the replayed tracker and the loop's own variables
    (states so far, the last ML action, whether the turn is hidden) and only
    feeds it events it has not seen.
    """

    def __init__(self, tracker: DialogueStateTracker, domain: "Domain", omit_unset_slots: bool,
                 ignore_rule_only_turns: bool, rule_only_data: Optional[Dict[Text, Any]]) -> None:
        self.domain = domain
        self.omit_unset_slots = omit_unset_slots
        self.ignore_rule_only_turns = ignore_rule_only_turns
        self.rule_only_data = rule_only_data
        self.events: List[Event] = []
        self.running = tracker.init_copy()
        self.states: List["State"] = []
        self.last_ml_action: Optional[Dict[Text, Any]] = None
        self.turn_was_hidden = False

    def follows(self, events: List[Event], domain: "Domain", rule_only_data: Any) -> bool:
        """Whether `events` continue the very events (same objects) these states were made from."""
        return (domain is self.domain and rule_only_data == self.rule_only_data
                and len(events) >= len(self.events)
                and all(mine is theirs for mine, theirs in zip(self.events, events)))

    def extend(self, events: List[Event]) -> None:
        for event in events[len(self.events):]:
            if isinstance(event, ActionExecuted):
                self.last_ml_action, self.turn_was_hidden = self._step(
                    event.hide_rule_turn, self.states, self.last_ml_action, self.turn_was_hidden)
            self.running.update(event)
            self.events.append(event)

    def past_states(self) -> List["State"]:
        """The states Rasa's replay returns, as fresh objects (callers edit them), shared where Rasa's share."""
        states = list(self.states)
        self._step(False, states, self.last_ml_action, self.turn_was_hidden)
        return _fresh(states)

    def _step(self, hide_rule_turn: bool, states: List["State"], last_ml_action: Optional[Dict[Text, Any]],
              turn_was_hidden: bool) -> Tuple[Optional[Dict[Text, Any]], bool]:
        """One pass of Rasa's loop over prior trackers, on the running tracker (same code, same order)."""
        domain, tracker = self.domain, self.running
        if self.ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name:
                turn_was_hidden = hide_rule_turn
            if turn_was_hidden:
                return last_ml_action, turn_was_hidden
        state = domain.get_active_state(tracker, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action:
                state[PREVIOUS_ACTION] = last_ml_action
        states.append(domain._clean_state(state))
        return last_ml_action, turn_was_hidden


def _fresh(states: List["State"]) -> List["State"]:
    """New state and sub-state dicts; a sub-state two states share stays shared (values are immutable)."""
    copies: Dict[int, Dict[Text, Any]] = {}

    def fresh(sub_state: Any) -> Any:
        copied = copies.get(id(sub_state))
        if copied is None:
            copied = copies[id(sub_state)] = dict(sub_state)
        return copied

    return [{kind: fresh(sub_state) for kind, sub_state in state.items()} for state in states]


class _Remembered:
    """What a featurizer asks of a tracker (`past_states`), answered from a kept history."""

    def __init__(self, histories: "OrderedDict[Tuple[Text, bool, bool], _History]",
                 tracker: DialogueStateTracker) -> None:
        self._histories = histories
        self._tracker = tracker

    def past_states(self, domain: "Domain", omit_unset_slots: bool = False, ignore_rule_only_turns: bool = False,
                    rule_only_data: Optional[Dict[Text, Any]] = None) -> List["State"]:
        tracker, histories = self._tracker, self._histories
        key = (tracker.sender_id, omit_unset_slots, ignore_rule_only_turns)
        events = tracker.applied_events()
        history = histories.get(key)
        if history is None or not history.follows(events, domain, rule_only_data):
            history = _History(tracker, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
            histories[key] = history
            if len(histories) > REMEMBERED_CONVERSATIONS:
                histories.popitem(last=False)
        histories.move_to_end(key)
        history.extend(events)
        return history.past_states()


class RememberingPastStates:
    """Keeps a conversation's past states between the predictions of a turn (a policy mix-in).

    Rasa replays the whole conversation and featurizes every slot for every
    past state, for every policy and every prediction of a turn. Within a turn
    the processor's tracker only gains events (the same objects), so the
    states of the events already seen are kept and only new events are
    replayed; any other change (a new turn's tracker, a reverted event, other
    rule-only data) starts afresh. The policy's featurizer still does the rest
    (slicing to its history, choosing the last user input) as Rasa's does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._histories: "OrderedDict[Tuple[Text, bool, bool], _History]" = OrderedDict()

    def _prediction_states(self, tracker: DialogueStateTracker, domain: "Domain",
                           use_text_for_last_user_input: bool = False,
                           rule_only_data: Optional[Dict[Text, Any]] = None) -> List["State"]:
        if type(tracker) is not DialogueStateTracker:  # e.g. training's trackers with cached states
            return super()._prediction_states(  # type: ignore[misc]
                tracker, domain, use_text_for_last_user_input, rule_only_data)
        return super()._prediction_states(  # type: ignore[misc]
            _Remembered(self._histories, tracker), domain, use_text_for_last_user_input, rule_only_data)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class IndexedRulePolicy(RememberingPastStates, RulePolicy):
    """A drop-in `RulePolicy` whose rule lookup is indexed by what a turn can match on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: Optional[RuleIndex] = None
        self._indexed_rules: Optional[Dict[Text, Text]] = None
        # Rasa's rules-not-in-stories list, its length, and the same names as a set
        self._not_in_stories: Optional[Tuple[List[Text], int, FrozenSet[Text]]] = None

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

    def _rule_prediction(self, probabilities: List[float], prediction_source: Text,
                         returning_from_unhappy_path: bool = False, is_end_to_end_prediction: bool = False,
                         is_no_user_prediction: bool = False) -> PolicyPrediction:
        """Rasa's, with the rules-not-in-stories list (hundreds of rules) looked up as a set."""
        listed = self.lookup.get(RULES_NOT_IN_STORIES, [])
        remembered = self._not_in_stories
        if remembered is None or remembered[0] is not listed or remembered[1] != len(listed):
            remembered = self._not_in_stories = (listed, len(listed), frozenset(listed))
        return PolicyPrediction(
            probabilities, self.__class__.__name__, self.priority,
            events=[LoopInterrupted(True)] if returning_from_unhappy_path else [],
            is_end_to_end_prediction=is_end_to_end_prediction, is_no_user_prediction=is_no_user_prediction,
            hide_rule_turn=prediction_source in remembered[2],
        )


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class RememberingMemoizationPolicy(RememberingPastStates, MemoizationPolicy):
    """Rasa's `MemoizationPolicy`, keeping past states between the predictions of a turn."""
