"""IndexedRulePolicy predicts exactly what Rasa's RulePolicy predicts, and
RememberingMemoizationPolicy what Rasa's MemoizationPolicy predicts.

Both are trained in-process on compiled dialogues (the shipped ones plus
generated ones with every card kind); then every step of every compiled rule
and story, and random conversations that hypothesis draws from the domain,
go through both, and every prediction is compared whole: the probabilities
(so the action and its confidence), the events, and the flags the ensemble
reads. The memoization policies get the rule-only data the rule policy
hands them in the ensemble.
"""
from __future__ import annotations

from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.rule_policy import RULES, RulePolicy
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUtteranceReverted, UserUttered

from bot.core import naming
from bot.dialogues.policy import IndexedRulePolicy, RememberingMemoizationPolicy, _Remembered
from bot.dialogues.rule_index import RuleIndex
from tests.support import policy as policy_support

GENERATED = 20  # with the 5 shipped dialogues: some 600 rules, under Rasa's 1,000-key decode cache


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Tuple:
    scratch = tmp_path_factory.mktemp("policy")
    build = policy_support.compile_with_generated(scratch, GENERATED)
    domain, trackers = policy_support.load_training(build)
    stock = policy_support.train(RulePolicy, domain, trackers, scratch / "stock")
    ours = policy_support.train(IndexedRulePolicy, domain, trackers, scratch / "ours")
    memo = policy_support.train(MemoizationPolicy, domain, trackers, scratch / "memo")
    our_memo = policy_support.train(RememberingMemoizationPolicy, domain, trackers, scratch / "our_memo")
    return domain, trackers, stock, ours, memo, our_memo


def same_predictions(trained, tracker) -> Tuple[Tuple, Tuple]:
    """Rule policies alike, memoization policies alike; (the rule policies', the memoization policies')."""
    domain, _, stock, ours, memo, our_memo = trained
    memorized = policy_support.same_predictions([memo, our_memo], domain, tracker,
                                                rule_only_data=stock._get_rule_only_data())
    return policy_support.same_predictions([stock, ours], domain, tracker), memorized


def test_training_learns_the_same_lookup(trained) -> None:
    """Rules, unhappy-path rules, rule-only slots and loops, rules not in stories: all equal."""
    _, _, stock, ours, memo, our_memo = trained
    assert memo.lookup == our_memo.lookup and len(memo.lookup) > 100
    assert len(stock.lookup[RULES]) > 500
    assert sorted(stock.lookup) == sorted(ours.lookup)
    for key, value in stock.lookup.items():
        if isinstance(value, list):
            assert sorted(value) == sorted(ours.lookup[key]), key
        else:
            assert value == ours.lookup[key], key


def test_every_step_of_every_rule_and_story_is_predicted_alike(trained) -> None:
    domain, trackers, *_ = trained
    compared = matched_by_a_rule = memorized = 0
    for tracker in trackers:
        for point in policy_support.prediction_points(tracker):
            by_rules, by_memory = same_predictions(trained, point)
            compared += 1
            matched_by_a_rule += max(by_rules[0]) == 1.0
            memorized += max(by_memory[0]) == 1.0
    assert compared > 2000
    # much of the comparison is about real matches: rules, and story steps remembered
    assert matched_by_a_rule > compared // 3 and memorized > compared // 10, (compared, matched_by_a_rule, memorized)


def _conversation_moves(domain) -> st.SearchStrategy:
    intents = sorted(domain.intents)
    actions = sorted(domain.action_names_or_texts)
    goto_values = list(domain.slots[[s.name for s in domain.slots].index(naming.GOTO_SLOT)].values)
    forms = sorted(domain.form_names)
    move = st.one_of(
        st.tuples(st.just("follow"), st.integers(1, 4)),  # run what the stock policy predicts, n times
        st.tuples(st.just("intent"), st.sampled_from(intents)),
        st.tuples(st.just("typed"), st.sampled_from(intents)),  # free text, classified as an intent
        st.tuples(st.just("action"), st.sampled_from(actions)),
        st.tuples(st.just("goto"), st.sampled_from(goto_values + [None])),
        st.tuples(st.just("loop"), st.sampled_from(forms + [None])),
        st.tuples(st.just("revert"), st.none()),  # `back`: the applied events shrink
    )
    return st.lists(move, min_size=1, max_size=25)


def test_random_conversations_are_predicted_alike(trained) -> None:
    domain, _, stock, *_ = trained

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(moves=_conversation_moves(domain))
    def check(moves: List[Tuple]) -> None:
        tracker = policy_support.DialogueStateTracker.from_events("random", [ActionExecuted(ACTION_LISTEN_NAME)],
                                                                  domain.slots)
        for kind, value in moves:
            if kind == "follow":
                for _ in range(value):
                    prediction = stock.predict_action_probabilities(tracker, domain)
                    same_predictions(trained, tracker)
                    tracker.update_with_events(list(prediction.events), domain)
                    tracker.update(ActionExecuted(policy_support.predicted_action(prediction, domain),
                                                  hide_rule_turn=prediction.hide_rule_turn), domain)
                continue
            if kind in ("intent", "typed"):
                if tracker.latest_action_name != ACTION_LISTEN_NAME:
                    tracker.update(ActionExecuted(ACTION_LISTEN_NAME), domain)
                text = f"/{value}" if kind == "intent" else f"I would say {value}"
                tracker.update(UserUttered(text, {"name": value, "confidence": 0.9}), domain)
            elif kind == "action":
                tracker.update(ActionExecuted(value), domain)
            elif kind == "goto":
                tracker.update(SlotSet(naming.GOTO_SLOT, value), domain)
            elif kind == "revert":
                tracker.update(UserUtteranceReverted(), domain)
            else:
                tracker.update(ActiveLoop(value), domain)
            same_predictions(trained, tracker)

    check()


def test_the_index_finds_a_rule_among_thousands_by_a_few_candidates(trained) -> None:
    """The point of the index: a prediction looks at a few rules, not all of them."""
    domain, trackers, _, ours, *_ = trained
    index = RuleIndex(ours.lookup[RULES].keys())
    sizes = []
    for tracker in trackers[:200]:
        for point in policy_support.prediction_points(tracker):
            states = ours._prediction_states(point, domain, False, rule_only_data=ours._get_rule_only_data())
            if states:
                sizes.append(len(index.candidates(states[-1])))
    assert sizes and max(sizes) < len(index) / 10, (max(sizes), len(index))


def test_the_rule_policy_alone_predicts_every_step_of_every_story(trained) -> None:
    """The compiled stories add nothing the rules do not say (the memoization policy only repeats them)."""
    domain, trackers, _, ours, *_ = trained
    checked = 0
    for tracker in trackers:
        if tracker.is_rule_tracker:
            continue
        actions = [e for e in tracker.applied_events() if isinstance(e, ActionExecuted)]
        for index, point in enumerate(policy_support.prediction_points(tracker)):
            if index == 0:
                continue  # the conversation's opening action_listen is not predicted
            prediction = ours.predict_action_probabilities(point, domain)
            gold = actions[index].action_name
            assert policy_support.predicted_action(prediction, domain) == gold and max(prediction.probabilities) == 1.0, (
                tracker.sender_id, index, gold)
            checked += 1
    assert checked > 200


def test_kept_states_are_fresh_and_shared_as_rasa_s(trained) -> None:
    """Rasa's featurizers edit the states they get; what a policy keeps must not change with them.
    Where Rasa's states share a sub-state (a hidden rule turn's user input), ours share it too."""
    domain, trackers, stock, _, memo, our_memo = trained
    rule_only = stock._get_rule_only_data()
    story = next(t for t in trackers if not t.is_rule_tracker and len(t.events) > 12)
    point = list(policy_support.prediction_points(story))[-1]

    def shape(states):
        ids = {}
        return [{kind: ids.setdefault(id(sub), len(ids)) for kind, sub in state.items()} for state in states]

    for ignore_rule_only_turns in (False, True):
        theirs = point.past_states(domain, ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only)
        for _ in range(2):
            ours = _Remembered(our_memo._histories, point).past_states(
                domain, ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only)
            assert ours == theirs and shape(ours) == shape(theirs)
            for state in ours:  # what a featurizer may do to them
                for sub_state in state.values():
                    sub_state.clear()
