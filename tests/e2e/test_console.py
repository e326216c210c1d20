"""The marketers' console in Debian's Chromium, against `dynchat run` with the shipped bot.

Visitors chat over the REST channel (as the widget's tests already cover the
widget); what they did must show in the console. The analytics test runs
first in this module, so its counts are exact, not deltas.
"""
from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
from typing import Iterator

import pytest
import requests
import socketio
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.app import Services
from bot.config import from_environment
from tests.support import PYTHON, ROOT
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e
SCREENSHOTS = ROOT / "tests" / "screenshots"
PASSWORDS = {"designer": "designer password 1", "viewer": "viewer password 1"}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e_support.Bot]:
    folder = tmp_path_factory.mktemp("console")
    dialogues = folder / "dialogues"
    dialogues.mkdir()
    for source in (ROOT / "data" / "dialogues").glob("*.yml"):  # a copy: the console edits these
        (dialogues / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    env = e2e_support.environment(folder, dialogues)
    widget = folder / "widget.yml"  # the console edits it: a copy
    widget.write_text((ROOT / "data" / "widget.yml").read_text(encoding="utf-8"), encoding="utf-8")
    env["DYNCHAT_WIDGET"] = str(widget)
    agents = folder / "agents.yml"  # the shipped agents (meetings are booked in the chat), a copy the console may edit
    agents.write_text((ROOT / "data" / "agents.yml").read_text(encoding="utf-8"), encoding="utf-8")
    env["DYNCHAT_AGENTS"] = str(agents)
    env["DYNCHAT_WEB_PORT"] = str(e2e_support.free_port())
    running = e2e_support.start(env)
    for role, password in PASSWORDS.items():
        added = subprocess.run([PYTHON, "-m", "bot", "users", "add", f"{role}@corp.test", "--role", role,
                                "--password-stdin"], input=password + "\n", cwd=ROOT, env=env, capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def console(bot: e2e_support.Bot) -> str:
    return f"http://127.0.0.1:{bot.env['DYNCHAT_WEB_PORT']}/console"


@pytest.fixture(scope="module")
def admin_password(bot: e2e_support.Bot) -> str:
    """`dynchat run` printed the first admin's password once, on its first start."""
    printed = re.search(r"email:\s+admin@localhost\s+password:\s+(\S+)", "".join(bot.output))
    assert printed, "".join(bot.output)
    assert printed.group(1) not in e2e_support.log_text(bot.env)  # on the terminal only, never in the log
    return printed.group(1)


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Stockholm")
    yield made
    made.close()


def log_in(context: BrowserContext, console: str, email: str, password: str) -> Page:
    page = context.new_page()
    page.goto(console)
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#logout")).to_be_visible(timeout=15_000)
    return page


def save_domains(page: Page, field: str, text: str) -> None:
    """Fill one of the Configuration tab's domain lists and save both."""
    page.fill(field, text)
    page.locator("#save-domains").click()
    expect(page.locator("#domains-saved")).to_have_text("Saved: in effect at once.")


def services(bot: e2e_support.Bot) -> Services:
    return Services(from_environment(bot.env))


def chat(bot: e2e_support.Bot, *turns: str, url: str = "https://example.com/pricing") -> str:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": url, "locale": "en"})
    for text in turns:
        bot.say(me, text)
    return me


def test_analytics_count_a_scripted_set_of_conversations_exactly(bot, console, admin_password, context) -> None:
    # Five visitors on the pricing page: two leave at once, one answers and leaves, one gives an email and
    # leaves, one plays to the end (email, phone: the dialogue's goal).
    chat(bot)
    chat(bot)
    chat(bot, "/dc__pricing__size__2")
    chat(bot, "/dc__pricing__size__2", "Yes", "pat@example.com")
    chat(bot, "/dc__pricing__size__1", "Yes", "sam@example.com", "+1 555 010 9999")
    expected = {"triggered": "5", "engaged": "3", "acquired": "2", "completed": "1", "meeting": "0", "human": "0"}
    page = log_in(context, console, "admin@localhost", admin_password)
    page.locator("a[data-tab=analytics]").click()
    for measure, value in expected.items():
        expect(page.locator(f"#figures [data-measure={measure}] .value")).to_have_text(value)
    expect(page.locator("#figures [data-measure=engagement_rate] .value")).to_have_text("60.0 %")
    expect(page.locator("#figures [data-measure=conversion_rate] .value")).to_have_text("66.7 %")
    expect(page.locator("#per-dialogue [data-dialogue=pricing] [data-measure=triggered]")).to_have_text("5")
    expect(page.locator("#chart")).to_be_visible()
    page.wait_for_function("document.getElementById('chart').naturalWidth > 0")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-analytics.png"), full_page=True)
    goals = requests.Session()
    goals.post(console.replace("/console", "/api/session"), json={"email": "admin@localhost", "password": admin_password})
    report = goals.get(console.replace("/console", "/api/analytics")).json()
    assert report["goals"] == {"pricing.pricing_lead": 1} and report["total"]["goal"] == 1


def test_a_wrong_password_is_refused_and_log_out_returns_to_the_login(bot, console, admin_password, context) -> None:
    page = context.new_page()
    page.goto(console)
    page.fill("#email", "admin@localhost")
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("wrong email or password")
    page.fill("#password", admin_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dialogues")).to_be_visible()
    page.locator("#logout").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()  # the session is gone, not just hidden


def test_a_forged_request_from_another_site_changes_nothing(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    no_token = page.evaluate("""async () => (await fetch('/api/dialogues/pricing/pause', {method: 'POST'})).status""")
    assert no_token == 403
    api = console.replace("/console", "/api")
    context.route("https://attacker.example/**", lambda route: route.fulfill(content_type="text/html", body=f"""
        <form id=f method=post action="{api}/dialogues/pricing/pause"></form><script>f.submit()</script>"""))
    attacker = context.new_page()
    attacker.goto("https://attacker.example/")
    attacker.wait_for_load_state()
    assert "pricing" not in services(bot).switches.paused()


def test_a_viewer_sees_no_buttons_and_is_refused_a_write(bot, console, context) -> None:
    page = log_in(context, console, "viewer@corp.test", PASSWORDS["viewer"])
    expect(page.locator("#dialogues tbody tr")).to_have_count(5)
    expect(page.locator("#dialogues button")).to_have_count(0)
    status = page.evaluate("""async () => {
        const session = await (await fetch('/api/session')).json();
        const answer = await fetch('/api/dialogues/pricing/pause', {method: 'POST', headers: {'X-CSRF-Token': session.csrf}});
        return [answer.status, (await answer.json()).error];
    }""")
    assert status == [403, "a viewer may not do this"]


def test_a_problem_is_shown_at_its_line_and_a_valid_edit_is_saved(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    page.locator("#dialogues tr[data-id=welcome]").click()
    source = page.locator("#source")
    expect(source).to_be_visible()
    original = source.input_value()
    lines = original.splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith("next:"))
    broken = "\n".join(text.replace("next:", "nxt:") if n == line else text for n, text in enumerate(lines, 1))
    source.fill(broken)
    expect(page.locator(f"#problems li[data-line='{line}']")).to_be_visible()
    expect(page.locator(f".gutter .bad[data-line='{line}']")).to_be_visible()
    expect(page.locator("#save")).to_be_disabled()
    page.screenshot(path=str(SCREENSHOTS / "console-dialogue-editor.png"))
    source.fill(original.replace("I am the Example Co. assistant.", "I am the Example Co. helper."))
    expect(page.locator("#problems")).to_have_text("No problems.")
    page.locator("#draft-restart").click()  # the preview chats with the draft in the editor, not yet saved
    expect(page.locator("#draft-log li.bot").first).to_have_text("Hi there! I am the Example Co. helper.")
    page.locator("#draft-log li.buttons button").first.click()
    expect(page.locator("#draft-log li.visitor")).to_have_count(1)
    page.locator("#save").click()
    expect(page.locator("#saved")).to_have_text("Saved. Publish to put it live.")
    assert "I am the Example Co. helper." in (from_environment(bot.env).dialogues / "welcome.yml").read_text(encoding="utf-8")
    page.locator("a", has_text="← Dialogues").click()
    expect(page.locator("#dialogues tr[data-id=welcome] .status")).to_have_text("draft")
    page.screenshot(path=str(SCREENSHOTS / "console-dialogues.png"))


def test_pausing_a_dialogue_takes_effect_for_the_next_visitor(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    row = page.locator("#dialogues tr[data-id=pricing]")
    row.locator("button[data-action=pause]").click()
    expect(row.locator(".status")).to_have_text("paused")
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/pricing"})[0] == \
        "Hi there! I am the Example Co. assistant."  # the next dialogue that fits the page
    page.locator("#dialogues tr[data-id=pricing] button[data-action=resume]").click()
    expect(page.locator("#dialogues tr[data-id=pricing] .status")).to_have_text("published")
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/pricing"})[0] == \
        "Looking at our plans, there?"


def test_a_meeting_booked_in_the_chat_shows_in_meetings_and_routing_and_is_cancelled_there(
        bot, console, admin_password, context) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://example.com/demo", "timezone": "Europe/Stockholm"})
    bot.say(me, "/dc__book_a_demo__ask__1")
    bot.say(me, "Robin")
    offer = bot.say(me, "robin@example.com")
    booked = bot.say(me, offer[0]["buttons"][0]["payload"])
    assert booked[0]["text"].startswith("You're booked:")
    meeting_id = bot.slots(me)["dc_meeting_id"]
    agent = bot.slots(me)["person_dcAgentEmail"]
    page = log_in(context, console, "admin@localhost", admin_password)
    page.locator("a[data-tab=routing]").click()
    expect(page.locator(f"#agents tr[data-agent='{agent}'] .meetings")).to_have_text("1")
    expect(page.locator("#reasons tbody tr").first).to_contain_text("booked")
    expect(page.locator("#rules tbody tr").first).to_contain_text("company.employees gte 1000")
    expect(page.locator("#rules tbody tr").first).to_contain_text("team enterprise")
    page.locator("a[data-tab=meetings]").click()
    row = page.locator(f"#meetings tr[data-id='{meeting_id}']")
    expect(row).to_contain_text("robin@example.com")
    expect(row).to_contain_text("book_a_demo")
    expect(row.locator(".status")).to_have_text("booked")
    page.screenshot(path=str(SCREENSHOTS / "console-meetings.png"))
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button[data-action=cancel]").click()
    expect(row.locator(".status")).to_have_text("cancelled")
    assert bot.texts(me, "/dc_meeting_cancel") == ["There is no meeting to change."]


def test_a_request_for_a_person_appears_in_the_console(bot, console, admin_password, context) -> None:
    me = chat(bot, "/dc__pricing__size__3")
    assert bot.texts(me, "can I talk to a human")[0].startswith("I've passed your request to our team")
    page = log_in(context, console, "admin@localhost", admin_password)
    expect(page.locator("#requests-badge")).to_have_text("1")
    page.locator("a[data-tab=requests]").click()
    card = page.locator("#requests .card").first
    expect(card).to_contain_text("can I talk to a human")
    expect(card).to_contain_text("More than 1000")  # the button the visitor pressed, by its title
    card.locator("button[data-action=done]").click()
    expect(page.locator("#requests .card .status").first).to_have_text("done")
    expect(page.locator("#requests-badge")).to_be_hidden()


def test_conversations_list_known_and_anonymous_visitors_with_transcripts(bot, console, admin_password, context) -> None:
    page = log_in(context, console, "admin@localhost", admin_password)
    page.locator("a[data-tab=conversations]").click()
    rows = page.locator("#conversations tbody tr")
    expect(rows.first).to_be_visible()
    rows.first.click()
    expect(page.locator(".transcript li").first).to_be_visible()


def test_a_configuration_change_shows_in_the_preview_then_in_the_widget(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    page.locator("a[data-tab=configuration]").click()
    expect(page.locator("#snippet")).to_contain_text(f"{bot.base}/widget.js")
    page.fill("#cfg-bot_name", "Ada")
    page.fill("#cfg-header_label", "Ask me anything")
    preview = page.frame_locator("#preview")
    expect(preview.locator(".name")).to_have_text("Ada", timeout=10_000)  # the real widget, not yet saved
    page.locator("#save-appearance").click()
    expect(page.locator("#appearance-saved")).to_have_text("Saved: visitors see it on their next page load.")
    page.screenshot(path=str(SCREENSHOTS / "console-configuration.png"), full_page=True)
    site = context.new_page()
    site.goto(console.replace("/console", "/pricing"))
    expect(site.locator(".launcher")).to_be_visible(timeout=15_000)
    site.locator(".launcher").click()
    expect(site.locator(".panel .name")).to_have_text("Ada")
    expect(site.locator(".panel .label")).to_have_text("Ask me anything")


def test_an_email_at_a_blocked_domain_is_refused_in_the_chat(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    page.locator("a[data-tab=configuration]").click()
    save_domains(page, "#blocked-domains", "gmail.com\nHotmail.com")
    expect(page.locator("#blocked-domains")).to_have_value("gmail.com\nhotmail.com")
    me = chat(bot, "/dc__pricing__size__3", "Yes")
    assert bot.texts(me, "pat@gmail.com") == [
        "Sorry, we can't take addresses at that domain here. Please use your work email.", "What is your work email?"]
    assert bot.texts(me, "pat@example.com") == ["And a phone number where sales can reach you?"]
    save_domains(page, "#blocked-domains", "")


def test_only_the_listed_sites_may_use_the_chat(bot, console, context) -> None:
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    page.locator("a[data-tab=configuration]").click()
    save_domains(page, "#allowed-domains", "example.org")
    try:
        body = {"sender": bot.conversation("a listed site"), "message": "/session_start",
                "metadata": {"url": "https://www.example.org/pricing"}}
        rest = bot.base + "/webhooks/rest/webhook"
        assert requests.post(rest, json=body, headers={"Origin": "https://evil.example"}).status_code == 403
        assert requests.post(rest, json=body, headers={"Origin": "https://www.example.org"}).json()[0]["text"] == \
            "Looking at our plans, there?"
        assert requests.post(rest, json=body).status_code == 200  # a server, not a browser: no Origin
        visit = requests.post(bot.base + "/widget/visit", json={"metadata": {}}, headers={"Origin": "https://evil.example"})
        assert visit.status_code == 403
        for origin, allowed in (("https://evil.example", False), ("https://shop.example.org", True)):
            client = socketio.Client(reconnection=False)
            try:
                client.connect(bot.base, headers={"Origin": origin}, transports=["websocket"], wait_timeout=10)
                connected = True
            except socketio.exceptions.ConnectionError:
                connected = False
            finally:
                client.disconnect()
            assert connected is allowed, origin
    finally:
        save_domains(page, "#allowed-domains", "")


def test_a_broken_dialogue_is_not_published_and_the_bot_goes_on(bot, console, context) -> None:
    folder = from_environment(bot.env).dialogues
    (folder / "zz_broken.yml").write_text("dialogue: zz_broken\ncards: []\n", encoding="utf-8")
    try:
        page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
        page.locator("#publish").click()
        expect(page.locator("#publish-status")).to_contain_text("Publish failed", timeout=30_000)
        expect(page.locator("#publish-status")).to_contain_text("zz_broken.yml")
        assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/pricing"})[0] == \
            "Looking at our plans, there?"
    finally:
        (folder / "zz_broken.yml").unlink()


def test_publishing_puts_an_edit_live_while_another_visitor_chats_on(bot, console, browser, context) -> None:
    """The editor test saved a new welcome text; publishing trains beside the running bot and loads it,
    while a visitor on the pricing page goes on chatting: every turn answered, none lost."""
    answers: list = []
    stop = threading.Event()

    def another_visitor() -> None:
        while not stop.is_set():
            me = uuid.uuid4().hex
            began = time.monotonic()
            first = bot.texts(me, "/session_start", {"url": "https://example.com/pricing"})
            second = bot.texts(me, "/dc__pricing__size__3")
            answers.append((first[:1], second[-1:], time.monotonic() - began))

    chatting = threading.Thread(target=another_visitor, daemon=True)
    page = log_in(context, console, "designer@corp.test", PASSWORDS["designer"])
    chatting.start()
    try:
        began = time.monotonic()
        page.locator("#publish").click()
        expect(page.locator("#publish-progress")).to_be_visible()
        expect(page.locator("#publish-status")).to_contain_text("Live", timeout=600_000)
        publish_seconds = time.monotonic() - began
    finally:
        stop.set()
        chatting.join(timeout=120)
    wrong = [(first, second) for first, second, _ in answers
             if first != ["Looking at our plans, there?"] or second != ["Would you like to talk to sales?"]]
    assert answers and not wrong, (len(answers), wrong)
    print(f"publish to live: {publish_seconds:.0f} s; the other visitor's {len(answers)} conversations, "
          f"slowest {max(seconds for *_, seconds in answers):.1f} s")
    demo = context.new_page()
    demo.goto(console.replace("/console", "/"))
    expect(demo.locator(".launcher")).to_be_visible(timeout=15_000)
    demo.locator(".launcher").click()
    expect(demo.locator(".message.bot").first).to_have_text("Hi there! I am the Example Co. helper.", timeout=15_000)
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://example.com/"})[0] == \
        "Hi there! I am the Example Co. helper."
    expect(page.locator("#dialogues tr[data-id=welcome] .status")).to_have_text("published")
