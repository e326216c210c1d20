"""Whole after faults: the action server killed with SIGKILL in the middle of bookings (issue 11).

Before, `kill -9` of the action server made the supervisor stop everything and exit, and a meeting committed
in that moment was never confirmed to its visitor, who then booked a duplicate after the restart. Now the
supervisor restarts it with backoff, the Rasa server tries the action again (or asks the visitor to wait a
moment), and the meeting card confirms a meeting its conversation holds.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List

import pytest

from bot.store.database import open_database
from bot.store.meetings import Meetings
from tests.support import FIXTURES
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e

HOME = "https://acme.test/"
ONE_MOMENT = "One moment, please: I couldn't do that just now. Please try again in a few seconds."


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e_support.Bot]:
    env = e2e_support.environment(tmp_path_factory.mktemp("faults"), FIXTURES / "dialogues")
    env["DYNCHAT_AGENTS"] = str(FIXTURES / "agents" / "always.yml")
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0, "".join(running.output[-50:])


def action_server_pid(bot: e2e_support.Bot) -> int:
    found = subprocess.run(["pgrep", "-f", f"bot.web.action_server --port {bot.action_port}"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    return int(found[0])


def book(bot: e2e_support.Bot, me: str, start_gate: threading.Event) -> List[str]:
    """A visitor who asks for times, waits for the others, picks one and clicks again while told to wait."""
    bot.say(me, "/session_start", {"url": HOME, **bot.signed(f"{me}@x.test"), "person": {"phone": "+46700000000"}})
    offer = bot.say(me, "/dc__general__colour__2")[0]["buttons"]
    start_gate.wait(60)
    heard: List[str] = []
    payload = offer[int(me.rsplit("-", 1)[1]) % 4]["payload"]
    for _ in range(20):
        reply = bot.say(me, payload)
        heard += [m.get("text") for m in reply]
        buttons = [b for m in reply for b in m.get("buttons") or [] if b["payload"].startswith("/dc_meeting{")]
        if buttons:  # that time went to another visitor: the next one offered
            payload = buttons[0]["payload"]
        elif reply and reply[0].get("text") != ONE_MOMENT:
            return heard
        else:
            time.sleep(1)  # asked to wait a moment: the same click again
    return heard


def test_an_action_server_killed_mid_booking_is_restarted_and_every_visitor_gets_one_confirmed_meeting(bot) -> None:
    visitors = [f"fault-{n}" for n in range(12)]
    gate = threading.Event()
    killed = action_server_pid(bot)
    with ThreadPoolExecutor(len(visitors)) as pool:
        futures = {me: pool.submit(book, bot, me, gate) for me in visitors}
        time.sleep(8)  # every visitor has been offered times
        gate.set()
        time.sleep(0.15)  # the picks are on their way or being booked
        os.kill(killed, signal.SIGKILL)
        heard: Dict[str, List[str]] = {me: future.result(timeout=180) for me, future in futures.items()}
    assert bot.process.poll() is None, "the supervisor exited"  # before: it stopped everything
    assert action_server_pid(bot) != killed
    store = Meetings(open_database(bot.env["DATABASE_URL"]))
    active = [m for m in store.list() if m.status == "booked" and m.conversation in
              {bot.conversation(me) for me in visitors}]
    for me in visitors:
        mine = [m for m in active if m.conversation == bot.conversation(me)]
        assert len(mine) == 1, (me, heard[me], mine)  # exactly one meeting each
        confirmed = [t for t in heard[me] if t and (t.startswith("You're booked") or t.startswith("You already have"))]
        assert confirmed, (me, heard[me])  # and the visitor was told
    slots = [(m.agent_email, m.start_at) for m in active]
    assert len(slots) == len(set(slots))  # no agent double-booked
    printed = bot.everything_printed()
    assert "the action server stopped (code -9); restarting it in 1 s" in printed
