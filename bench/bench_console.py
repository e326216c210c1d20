"""Console benchmark at a real team's size; prints its figures.

A year of a busy site: 100,000 meetings over 40 agents and 200 dialogues,
and 1,000,000 recorded chat events (with their per-day counts, as the
actions write them). The web process serves the API; each figure is the
server's own time (the `Server-Timing` header), p50 and p95 over repeated
calls, beside the brute force measured in the same run: the analytics
grouped from the raw events, and the meetings read whole before paging.
Target: under 200 ms server time for the Meetings page and the analytics
API.

Usage: .venv/bin/python bench/bench_console.py [--meetings N] [--events N]
"""
from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bot.core.analytics import KINDS, report, utc_day  # noqa: E402
from bot.store.schema import chat_events, meetings  # noqa: E402
from tests.support.console import start_web  # noqa: E402

DAY = 86400


def fill(web, meeting_count: int, event_count: int) -> None:
    rng = random.Random(7)
    now = time.time()
    engine = web.services.database.engine
    agents = [f"agent{n}@corp.test" for n in range(40)]
    dialogues = [f"dialogue_{n:03d}" for n in range(200)]
    began = time.perf_counter()
    rows: List[Dict] = []
    for n in range(meeting_count):
        start = int(now - 300 * DAY + n * (360 * DAY / meeting_count)) // 1800 * 1800
        rows.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "agent_email": agents[n % 40],
                     "lead_email": f"visitor{n}@x.test", "lead_id": None, "start_at": start, "end_at": start + 1800,
                     "status": rng.choice(["booked", "booked", "booked", "cancelled", "rescheduled"]),
                     "calendar": "local", "event_id": None, "join_url": None, "pool": "all",
                     "reason": "round robin in all agents: next", "conversation": f"c{n}",
                     "created_at": now, "updated_at": now, "dialogue": rng.choice(dialogues)})
        if len(rows) == 10_000:
            with engine.begin() as connection:
                connection.execute(insert(meetings), rows)
            rows = []
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(meetings), rows)
    print(f"  {meeting_count:,} meetings stored in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    weights = [40, 20, 6, 8, 5, 2, 1]  # triggered, engaged, completed, acquired, goal, meeting, human
    batch: List[Dict] = []
    for n in range(event_count):
        at = now - rng.random() * 365 * DAY
        kind = rng.choices(KINDS, weights)[0]
        batch.append({"key": f"e{n}", "kind": kind, "dialogue": rng.choice(dialogues),
                      "detail": "demo" if kind == "goal" else "", "day": utc_day(at), "at": at,
                      "conversation": f"c{n // 5}", "lead_id": None})
        if len(batch) == 50_000:
            with engine.begin() as connection:
                connection.execute(insert(chat_events), batch)
            batch = []
            print(f"\r  events: {n + 1:,} / {event_count:,}", end="", flush=True)
    if batch:
        with engine.begin() as connection:
            connection.execute(insert(chat_events), batch)
    with engine.begin() as connection:  # the sums the actions keep as they record, made at once here
        connection.execute(text("INSERT INTO dc_analytics_daily (day, dialogue, kind, detail, count) "
                                "SELECT day, dialogue, kind, detail, COUNT(*) FROM dc_chat_events "
                                "GROUP BY day, dialogue, kind, detail"))
        connection.execute(text("INSERT INTO dc_analytics_days (day, kind, count) "
                                "SELECT day, kind, COUNT(*) FROM dc_chat_events GROUP BY day, kind"))
        connection.execute(text("INSERT INTO dc_analytics_months (month, dialogue, kind, detail, count) "
                                "SELECT SUBSTR(day, 1, 7), dialogue, kind, detail, COUNT(*) FROM dc_chat_events "
                                "GROUP BY SUBSTR(day, 1, 7), dialogue, kind, detail"))
        rollup_rows = connection.execute(text("SELECT COUNT(*) FROM dc_analytics_daily")).scalar_one()
    print(f"\r  {event_count:,} events stored in {time.perf_counter() - began:.1f} s "
          f"({rollup_rows:,} rows of per-day, per-dialogue counts)", flush=True)


def server_times(client: requests.Session, url: str, repeats: int) -> Dict[str, float]:
    times = []
    for _ in range(repeats):
        answer = client.get(url, timeout=60)
        answer.raise_for_status()
        times.append(float(answer.headers["Server-Timing"].split("dur=")[1]))
    times.sort()
    return {"p50": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)]}


def in_process(function: Callable[[], object], repeats: int) -> Dict[str, float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        web = start_web(Path(folder))
        try:
            print(f"Console benchmark: {args.meetings:,} meetings, {args.events:,} chat events (SQLite)")
            fill(web, args.meetings, args.events)
            client = web.login("viewer")
            today = datetime.datetime.now(datetime.timezone.utc).date()
            month, year = (today - datetime.timedelta(days=29)).isoformat(), (today - datetime.timedelta(days=364)).isoformat()
            api = web.base + "/api"
            cases = {
                "Meetings page (newest 50)": api + "/meetings",
                "Meetings, booked, one agent": api + "/meetings?status=booked&agent=agent7@corp.test",
                "Meetings, page 1,000 (offset 50,000)": api + "/meetings?offset=50000",
                "Analytics, 30 days": api + f"/analytics?from={month}&to={today}",
                "Analytics, 365 days": api + f"/analytics?from={year}&to={today}",
                "Analytics, 365 days, one dialogue": api + f"/analytics?from={year}&to={today}&dialogue=dialogue_042",
                "Analytics chart (SVG), 365 days": api + f"/analytics/chart.svg?from={year}&to={today}",
            }
            print(f"\n{'server time (ms)':<40} {'p50':>8} {'p95':>8}   target < 200 ms")
            worst = 0.0
            for label, url in cases.items():
                figures = server_times(client, url, args.repeats)
                worst = max(worst, figures["p95"])
                print(f"{label:<40} {figures['p50']:>8.1f} {figures['p95']:>8.1f}")
            engine = web.services.database.engine

            def brute_force_analytics() -> None:
                with engine.connect() as connection:
                    rows = connection.execute(text(
                        "SELECT day, dialogue, kind, detail, COUNT(*) FROM dc_chat_events WHERE day >= :start "
                        "GROUP BY day, dialogue, kind, detail"), {"start": year}).all()
                report([tuple(row) for row in rows], year, today.isoformat())

            def brute_force_meetings() -> None:
                everything = web.services.meetings.list()
                sorted(everything, key=lambda m: -m.start_at)[:50]

            brute = None

            def brute_force_check() -> None:
                nonlocal brute
                with engine.connect() as connection:
                    rows = connection.execute(text(
                        "SELECT day, dialogue, kind, detail, COUNT(*) FROM dc_chat_events WHERE day >= :start "
                        "GROUP BY day, dialogue, kind, detail"), {"start": year}).all()
                brute = report([tuple(row) for row in rows], year, today.isoformat()).as_json()

            brute_force_check()
            served = client.get(cases["Analytics, 365 days"], timeout=60).json()
            assert served == brute, "the API's figures differ from the brute force's"
            print("\nthe API's 365-day figures equal the brute force's (every day, dialogue and goal)")
            print("\nthe brute force, in process (ms)")
            for label, function in (("Analytics, 365 days, from raw events", brute_force_analytics),
                                    ("Meetings page, all read then paged", brute_force_meetings)):
                figures = in_process(function, max(3, args.repeats // 10))
                print(f"{label:<40} {figures['p50']:>8.1f} {figures['p95']:>8.1f}")
            print(f"\nworst p95: {worst:.1f} ms -> {'met' if worst < 200 else 'MISSED'} (target < 200 ms)")
        finally:
            web.stop()
            web.services.close()


if __name__ == "__main__":
    main()
