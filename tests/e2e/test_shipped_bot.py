"""The shipped dialogues, trained and served the way `make run` does, played to their end."""
from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest
from playwright.sync_api import Browser, expect

from bot.calendars.local import feed_token
from tests.support import ROOT
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory):
    env = e2e_support.environment(tmp_path_factory.mktemp("shipped"), ROOT / "data" / "dialogues")
    # as `MARKETO=emulator make run`: the emulator with the demo leads, an empty local store
    env.update(MARKETO="emulator", DYNCHAT_MARKETO_EMULATOR_PORT=str(e2e_support.free_port()))
    env.pop("DYNCHAT_AGENTS")  # the shipped agents, as `make run` has them: meetings are booked in the chat
    env["DYNCHAT_FEED_SECRET"] = "test-feed-secret"
    env["DYNCHAT_WEB_PORT"] = str(e2e_support.free_port())  # the demo site, as `make run` serves it
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
        "url": "https://example.com/", **bot.signed("kim@devtools.example"),
        "person": {"firstName": "Kim"}, "company": {"name": "DevTools AB", "industry": "Software"}})
    assert reply == ["Welcome back, Kim!", "We just shipped new developer tools that DevTools AB might like.",
                     "Would you like a quick demo?"]


def test_with_the_marketo_emulator_a_demo_lead_is_known_by_cookie(bot) -> None:
    reply = bot.texts(uuid.uuid4().hex, "/session_start", {
        "url": "https://example.com/", "mkto_trk": "id:561-HYG-937&token:_mch-example.com-1002"})
    assert reply == ["Welcome back, Maria!", "Enterprise customers like Big Bank get a dedicated success manager.",
                     "Would you like a quick demo?"]


def test_book_a_demo_books_a_meeting_in_the_chat_and_cancels_it(bot) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://example.com/demo", "timezone": "Europe/Stockholm"})
    assert bot.texts(me, "/dc__book_a_demo__ask__1") == ["What is your name?"]
    assert bot.texts(me, "Robin") == ["Thanks Robin. What is your work email?"]
    offer = bot.say(me, "robin@example.com")
    assert offer[0]["text"] == "Pick a time that suits you (times in Europe/Stockholm):"
    times = offer[0]["buttons"]
    assert len(times) == 6 and times[-1] == {"title": "More times", "payload": "/dc_meeting_more"}
    more = bot.say(me, "/dc_meeting_more")[0]["buttons"]
    assert more[0]["title"] != times[0]["title"]
    booked = bot.say(me, times[1]["payload"])
    assert booked[0]["text"].startswith(f"You're booked: {times[1]['title']} (Europe/Stockholm) with ")
    assert booked[0]["text"].endswith("The invitation goes to robin@example.com.")
    assert [b["title"] for b in booked[0]["buttons"]] == ["Reschedule", "Cancel meeting"]
    link = booked[1]["text"].removeprefix("Add it to your calendar: ")
    assert link.startswith(f"{bot.base}/webhooks/calendar/invitation/")
    assert [m["text"] for m in booked[2:]] == ["Thanks, talk soon!"]
    slots = bot.slots(me)
    with urllib.request.urlopen(link, timeout=10) as reply:  # the visitor's invitation, from the Rasa server
        assert reply.headers["Content-Type"].startswith("text/calendar")
        invitation = reply.read().decode()
    assert f"UID:{slots['dc_meeting_id']}@dynchat" in invitation and "mailto:robin@example.com" in invitation
    token = feed_token(slots["person_dcAgentEmail"], "test-feed-secret")
    with urllib.request.urlopen(f"{bot.base}/webhooks/calendar/feed/{token}.ics", timeout=10) as reply:
        assert f"UID:{slots['dc_meeting_id']}@dynchat" in reply.read().decode()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{bot.base}/webhooks/calendar/feed/guessed.ics", timeout=10)
    assert slots["dc_goals"] == ["book_a_demo.demo_booked"] and slots["dc_meeting_id"]
    assert slots["person_dcAgentEmail"] in ("astrid@example.com", "ben@example.com", "chloe@example.com")
    cancelled = bot.texts(me, "/dc_meeting_cancel")
    assert cancelled == [f"Your meeting on {times[1]['title']} (Europe/Stockholm) is cancelled."]
    assert bot.texts(me, "/dc_meeting_cancel") == ["There is no meeting to change."]


def test_the_demo_site_has_the_widget_in_english_and_swedish(bot, browser: Browser) -> None:
    """The demo site `make run` serves: the pricing page pokes with the pricing dialogue; the Swedish page
    speaks Swedish. The screenshot is the README's."""
    demo = f"http://127.0.0.1:{bot.env['DYNCHAT_WEB_PORT']}"
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    page = context.new_page()
    try:
        page.goto(demo + "/pricing")
        expect(page.locator(".poke")).to_have_text("Looking at our plans, there?", timeout=15_000)
        page.locator(".poke").click()
        page.get_by_role("button", name="More than 1000").click()
        expect(page.locator(".message.bot").last).to_have_text("Would you like to talk to sales?", timeout=15_000)
        (ROOT / "tests" / "screenshots").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "tests" / "screenshots" / "demo-pricing.png"))
        swedish = context.new_page()
        swedish.goto(demo + "/sv/")
        expect(swedish.locator(".launcher")).to_be_visible(timeout=15_000)
        swedish.locator(".launcher").click()
        expect(swedish.get_by_role("button", name="Börja om")).to_be_visible()
        expect(swedish.get_by_role("textbox")).to_have_attribute("placeholder", "Skriv ditt meddelande…")
    finally:
        context.close()
