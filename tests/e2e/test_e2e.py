"""Real conversations against the real Rasa and action servers, from a model trained on test dialogues."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.store.database import open_database
from bot.store.meetings import Meetings
from tests.support import FIXTURES
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e

SHOP = "https://acme.test/shop/shoes"
HOME = "https://acme.test/"
SWEDISH = "https://acme.test/se/start"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("e2e")
    env = e2e_support.environment(tmp, FIXTURES / "dialogues")
    env["DYNCHAT_AGENTS"] = str(FIXTURES / "agents" / "always.yml")
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0, "".join(running.output[-50:])
    assert "stopping" in "".join(running.output[-20:])


def visitor() -> str:
    return f"visitor-{uuid.uuid4().hex[:10]}"


def test_page_and_priority_choose_the_dialogue_then_buttons_captures_and_branches(bot) -> None:
    me = visitor()
    first = bot.say(me, "/session_start", {"url": SHOP})
    assert [m["text"] for m in first] == ["Hello stranger, welcome to the shop.", "Are you buying for a company?"]
    assert [b["title"] for b in first[1]["buttons"]] == ["Yes", "No, for myself"]
    assert bot.texts(me, first[1]["buttons"][0]["payload"]) == ["Which email should the quote go to?"]
    assert bot.texts(me, "nope, not telling") == [
        "That doesn't look like an email address (like name@company.com). Please try again:",
        "Which email should the quote go to?"]
    assert bot.texts(me, "CEO@BigCorp.com") == ["A big company account manager will send your quote.", "Happy shopping!"]
    slots = bot.slots(me)
    assert slots["person_email"] == "ceo@bigcorp.com"
    assert slots["person_buyer"] == "company"
    assert slots["dc_goals"] == ["shop.quote_requested"]
    assert slots["dc_completed"] == ["shop"]


def test_a_completed_dialogue_is_not_offered_again(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": SHOP})
    assert bot.texts(me, "/dc__shop__interested__2") == ["Happy shopping!"]
    assert bot.texts(me, "/session_start", {"url": SHOP})[0] == "Hi, I am the test bot."


def test_other_branch_and_free_text_picking_a_button(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": SHOP})
    assert bot.texts(me, "yes") == ["Which email should the quote go to?"]
    assert bot.texts(me, "me@home.org") == ["Your quote is on its way.", "Happy shopping!"]


def test_unmatched_free_text_gets_help_and_keeps_the_place(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME})
    reply = bot.say(me, "how tall is the eiffel tower")
    assert reply[0]["text"].startswith("Please pick one of the options")
    assert reply[1]["text"] == "Pick a colour" and len(reply[1]["buttons"]) == 2
    assert bot.texts(me, "Blue") == ["Your phone number?"]


def test_restart_plays_the_dialogue_again_from_its_start(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME})
    assert bot.texts(me, "/dc__general__colour__1") == ["Your phone number?"]
    assert bot.texts(me, "restart") == ["Hi, I am the test bot.", "Pick a colour"]
    assert bot.texts(me, "/dc__general__colour__2") == ["Your phone number?"]
    assert bot.slots(me)["person_colour"] == "blue"


def test_back_returns_to_the_previous_question(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME})
    assert bot.texts(me, "/dc__general__colour__2") == ["Your phone number?"]
    assert bot.texts(me, "back") == ["Pick a colour"]
    assert bot.slots(me)["person_colour"] is None
    assert bot.texts(me, "/dc__general__colour__1") == ["Your phone number?"]
    assert bot.texts(me, "not a phone") == [
        "That doesn't look like a phone number. Please type it with the country code, like +46 70 123 45 67:",
        "Your phone number?"]
    offer = bot.say(me, "+46 70 123 45 67")
    assert offer[0]["text"] == "Pick a time that suits you (times in UTC):" and len(offer[0]["buttons"]) == 6
    assert bot.slots(me)["person_phone"] == "+46701234567"
    # no email yet: the invitation's address is asked for, validated, then the meeting is booked
    assert bot.texts(me, offer[0]["buttons"][0]["payload"]) == ["What email should the invitation go to?"]
    assert bot.texts(me, "not an email") == [
        "That doesn't look like an email address (like name@company.com). Please try again:",
        "What email should the invitation go to?"]
    booked = bot.texts(me, "red@fan.test")
    assert booked[0].startswith(f"You're booked: {offer[0]['buttons'][0]['title']} (UTC) with ")
    assert offer[0]["buttons"][0]["title"][-2:] in ("00", "30")  # on the half-hour grid
    assert booked[1].startswith(f"Add it to your calendar: {bot.base}/webhooks/calendar/invitation/")
    assert booked[2:] == ["Bye, red fan."]


def test_skip_if_known_and_known_visitors(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME, "person": {"phone": "+46701111111"}})
    assert bot.texts(me, "/dc__general__colour__1")[-1] == "Pick a time that suits you (times in UTC):"
    known = visitor()
    reply = bot.texts(known, "/session_start", {"url": SHOP, **bot.signed("ann@acme.test"), "person": {"firstName": "Ann"}})
    assert reply == ["Welcome back, Ann!", "Reorder your last purchase?"]


@pytest.mark.parametrize("locale,expected", [
    ("sv-SE", ["Hej du!", "Vill du ha nyhetsbrevet?"]),
    ("en-GB", ["Hi you!", "Do you want the newsletter?"]),
])
def test_locale_variants(bot, locale, expected) -> None:
    me = visitor()
    reply = bot.say(me, "/session_start", {"url": SWEDISH, "locale": locale})
    assert [m["text"] for m in reply] == expected
    assert bot.texts(me, reply[1]["buttons"][0]["payload"])[0] in ("Din e-post?", "Your email?")
    invalid = bot.texts(me, "fel")
    assert invalid[0] == ("Ogiltig e-post, försök igen:" if locale.startswith("sv") else "Invalid email, try again:")


def test_a_new_page_in_the_middle_of_a_capture_starts_its_dialogue(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": SHOP})
    assert bot.texts(me, "/dc__shop__interested__1") == ["Which email should the quote go to?"]
    assert bot.texts(me, "/session_start", {"url": HOME}) == ["Hi, I am the test bot.", "Pick a colour"]
    assert bot.texts(me, "/dc__general__colour__1") == ["Your phone number?"]


def test_training_again_without_changes_is_skipped(bot) -> None:
    import subprocess

    result = subprocess.run([e2e_support.PYTHON, "-m", "bot", "train"], cwd=e2e_support.ROOT, env=bot.env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout


def test_two_visitors_racing_for_one_time_are_never_double_booked(bot) -> None:
    offers = {}
    for me in (visitor(), visitor(), visitor()):
        bot.say(me, "/session_start", {"url": HOME, **bot.signed(f"{me}@x.test"), "person": {"phone": "+46700000000"}})
        offers[me] = bot.say(me, "/dc__general__colour__2")[0]["buttons"]
    visitors = list(offers)
    late = offers[visitors[0]][-2]  # the same time, taken by all three
    first = bot.texts(visitors[0], late["payload"])[0]
    second = bot.texts(visitors[1], late["payload"])[0]
    third = bot.say(visitors[2], late["payload"])
    assert first.startswith("You're booked") and second.startswith("You're booked")
    assert {"Alex Always", "Sam Sometimes"} == {text.split(" with ")[1].split(".")[0] for text in (first, second)}
    assert third[0]["text"] == "Sorry, that time was just taken. Here are the next free times (in UTC):"
    assert late["title"] not in [b["title"] for b in third[0]["buttons"]]


def test_a_replayed_or_forged_pick_books_nothing_more(bot) -> None:
    """Before, one session replaying `/dc_meeting{"dc_slot": ...}` held 33 meetings, and times never offered
    (15:07, the year 2100) were booked."""
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME, **bot.signed(f"{me}@x.test"), "person": {"phone": "+46700000000"}})
    offered = bot.say(me, "/dc__general__colour__2")[0]["buttons"]
    first, later = offered[0]["payload"], offered[3]["payload"]
    never = '/dc_meeting{"dc_slot": "%d"}' % (int(first.split('"')[3]) + 420)  # seven minutes past an offered time
    assert bot.texts(me, never)[0] == "Pick a time that suits you (times in UTC):"
    assert bot.texts(me, '/dc_meeting{"dc_slot": "4102444800"}')[0] == "Pick a time that suits you (times in UTC):"
    assert bot.texts(me, first)[0].startswith("You're booked")
    held = bot.slots(me)["dc_meeting_id"]
    for payload in (later, first, later):
        again = bot.say(me, payload)
        assert again[0]["text"].startswith("Pick a time") or again[0]["text"].startswith("You already have a meeting")
    assert bot.slots(me)["dc_meeting_id"] == held
    store = Meetings(open_database(bot.env["DATABASE_URL"]))
    assert [m.id for m in store.list() if m.conversation == bot.conversation(me) and m.status == "booked"] == [held]


def test_no_dialogue_means_no_answer(bot) -> None:
    me = visitor()
    bot.say(me, "/session_start", {"url": HOME, **bot.signed("done@x.test")})
    bot.say(me, "/dc__general__colour__1")
    bot.say(me, "+46701234567")
    offer = bot.say(me, "/dc_meeting_more")  # the meeting card's later times
    bot.say(me, offer[0]["buttons"][0]["payload"])
    assert bot.texts(me, "/session_start", {"url": HOME}) == []


def test_rasa_test_core_passes_on_the_compiled_stories(bot, tmp_path: Path) -> None:
    """Rasa's own tools work on compiled dialogues: `rasa test core` replays the stories."""
    import subprocess

    build, models = Path(bot.env["DYNCHAT_BUILD"]), Path(bot.env["DYNCHAT_MODELS"])
    result = subprocess.run(
        [e2e_support.PYTHON, "-m", "rasa", "test", "core", "--stories", str(build / "data" / "stories.yml"),
         "--model", str(models / "dynchat.tar.gz"), "--out", str(tmp_path / "results")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Correct:          4 / 4" in output


def test_socketio_channel(bot) -> None:
    socketio = pytest.importorskip("socketio")
    client = socketio.Client()
    received, confirmed = [], []
    client.on("bot_uttered", lambda data: received.append(data))
    client.on("session_confirm", lambda data: confirmed.append(data))
    client.connect(bot.base, socketio_path="/socket.io", transports=["websocket"])
    try:
        made_up = visitor()
        client.emit("session_request", {"session_id": made_up})  # made up by the client: the bot issues its own
        e2e_support.wait_for(lambda: confirmed)
        session = confirmed[0]
        assert session != made_up and len(session) == 64
        client.emit("user_uttered", {"message": "/session_start", "session_id": session, "metadata": {"url": SHOP}})
        e2e_support.wait_for(lambda: len(received) >= 2)
        assert [m["text"] for m in received[:2]] == ["Hello stranger, welcome to the shop.", "Are you buying for a company?"]
        assert received[1]["quick_replies"][1]["payload"] == "/dc__shop__interested__2"
        client.emit("user_uttered", {"message": "/dc__shop__interested__2", "session_id": session})
        e2e_support.wait_for(lambda: len(received) >= 3)
        assert received[2]["text"] == "Happy shopping!"
    finally:
        client.disconnect()



def test_conversations_survive_a_restart(bot) -> None:
    """The Rasa server keeps conversations in the database: stopped and started again (the
    module's bot goes on as the restarted one), a visitor carries on where they were, and a
    dialogue another visitor completed before the restart is still not offered to them."""
    mid, done = visitor(), visitor()
    assert bot.texts(mid, "/session_start", {"url": SHOP})[1] == "Are you buying for a company?"
    assert bot.texts(mid, "/dc__shop__interested__1") == ["Which email should the quote go to?"]
    bot.say(done, "/session_start", {"url": SHOP})
    assert bot.texts(done, "/dc__shop__interested__2") == ["Happy shopping!"]

    assert bot.stop() == 0, "".join(bot.output[-50:])
    restarted = e2e_support.start(bot.env)
    bot.process, bot.output = restarted.process, restarted.output

    assert bot.texts(mid, "ceo@bigcorp.com") == ["A big company account manager will send your quote.",
                                                 "Happy shopping!"]
    assert bot.slots(mid)["dc_completed"] == ["shop"]
    assert bot.texts(done, "/session_start", {"url": SHOP})[0] == "Hi, I am the test bot."
