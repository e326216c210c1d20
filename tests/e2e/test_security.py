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
    # small limits to reach in a test; the client's address read from X-Forwarded-For, as behind a proxy
    env.update({"DYNCHAT_RATE_PER_VISITOR": "12", "DYNCHAT_RATE_PER_ADDRESS": "20", "SANIC_PROXIES_COUNT": "1"})
    e2e_support.train(env)  # the shipped dialogues' model, when another module trained it already
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
        "sender": bot.conversation(me), "message": "/session_start", "metadata": {"url": "https://example.com/", "junk": "j" * 1_200_000}})
    assert huge.status_code == 413 and "error" in huge.json()  # 1.2 MB was kept and sent on every action call
    metadata = {"url": "https://example.com/pricing", "junk": "j" * 40_000, "locale": 5,
                "person": {"firstName": "Kim", "nested": {"a": 1}}}
    assert bot.texts(me, "/session_start", metadata)[0] == "Looking at our plans, Kim?"
    kept = bot.slots(me)["dc_visit"]
    assert kept == {"url": "https://example.com/pricing", "person": {"firstName": "Kim"}}
    assert requests.post(bot.base + "/webhooks/rest/webhook", json={"sender": bot.conversation(me), "message": "hi", "metadata": {
        "url": 5}}, timeout=10).status_code == 200  # a number where a text goes is dropped, not a broken visitor
    assert bot.texts(me, "/dc__pricing__size__3")[-1] == "Would you like to talk to sales?"


@pytest.mark.parametrize("sender", ["default", "visitor-1", "a" * 64, "0" * 64])
def test_a_conversation_id_the_bot_did_not_issue_is_refused(bot, sender: str) -> None:
    """Before, sender ids were bearer tokens the client chose: a REST call with a victim's id (or none:
    "default") read and answered the victim's conversation."""
    answer = requests.post(bot.base + "/webhooks/rest/webhook", json={"sender": sender, "message": "/session_start"},
                           timeout=10)
    assert answer.status_code == 400 and "issued" in answer.json()["error"]
    issued = requests.post(bot.base + "/widget/visit", json={"session_id": sender}, timeout=10).json()["session_id"]
    assert issued != sender and len(issued) == 64
    assert requests.post(bot.base + "/webhooks/rest/webhook", json={"sender": issued, "message": "/session_start",
                         "metadata": {"url": "https://example.com/pricing"}}, timeout=10).json()[0]["text"] == \
        "Looking at our plans, there?"


def test_a_socket_cannot_choose_its_session_or_speak_in_another(bot) -> None:
    """Before, a second socket that asked for a victim's session id (chosen by the client) got the victim's
    answers and could answer for them. Now a session the bot did not issue is replaced by a new one, and a
    message names only the session its socket was confirmed in."""
    socketio = pytest.importorskip("socketio")
    victim, attacker = socketio.Client(reconnection=False), socketio.Client(reconnection=False)
    heard: dict = {"victim": [], "attacker": []}
    confirmed: dict = {"victim": [], "attacker": []}
    for name, client in (("victim", victim), ("attacker", attacker)):
        client.on("bot_uttered", lambda data, name=name: heard[name].append(data))
        client.on("session_confirm", lambda data, name=name: confirmed[name].append(data))
        client.connect(bot.base, socketio_path="/socket.io", transports=["websocket"], wait_timeout=10)
    try:
        victim.emit("session_request", {})
        attacker.emit("session_request", {"session_id": "default"})
        e2e_support.wait_for(lambda: confirmed["victim"] and confirmed["attacker"])
        mine = confirmed["victim"][0]
        assert confirmed["attacker"][0] not in (mine, "default")
        victim.emit("user_uttered", {"message": "/session_start", "session_id": mine,
                                     "metadata": {"url": "https://example.com/pricing"}})
        e2e_support.wait_for(lambda: heard["victim"])
        before = len(heard["victim"])
        attacker.emit("user_uttered", {"message": "/dc__pricing__size__3", "session_id": mine})
        time.sleep(3)
        assert len(heard["victim"]) == before and heard["attacker"] == []
        events = bot.get(f"/conversations/{mine}/tracker")["events"]
        assert not any(e.get("event") == "user" and e.get("text") == "/dc__pricing__size__3" for e in events)
    finally:
        victim.disconnect()
        attacker.disconnect()


def test_only_the_buttons_of_the_question_on_screen_answer_it(bot) -> None:
    """Before, another dialogue's button payload (`/dc__welcome__ask__2`) jumped into that dialogue's flow and
    set its field, and an earlier question's button answered it again."""
    me = uuid.uuid4().hex
    assert bot.texts(me, "/session_start", {"url": "https://example.com/pricing"})[-1] == "How large is your team?"
    forged = bot.texts(me, "/dc__welcome__ask__2")
    assert forged == ["Please pick one of the options below, or type 'restart' to start over.", "How large is your team?"]
    slots = bot.slots(me)
    assert slots.get("person_interest") is None and slots["dc_dialogue"] == "pricing"
    assert bot.texts(me, "/dc__pricing__size__3")[-1] == "Would you like to talk to sales?"
    again = bot.texts(me, "/dc__pricing__size__1")  # the earlier question's button
    assert again[0] == "Please pick one of the options below, or type 'restart' to start over."
    assert bot.slots(me)["company_employees"] == "5000"
    assert again[-1] == "Would you like to talk to sales?"
    assert bot.texts(me, "/dc__pricing__talk__2") == ["Have a great day!"]  # the question on screen answers


def test_a_visitor_or_an_address_sending_too_fast_is_told_to_wait_and_others_go_on(bot) -> None:
    """Before, nothing limited how fast one client sent: one session replayed a booking 33 times."""
    me = uuid.uuid4().hex
    rest = bot.base + "/webhooks/rest/webhook"
    answers = [requests.post(rest, json={"sender": bot.conversation(me), "message": "/restart"}, timeout=30)
               for _ in range(15)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.status_code in (200, 429) for a in answers)
    assert "too fast" in refused[0].json()["error"] or "faster" in refused[0].json()["error"]
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/pricing"})[0] == \
        "Looking at our plans, there?"  # another visitor is not slowed down
    far = {"X-Forwarded-For": "203.0.113.7"}
    visits = [requests.post(bot.base + "/widget/visit", json={}, headers=far, timeout=30) for _ in range(25)]
    assert [v.status_code for v in visits].count(429) >= 4  # 20 a minute from one address
    elsewhere = requests.post(bot.base + "/widget/visit", json={}, headers={"X-Forwarded-For": "198.51.100.9"}, timeout=30)
    assert elsewhere.status_code == 200


def test_outside_text_comes_back_as_plain_text_and_the_log_keeps_no_personal_data(bot) -> None:
    """Before, `<img onerror>` in a page's metadata (or a lead's or a typed name) was echoed in bot messages, and
    errors dumped whole trackers with emails and names into the log."""
    me = uuid.uuid4().hex
    metadata = {"url": "https://example.com/pricing", "person": {"firstName": "<img src=x onerror=alert(1)>Kim"}}
    assert bot.texts(me, "/session_start", metadata)[0] == "Looking at our plans, Kim?"
    bot.texts(me, "/dc__pricing__size__3")
    bot.texts(me, "Yes")
    bot.texts(me, "robin.private@example.com")
    bot.texts(me, "+46 70 765 43 21")
    printed = bot.everything_printed()
    assert "robin.private@example.com" not in printed and "765 43 21" not in printed and "7076543" not in printed
    assert "e2e-internal-token" not in printed and bot.conversation(me) not in printed  # an id is a bearer token
    assert bot.conversation(me)[:12] + "…" in printed  # shortened, the log still follows a conversation
