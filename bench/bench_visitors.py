"""Visitor store benchmark; prints its figures.

1. Import of a generated Marketo bulk-extract CSV with 20 attributes:
   time and leads/s (target for 1,000,000 leads: at most 20 s on 2 cores) and
   peak memory of the importing process (target: at most 300 MB, flat in the
   file's size: measured for two sizes).
2. Identification latency p50/p99 from the local store, by email and by
   Munchkin cookie (target p99 under 2 ms).

Usage: .venv/bin/python bench/bench_visitors.py [--leads 1000000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = ["id", "email", "firstName", "lastName", "title", "phone", "country", "city", "state", "leadScore",
          "leadStatus", "company", "industry", "numberOfEmployees", "annualRevenue", "website", "mainPhone",
          "billingCountry", "billingCity", "sicCode", "updatedAt"]  # id + 20 attributes (updatedAt kept apart)
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Manufacturing", "Education"]
COUNTRIES = ["Sweden", "Norway", "USA", "Germany", "France", "Finland"]


def generate(path: Path, leads: int) -> None:
    rng = random.Random(42)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        for lead in range(1, leads + 1):
            country = COUNTRIES[lead % 6]
            out.write(f"{lead},lead{lead}@company{lead % 50000}.test,First{lead},Last{lead},Manager,+4670{lead:07d},"
                      f"{country},City{lead % 300},null,{rng.randint(0, 100)},Open,Company {lead % 50000},"
                      f"{INDUSTRIES[lead % 6]},{rng.randint(1, 20000)},{rng.randint(10, 9000)}000,"
                      f"https://company{lead % 50000}.test,+46 8 {lead % 1000:03d} 00,{country},City{lead % 300},"
                      f"{7000 + lead % 900},2026-11-{1 + lead % 28:02d}T10:00:00Z\n")


def import_in_child(csv_path: Path, database_url: str) -> dict:
    """Run `dynchat import` in a fresh process and read its peak memory."""
    code = (
        "import resource, sys, time, json\n"
        "from bot.marketo.bulk_csv import import_csv\n"
        "from bot.marketo.fields import DEFAULT_FIELD_MAP\n"
        "from bot.store.database import open_database\n"
        "from bot.store.visitors import VisitorStore\n"
        f"report = import_csv({str(csv_path)!r}, VisitorStore(open_database({database_url!r})), DEFAULT_FIELD_MAP)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'loaded': report.loaded, 'seconds': report.seconds, 'peak_mb': peak,"
        " 'problems': len(report.problems)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def lookups(database_url: str, leads: int, count: int = 5000) -> dict:
    from bot.store.database import open_database
    from bot.store.visitors import VisitorStore

    store = VisitorStore(open_database(database_url))
    rng = random.Random(7)
    for lead in rng.sample(range(1, leads + 1), 2000):
        store.associate_cookie(f"id:561-HYG-937&token:_mch-bench-{lead}", lead)
    cookies = [f"id:561-HYG-937&token:_mch-bench-{lead}" for lead in rng.sample(range(1, leads + 1), 2000)]
    figures = {}
    for kind, find, keys in (
        ("email", store.by_email, [f"lead{rng.randint(1, leads)}@company{0}.test" for _ in range(count)]),
        ("cookie", store.by_cookie, [rng.choice(cookies) for _ in range(count)]),
    ):
        if kind == "email":
            keys = [f"lead{n}@company{n % 50000}.test" for n in (rng.randint(1, leads) for _ in range(count))]
        timings = []
        for key in keys:
            started = time.perf_counter()
            found = find(key)
            timings.append(time.perf_counter() - started)
            assert kind == "cookie" or found is not None
        figures[kind] = {"p50_ms": percentile(timings, 0.5) * 1000, "p99_ms": percentile(timings, 0.99) * 1000}
    return figures


def rest_lookups(count: int = 500) -> dict:
    """The same lookup through the Marketo client and the emulator's REST API (loopback)."""
    from bot.marketo.client import MarketoClient, MarketoConfig
    from tests.support.marketo import start_emulator

    with tempfile.TemporaryDirectory() as folder:
        seed = Path(folder) / "seed.csv"
        generate(seed, 10_000)
        emulator = start_emulator(seed)
        try:
            emulator.faults(rate_limit=100_000, max_concurrent=100)  # measure latency, not Marketo's limits
            client = MarketoClient(MarketoConfig(base_url=emulator.base_url, client_id=emulator.client_id,
                                                 client_secret=emulator.client_secret, calls_per_window=100_000))
            rng = random.Random(3)
            timings = []
            for _ in range(count):
                n = rng.randint(1, 10_000)
                started = time.perf_counter()
                found = client.leads_by("email", [f"lead{n}@company{n % 50000}.test"], ["email", "firstName"])
                timings.append(time.perf_counter() - started)
                assert found
        finally:
            emulator.stop()
    return {"p50_ms": percentile(timings, 0.5) * 1000, "p99_ms": percentile(timings, 0.99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for leads in (args.leads // 4, args.leads):
            csv_path = Path(folder) / f"leads_{leads}.csv"
            generate(csv_path, leads)
            url = args.database_url or f"sqlite:///{folder}/bench_{leads}.db"
            figures = import_in_child(csv_path, url)
            size_mb = csv_path.stat().st_size / 1e6
            print(f"import {leads:>9,} leads ({size_mb:,.0f} MB CSV, 20 attributes): {figures['seconds']:.1f} s, "
                  f"{figures['loaded'] / figures['seconds']:,.0f} leads/s, peak memory {figures['peak_mb']:.0f} MB",
                  flush=True)
            results[leads] = (url, figures)
            csv_path.unlink()
        url, _ = results[args.leads]
        figures = lookups(url, args.leads)
        print(f"identification from the local store ({args.leads:,} leads): by email p50 "
              f"{figures['email']['p50_ms']:.3f} ms, p99 {figures['email']['p99_ms']:.3f} ms; by cookie p50 "
              f"{figures['cookie']['p50_ms']:.3f} ms, p99 {figures['cookie']['p99_ms']:.3f} ms (target p99 < 2 ms)")
        rest = rest_lookups()
        print(f"the same lookup through the Marketo REST API (emulator on loopback, 10,000 leads): p50 "
              f"{rest['p50_ms']:.2f} ms, p99 {rest['p99_ms']:.2f} ms; real Marketo adds its network round trip")


if __name__ == "__main__":
    main()
