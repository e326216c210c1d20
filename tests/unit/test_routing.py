"""Agents file, availability (DST), the router: rotation, skips, caps, weights, accounts, rules, credits."""
from __future__ import annotations

import datetime

import pytest

from bot.core.agents import Agent, Rule
from bot.routing.agents import load_routing
from bot.routing.availability import describe, free_slots, is_free, working_intervals
from bot.routing.router import PoolState, choose, credit_back, rotate, weighted_order
from tests.support import FIXTURES, ROOT, expected_diagnostics

ALWAYS = tuple((day, ((0, 1440),)) for day in range(7))


def agent(n: int, **changes) -> Agent:
    values = dict(name=f"Agent {n}", email=f"agent{n}@x.test", timezone="UTC", availability=ALWAYS)
    values.update(changes)
    return Agent(**values)


FIVE = [agent(n) for n in range(1, 6)]


def test_agents_file_errors_have_positions() -> None:
    path = FIXTURES / "agents" / "invalid.yml"
    agents, rules, problems = load_routing(path)
    assert agents == [] and [str(p) for p in problems] == expected_diagnostics(path)


def test_the_shipped_agents_file_is_valid() -> None:
    agents, rules, problems = load_routing(ROOT / "data" / "agents.yml")
    assert problems == [] and len(agents) == 3 and rules[0].team == "enterprise"


def test_the_seed_rotation_example_exactly() -> None:
    """Five agents; agent three took the last meeting: four gets the next, then five, then one."""
    state = PoolState(position=2, last_agent="agent3@x.test")
    picked = []
    for _ in range(3):
        choice = rotate(FIVE, state, lambda a: None, "all")
        picked.append(choice.agent.email)
        state = choice.state
    assert picked == ["agent4@x.test", "agent5@x.test", "agent1@x.test"]
    assert choice.reason == "round robin in all agents: next after agent5@x.test"


def test_unavailable_agents_are_skipped_with_their_reasons() -> None:
    state = PoolState(position=2, last_agent="agent3@x.test")
    why = {"agent4@x.test": "busy", "agent5@x.test": "away all day"}
    choice = rotate(FIVE, state, lambda a: why.get(a.email), "all")
    assert choice.agent.email == "agent1@x.test"
    assert choice.skipped == [("agent4@x.test", "busy"), ("agent5@x.test", "away all day")]
    assert "skipped agent4@x.test (busy); skipped agent5@x.test (away all day)" in choice.reason
    nobody = rotate(FIVE, state, lambda a: "busy", "all")
    assert nobody.agent is None and nobody.reason == "nobody in all agents is free at that time"


def test_fairness_with_equal_weights_and_weighted_rotation() -> None:
    state, counts = PoolState(), {}
    for _ in range(1003):
        choice = rotate(FIVE, state, lambda a: None, "all")
        state = choice.state
        counts[choice.agent.email] = counts.get(choice.agent.email, 0) + 1
    assert max(counts.values()) - min(counts.values()) <= 1
    heavy = [agent(1, weight=2), agent(2), agent(3)]
    assert [a.email[:6] for a in weighted_order(heavy)] == ["agent1", "agent2", "agent3", "agent1"]


def test_inactive_agents_are_left_out_and_credits_put_an_agent_first() -> None:
    agents = [agent(1), agent(2, active=False), agent(3)]
    state = PoolState(position=0, last_agent="agent1@x.test")
    assert rotate(agents, state, lambda a: None, "all").agent.email == "agent3@x.test"
    credited = credit_back(PoolState(position=0, last_agent="agent1@x.test", assigned={"agent1@x.test": 1}),
                           "agent1@x.test")
    choice = rotate(agents, credited, lambda a: None, "all")
    assert choice.agent.email == "agent1@x.test" and "cancelled" in choice.reason
    assert choice.state.credits == {} and choice.state.position == 0  # the rotation itself did not move


def test_account_rule_team_and_fallback_routing() -> None:
    agents = [agent(1, teams=("enterprise",)), agent(2, teams=("smb",)), agent(3, teams=("smb",))]
    free = lambda a: None  # noqa: E731
    owner = choose(agents, free, {}, {"person.leadOwnerEmail": "agent3@x.test"})
    assert owner.agent.email == "agent3@x.test" and owner.reason == "the lead's owner"
    accounts = {"big bank": "agent2@x.test", "acme.test": "agent1@x.test"}
    by_company = choose(agents, free, {}, {"company.name": "Big Bank"}, accounts=accounts)
    assert by_company.agent.email == "agent2@x.test" and by_company.reason == "account list: Big Bank"
    by_domain = choose(agents, free, {}, {"person.email": "cfo@acme.test"}, accounts=accounts)
    assert by_domain.agent.email == "agent1@x.test"
    rules = [Rule({"field": "company.employees", "op": "gte", "value": 1000}, team="enterprise"),
             Rule(None, team="smb")]
    big = choose(agents, free, {}, {"company.employees": "5000"}, "rules", rules)
    assert big.agent.email == "agent1@x.test" and big.pool == "team:enterprise"
    small = choose(agents, free, {}, {"company.employees": "20"}, "rules", rules)
    assert small.agent.email == "agent2@x.test" and small.pool == "team:smb"
    busy_team = choose(agents, lambda a: "busy" if a.email == "agent1@x.test" else None, {},
                       {"company.employees": "5000"}, "rules", rules)
    assert busy_team.agent.email == "agent2@x.test" and busy_team.pool == "all"  # team busy: everyone
    named = choose(agents, lambda a: "busy", {}, {}, {"agent": "agent2@x.test"})
    assert named.agent is None and named.skipped == [("agent2@x.test", "busy")]
    owner_busy = choose(agents, lambda a: "busy" if a.email == "agent3@x.test" else None, {},
                        {"person.leadOwnerEmail": "agent3@x.test"})
    assert owner_busy.agent.email == "agent1@x.test" and owner_busy.skipped[0] == ("agent3@x.test", "busy")


def _local(zone: str, *parts: int) -> int:
    from zoneinfo import ZoneInfo

    return int(datetime.datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp())


@pytest.mark.parametrize("zone,spring,autumn", [
    ("Europe/Stockholm", datetime.date(2026, 3, 29), datetime.date(2026, 10, 25)),
    ("America/New_York", datetime.date(2026, 3, 8), datetime.date(2026, 11, 1)),
])
def test_working_hours_on_dst_transition_days(zone, spring, autumn) -> None:
    person = agent(1, timezone=zone, availability=((6, ((60, 240), (780, 1020))),))  # sundays 01-04 and 13-17
    for day, night_hours in ((spring, 2), (autumn, 4), (autumn + datetime.timedelta(days=7), 3)):
        night, afternoon = working_intervals(person, day, 1)
        assert (night[1] - night[0]) / 3600 == night_hours
        assert afternoon == (_local(zone, day.year, day.month, day.day, 13), _local(zone, day.year, day.month, day.day, 17))
    slots = free_slots(person, (_local(zone, 2026, 3, 1), _local(zone, 2026, 12, 1)), [], now=0)
    afternoon_slots = [s for s in slots if datetime.datetime.fromtimestamp(s, person.zone).hour >= 13]
    assert {datetime.datetime.fromtimestamp(s, person.zone).strftime("%H:%M") for s in afternoon_slots} == {
        "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"}


def test_free_slots_respect_buffers_notice_and_caps() -> None:
    person = agent(1, timezone="Europe/Stockholm", availability=((0, ((540, 720),)),), buffer_minutes=15,
                   min_notice_minutes=60, max_per_day=2)
    monday = datetime.date(2026, 11, 30)
    day = (_local("Europe/Stockholm", 2026, 11, 30, 0), _local("Europe/Stockholm", 2026, 12, 1, 0))
    meeting = (_local("Europe/Stockholm", 2026, 11, 30, 10), _local("Europe/Stockholm", 2026, 11, 30, 10, 30))
    slots = free_slots(person, day, [meeting], now=_local("Europe/Stockholm", 2026, 11, 30, 8, 10))
    times = [datetime.datetime.fromtimestamp(s, person.zone).strftime("%H:%M") for s in slots]
    assert times == ["11:00", "11:30"]  # 09:00 too soon; 09:30 and 10:30 touch the 15 minute buffer
    assert free_slots(person, day, [], now=0, booked_per_day={monday: 2}) == []
    assert is_free(person, meeting[0], meeting[1], [meeting], now=0) == "busy"
    vacation = (_local("Europe/Stockholm", 2026, 11, 30), _local("Europe/Stockholm", 2026, 12, 1))
    assert is_free(person, _local("Europe/Stockholm", 2026, 11, 30, 11), _local("Europe/Stockholm", 2026, 11, 30, 11, 30),
                   [vacation], now=0) == "away all day"
    assert is_free(person, _local("Europe/Stockholm", 2026, 11, 30, 13), _local("Europe/Stockholm", 2026, 11, 30, 13, 30),
                   [], now=0) == "outside working hours"
    assert describe(meeting[0], "America/New_York") == "Mon 30 Nov 04:00"
    assert describe(meeting[0], "Not/AZone") == "Mon 30 Nov 09:00 UTC"


def test_free_slots_match_a_brute_force_check() -> None:
    import random

    rng = random.Random(5)
    person = agent(1, timezone="America/New_York", availability=((0, ((540, 720), (780, 1020))), (2, ((600, 960),))),
                   buffer_minutes=10)
    start = _local("America/New_York", 2026, 11, 2)
    window = (start, start + 14 * 86400)
    for _ in range(20):
        busy = sorted((s, s + rng.choice((900, 1800, 5400))) for s in
                      (start + rng.randrange(0, 14 * 86400, 300) for _ in range(30)))
        slots = free_slots(person, window, busy, now=start)
        expected = [s for begin, end in working_intervals(person, datetime.date(2026, 11, 1), 16)
                    for s in range(max(begin, window[0]), min(end, window[1]) - 1800 + 1, 1800)
                    if is_free(person, s, s + 1800, busy, now=start) is None]
        assert slots == sorted(expected)


def test_an_agents_file_without_rules_is_fine() -> None:
    agents, rules, problems = load_routing(FIXTURES / "agents" / "always.yml")
    assert problems == [] and rules == [] and [a.email for a in agents] == ["alex@agents.test", "sam@agents.test"]


def test_an_agent_skipped_as_busy_is_owed_the_turn_and_the_spread_stays_within_one() -> None:
    """Like Chili Piper's equal distribution: a meeting at the picked time costs no share of meetings."""
    state = PoolState(position=0, last_agent="agent1@x.test")
    skipped = rotate(FIVE, state, lambda a: "busy" if a.email == "agent2@x.test" else None, "all")
    assert skipped.agent.email == "agent3@x.test" and skipped.state.owed == ["agent2@x.test"]
    away = rotate(FIVE, state, lambda a: "away all day" if a.email == "agent2@x.test" else None, "all")
    assert away.state.owed == []  # only a meeting at that time is owed back, not absence
    back = rotate(FIVE, PoolState.from_json(skipped.state.to_json()), lambda a: None, "all")
    assert back.agent.email == "agent2@x.test" and "skipped as busy" in back.reason
    assert back.state.owed == [] and back.state.position == skipped.state.position
    assert rotate(FIVE, back.state, lambda a: None, "all").agent.email == "agent4@x.test"
    # many bookings where the next in line is often busy at the picked time: the counts stay within one
    state, counts = PoolState(), {}
    for turn in range(997):
        busy = FIVE[(turn * 7) % 5].email if turn % 3 else None
        choice = rotate(FIVE, state, lambda a, busy=busy: "busy" if a.email == busy else None, "all")
        state = choice.state
        counts[choice.agent.email] = counts.get(choice.agent.email, 0) + 1
    assert max(counts.values()) - min(counts.values()) <= 1, counts
