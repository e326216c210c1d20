"""The shipped dialogues, trained and served the way `make run` does, played to their end."""
from __future__ import annotations

import uuid

import pytest

from tests import e2e_support
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory):
    env = e2e_support.environment(tmp_path_factory.mktemp("shipped"), ROOT / "data" / "dialogues")
    # as `MARKETO=emulator make run`: the emulator with the demo leads, an empty local store
    env.update(MARKETO="emulator", DYNCHAT_MARKETO_EMULATOR_PORT=str(e2e_support.free_port()))
    running = e2e_support.start(env)  # `dynchat run` compiles and trains first, as `make run` does
    yield running
    assert running.stop() == 0


def test_pricing_page_plays_the_pricing_dialogue_to_its_end(bot) -> None:
    me = uuid.uuid4().hex
    first = bot.say(me, "/session_start", {"url": "https://example.com/pricing", "locale": "en"})
    assert [m["text"] for m in first] == ["Looking at our plans, there?", "How large is your team?"]
    assert bot.texts(me, first[1]["buttons"][2]["payload"]) == [
        "For teams your size we recommend Enterprise, with SSO and a dedicated manager.",
        "Would you like to talk to sales?"]
    assert bot.texts(me, "Yes") == ["What is your work email?"]
    assert bot.texts(me, "pat@example.com") == ["And a phone number where sales can reach you?"]
    assert bot.texts(me, "+1 555 010 9999") == [
        "Thank you! Sales will be in touch within one business day.", "Have a great day!"]
    assert bot.slots(me)["dc_completed"] == ["pricing"]


def test_priority_and_page_choose_among_shipped_dialogues(bot) -> None:
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/demo"})[0] == \
        "Hi there, want to see the product in action?"
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/"})[0] == \
        "Hi there! I am the Example Co. assistant."
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/careers/x"}) == []
    swedish = bot.texts(uuid.uuid4().hex, "/session_start",
                        {"url": "https://example.com/sv/hem", "locale": "sv-SE", "person": {"firstName": "Lars"}})
    assert swedish[0] == "Hej Lars! Välkommen till Example."


def test_known_visitors_get_welcome_back_with_their_industry(bot) -> None:
    reply = bot.texts(uuid.uuid4().hex, "/session_start", {
        "url": "https://example.com/", "email": "kim@devtools.example",
        "person": {"firstName": "Kim"}, "company": {"name": "DevTools AB", "industry": "Software"}})
    assert reply == ["Welcome back, Kim!", "We just shipped new developer tools that DevTools AB might like.",
                     "Would you like a quick demo?"]


def test_with_the_marketo_emulator_a_demo_lead_is_known_by_cookie(bot) -> None:
    reply = bot.texts(uuid.uuid4().hex, "/session_start", {
        "url": "https://example.com/", "mkto_trk": "id:561-HYG-937&token:_mch-example.com-1002"})
    assert reply == ["Welcome back, Maria!", "Enterprise customers like Big Bank get a dedicated success manager.",
                     "Would you like a quick demo?"]


def test_book_a_demo_reaches_the_meeting_card_and_the_end(bot) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://example.com/demo"})
    assert bot.texts(me, "/dc__book_a_demo__ask__1") == ["What is your name?"]
    assert bot.texts(me, "Robin") == ["Thanks Robin. What is your work email?"]
    assert bot.texts(me, "robin@example.com") == [
        "Booking a meeting in the chat is not set up yet, so our team will contact you to find a time.",
        "Thanks, talk soon!"]
    assert bot.slots(me)["dc_goals"] == ["book_a_demo.demo_booked"]
