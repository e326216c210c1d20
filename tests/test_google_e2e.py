"""A meeting booked in the chat on Google Calendar (the emulator): free/busy, the event, the Meet link, cancelling."""
from __future__ import annotations

import datetime
import json
import uuid

import pytest

from bot.calendars.google import event_id_for
from tests import e2e_support
from tests.conftest import FIXTURES
from tests.google_support import service_account_info, start_google

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def google():
    emulator = start_google()
    now = datetime.datetime.now(datetime.timezone.utc)
    # Alex is away for the next three weeks: only Sam can be offered and booked
    emulator.faults(busy={"alex@agents.test": [[(now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                 (now + datetime.timedelta(days=21)).strftime("%Y-%m-%dT%H:%M:%SZ")]]})
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, google):
    tmp = tmp_path_factory.mktemp("google")
    key = tmp / "service-account.json"
    key.write_text(json.dumps(service_account_info(f"{google.base_url}/token")))
    env = e2e_support.environment(tmp, FIXTURES / "dialogues")
    env.update(DYNCHAT_AGENTS=str(FIXTURES / "agents" / "google.yml"), GOOGLE_SERVICE_ACCOUNT_FILE=str(key),
               GOOGLE_CALENDAR_BASE_URL=google.base_url)
    e2e_support.train(env)
    running = e2e_support.start(env)
    yield running
    assert running.stop() == 0
    assert "PRIVATE KEY" not in "".join(running.output)


def test_a_meeting_is_booked_on_google_with_a_meet_link_and_cancelled(bot, google) -> None:
    me = uuid.uuid4().hex
    bot.say(me, "/session_start", {"url": "https://acme.test/", "email": "buyer@acme.test",
                                   "person": {"phone": "+46700000000"}, "timezone": "Europe/Stockholm"})
    offer = bot.say(me, "/dc__general__colour__1")
    assert offer[-1]["text"] == "Pick a time that suits you (times in Europe/Stockholm):"
    booked = bot.texts(me, offer[-1]["buttons"][0]["payload"])
    assert booked[0].startswith("You're booked: ") and " with Sam Sometimes." in booked[0]
    assert booked[1].startswith("Join the meeting here: https://meet.google.com/")
    assert booked[2] == "Bye, red fan."
    meeting_id = bot.slots(me)["dc_meeting_id"]
    events = google.stats()["events"]["sam@agents.test"]
    event = events[event_id_for(meeting_id)]
    assert event["attendees"] == [{"email": "buyer@acme.test"}] and event["status"] == "confirmed"
    offer = bot.say(me, "/dc_meeting_reschedule")  # the same agent's free times
    moved = bot.texts(me, offer[0]["buttons"][2]["payload"])
    assert moved == [f"Done: your meeting is now {offer[0]['buttons'][2]['title']} (Europe/Stockholm). "
                     "The invitation is updated."]
    event = google.stats()["events"]["sam@agents.test"][event_id_for(meeting_id)]
    chosen = int(json.loads(offer[0]["buttons"][2]["payload"][len("/dc_meeting"):])["dc_slot"])
    moved_to = datetime.datetime.fromisoformat(event["start"]["dateTime"].replace("Z", "+00:00")).timestamp()
    assert moved_to == chosen and event["status"] == "confirmed"
    assert len(google.stats()["events"]["sam@agents.test"]) == 1  # moved, not a second event
    assert bot.texts(me, "/dc_meeting_cancel")[0].startswith("Your meeting on ")
    assert google.stats()["events"]["sam@agents.test"][event_id_for(meeting_id)]["status"] == "cancelled"
