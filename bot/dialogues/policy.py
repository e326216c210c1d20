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

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Text

from rasa.core.policies.rule_policy import RULES, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.dialogues.rule_index import RuleIndex

if TYPE_CHECKING:
    from rasa.shared.core.domain import State


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class IndexedRulePolicy(RulePolicy):
    """A drop-in `RulePolicy` whose rule lookup is indexed by what a turn can match on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: Optional[RuleIndex] = None
        self._indexed_rules: Optional[Dict[Text, Text]] = None

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

