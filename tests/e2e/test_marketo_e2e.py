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


def test_marketo_refusing_for_a_while_loses_no_activity_and_the_visitor_does_not_wait(bot, marketo) -> None:
    """Issue 11: Marketo answering 606, 615 and 5xx while the conversation goes on: the visitor's turns do not
    wait for it (activities go through the outbox), and every activity arrives once Marketo answers again."""
    me = uuid.uuid4().hex
    assert bot.texts(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": SAM_COOKIE})[0] == \
        "Hi Sam, how is DevCo doing?"
    marketo.faults(calls=[{"code": "606"}, {"code": "615"}, {"status": 503}, {"status": 500}] * 3)
    began = time.monotonic()
    assert bot.texts(me, "/dc__software__ask__1") == ["See you around!"]  # answered
    assert time.monotonic() - began < 3
    assert _eventually(lambda: marketo.stats()["faults_pending"] == 0, timeout=120)
    kinds = _eventually(lambda: {a["activityTypeId"] for a in marketo.stats()["activities"] if a["leadId"] == 501}
                        >= {100001, 100002}, timeout=120)
    assert kinds  # triggered and engaged, written after the refusals


def test_a_marketo_that_does_not_answer_leaves_the_visitor_anonymous_within_seconds(bot, marketo) -> None:
    """Issue 11: Marketo timing out: a visit start waits at most two short tries, then goes on anonymously."""
    marketo.faults(calls=[{"delay": 6}, {"delay": 6}])
    began = time.monotonic()
    greeting = bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://acme.test/", "mkto_trk": "id:999-SLOW"})
    assert greeting == ["Hello! We have not met yet.", "What is your email?"]
    assert time.monotonic() - began < 12  # before: up to six tries of 30 s each
