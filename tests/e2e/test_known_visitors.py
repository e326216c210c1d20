"""Known visitors end to end: identified from the local store by cookie or by the email the site signed.

An email typed in the chat names a lead (its activities go there) but proves nothing: the visitor sees
nothing of that lead, and the cookie does not identify them later (issue 11: before, typing a lead's
email showed their name and company and tied the cookie to them, so the next visit was greeted as them).
"""
from __future__ import annotations

import subprocess
import uuid

import pytest

from bot.store.database import open_database
from bot.store.visitors import VisitorStore
from tests.support import FIXTURES, PYTHON, ROOT
from tests.support import e2e as e2e_support

pytestmark = pytest.mark.e2e

SAM_COOKIE = "id:100-AAA-001&token:_mch-devco.test-1"
RITA_COOKIE = "id:100-AAA-002&token:_mch-shop.test-2"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory):
    env = e2e_support.environment(tmp_path_factory.mktemp("known"), FIXTURES / "known_dialogues")
    imported = subprocess.run([PYTHON, "-m", "bot", "import", str(FIXTURES / "marketo" / "known_leads.csv")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0


def test_a_known_visitor_by_cookie_gets_the_dialogue_for_their_industry(bot) -> None:
    me = uuid.uuid4().hex
    reply = bot.texts(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": SAM_COOKIE})
    assert reply == ["Hi Sam, how is DevCo doing?", "Want to see our new developer tools?"]
    slots = bot.slots(me)
    assert slots["dc_known"] is True and slots["dc_lead_id"] == 501


def test_a_known_visitor_of_another_industry_gets_the_general_known_dialogue(bot) -> None:
    reply = bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://acme.test/", "mkto_trk": RITA_COOKIE})
    assert reply == ["Welcome back, Rita."]


def test_an_anonymous_visitor_gets_the_anonymous_dialogue(bot) -> None:
    me = uuid.uuid4().hex
    reply = bot.texts(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": "id:999-ZZZ-999&token:new"})
    assert reply == ["Hello! We have not met yet.", "What is your email?"]
    assert bot.slots(me)["dc_known"] is False


def test_typing_a_known_email_shows_nothing_of_the_lead_and_the_cookie_proves_nobody(bot) -> None:
    me = uuid.uuid4().hex
    cookie = f"id:123-NEW-456&token:_mch-acme.test-{me}"
    bot.say(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": cookie})
    assert bot.texts(me, "Sam@DevCo.test") == ["Thanks, stranger.", "Bye!"]
    slots = bot.slots(me)
    assert slots["dc_known"] is False and slots["dc_lead_id"] == 501 and slots["person_email"] == "sam@devco.test"
    assert slots.get("person_firstName") is None and slots.get("company_name") is None
    store = VisitorStore(open_database(bot.env["DATABASE_URL"]))
    assert store.cookie_owner(cookie) == (True, None)  # claimed for Sam, proving nothing
    again = bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://acme.test/", "mkto_trk": cookie})
    assert again == ["Hello! We have not met yet.", "What is your email?"]


def test_typing_an_email_never_moves_a_cookie_that_is_another_leads(bot) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://acme.test/", "mkto_trk": RITA_COOKIE})
    bot.say(me, "sam@devco.test")
    assert bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://acme.test/", "mkto_trk": RITA_COOKIE}) == \
        ["Welcome back, Rita."]


def test_only_an_email_the_site_signed_identifies_the_visitor(bot) -> None:
    unsigned = bot.texts(uuid.uuid4().hex, "/session_start", {"url": "https://acme.test/", "email": "sam@devco.test"})
    assert unsigned == ["Hello! We have not met yet.", "What is your email?"]
    forged = {"url": "https://acme.test/", "email": "sam@devco.test", "signature": "0" * 64}
    assert bot.texts(uuid.uuid4().hex, "/session_start", forged)[0] == "Hello! We have not met yet."
    me = uuid.uuid4().hex
    signed = bot.texts(me, "/session_start", {"url": "https://acme.test/", **bot.signed("sam@devco.test")})
    assert signed == ["Hi Sam, how is DevCo doing?", "Want to see our new developer tools?"]
    assert bot.slots(me)["dc_known"] is True


def test_an_unknown_typed_email_stays_anonymous(bot) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://acme.test/"})
    assert bot.texts(me, "new@person.test") == ["Thanks, stranger.", "Bye!"]
    assert bot.slots(me)["dc_known"] is False
