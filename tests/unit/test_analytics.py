"""The dashboards' counting rules: what counts, keys that make a retry count once, the rates and the days."""
from __future__ import annotations

from bot.core.analytics import KINDS, Counts, day_range, event_for, report
from bot.core.transcript import transcript

AT = 1_900_000_800.0  # 2030-03-17


def chat_events(happened, conversation, turn, at):
    """The countable events of one step, as the activity service makes them."""
    events = (event_for(kind, details, conversation, turn, at) for kind, details in happened)
    return [event for event in events if event is not None]


def test_only_an_email_capture_is_a_person_acquired_and_unknown_events_are_not_counted() -> None:
    happened = [("triggered", {"dialogue": "d", "page": "/"}), ("engaged", {"dialogue": "d"}),
                ("captured", {"dialogue": "d", "field": "person.firstName", "value": "Ann"}),
                ("captured", {"dialogue": "d", "field": "person.email", "value": "a@b.test"}),
                ("goal", {"dialogue": "d", "goal": "demo"}), ("completed", {"dialogue": "d"}), ("other", {})]
    events = chat_events(happened, "c1", "m1", AT)
    assert [(e.kind, e.dialogue, e.detail) for e in events] == [
        ("triggered", "d", ""), ("engaged", "d", ""), ("acquired", "d", ""), ("goal", "d", "demo"),
        ("completed", "d", "")]
    assert events[0].day == "2030-03-17"


def test_keys_are_the_same_for_a_retried_turn_and_differ_between_turns() -> None:
    happened = [("triggered", {"dialogue": "d"})]
    assert chat_events(happened, "c1", "m1", AT)[0].key == chat_events(happened, "c1", "m1", AT + 5)[0].key
    assert chat_events(happened, "c1", "m1", AT)[0].key != chat_events(happened, "c1", "m2", AT)[0].key
    assert chat_events(happened, "c1", "m1", AT)[0].key != chat_events(happened, "c2", "m1", AT)[0].key
    meeting = [("meeting", {"dialogue": "d", "meeting": "abc"})]
    assert chat_events(meeting, "c1", "m1", AT)[0].key == chat_events(meeting, "c9", "m9", AT)[0].key == "meeting|abc"


def test_rates_are_engaged_over_triggered_and_acquired_over_engaged() -> None:
    counts = Counts()
    assert counts.engagement_rate is None and counts.conversion_rate is None
    counts.add("triggered", 8)
    counts.add("engaged", 4)
    counts.add("acquired", 1)
    assert counts.engagement_rate == 0.5 and counts.conversion_rate == 0.25
    assert set(KINDS) <= set(counts.as_json())


def test_a_report_has_every_day_of_the_range_and_sums_per_dialogue_and_goal() -> None:
    rows = [("2030-03-17", "a", "triggered", "", 3), ("2030-03-19", "a", "goal", "demo", 1),
            ("2030-03-19", "b", "triggered", "", 2)]
    result = report(rows, "2030-03-17", "2030-03-19").as_json()
    assert [day["day"] for day in result["days"]] == ["2030-03-17", "2030-03-18", "2030-03-19"]
    assert [day["triggered"] for day in result["days"]] == [3, 0, 2]
    assert result["total"]["triggered"] == 5 and result["dialogues"]["a"]["goal"] == 1
    assert result["goals"] == {"a.demo": 1}
    assert day_range("2030-03-19", "2030-03-17") == []


def test_a_transcript_shows_what_the_visitor_saw_with_button_titles() -> None:
    events = [
        {"event": "user", "text": "/session_start"},
        {"event": "bot", "text": "Pick one", "data": {"buttons": [{"title": "Pricing", "payload": "/dc__a__q__0"}]}},
        {"event": "user", "text": "/dc__a__q__0"},
        {"event": "user", "text": "pricing"}, {"event": "rewind"}, {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "pricing"},
        {"event": "bot", "text": "x" * 3000},
    ]
    lines = transcript(events)
    assert [(line["from"], line["text"][:8]) for line in lines] == [
        ("bot", "Pick one"), ("visitor", "Pricing"), ("visitor", "pricing"), ("bot", "xxxxxxxx")]
    assert len(lines[-1]["text"]) == 2000
