"""How the bot's costs grow with the number of dialogues; prints its figures.

For 5 (the shipped dialogues), 50 and 200 dialogues (the shipped ones plus
varied generated ones: every card kind, one to three locales, known,
anonymous and all audiences, page rules; `tests/dialogue_generator.py`):
compiled rules and domain size, training time and peak memory cold (no
cache) and after a one-text change, and turn latency p50/p99 over REST with 1
and 20 concurrent visitors, on the same two turns at every size (a visit to
the shipped welcome dialogue, then a button). A stock `rasa init` bot is
trained and measured in the same run: machines here are noisy, the ratios are
the figures that count. So every bot is trained first and then all of them
serve at once, and latency is measured in rounds that visit every bot in
turn (rotating which goes first): a slow minute of the machine lands on all
sizes alike instead of on whichever size was being measured then.

Targets (issue 7): turn latency at 200 dialogues within 1.25x of 5 dialogues'
(p50 and p99) and within 1.5x of the stock bot's at 1 visitor; training 200
dialogues cold under 120 s with a peak under 2 GB, and after a one-text change
under 30 s.

Usage: .venv/bin/python bench/bench_scaling.py [--quick] [--sizes 5,50,200] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dialogues import latency_figures, load, ours_conversation, serve_stock, stock_conversation  # noqa: E402

from tests.support import e2e as e2e_support  # noqa: E402
from tests.support.dialogue_generator import write_dialogues  # noqa: E402

SHIPPED = ROOT / "data" / "dialogues"
EDITED_DIALOGUE = "welcome.yml"
WARM_UP_TURNS = 10
ROUNDS = 5
# Prints what the command's own children used at their peak (KiB), after running it.
PEAK_WRAPPER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
                "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
                "sys.exit(code)")


def measured_run(command: List[str], env: Dict[str, str], cwd: Path) -> Tuple[float, float]:
    """(seconds, peak MB of the command and its children) of a command that must succeed."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *command], cwd=cwd, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    peak = [line for line in result.stderr.splitlines() if line.startswith("peak-rss-kib")][-1]
    return elapsed, int(peak.split()[1]) / 1024


def project_with(dialogues: int, folder: Path) -> Path:
    """The shipped dialogues plus generated ones up to `dialogues` in all."""
    folder.mkdir(parents=True)
    for path in SHIPPED.glob("*.yml"):
        shutil.copy(path, folder / path.name)
    extra = dialogues - len(list(SHIPPED.glob("*.yml")))
    if extra > 0:
        write_dialogues(folder, extra)
    return folder


def edit_one_text(folder: Path) -> None:
    """What a designer does most: reword one message."""
    path = folder / EDITED_DIALOGUE
    text = path.read_text(encoding="utf-8")
    edited = text.replace("Hi ", "Hello ", 1)
    assert edited != text, "the welcome dialogue has no 'Hi ' to reword"
    path.write_text(edited, encoding="utf-8")


def interleaved_latencies(targets: Dict[str, Tuple[str, Callable]], turns: Tuple[int, int]) -> Dict[str, Dict]:
    """Turn latency of every target with 1 and 20 concurrent visitors, pooled over rounds that visit the
    targets in turn, after an uncounted warm-up (first calls load models and fill caches)."""
    for base, conversation in targets.values():
        load(base, conversation, 1, WARM_UP_TURNS)
    names = list(targets)
    figures: Dict[str, Dict] = {name: {} for name in names}
    for visitors, count in ((1, turns[0]), (20, turns[1])):
        pooled: Dict[str, List[float]] = {name: [] for name in names}
        walls: Dict[str, float] = {name: 0.0 for name in names}
        per_round = max(1, count // ROUNDS)
        for round_number in range(ROUNDS):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for name in order:
                base, conversation = targets[name]
                measured = load(base, conversation, visitors, per_round, keep_latencies=True)
                pooled[name] += measured["latencies_s"]
                walls[name] += measured["wall_s"]
        for name in names:
            figure = latency_figures(pooled[name], walls[name], visitors)
            figures[name][f"visitors_{visitors}"] = figure
            print(f"{name:>22}, {visitors:>2} visitor(s): p50 {figure['p50_ms']:.1f} ms, "
                  f"p99 {figure['p99_ms']:.1f} ms, {figure['turns_per_s']:.1f} turns/s", flush=True)
    return figures


def train_size(dialogues: int, scratch: Path) -> Tuple[Dict[str, object], Dict[str, str]]:
    """Compile and train `dialogues` cold and after a one-text change; (figures, the bot's environment)."""
    folder = project_with(dialogues, scratch / "dialogues")
    env = e2e_support.environment(scratch, folder)
    env["RASA_CACHE_DIRECTORY"] = str(scratch / "rasa-cache")  # cold: an empty cache of its own
    cold_s, cold_mb = measured_run([sys.executable, "-m", "bot", "train"], env, ROOT)
    build = scratch / "build"
    rules = (build / "data" / "rules.yml").read_text(encoding="utf-8").count("\n- rule: ")
    domain_kb = (build / "domain.yml").stat().st_size / 1024
    edit_one_text(folder)
    text_s, text_mb = measured_run([sys.executable, "-m", "bot", "train"], env, ROOT)
    figures: Dict[str, object] = {
        "dialogues": dialogues, "rules": rules, "domain_kb": round(domain_kb, 1),
        "train_cold_s": round(cold_s, 1), "train_cold_peak_mb": round(cold_mb),
        "train_one_text_s": round(text_s, 1), "train_one_text_peak_mb": round(text_mb),
    }
    print(f"{dialogues:>4} dialogues: {rules} rules, domain {domain_kb:.0f} kB; training cold {cold_s:.1f} s "
          f"(peak {cold_mb:.0f} MB), after a one-text change {text_s:.1f} s (peak {text_mb:.0f} MB)", flush=True)
    return figures, env


def train_stock(scratch: Path) -> Tuple[Dict[str, object], Path]:
    stock_dir = scratch / "stock"
    stock_dir.mkdir()
    env = dict(os.environ, RASA_CACHE_DIRECTORY=str(scratch / "rasa-cache"))
    train_s, train_mb = measured_run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(stock_dir)],
                                     env, scratch)
    print(f"stock rasa init bot: training {train_s:.1f} s (peak {train_mb:.0f} MB)", flush=True)
    return {"train_cold_s": round(train_s, 1), "train_cold_peak_mb": round(train_mb)}, stock_dir


def ratios(sizes: List[Dict[str, object]], stock: Dict[str, object]) -> List[str]:
    smallest, largest = sizes[0], sizes[-1]
    lines = []
    for visitors in (1, 20):
        key = f"visitors_{visitors}"
        for figure in ("p50_ms", "p99_ms"):
            grow = largest[key][figure] / smallest[key][figure]
            versus = largest[key][figure] / stock[key][figure]
            lines.append(f"{visitors:>2} visitor(s) {figure[:3]}: {largest['dialogues']} vs {smallest['dialogues']} "
                         f"dialogues x{grow:.2f}; {largest['dialogues']} dialogues vs stock x{versus:.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (a smoke run)")
    parser.add_argument("--sizes", default="5,50,200", help="dialogue counts, comma-separated")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    turns = (40, 10) if args.quick else (200, 50)
    counts = [int(n) for n in args.sizes.split(",")]
    results: Dict[str, object] = {"sizes": []}
    with tempfile.TemporaryDirectory() as scratch:
        trained = [train_size(count, Path(scratch) / f"size{count}") for count in counts]
        results["stock"], stock_dir = train_stock(Path(scratch))
        running: List[e2e_support.Bot] = []
        stock_server = None
        try:
            targets: Dict[str, Tuple[str, Callable]] = {}
            for (_figures, env), count in zip(trained, counts):
                running.append(e2e_support.start(env))
                targets[f"{count} dialogues"] = (running[-1].base, ours_conversation)
            port = e2e_support.free_port()
            stock_server = serve_stock(stock_dir, port)
            targets["stock rasa init bot"] = (f"http://127.0.0.1:{port}", stock_conversation)
            measured = interleaved_latencies(targets, turns)
        finally:
            for bot in running:
                bot.stop()
            if stock_server is not None:
                os.killpg(stock_server.pid, 15)
                stock_server.wait(timeout=30)
        for (figures, _env), count in zip(trained, counts):
            figures.update(measured[f"{count} dialogues"])
            results["sizes"].append(figures)
        results["stock"].update(measured["stock rasa init bot"])
    for line in ratios(results["sizes"], results["stock"]):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
