"""Outside text as plain text in bot messages, and personal data masked in logs (bot.core.text)."""
from __future__ import annotations

import logging

from bot.core.text import masked, plain_text
from bot.dialogues import tokens


def test_markup_and_invisible_characters_never_reach_a_message() -> None:
    """Before, `<script>` and `<img onerror>` in a typed name, a lead field or the page's metadata were echoed."""
    assert plain_text("<script>alert(1)</script>Kim") == "alert(1)Kim"
    assert plain_text('<img src=x onerror="alert(1)">Lee') == "Lee"
    assert plain_text("a < b > c") == "a c" and plain_text("3 > 2") == "3 2"  # what looks like a tag goes
    assert plain_text("Ann\u202egnp.exe\u200b\x00\n\tSmith") == "Anngnp.exe Smith"
    assert plain_text("x" * 2000) == "x" * 500


def test_tokens_and_action_values_are_filled_once_and_as_plain_text() -> None:
    text = 'Hi {{lead.firstName:"there"}}, booked {time} for {email}. {unknown}'
    slots = {"person_firstName": "<b>{email}</b> {{page.url}}"}
    filled = tokens.render_with_slots(text, slots, {"time": "Mon 09:00", "email": "<i>a@b.test</i>"})
    assert filled == "Hi {email} {{page.url}}, booked Mon 09:00 for a@b.test. {unknown}"  # a value is not re-read
    assert tokens.render_with_slots(text, {"person_firstName": "<br>"}, {}) .startswith("Hi there,")


def test_emails_and_phone_numbers_are_masked_and_the_rest_is_kept() -> None:
    assert masked("booked for ann.smith@corp.test at +46 70 123 45 67") == "booked for a***@corp.test at +46*******67"
    assert masked("call 070-123 45 67 now") == "call 07******67 now"
    kept = "lead 501 at 1900051200 on 2026-12-07 10:00 UTC, meeting 0b1c-22 v1.2.3"
    assert masked(kept) == kept


def test_the_log_filter_masks_every_record_and_cuts_long_ones(caplog) -> None:
    from bot.logs import PersonalDataFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "visitor %s typed %s", ("v1", "kim@x.test"), None)
    assert PersonalDataFilter().filter(record) and record.getMessage() == "visitor v1 typed k***@x.test"
    issued = "f1eb40819f56" + "0" * 52
    quiet = logging.LogRecord("x", logging.INFO, __file__, 1, "%s: GET /x?token=s3cret&a=1", (issued,), None)
    assert PersonalDataFilter().filter(quiet) and quiet.getMessage() == "f1eb40819f56…: GET /x?token=***&a=1"
    long = logging.LogRecord("x", logging.ERROR, __file__, 1, "tracker: %s", ("e" * 10_000,), None)
    PersonalDataFilter().filter(long)
    assert len(long.getMessage()) < 2_100 and long.getMessage().endswith("(8,009 more characters not logged)")
