"""The widget on a website, in Debian's Chromium: triggers, the poke, whole dialogues, the page's callbacks.

One bot is trained on tests/fixtures/widget/dialogues and run with the demo
site serving tests/fixtures/widget/page.html under each page name; each test opens a fresh browser
context (a new visitor). Screenshots go to tests/screenshots (git ignores it).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import FIXTURES, ROOT
from tests.support import e2e as e2e_support
from tests.support.widget import write_site

pytestmark = pytest.mark.e2e

WIDGET = FIXTURES / "widget"
SCREENSHOTS = ROOT / "tests" / "screenshots"
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("widget")
    widget_settings = tmp / "widget.yml"
    shutil.copy(ROOT / "data" / "widget.yml", widget_settings)
    env = e2e_support.environment(tmp, WIDGET / "dialogues")
    web_port = e2e_support.free_port()
    env.update({"DYNCHAT_WEB_PORT": str(web_port), "DYNCHAT_DEMO_SITE": str(write_site(tmp / "site")),
                "DYNCHAT_WIDGET": str(widget_settings), "DYNCHAT_AGENTS": str(FIXTURES / "agents" / "always.yml")})
    e2e_support.train(env)
    bot = e2e_support.start(env)
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        yield {"base": f"http://127.0.0.1:{web_port}", "bot": bot, "settings": widget_settings}
    finally:
        bot.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    yield opened
    context.close()


def bot_texts(page: Page) -> List[str]:
    return page.locator(".message.bot").all_inner_texts()


def heard(page: Page) -> List[str]:
    return [event["event"] for event in page.evaluate("window.heard")]


def wait_for_bot(page: Page, text: str, timeout: float = 15_000) -> None:
    expect(page.locator(".message.bot", has_text=text).last).to_be_visible(timeout=timeout)


def open_the_full_dialogue(site: Dict[str, Any], page: Page) -> None:
    """A new visitor on the /full page opens the poke and sees the first question."""
    page.goto(site["base"] + "/full")
    page.locator(".poke").click()
    wait_for_bot(page, "Buying for a company?")


def test_a_dialogue_triggers_after_three_seconds_on_the_page(site: Dict[str, Any], page: Page) -> None:
    started = time.monotonic()
    page.goto(site["base"] + "/timed")
    poke = page.locator(".poke")
    page.wait_for_timeout(1500)
    expect(poke).to_be_hidden()
    expect(poke).to_have_text("You have been here a little while.", timeout=10_000)
    assert time.monotonic() - started >= 3.0
    assert heard(page)[:2] == ["ready", "triggered"]


def test_a_dialogue_triggers_at_half_the_page_scrolled(site: Dict[str, Any], page: Page) -> None:
    page.goto(site["base"] + "/scroll")
    page.wait_for_timeout(1500)
    expect(page.locator(".poke")).to_be_hidden()
    page.mouse.wheel(0, 900)  # 900 of 2,300 scrollable pixels: not yet half
    page.wait_for_timeout(800)
    expect(page.locator(".poke")).to_be_hidden()
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight * 0.6)")
    expect(page.locator(".poke")).to_have_text("You scrolled half the page.", timeout=10_000)


def test_a_whole_dialogue_by_clicking_and_typing_shows_every_text_as_text(site: Dict[str, Any], page: Page) -> None:
    page.goto(site["base"] + "/full")
    poke = page.locator(".poke")
    expect(poke).to_contain_text("widget test bot", timeout=10_000)
    poke.click()
    expect(page.locator(".panel")).to_be_visible()
    wait_for_bot(page, "Buying for a company?")
    assert bot_texts(page)[0] == 'Hi <b>there</b>, I am the <img src=x onerror="window.__xss=1"> widget test bot.'
    page.get_by_role("button", name="Yes").click()
    wait_for_bot(page, "Which email should we use?")
    expect(page.get_by_role("button", name="Yes")).to_be_disabled()
    box = page.get_by_role("textbox")
    expect(box).to_have_attribute("type", "email")  # the phone's email keyboard
    expect(box).to_have_attribute("inputmode", "email")
    box.fill("not-an-email")
    box.press("Enter")
    expect(page.locator(".message.bot", has_text="Which email should we use?")).to_have_count(2, timeout=15_000)
    assert any("doesn't look like an email" in text for text in bot_texts(page))
    box.fill("ann@example.com")
    box.press("Enter")
    wait_for_bot(page, "And your first name?")
    expect(box).to_have_attribute("type", "text")
    box.fill("<script>window.__xss=2</script><img src=x onerror=window.__xss=3>Ann")
    box.press("Enter")
    wait_for_bot(page, "Goodbye!")
    thanks = next(text for text in bot_texts(page) if text.startswith("Thanks"))
    assert thanks == "Thanks, window.__xss=2Ann! Read more at https://example.com/guide."  # plain text at the source
    visitor = page.locator(".message.visitor").last.inner_text()
    assert visitor == "<script>window.__xss=2</script><img src=x onerror=window.__xss=3>Ann"  # shown as typed, as text
    assert page.evaluate("window.__xss") is None
    assert page.locator(".message.bot img, .message.visitor img, .message script").count() == 0
    link = page.locator(".message.bot a")
    expect(link).to_have_attribute("href", "https://example.com/guide")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    events = heard(page)
    order = ["ready", "triggered", "opened", "engaged", "email_captured", "goal", "completed"]
    assert [event for event in events if event in order] == order, events
    assert all("ann@example.com" not in str(event) for event in page.evaluate("window.heard"))
    page.screenshot(path=str(SCREENSHOTS / "widget-dialogue.png"))


def test_the_conversation_goes_on_on_the_next_page(site: Dict[str, Any], page: Page) -> None:
    open_the_full_dialogue(site, page)
    page.get_by_role("button", name="Yes").click()
    wait_for_bot(page, "Which email should we use?")
    page.click("#next")
    page.wait_for_url("**/next")
    expect(page.locator(".panel")).to_be_visible(timeout=10_000)
    wait_for_bot(page, "Which email should we use?")  # the transcript came along
    page.wait_for_timeout(1000)
    assert bot_texts(page).count("Hi <b>there</b>, I am the <img src=x onerror=\"window.__xss=1\"> widget test bot.") == 1
    box = page.get_by_role("textbox")
    box.fill("bo@example.com")
    box.press("Enter")
    wait_for_bot(page, "And your first name?")


def test_restart_plays_the_dialogue_from_its_start(site: Dict[str, Any], page: Page) -> None:
    open_the_full_dialogue(site, page)
    page.get_by_role("button", name="No").click()
    wait_for_bot(page, "Goodbye!")
    page.get_by_role("button", name="Start over").click()
    wait_for_bot(page, "Buying for a company?")
    assert bot_texts(page)[-1] == "Buying for a company?" and "Goodbye!" not in bot_texts(page)
    expect(page.get_by_role("button", name="No")).to_be_enabled()


def test_a_dialogue_can_be_finished_with_the_keyboard_alone(site: Dict[str, Any], page: Page) -> None:
    page.goto(site["base"] + "/full")
    expect(page.locator(".poke")).to_be_visible(timeout=10_000)
    for _ in range(30):  # Tab through the page until the poke has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id === 'dynchat-widget' && "
                         "document.activeElement.shadowRoot.activeElement.className === 'poke'"):
            break
    page.keyboard.press("Enter")
    wait_for_bot(page, "Buying for a company?")
    focused = "document.activeElement.shadowRoot.activeElement && document.activeElement.shadowRoot.activeElement.textContent"
    expect(page.get_by_role("button", name="Yes")).to_be_focused(timeout=5_000)
    page.keyboard.press("Tab")  # to "No"
    assert page.evaluate(focused) == "No"
    page.keyboard.press("Enter")
    wait_for_bot(page, "Goodbye!")
    assert "completed" in heard(page)


def test_the_mobile_layout_fills_a_small_screen(site: Dict[str, Any], browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_the_full_dialogue(site, page)
        box = page.locator(".panel").bounding_box()
        assert box is not None and box["width"] == 375 and box["height"] == 740
        page.screenshot(path=str(SCREENSHOTS / "widget-mobile.png"))
    finally:
        context.close()


def test_the_javascript_api_opens_a_dialogue_from_a_page_button(site: Dict[str, Any], page: Page) -> None:
    requests: List[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site["base"] + "/plain")
    page.wait_for_function("window.heard.length > 0")  # ready: no dialogue targets this page
    expect(page.locator(".launcher")).to_have_count(0)
    page.wait_for_timeout(500)
    to_the_bot = [url for url in requests if url.startswith(site["bot"].base)]
    assert [urlparse(url).path for url in to_the_bot] == ["/widget.js", "/widget/visit"]  # and no socket
    page.click("#cta")
    wait_for_bot(page, "You pressed the button. How can we help?")
    expect(page.locator(".panel")).to_be_visible()
    page.get_by_role("button", name="Support").click()
    wait_for_bot(page, "Noted.")
    page.locator("header .close").click()
    expect(page.locator(".panel")).to_be_hidden()
    assert heard(page)[-1] == "closed"


def test_open_called_before_the_widget_has_asked_the_bot_waits_for_its_answer(site: Dict[str, Any],
                                                                              page: Page) -> None:
    page.add_init_script("""Object.defineProperty(window, "DynamicChat", {configurable: true,
        get() { return this.__dc; }, set(api) { this.__dc = api; api.open("cta"); }});""")  # at once, as a site might
    page.goto(site["base"] + "/plain")
    wait_for_bot(page, "You pressed the button. How can we help?")
    expect(page.locator(".panel")).to_be_visible()


def test_a_meeting_is_booked_in_the_widget(site: Dict[str, Any], page: Page) -> None:
    page.goto(site["base"] + "/meet")
    page.locator(".poke").click()
    expect(page.locator(".buttons button").first).to_be_visible(timeout=15_000)
    times = page.locator(".buttons").last.locator("button")
    assert times.count() == 6 and times.last.inner_text() == "More times"
    chosen = times.first.inner_text()
    times.first.click()
    box = page.get_by_role("textbox")
    wait_for_bot(page, "What email should the invitation go to?")
    box.fill("cleo@example.com")
    box.press("Enter")
    wait_for_bot(page, "See you then!", timeout=20_000)
    booked = " ".join(bot_texts(page))
    assert chosen in booked
    assert "meeting_booked" in heard(page)


def test_a_changed_appearance_shows_after_a_reload(site: Dict[str, Any], page: Page) -> None:
    settings: Path = site["settings"]
    original = settings.read_text(encoding="utf-8")
    try:
        settings.write_text(original.replace('primary_color: "#1f5fbf"', 'primary_color: "#0a7d32"')
                            .replace("position: bottom-right", "position: bottom-left")
                            .replace("bot_name: Dyna", "bot_name: Robin")
                            .replace("response_delay_ms: 600", "response_delay_ms: 1500"), encoding="utf-8")
        page.goto(site["base"] + "/full")
        launcher = page.locator(".launcher")
        expect(launcher).to_be_visible(timeout=10_000)
        box = launcher.bounding_box()
        assert box is not None and box["x"] < 100  # bottom left
        assert launcher.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(10, 125, 50)"
        launcher.click()
        expect(page.locator("header .name")).to_have_text("Robin")
        expect(page.locator(".typing")).to_be_visible(timeout=5_000)  # the longer delay shows typing
        wait_for_bot(page, "Buying for a company?")
    finally:
        settings.write_text(original, encoding="utf-8")


def test_the_open_widget_has_no_serious_accessibility_violation(site: Dict[str, Any], page: Page) -> None:
    open_the_full_dialogue(site, page)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    page.screenshot(path=str(SCREENSHOTS / "widget-open.png"))


def test_the_widget_reconnects_by_itself_after_the_bot_restarts(site: Dict[str, Any], page: Page) -> None:
    """Last in this module: it restarts the bot (and the demo site) under an open widget."""
    open_the_full_dialogue(site, page)
    bot = site["bot"]
    assert bot.stop() == 0
    restarted = e2e_support.start(bot.env)
    bot.process, bot.output = restarted.process, restarted.output
    page.get_by_role("button", name="Yes").click()  # sent once the socket is back and the session confirmed
    wait_for_bot(page, "Which email should we use?", timeout=30_000)
    assert page.locator(".message.bot", has_text="Buying for a company?").count() == 1
