"""A meeting booked in the chat on Outlook (the Graph emulator over TLS), with a Teams link, then cancelled."""
from __future__ import annotations

import datetime
import uuid

import pytest
from zoneinfo import ZoneInfo

from tests.support import FIXTURES
from tests.support import e2e as e2e_support
from tests.support.outlook import start_graph

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    emulator = start_graph(tmp_path_factory.mktemp("graph-e2e"))
    now = datetime.datetime.now(datetime.timezone.utc)
    emulator.faults(users=["alex@agents.test", "sam@agents.test"])
    emulator.faults(busy={"sam@agents.test": [[(now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                                                (now + datetime.timedelta(days=21)).strftime("%Y-%m-%dT%H:%M:%S")]]})
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, graph):
    env = e2e_support.environment(tmp_path_factory.mktemp("outlook"), FIXTURES / "dialogues")
    env.update(DYNCHAT_AGENTS=str(FIXTURES / "agents" / "outlook.yml"), MS_TENANT_ID="contoso.example",
               MS_CLIENT_ID=graph.client_id, MS_CLIENT_SECRET=graph.client_secret, MS_AUTHORITY_HOST=graph.base_url,
               MS_GRAPH_URL=graph.base_url, MS_CA_BUNDLE=str(graph.ca))
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0
    assert graph.client_secret not in running.everything_printed()


def test_a_meeting_is_booked_on_outlook_with_a_teams_link_and_cancelled(bot, graph) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://acme.test/", **bot.signed("buyer@acme.test"),
                                   "person": {"phone": "+46700000000"}})
    offer = bot.say(me, "/dc__general__colour__2")
    booked = bot.texts(me, offer[-1]["buttons"][0]["payload"])
    assert " with Alex Always." in booked[0]  # Sam is away all week in Outlook
    assert booked[1].startswith("Join the meeting here: https://teams.microsoft.com/")
    events = list(graph.stats()["events"]["alex@agents.test"].values())
    assert len(events) == 1 and events[0]["transactionId"] == bot.slots(me)["dc_meeting_id"]
    assert events[0]["attendees"] == [{"emailAddress": {"address": "buyer@acme.test"}, "type": "required"}]
    bot.texts(me, "/dc_meeting_cancel")
    assert list(graph.stats()["events"]["alex@agents.test"].values())[0]["isCancelled"] is True


def test_a_time_held_by_an_event_made_in_another_zone_is_neither_offered_nor_booked(bot, graph) -> None:
    """Issue 12, through the trained bot: an event made in Outlook in Pacific time (a Windows zone name, as
    Outlook writes it) over the first time offered: a new visitor is not offered it, and a click on it in the
    first conversation is refused with the next free times."""
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    for me in (first, second):
        bot.say(me, "/session_start", {"url": "https://acme.test/", **bot.signed(f"{me[:8]}@acme.test"),
                                       "person": {"phone": "+46700000000"}})
    buttons = bot.say(first, "/dc__general__colour__2")[-1]["buttons"]
    taken = datetime.datetime.fromtimestamp(e2e_support.slot_of(buttons[0]), ZoneInfo("America/Los_Angeles"))
    graph.faults(events={"alex@agents.test": [{
        "subject": "Made in Outlook", "showAs": "busy",
        "start": {"dateTime": taken.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": (taken + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "Pacific Standard Time"}}]})
    offered = e2e_support.offered_times(bot.say(second, "/dc__general__colour__2")[-1]["buttons"])
    assert offered and e2e_support.slot_of(buttons[0]) not in offered
    refused = bot.say(first, buttons[0]["payload"])
    assert refused[-1]["text"].startswith("Sorry, that time was just taken. Here are the next free times")
    assert e2e_support.slot_of(buttons[0]) not in e2e_support.offered_times(refused[-1]["buttons"])
