"""Publish-to-live time of the shipped bot, with a visitor chatting throughout; prints its figures.

`dynchat run` serves the shipped dialogues; one is edited and published
through the console's API (compile, train beside the running bot, load on
a thread). Meanwhile a visitor chats without pause: their turns' p50 and
slowest are printed, and none may go unanswered. The reference, in the same
run: what publishing cost before, a restart of `dynchat run` (stop, retrain,
start), during which visitors get no answer at all.

Usage: .venv/bin/python bench/bench_publish.py
"""
from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from tests.support import ROOT  # noqa: E402
from tests.support import e2e as e2e_support  # noqa: E402


def chatting(bot: e2e_support.Bot, stop: threading.Event, turns: List[Tuple[float, bool]]) -> None:
    """A visitor on the pricing page, again and again: (seconds, answered right) per turn."""
    while not stop.is_set():
        me = uuid.uuid4().hex
        for text, metadata, expected in (("/session_start", {"url": "https://example.com/pricing"}, "Looking at our plans, there?"),
                                         ("/dc__pricing__size__3", None, "Would you like to talk to sales?")):
            began = time.monotonic()
            try:
                answer = bot.texts(me, text, metadata)
            except OSError:
                answer = []
            turns.append((time.monotonic() - began, expected in answer))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        dialogues = tmp / "dialogues"
        shutil.copytree(ROOT / "data" / "dialogues", dialogues)
        env = e2e_support.environment(tmp, dialogues)
        env.pop("DYNCHAT_AGENTS")
        env["DYNCHAT_WEB_PORT"] = str(e2e_support.free_port())
        began = time.monotonic()
        bot = e2e_support.start(env)
        print(f"Publish benchmark: the shipped bot ({len(list(dialogues.glob('*.yml')))} dialogues)")
        print(f"  first start (train and serve): {time.monotonic() - began:.1f} s")
        password = re.search(r"password:\s+(\S+)", "".join(bot.output)).group(1)
        api = f"http://127.0.0.1:{env['DYNCHAT_WEB_PORT']}/api"
        client = requests.Session()
        client.headers["X-CSRF-Token"] = client.post(api + "/session", json={"email": "admin@localhost",
                                                                          "password": password}).json()["csrf"]
        welcome = dialogues / "welcome.yml"
        welcome.write_text(welcome.read_text().replace("I am the Example Co. assistant.", "I am the Example Co. helper."))
        turns: List[Tuple[float, bool]] = []
        stop = threading.Event()
        visitor = threading.Thread(target=chatting, args=(bot, stop, turns), daemon=True)
        visitor.start()
        time.sleep(2)
        began = time.monotonic()
        client.post(api + "/publish").raise_for_status()
        while True:
            current = client.get(api + "/publish").json()["current"]
            if not current["running"]:
                break
            time.sleep(0.2)
        publish_seconds = time.monotonic() - began
        time.sleep(2)
        stop.set()
        visitor.join(timeout=60)
        assert current["state"] == "live", current
        live = bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/"})[0]
        assert live == "Hi there! I am the Example Co. helper.", live
        seconds = sorted(t for t, _ in turns)
        print(f"  publish to live: {publish_seconds:.1f} s "
              f"(compile {current['seconds'].get('compile', 0):.1f} s, train {current['seconds'].get('train', 0):.1f} s, "
              f"load {current['seconds'].get('load', 0):.1f} s)")
        print(f"  a visitor chatting meanwhile: {len(turns)} turns, {sum(1 for _, ok in turns if not ok)} unanswered, "
              f"p50 {statistics.median(seconds) * 1000:.0f} ms, slowest {seconds[-1] * 1000:.0f} ms")
        # the reference: a restart with a retrain, as publishing was before
        welcome.write_text(welcome.read_text().replace("I am the Example Co. helper.", "I am the Example Co. guide."))
        began = time.monotonic()
        assert bot.stop() == 0
        bot = e2e_support.start(env)
        restart = time.monotonic() - began
        print(f"  reference, restart of dynchat run with a retrain: {restart:.1f} s without any answer")
        assert bot.stop() == 0


if __name__ == "__main__":
    main()
