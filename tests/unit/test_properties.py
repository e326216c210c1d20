"""Property-based tests (hypothesis): what visitors and designers can send never makes these raise (issue 11).

The dialogue loader (any YAML, or not YAML at all), condition evaluation (any condition over any facts), the
metadata cleaning of the channels (any JSON) and the meeting slot computation (any hours, busy times and
moment) either answer or report a problem; none of them raises.
"""
from __future__ import annotations

import json
from datetime import timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.agents import Agent
from bot.core.identity import proven_identity
from bot.dialogues import conditions
from bot.dialogues.loader import parse_dialogue
from bot.routing.availability import describe, free_slots, known_zone
from bot.services.widget import MAX_METADATA, NUMBER_KEYS, TEXT_KEYS, clean_metadata, visit_metadata

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                     st.dictionaries(st.text(max_size=12), inner, max_size=6)),
                    max_leaves=30)
KEYS = st.sampled_from(list(TEXT_KEYS) + list(NUMBER_KEYS) + ["person", "company", "junk", "known", "__proto__"])
OPS = st.sampled_from(["equals", "not_equals", "contains", "starts_with", "in", "gte", "lte", "gt", "lt",
                       "is_empty", "is_not_empty", "matches", "no_such_op"])
FIELDS = st.sampled_from(["person.email", "company.employees", "page.url", "person.firstName", "lead.x", ""])
CONDITION = st.recursive(
    st.fixed_dictionaries({"field": FIELDS, "op": OPS, "value": SCALARS}) | JSON,
    lambda inner: st.one_of(st.fixed_dictionaries({"all": st.lists(inner, max_size=4)}),
                            st.fixed_dictionaries({"any": st.lists(inner, max_size=4)}),
                            st.fixed_dictionaries({"not": inner})),
    max_leaves=12)
PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(st.one_of(st.text(max_size=400), JSON.map(lambda value: yaml.safe_dump(value, allow_unicode=True)),
                 st.fixed_dictionaries({"dialogue": st.text(max_size=10), "cards": JSON}).map(yaml.safe_dump)))
def test_the_dialogue_loader_reports_and_never_raises(text: str) -> None:
    dialogue, problems = parse_dialogue(text, "visitor.yml")
    assert dialogue is not None or problems
    for problem in problems:
        assert problem.path == "visitor.yml" and problem.line >= 1 and problem.message


@PROFILE
@given(CONDITION, st.dictionaries(FIELDS, SCALARS, max_size=5))
def test_conditions_evaluate_to_a_yes_or_no_for_any_facts(condition, facts) -> None:
    assert conditions.evaluate(condition, facts) in (True, False)  # malformed (the loader reports it): False


@PROFILE
@given(st.one_of(JSON, st.dictionaries(KEYS, JSON, max_size=10)), st.one_of(st.none(), st.text(max_size=10)))
def test_metadata_is_cut_to_the_contract_whatever_a_client_sends(raw, secret) -> None:
    cleaned = clean_metadata(raw)
    assert set(cleaned) <= set(TEXT_KEYS) | set(NUMBER_KEYS) | {"person", "company"}
    assert len(json.dumps(cleaned, ensure_ascii=False).encode("utf-8")) <= MAX_METADATA
    assert all(isinstance(cleaned[key], str) for key in TEXT_KEYS if key in cleaned)
    assert all(isinstance(cleaned[key], int) for key in NUMBER_KEYS if key in cleaned)
    proven = visit_metadata(raw, secret)
    assert "signature" not in proven and (proven.get("email") is None or secret)
    assert proven_identity(cleaned, secret).keys() <= cleaned.keys()


# a weekday's hours as the agents file takes them: blocks that do not overlap (cut points taken in pairs)
HOURS = st.lists(st.tuples(st.integers(0, 6), st.sets(st.integers(0, 1440), max_size=6)), max_size=7)
ZONES = st.sampled_from(["UTC", "Europe/Stockholm", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham",
                         "America/St_Johns", "Nope/Nowhere"])


@PROFILE
@given(HOURS, ZONES, st.integers(1, 240), st.integers(0, 120), st.integers(0, 2880), st.one_of(st.none(), st.integers(0, 8)),
       st.lists(st.tuples(st.integers(-10**6, 10**7), st.integers(-10**6, 10**7)), max_size=8),
       st.integers(1_700_000_000, 2_100_000_000), st.integers(1, 120))
def test_slot_computation_answers_for_any_hours_busy_times_and_moment(hours, zone, duration, buffer, notice, cap,
                                                                      busy, now, step) -> None:
    def blocks(cuts):
        ordered = sorted(cuts)
        return tuple(zip(ordered[0::2], ordered[1::2]))

    availability = tuple(sorted((day, blocks(cuts)) for day, cuts in dict(hours).items()))
    if not known_zone(zone):
        return  # the agents file refuses unknown zones (tested with the routing file)
    agent = Agent("A", "a@x.test", zone, availability=availability, duration_minutes=duration,
                  buffer_minutes=buffer, min_notice_minutes=notice, max_per_day=cap)
    window = (now, now + int(timedelta(days=3).total_seconds()))
    starts = free_slots(agent, window, [(min(a, b), max(a, b)) for a, b in busy], now, step_minutes=step)
    assert starts == sorted(set(starts))
    assert all(window[0] <= start < window[1] and start >= now + notice * 60 for start in starts)
    assert all(describe(start, zone) for start in starts[:3])
