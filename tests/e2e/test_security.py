"""Only the chat is public: the attacks of issue 11 on the Rasa HTTP API and the action server, as tests.

Before, `dynchat run` served Rasa's HTTP API to anyone on the widget's port (`DELETE /model` left every
visitor with `[]`; `GET .../tracker` returned emails; `POST .../tracker/events` rewrote a conversation) and
the action server took any crafted tracker. Now both want the token `dynchat run` shares between its
processes; the chat channels and the widget stay open.
"""
from __future__ import annotations

import time
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


def test_a_long_message_is_refused_politely_before_nlu_and_others_go_on(bot) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://example.com/pricing"})
    began = time.monotonic()
    answer = bot.say(me, "blah " * 10_000)  # 50 kB: before, it stalled every visitor 6.8 s
    assert [m["text"] for m in answer] == ["That message is too long for me: please keep it under 2,000 characters."]
    assert time.monotonic() - began < 2
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/pricing"})[0] == \
        "Looking at our plans, there?"
    assert bot.texts(me, "/dc__pricing__size__3")[-1] == "Would you like to talk to sales?"  # the visitor goes on


@pytest.mark.parametrize("body", [b"", b"[]", b'"text"', b"{", b"null", b'{"message": "hi"}',
                                  b'{"sender": 5, "message": "hi"}', b'{"sender": "a b", "message": "hi"}',
                                  b'{"sender": "x", "message": ["hi"]}'])
def test_malformed_bodies_and_a_missing_sender_are_400_with_a_json_error(bot, body: bytes) -> None:
    answer = requests.post(bot.base + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"},
                           timeout=10)
    assert answer.status_code == 400 and "error" in answer.json(), (body, answer.status_code, answer.text[:200])


def test_metadata_is_cut_to_the_contract_before_it_is_kept(bot) -> None:
    me = uuid.uuid4().hex
    huge = requests.post(bot.base + "/webhooks/rest/webhook", timeout=10, json={
        "sender": me, "message": "/session_start", "metadata": {"url": "https://example.com/", "junk": "j" * 1_200_000}})
    assert huge.status_code == 413 and "error" in huge.json()  # 1.2 MB was kept and sent on every action call
    metadata = {"url": "https://example.com/pricing", "junk": "j" * 40_000, "locale": 5,
                "person": {"firstName": "Kim", "nested": {"a": 1}}}
    assert bot.texts(me, "/session_start", metadata)[0] == "Looking at our plans, Kim?"
    kept = bot.slots(me)["dc_visit"]
    assert kept == {"url": "https://example.com/pricing", "person": {"firstName": "Kim"}}
    assert requests.post(bot.base + "/webhooks/rest/webhook", json={"sender": me, "message": "hi", "metadata": {
        "url": 5}}, timeout=10).status_code == 200  # a number where a text goes is dropped, not a broken visitor
    assert bot.texts(me, "/dc__pricing__size__3")[-1] == "Would you like to talk to sales?"
