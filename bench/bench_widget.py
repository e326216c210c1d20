"""The widget's weight and speed; prints its figures.

1. widget.js as `make` builds it, gzipped (target: under 40 kB with its socket.io client), beside the
   socket.io client alone bundled the same way (the reference: what the widget adds to it).
2. Time from page load to the first bot message shown, on a page whose dialogue has no trigger delay
   (target: under 300 ms on loopback), in Debian's Chromium, beside the bot's own answer to the same
   visit start over REST in the same run (the reference: what the server takes).

Usage: .venv/bin/python bench/bench_widget.py [--loads 20]
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support import FIXTURES  # noqa: E402
from tests.support import e2e as e2e_support  # noqa: E402
from tests.support.widget import write_site  # noqa: E402

WIDGET = ROOT / "widget"
FIRST_MESSAGE = """
new Promise((resolve) => {
  const look = () => {  // the poke lives in the widget's shadow root, which a document observer cannot see
    const host = document.getElementById("dynchat-widget");
    const poke = host && host.shadowRoot && host.shadowRoot.querySelector(".poke:not([hidden])");
    if (poke && poke.textContent) resolve(performance.now());
    else setTimeout(look, 2);
  };
  look();
})
"""


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def sizes() -> None:
    bundle = WIDGET / "dist" / "widget.js"
    subprocess.run(["make", "-s", "widget"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(dir=WIDGET) as folder:  # inside widget/: esbuild finds node_modules
        entry = Path(folder) / "client.js"
        entry.write_text('import { io } from "socket.io-client"; window.io = io;\n', encoding="utf-8")
        alone = Path(folder) / "client.min.js"
        subprocess.run([str(WIDGET / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--minify",
                        "--format=iife", "--target=es2019", f"--outfile={alone}"], cwd=WIDGET, check=True,
                       capture_output=True)
        reference = gzipped(alone.read_bytes())
    ours = gzipped(bundle.read_bytes())
    print(f"widget.js: {len(bundle.read_bytes()) / 1024:.1f} kB, {ours / 1024:.1f} kB gzipped "
          f"(target < 40 kB); socket.io client alone {reference / 1024:.1f} kB gzipped; "
          f"the widget adds {(ours - reference) / 1024:.1f} kB", flush=True)


def first_message(loads: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = e2e_support.environment(tmp, FIXTURES / "widget" / "dialogues")
        web_port = e2e_support.free_port()
        settings = tmp / "widget.yml"  # no typing delay: the delay a site sets is on purpose, not latency
        settings.write_text((ROOT / "data" / "widget.yml").read_text(encoding="utf-8").replace(
            "response_delay_ms: 600", "response_delay_ms: 0"), encoding="utf-8")
        env.update({"DYNCHAT_WEB_PORT": str(web_port), "DYNCHAT_DEMO_SITE": str(write_site(tmp / "site")),
                    "DYNCHAT_WIDGET": str(settings)})
        e2e_support.train(env)
        bot = e2e_support.start(env)
        try:
            shown, served = [], []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
                for round_ in range(loads + 1):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{web_port}/full", wait_until="commit")
                    elapsed = page.evaluate(FIRST_MESSAGE)
                    context.close()
                    started = time.perf_counter()
                    bot.say(uuid.uuid4().hex, "/session_start", {"url": "http://127.0.0.1/full", "locale": "en"})
                    if round_:  # the first round warms caches on both sides
                        shown.append(elapsed)
                        served.append((time.perf_counter() - started) * 1000)
                browser.close()
        finally:
            bot.stop()
    print(f"page load to the first bot message shown (the poke; typing delay 0), {loads} loads: "
          f"p50 {statistics.median(shown):.0f} ms, max {max(shown):.0f} ms (target < 300 ms); "
          f"the bot's own REST answer to the same visit start: p50 {statistics.median(served):.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    sizes()
    first_message(args.loads)


if __name__ == "__main__":
    main()
