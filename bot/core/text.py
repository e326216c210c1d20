"""Text from outside (visitors, Marketo, page metadata) as plain text before the bot shows it anywhere.

Whoever renders a bot message (our widget, Rasa's webchat, a site's own UI
that uses innerHTML) gets no markup from a visitor's typed name, a lead
field or a page's metadata: tags and angle brackets go, and so do control
and direction-changing characters (which can hide or reorder text), and
whitespace runs become one space. Masking for logs lives here too.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

_TAG = re.compile(r"<[^<>]*>")
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")


def plain_text(value: Any, limit: int = 500) -> str:
    """A value as the bot may put it in a message: no markup, no invisible characters, one line, bounded."""
    text = unicodedata.normalize("NFC", str(value))
    text = _TAG.sub("", text).replace("<", "").replace(">", "")
    text = _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
    return text[:limit]


_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
# an international number (+46 70 123 45 67) or a national one starting with 0 (070-123 45 67): dates, epoch
# seconds and ids in a log line are neither
_PHONE = re.compile(r"(?<![\w+])(?:\+\d|0\d)[\d ().-]{4,}\d(?![\w.])")


def masked(text: str) -> str:
    """Emails and phone numbers in a log line, masked: a***@example.com, +46******67."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(lambda m: _mask_phone(m.group(0)), text)


def _mask_phone(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) < 7 or len(digits) > 15:
        return number  # not a phone number's length: a date, an id, a time in epoch seconds... left alone
    return ("+" if number.startswith("+") else "") + digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
