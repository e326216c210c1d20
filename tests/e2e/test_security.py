"""Only the chat is public: the attacks of issue 11 on the Rasa HTTP API and the action server, as tests.

Before, `dynchat run` served Rasa's HTTP API to anyone on the widget's port (`DELETE /model` left every
visitor with `[]`; `GET .../tracker` returned emails; `POST .../tracker/events` rewrote a conversation) and
the action server took any crafted tracker. Now both want the token `dynchat run` shares between its
processes; the chat channels and the widget stay open.
"""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import requests

from tests.support import ROOT
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e_support.Bot]:
    env = e2e_support.environment(tmp_path_factory.mktemp("security"), ROOT / "data" / "dialogues")
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0


def _visit(bot: e2e_support.Bot) -> str:
    me = uuid.uuid4().hex
    assert bot.texts(me, "/session_start", {"url": "https://example.com/pricing"})[0] == "Looking at our plans, there?"
    bot.texts(me, "/dc__pricing__size__3")
    bot.texts(me, "Yes")
    bot.texts(me, "pat@example.com")
    return me


def test_a_stranger_cannot_read_or_rewrite_a_conversation(bot) -> None:
    me = _visit(bot)
    tracker = f"{bot.base}/conversations/{me}/tracker"
    read = requests.get(tracker, timeout=10)
    assert read.status_code == 401 and "pat@example.com" not in read.text
    forged = requests.post(tracker + "/events", json=[{"event": "slot", "name": "dc_meeting_id", "value": "someone-elses"}],
                           timeout=10)
    assert forged.status_code == 401
    assert requests.get(tracker, params={"token": "guessed"}, timeout=10).status_code == 401
    slots = bot.slots(me)  # our own tools, with the token
    assert slots["person_email"] == "pat@example.com" and slots.get("dc_meeting_id") is None


def test_a_stranger_cannot_unload_the_model(bot) -> None:
    assert requests.delete(f"{bot.base}/model", timeout=10).status_code == 401
    assert requests.put(f"{bot.base}/model", json={"model_file": "/tmp/x.tar.gz"}, timeout=10).status_code == 401
    assert requests.put(f"{bot.base}/webhooks/dynchat_model/load", json={"model_file": "/tmp/x.tar.gz"},
                        timeout=10).status_code == 403
    _visit(bot)  # every visitor still gets answers


def test_the_action_server_answers_only_the_rasa_server(bot) -> None:
    actions = f"http://127.0.0.1:{bot.action_port}"
    crafted = {"next_action": "action_dc_meeting", "sender_id": "x", "domain": {}, "version": "3.6.21",
               "tracker": {"sender_id": "x", "slots": {"dc_meeting_id": "someone-elses"}, "latest_message": {},
                           "events": [], "paused": False, "followup_action": None, "active_loop": {},
                           "latest_action_name": "action_listen"}}
    assert requests.post(actions + "/webhook", json=crafted, timeout=10).status_code == 403
    assert requests.post(actions + "/webhook", json=crafted, params={"token": "guessed"}, timeout=10).status_code == 403
    assert requests.get(actions + "/actions", timeout=10).status_code == 403
    assert requests.get(actions + "/health", timeout=10).status_code == 200  # the supervisor's check stays open
