"""Every action of `actions/`, in process, on trackers kept as data files: the exact messages and events.

Each file in tests/fixtures/trackers holds the tracker an action is run on
(as Rasa sends it to the action server) and what must come back, in the
style of rasa-sdk's and RasaHQ financial-demo's action tests. The services
are built from test settings: the fixture dialogues compiled, the
always-free agents, a SQLite store with one known lead, and a fixed clock.
"""
from __future__ import annotations

import asyncio
import datetime
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionBack, ActionFreeText, ActionMeeting, ActionRestart, ActionStep
from bot.app import Services
from bot.config import from_environment
from bot.core.visitors import Visitor
from bot.dialogues.build import compile_project
from tests.support import FIXTURES, ROOT

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CASES = sorted((FIXTURES / "trackers").glob("*.yml"))
CLOCK = datetime.datetime(2030, 3, 18, 8, 0, tzinfo=datetime.timezone.utc).timestamp()  # a Monday, 08:00 UTC
ACTIONS = {cls().name(): cls for cls in (ActionStep, ActionMeeting, ActionFreeText, ActionBack, ActionRestart)}
KNOWN_LEAD = Visitor(501, "ann@corp.test", {"person.firstName": "Ann", "company.name": "Corp", "person.colour": "red"})


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    built = build_services(tmp_path_factory.mktemp("actions"))
    yield built
    built.close()


def build_services(folder: Path, **extra: str) -> Services:
    """The fixture dialogues compiled, the always-free agents, one known lead, a fixed clock (`extra`: more of
    the environment)."""
    compiled, problems = compile_project(ROOT, [str(FIXTURES / "dialogues")])
    assert problems == [] and compiled is not None
    compiled.write(folder / "build")
    settings = from_environment({
        "DYNCHAT_PROJECT": str(ROOT), "DYNCHAT_BUILD": str(folder / "build"), "DYNCHAT_VAR": str(folder),
        "DYNCHAT_AGENTS": str(FIXTURES / "agents" / "always.yml"), "DYNCHAT_ACCOUNTS": str(folder / "none.csv"),
        "DYNCHAT_FIELD_MAP": str(folder / "none.yml"), "DYNCHAT_PUBLIC_URL": "https://chat.example.test", **extra})
    built = Services(settings, clock=lambda: CLOCK)
    built.database.upgrade()
    built.visitors.upsert([KNOWN_LEAD])
    built.visitors.associate_cookie("id:111-AAA-222&token:_mch-corp.test-1", KNOWN_LEAD.lead_id)
    return built


def _declared_slots(services: Services) -> List[str]:
    domain = yaml.safe_load((services.settings.build / "domain.yml").read_text(encoding="utf-8"))
    return sorted(domain["slots"])


def run(services: Services, action: str, tracker_data: Dict[str, Any]) -> Dict[str, Any]:
    """Run one action as the action server would, and return what it sends back."""
    slots = {name: None for name in _declared_slots(services)}
    slots.update(tracker_data.get("slots") or {})
    tracker = Tracker.from_dict({
        "sender_id": tracker_data.get("sender_id", "visitor"), "slots": slots,
        "latest_message": tracker_data.get("latest_message") or {}, "events": tracker_data.get("events") or [],
        "paused": False, "followup_action": None, "active_loop": tracker_data.get("active_loop") or {},
        "latest_action_name": tracker_data.get("latest_action_name"),
        "latest_event_time": None, "latest_input_channel": tracker_data.get("input_channel", "rest")})
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ACTIONS[action](services).run(dispatcher, tracker, {}))
    return _named_ids({"messages": [{k: v for k, v in m.items() if v not in (None, [], {})} for m in dispatcher.messages],
                       "events": [{k: v for k, v in e.items() if k != "timestamp"} for e in events]})


def _named_ids(value: Any) -> Any:
    """Meeting ids are random UUIDs: the files say `<meeting id>` where one goes."""
    if isinstance(value, str):
        return UUID.sub("<meeting id>", value)
    if isinstance(value, list):
        return [_named_ids(item) for item in value]
    if isinstance(value, dict):
        return {key: _named_ids(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_the_action_sends_exactly_what_the_file_says(services: Services, case: Path) -> None:
    data = yaml.safe_load(case.read_text(encoding="utf-8"))
    assert run(services, data["action"], data["tracker"]) == data["expect"], data.get("about")


def test_there_is_a_case_for_every_action() -> None:
    covered = {yaml.safe_load(case.read_text(encoding="utf-8"))["action"] for case in CASES}
    assert covered == set(ACTIONS)


def test_an_email_at_a_blocked_domain_is_refused_politely_and_asked_again(services: Services) -> None:
    case = yaml.safe_load((FIXTURES / "trackers" / "step_after_a_capture.yml").read_text(encoding="utf-8"))
    services.switches.set_setting("blocked_email_domains", ["bigcorp.com"])
    try:
        sent = run(services, case["action"], case["tracker"])
    finally:
        services.switches.set_setting("blocked_email_domains", [])
    assert sent["messages"] == [{"response": "utter_dc_blocked_email", "template": "utter_dc_blocked_email"}]
    assert {"event": "slot", "name": "person_email", "value": None} in sent["events"]
    assert {"event": "slot", "name": "dc_goto", "value": "shop__email__ask"} in sent["events"]
    assert run(services, case["action"], case["tracker"]) == case["expect"]  # unblocked: taken as before


@pytest.mark.parametrize("slot", ["9" * 30, "4102444800", "1900051200.5", "-5"])  # 30 digits, the year 2100, junk
def test_a_time_the_bot_could_not_have_offered_is_not_booked(services: Services, slot: str) -> None:
    case = yaml.safe_load((FIXTURES / "trackers" / "meeting_books_the_chosen_time.yml").read_text(encoding="utf-8"))
    tracker = case["tracker"]
    tracker = {**tracker, "sender_id": f"visitor-junk-{slot}", "slots": {**tracker["slots"], "dc_slot": slot},
               "latest_message": {**tracker["latest_message"], "text": '/dc_meeting{"dc_slot": "%s"}' % slot}}
    sent = run(services, case["action"], tracker)
    assert [m["response"] for m in sent["messages"]][:1] == ["utter_dc_meeting_pick"]  # the offer again, no booking
    assert not any(e.get("name") == "dc_meeting_id" for e in sent["events"])


def _typed(cookie: str, email: str) -> Dict[str, Any]:
    case = yaml.safe_load((FIXTURES / "trackers" / "step_after_a_capture.yml").read_text(encoding="utf-8"))
    tracker = case["tracker"]
    return {**tracker, "latest_message": {**tracker["latest_message"], "text": email},
            "slots": {**tracker["slots"], "person_email": email,
                      "dc_visit": {**tracker["slots"]["dc_visit"], "mkto_trk": cookie}}}


def test_a_typed_email_of_a_lead_shows_nothing_of_theirs_and_proves_no_cookie(services: Services) -> None:
    """Before, typing a lead's email filled their name and company and tied the visitor's cookie to them, so
    the next visit with that cookie was greeted as the lead."""
    fresh = "id:999-NEW-001&token:_mch-attacker.test-1"
    sent = run(services, "action_dc_step", _typed(fresh, "Ann@Corp.test"))
    named = {e["name"]: e["value"] for e in sent["events"] if e["event"] == "slot"}
    assert named.get("dc_lead_id") == 501  # the lead gets the conversation's activities
    assert "dc_known" not in named and "person_firstName" not in named and "company_name" not in named
    assert named["person_email"] == "ann@corp.test"  # what the visitor typed, nothing more
    assert services.identifier.identify_visit({"mkto_trk": fresh}) is None  # the claimed cookie proves nobody
    assert services.visitors.cookie_owner(fresh) == (True, None)


def test_a_typed_email_never_moves_a_cookie_that_is_another_leads(services: Services) -> None:
    services.visitors.upsert([Visitor(502, "bob@other.test", {"person.firstName": "Bob"})])
    owned = "id:111-AAA-222&token:_mch-corp.test-1"  # Ann's (the fixture's known lead)
    run(services, "action_dc_step", _typed(owned, "bob@other.test"))
    assert services.identifier.identify_visit({"mkto_trk": owned}).lead_id == 501


def test_a_signed_visit_proves_its_cookie(services: Services) -> None:
    """The site signed who the visitor is (the channel kept the email): the browser's cookie is now theirs."""
    cookie = "id:999-NEW-002&token:_mch-ann.test-2"
    services.visitors.associate_cookie(cookie, 502, proven=False)  # claimed earlier by a typed email
    case = yaml.safe_load((FIXTURES / "trackers" / "step_knows_a_returning_lead.yml").read_text(encoding="utf-8"))
    tracker = case["tracker"]
    metadata = {"url": "https://www.example.test/shop", "mkto_trk": cookie, "email": "ann@corp.test"}
    sent = run(services, "action_dc_step", {**tracker, "latest_message": {**tracker["latest_message"],
                                                                         "metadata": metadata}})
    assert {"event": "slot", "name": "dc_known", "value": True} in sent["events"]
    assert services.identifier.identify_visit({"mkto_trk": cookie}).lead_id == 501


def _pick(services: Services, sender: str, start: int, offered: List[int], held: str | None = None) -> Dict[str, Any]:
    case = yaml.safe_load((FIXTURES / "trackers" / "meeting_books_the_chosen_time.yml").read_text(encoding="utf-8"))
    tracker = case["tracker"]
    slot = str(start)
    return run(services, case["action"], {
        **tracker, "sender_id": sender,
        "slots": {**tracker["slots"], "dc_slot": slot, "dc_meeting_offered": offered, "dc_meeting_id": held},
        "latest_message": {**tracker["latest_message"], "text": '/dc_meeting{"dc_slot": "%s"}' % slot}})


def test_a_free_time_that_was_not_offered_is_not_booked(services: Services) -> None:
    """Before, any free time was booked: 15:07, 300 days ahead, whatever a replayed payload said."""
    sent = _pick(services, "visitor-unoffered", 1900052100, [1900051200, 1900053000])  # 09:15: free, never offered
    assert [m["response"] for m in sent["messages"]][:1] == ["utter_dc_meeting_pick"]
    assert not any(m.conversation == "visitor-unoffered" for m in services.meetings.list())


def test_a_visitor_holds_one_meeting_per_dialogue_and_is_offered_to_move_it(services: Services) -> None:
    """Before, one anonymous session replaying `/dc_meeting{"dc_slot": ...}` held 33 meetings."""
    offered = [1900054800, 1900056600, 1900058400]
    first = _pick(services, "visitor-replaying", offered[0], offered)
    assert first["messages"][0]["response"] == "utter_dc_meeting_booked"
    held = next(e["value"] for e in first["events"] if e.get("name") == "dc_meeting_id")
    for start in offered[1:]:
        again = _pick(services, "visitor-replaying", start, offered, held=_real_id(services, "visitor-replaying"))
        assert again["messages"] == [{"response": "utter_dc_meeting_exists", "template": "utter_dc_meeting_exists",
                                      "time": "Mon 18 Mar 10:00", "timezone": "Europe/Stockholm",
                                      "agent": first["messages"][0]["agent"]}]
        assert {"event": "slot", "name": "dc_meeting_id", "value": held} in again["events"]
    assert [m.start_at for m in services.meetings.list() if m.conversation == "visitor-replaying"] == [offered[0]]


@pytest.mark.parametrize("zone", ["<script>alert(1)</script>", "Mars/Olympus_Mons", "../../etc/passwd"])
def test_an_unknown_time_zone_shows_utc_and_says_so(services: Services, zone: str) -> None:
    """Before, an invalid zone showed UTC times labelled with the bogus zone (markup and all)."""
    case = yaml.safe_load((FIXTURES / "trackers" / "meeting_proposes_times.yml").read_text(encoding="utf-8"))
    tracker = case["tracker"]
    sent = run(services, case["action"], {**tracker, "slots": {**tracker["slots"], "dc_visit": {"timezone": zone}}})
    assert sent["messages"][0] == {"response": "utter_dc_unknown_timezone", "template": "utter_dc_unknown_timezone"}
    offer = sent["messages"][1]
    assert offer["timezone"] == "UTC" and offer["buttons"][0]["title"] == "Mon 18 Mar 08:00"
    assert zone not in str(sent)


def _real_id(services: Services, conversation: str) -> str:
    return next(m.id for m in services.meetings.list() if m.conversation == conversation)


def test_a_booking_whose_answer_was_lost_is_confirmed_on_the_next_turn(services: Services) -> None:
    """Before, a meeting committed as the action server was killed was never confirmed to its visitor, who then
    booked a duplicate after the restart. Now the meeting card tells them about the meeting they hold."""
    offered = [1900062000, 1900063800]
    lost = _pick(services, "visitor-lost-answer", offered[0], offered)  # booked; these events never reach Rasa
    assert lost["messages"][0]["response"] == "utter_dc_meeting_booked"
    again = _pick(services, "visitor-lost-answer", offered[1], offered)  # the visitor clicks again
    assert again["messages"][0] == {**lost["messages"][0]}
    held = _real_id(services, "visitor-lost-answer")
    assert {"event": "slot", "name": "dc_meeting_id", "value": "<meeting id>"} in again["events"]
    assert [m.id for m in services.meetings.list() if m.conversation == "visitor-lost-answer"] == [held]
