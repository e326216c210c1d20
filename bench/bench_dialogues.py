"""Benchmarks for the dialogue foundation; prints its figures.

1. Compile time for 200 generated dialogues (target: under 2 s).
2. Training time of the shipped bot, beside a stock `rasa init` bot.
3. Turn latency p50/p99 and turns/s over the REST channel with 1 and 20
   concurrent visitors, for our bot and for the stock bot in the same run.
   Machines here are noisy: the ratio to the stock bot is the figure that counts.

Usage: .venv/bin/python bench/bench_dialogues.py [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialogues.build import shared_inputs  # noqa: E402
from bot.dialogues.compiler import compile_dialogues  # noqa: E402
from bot.dialogues.loader import load_dialogues  # noqa: E402
from tests.support import e2e as e2e_support  # noqa: E402

DIALOGUE_TEMPLATE = """dialogue: generated_{n}
name: Generated {n}
priority: {n}
locale: en
locales: [en, sv]
audience:
  visitors: all
  any:
    - {{field: company.employees, op: gte, value: {n}}}
    - {{field: person.country, op: in, value: [Sweden, Norway]}}
triggers:
  pages:
    include: ["https://example.com/page{n}*"]
    exclude: ["*/careers/*"]
  time_on_page: 5s
cards:
  - id: greet
    message: {{en: 'Hi {{{{lead.firstName:"there"}}}}, page {n}!', sv: 'Hej {{{{lead.firstName:"du"}}}}, sida {n}!'}}
    next: ask
  - id: ask
    question: {{en: "What brings you here?", sv: "Vad för dig hit?"}}
    field: person.interest
    options:
      - {{label: {{en: Pricing, sv: Priser}}, value: pricing, next: email}}
      - {{label: {{en: Demo, sv: Demo}}, value: demo, next: email}}
      - {{label: {{en: Browsing, sv: Tittar}}, value: browsing, next: bye}}
  - id: email
    capture: email
    prompt: {{en: "Your email?", sv: "Din e-post?"}}
    field: person.email
    skip_if_known: true
    next: route
  - id: route
    branch:
      - if: {{field: company.employees, op: gte, value: 1000}}
        next: book
      - else: goal
  - id: book
    meeting: {{routing: round_robin, duration: 30m}}
    next: goal
  - id: goal
    goal: lead_{n}
    next: bye
  - id: bye
    message: {{en: "Thanks!", sv: "Tack!"}}
    end: true
"""


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_compile(count: int = 200, repeats: int = 5) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        for n in range(count):
            Path(folder, f"generated_{n:03d}.yml").write_text(DIALOGUE_TEMPLATE.format(n=n), encoding="utf-8")
        shared, nlu, _ = shared_inputs(ROOT)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            dialogues, problems = load_dialogues([folder])
            compiled, compile_problems = compile_dialogues(dialogues, shared, nlu)
            timings.append(time.perf_counter() - started)
            assert not problems and not compile_problems, (problems + compile_problems)[:3]
            assert len(dialogues) == count
    return {"dialogues": count, "best_s": min(timings), "median_s": statistics.median(timings)}


def timed(command: List[str], cwd: Path, env: Dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def post(base: str, sender: str, message: str, metadata: Dict | None = None) -> list:
    body = {"sender": sender, "message": message}
    if metadata:
        body["metadata"] = metadata
    request = urllib.request.Request(base + "/webhooks/rest/webhook", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def new_sender(base: str) -> str:
    """A conversation id as a visitor gets one: issued by our bot's /widget/visit; any id for a stock bot."""
    request = urllib.request.Request(base + "/widget/visit", b"{}", {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())["session_id"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return uuid.uuid4().hex
        raise


def ours_conversation(base: str) -> List[Tuple[str, Dict | None, int]]:
    """(message, metadata, messages expected) of one visit to the shipped welcome dialogue."""
    return [("/session_start", {"url": "https://example.com/", "locale": "en"}, 2),
            ("/dc__welcome__ask__1", None, 2)]


def stock_conversation(base: str) -> List[Tuple[str, Dict | None, int]]:
    return [("hello there", None, 1), ("I am feeling great", None, 1), ("goodbye", None, 1)]


def load(base: str, conversation: Callable, visitors: int, turns_per_visitor: int,
         keep_latencies: bool = False) -> Dict[str, Any]:
    """Each visitor repeats the conversation with fresh sender ids until its turns are done
    (with `keep_latencies`, also every turn's latency and the wall time, to pool rounds)."""
    latencies: List[float] = []
    errors: List[str] = []
    lock = threading.Lock()

    def visitor() -> None:
        done = 0
        while done < turns_per_visitor:
            try:
                sender = new_sender(base)
            except OSError as exc:
                with lock:
                    errors.append(str(exc))
                return
            for message, metadata, expected in conversation(base):
                started = time.perf_counter()
                try:
                    reply = post(base, sender, message, metadata)
                except OSError as exc:
                    with lock:
                        errors.append(str(exc))
                    return
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if len(reply) < expected:
                        errors.append(f"{message!r} got {len(reply)} messages, expected {expected}")
                done += 1
                if done >= turns_per_visitor:
                    break

    threads = [threading.Thread(target=visitor) for _ in range(visitors)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"load errors: {errors[:3]}")
    return {**latency_figures(latencies, wall, visitors),
            **({"latencies_s": latencies, "wall_s": wall} if keep_latencies else {})}


def latency_figures(latencies: List[float], wall: float, visitors: int) -> Dict[str, Any]:
    """p50/p99 (ms) and turns per second of turns that took `wall` seconds in all."""
    return {"visitors": visitors, "turns": len(latencies), "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "turns_per_s": len(latencies) / wall}


def serve_stock(project: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "rasa", "run", "--port", str(port), "--interface", "127.0.0.1"],
                               cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("stock rasa server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (a smoke run)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    turns_single, turns_each = (20, 10) if args.quick else (200, 50)
    results: Dict[str, object] = {}

    compile_figures = bench_compile()
    results["compile"] = compile_figures
    print(f"compile {compile_figures['dialogues']} dialogues: best {compile_figures['best_s']:.3f} s, "
          f"median {compile_figures['median_s']:.3f} s (target < 2 s)", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        env = e2e_support.environment(scratch_path, ROOT / "data" / "dialogues")
        ours_train = timed([sys.executable, "-m", "bot", "train"], ROOT, env)
        stock_dir = scratch_path / "stock"
        stock_dir.mkdir()
        stock_train = timed([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(stock_dir)],
                            scratch_path, dict(os.environ))
        results["training_s"] = {"ours": ours_train, "stock_rasa_init": stock_train}
        print(f"training: ours {ours_train:.1f} s, stock rasa init bot {stock_train:.1f} s "
              f"(ratio {ours_train / stock_train:.2f})", flush=True)

        ours = e2e_support.start(env)
        stock_port = e2e_support.free_port()
        stock = serve_stock(stock_dir, stock_port)
        try:
            rows = []
            for visitors, turns in ((1, turns_single), (20, turns_each)):
                mine = load(ours.base, ours_conversation, visitors, turns)
                theirs = load(f"http://127.0.0.1:{stock_port}", stock_conversation, visitors, turns)
                rows.append({"visitors": visitors, "ours": mine, "stock": theirs})
                print(f"REST, {visitors:>2} concurrent visitor(s): ours p50 {mine['p50_ms']:.1f} ms, "
                      f"p99 {mine['p99_ms']:.1f} ms, {mine['turns_per_s']:.1f} turns/s | stock p50 "
                      f"{theirs['p50_ms']:.1f} ms, p99 {theirs['p99_ms']:.1f} ms, {theirs['turns_per_s']:.1f} turns/s "
                      f"| throughput ratio {mine['turns_per_s'] / theirs['turns_per_s']:.2f}", flush=True)
            results["rest"] = rows
        finally:
            ours.stop()
            os.killpg(stock.pid, 15)
            stock.wait(timeout=30)
        shutil.rmtree(stock_dir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
