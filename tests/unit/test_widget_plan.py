"""The widget's server side as pure decisions: its settings file, which dialogue a page gets, what callbacks hear."""
from __future__ import annotations

import os
from pathlib import Path

from bot.core.appearance import Appearance
from bot.dialogues.loader import load_dialogues
from bot.services.widget import AppearanceFile, clean_metadata, expected_input, origin_allowed, parse_appearance, plan_visit, widget_events
from bot.web.demo import page_for
from tests.support import FIXTURES, ROOT

DIALOGUES = {d.id: d for d in load_dialogues([str(FIXTURES / "widget" / "dialogues")])[0]}


def test_the_shipped_settings_are_valid_and_bad_ones_are_reported_with_positions() -> None:
    shipped, problems = parse_appearance((ROOT / "data" / "widget.yml").read_text(encoding="utf-8"), "widget.yml")
    assert problems == [] and shipped.bot_name == "Dyna" and shipped.privacy_url == "https://example.com/privacy"
    bad = ("primary_color: blue\nfont_family: 'x; } body { display: none'\nposition: top\npadding: -1\n"
           "avatar: javascript:alert(1)\ncolour: red\nsound: yes please\n")
    appearance, problems = parse_appearance(bad, "w.yml")
    assert appearance == Appearance()
    assert [str(p) for p in problems] == [
        "w.yml:1:16: 'primary_color' must be like #1f5fbf",
        "w.yml:2:14: 'font_family' must be font names separated by commas",
        "w.yml:3:11: 'position' must be one of: bottom-right, bottom-left",
        "w.yml:4:10: 'padding' must be a whole number from 0 to 200",
        "w.yml:5:9: 'avatar' must be an https:// URL of an image, or one uploaded in the console",
        "w.yml:6:1: unknown setting 'colour'",
        "w.yml:7:8: 'sound' must be true or false",
    ]


def test_a_bad_edit_keeps_the_last_good_settings(tmp_path: Path) -> None:
    path = tmp_path / "widget.yml"
    settings = AppearanceFile(path)
    assert settings.current() == Appearance()  # no file: the defaults
    path.write_text("bot_name: Robin\n", encoding="utf-8")
    assert settings.current().bot_name == "Robin"
    path.write_text("bot_name: [not, a, name]\n", encoding="utf-8")
    os.utime(path, (1, 1))  # a different modification time, whatever the clock's resolution
    assert settings.current().bot_name == "Robin"


def test_a_page_gets_its_dialogue_with_the_triggers_left_to_the_widget() -> None:
    timed = plan_visit(DIALOGUES, {"url": "https://site.test/timed"}, {}, None)
    assert timed.to_json() == {"dialogue": "timed", "continuing": False,
                               "triggers": {"time_on_page": 3, "time_on_site": None, "scroll": None}}
    assert plan_visit(DIALOGUES, {"url": "https://site.test/scroll"}, {}, None).triggers["scroll"] == 50
    assert plan_visit(DIALOGUES, {"url": "https://site.test/plain"}, {}, None).dialogue is None


def test_a_dialogue_answered_in_goes_on_on_the_next_page_and_one_only_poked_does_not() -> None:
    answered = {"dc_dialogue": "full", "dc_engaged": ["full"], "dc_completed": []}
    assert plan_visit(DIALOGUES, {"url": "https://site.test/timed"}, answered, None).to_json() == {
        "dialogue": "full", "triggers": {}, "continuing": True}
    poked = {"dc_dialogue": "full", "dc_engaged": [], "dc_completed": []}
    assert plan_visit(DIALOGUES, {"url": "https://site.test/timed"}, poked, None).dialogue == "timed"
    finished = {"dc_dialogue": "timed", "dc_engaged": ["timed"], "dc_completed": ["timed"]}
    assert plan_visit(DIALOGUES, {"url": "https://site.test/timed"}, finished, None).dialogue is None


def test_callbacks_hear_names_and_ids_never_what_was_typed() -> None:
    heard = widget_events([
        ("triggered", {"dialogue": "full", "page": "https://site.test/full"}),
        ("engaged", {"dialogue": "full"}),
        ("captured", {"dialogue": "full", "field": "person.email", "value": "ann@example.com"}),
        ("captured", {"dialogue": "full", "field": "person.firstName", "value": "Ann"}),
        ("goal", {"dialogue": "full", "goal": "lead_captured"}),
        ("meeting", {"dialogue": "meet", "agent": "alex@agents.test", "start": "2030-03-18T08:00:00Z", "meeting": "m"}),
        ("completed", {"dialogue": "full"}),
    ])
    assert heard == [
        {"event": "engaged", "dialogue": "full"},
        {"event": "email_captured", "dialogue": "full", "field": "person.email"},
        {"event": "goal", "dialogue": "full", "goal": "lead_captured"},
        {"event": "meeting_booked", "dialogue": "meet", "start": "2030-03-18T08:00:00Z"},
        {"event": "completed", "dialogue": "full"},
    ]
    assert "ann@example.com" not in str(heard) and "alex@" not in str(heard)


def test_visit_metadata_from_a_page_is_checked_before_use() -> None:
    assert clean_metadata({"url": " https://site.test/ ", "scroll": 60, "time_on_page": True, "locale": ["en"],
                           "email": "x" * 5000, "evil": "<script>", "time_on_site": -5}) == {
        "url": "https://site.test/", "scroll": 60, "email": "x" * 2000}
    assert clean_metadata("not a map") == {} and clean_metadata(None) == {}


def test_the_demo_site_serves_its_pages_and_nothing_else() -> None:
    site = ROOT / "demo"
    assert page_for(site, "/") == site / "index.html"
    assert page_for(site, "/pricing") == site / "pricing.html"
    assert page_for(site, "/sv/") == site / "sv" / "index.html"
    for attempt in ("/../pyproject", "/..%2fbot", "/pricing.html", "/sv/../../README", "/nope"):
        assert page_for(site, attempt) is None, attempt


def test_the_text_field_is_told_what_a_capture_expects() -> None:
    assert expected_input(DIALOGUES, "full__email__ask") == {"event": "expect", "input": "email"}
    assert expected_input(DIALOGUES, "full__name__ask") == {"event": "expect", "input": "text"}
    assert expected_input(DIALOGUES, "full__kind") is None  # entering a question, not a capture
    assert expected_input(DIALOGUES, "nope__email__ask") is None and expected_input(DIALOGUES, None) is None


def test_an_origin_is_allowed_by_its_domain_or_a_parent_and_every_copy_must_be() -> None:
    assert origin_allowed("https://evil.example", [])  # no list: any site
    assert origin_allowed(None, ["example.org"])  # no Origin: not a browser
    assert origin_allowed("https://shop.example.org", ["example.org"])
    assert not origin_allowed("https://example.org.evil.test", ["example.org"])
    assert not origin_allowed("https://notexample.org", ["example.org"])
    assert origin_allowed("http://127.0.0.1:8080", ["example.org"], ["127.0.0.1"])
    assert not origin_allowed("http://127.0.0.1:8080,https://evil.example", ["example.org"], ["127.0.0.1"])
