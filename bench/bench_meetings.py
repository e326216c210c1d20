"""Meetings benchmark; prints its figures.

1. Slot computation for 50 agents over 14 days (target: under 10 ms).
2. Router decisions per second (strict round robin with skips).
3. Fairness of 10,000 simulated bookings: max minus min meetings per agent
   (target: at most 1 with equal weights and no skips).

Usage: .venv/bin/python bench/bench_meetings.py
"""
from __future__ import annotations

import datetime
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.agents import Agent  # noqa: E402
from bot.routing.availability import free_slots  # noqa: E402
from bot.routing.router import PoolState, rotate  # noqa: E402

ZONES = ["Europe/Stockholm", "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney"]
WORKDAY = tuple((day, ((540, 720), (780, 1020))) for day in range(5))


def agents(count: int) -> list:
    return [Agent(f"Agent {n}", f"agent{n}@x.test", ZONES[n % len(ZONES)], availability=WORKDAY,
                  buffer_minutes=10, min_notice_minutes=120, max_per_day=8) for n in range(count)]


def bench_slots(repeats: int = 30) -> dict:
    team = agents(50)
    rng = random.Random(1)
    start = int(datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc).timestamp())
    window = (start, start + 14 * 86400)
    busy = {a.email: sorted((s, s + 1800) for s in (start + rng.randrange(0, 14 * 86400, 1800) for _ in range(40)))
            for a in team}
    timings, total = [], 0
    for _ in range(repeats):
        began = time.perf_counter()
        total = sum(len(free_slots(a, window, busy[a.email], now=start)) for a in team)
        timings.append(time.perf_counter() - began)
    return {"median_ms": statistics.median(timings) * 1000, "best_ms": min(timings) * 1000, "slots": total}


def bench_router(decisions: int = 100_000) -> dict:
    team = agents(10)
    state = PoolState()
    rng = random.Random(2)
    began = time.perf_counter()
    for _ in range(decisions):
        unavailable = {team[rng.randrange(10)].email}
        state = rotate(team, state, lambda a, unavailable=unavailable: "busy" if a.email in unavailable else None, "all").state
    elapsed = time.perf_counter() - began
    return {"per_second": decisions / elapsed}


def bench_fairness(bookings: int = 10_000) -> dict:
    team = agents(7)
    state, counts = PoolState(), {a.email: 0 for a in team}
    for _ in range(bookings):
        choice = rotate(team, state, lambda a: None, "all")
        state = choice.state
        counts[choice.agent.email] += 1
    return {"spread": max(counts.values()) - min(counts.values()), "min": min(counts.values()),
            "max": max(counts.values())}


def main() -> None:
    slots = bench_slots()
    print(f"slot computation, 50 agents x 14 days: median {slots['median_ms']:.2f} ms, best {slots['best_ms']:.2f} ms "
          f"({slots['slots']} free slots; target < 10 ms)")
    router = bench_router()
    print(f"router decisions: {router['per_second']:,.0f} per second (10 agents, one busy at random each time)")
    fairness = bench_fairness()
    print(f"fairness of 10,000 bookings over 7 agents: max - min = {fairness['spread']} "
          f"({fairness['min']}..{fairness['max']} each; target <= 1)")


if __name__ == "__main__":
    main()
