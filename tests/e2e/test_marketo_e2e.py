"""The bot with Marketo (the emulator) and an empty local store: lookups, new leads, activities."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.support import FIXTURES
from tests.support import e2e as e2e_support
from tests.support.marketo import start_emulator

pytestmark = pytest.mark.e2e

SAM_COOKIE = "id:100-AAA-001&token:_mch-devco.test-1"


@pytest.fixture(scope="module")
def marketo():
    emulator = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, marketo):
    env = e2e_support.environment(tmp_path_factory.mktemp("marketo"), FIXTURES / "known_dialogues")
    env.update(MARKETO_BASE_URL=marketo.base_url, MARKETO_CLIENT_ID=marketo.client_id,
               MARKETO_CLIENT_SECRET=marketo.client_secret)
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0
    assert marketo.client_secret not in running.everything_printed()


def _eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_a_visitor_only_marketo_knows_is_recognised_by_cookie(bot, marketo) -> None:
    me = uuid.uuid4().hex
    reply = bot.texts(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": SAM_COOKIE})
    assert reply == ["Hi Sam, how is DevCo doing?", "Want to see our new developer tools?"]
    triggered = _eventually(lambda: [a for a in marketo.stats()["activities"]
                                     if a["leadId"] == 501 and a["activityTypeId"] == 100001])
    assert triggered and triggered[0]["primaryAttributeValue"] == "software"


def test_typing_an_email_marketo_knows_writes_back_to_that_lead_but_shows_nothing_of_it(bot, marketo) -> None:
    """A typed email is a claim: Marketo hears of the visit (as of a form fill), the visitor sees nothing of the
    lead (before: "Thanks, Rita." to whoever typed Rita's address)."""
    me = uuid.uuid4().hex
    cookie = f"id:321-NEW-654&token:_mch-acme.test-{me}"
    bot.say(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": cookie})
    assert bot.texts(me, "rita@shop.test") == ["Thanks, stranger.", "Bye!"]
    assert _eventually(lambda: marketo.stats()["cookies"].get(cookie) == 502)
    kinds = _eventually(lambda: {a["activityTypeId"] for a in marketo.stats()["activities"] if a["leadId"] == 502}
                        >= {100001, 100004, 100002} and
                        {a["activityTypeId"] for a in marketo.stats()["activities"] if a["leadId"] == 502})
    assert kinds >= {100001, 100004, 100002}  # triggered, captured information, engaged (completed)


def test_an_email_nobody_knows_creates_the_lead_in_marketo(bot, marketo) -> None:
    me = uuid.uuid4().hex
    cookie = f"id:777-NEW-777&token:_mch-acme.test-{me}"
    leads_before = marketo.stats()["leads"]
    bot.say(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": cookie})
    assert bot.texts(me, f"new.{me[:6]}@prospect.test") == ["Thanks, stranger.", "Bye!"]
    assert _eventually(lambda: marketo.stats()["leads"] == leads_before + 1)
    assert _eventually(lambda: cookie in marketo.stats()["cookies"])
