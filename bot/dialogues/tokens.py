"""Tokens such as {{lead.firstName:"there"}}: parsing, checking and filling."""
from __future__ import annotations

import re
from typing import Any, Callable, List, Mapping, Optional, Tuple

from bot.core.naming import field_slot
from bot.core.text import plain_text

TOKEN_PREFIXES = ("lead", "person", "company", "page")
_TOKEN_BODY = re.compile(
    r'^\s*(?P<prefix>[A-Za-z]+)\.(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*(?::\s*"(?P<default>[^"]*)")?\s*$'
)


def token_field(prefix: str, name: str) -> str:
    """Marketo's `lead.` prefix names a person attribute."""
    return f"{'person' if prefix == 'lead' else prefix}.{name}"


def token_problems(text: str) -> List[Tuple[int, str]]:
    """(offset, message) for every malformed token in a text."""
    problems: List[Tuple[int, str]] = []
    index = 0
    while True:
        start = text.find("{{", index)
        if start < 0:
            return problems
        end = text.find("}}", start + 2)
        nested = text.find("{{", start + 2)
        if end < 0 or (0 <= nested < end):
            problems.append((start, "token without a closing '}}'"))
            index = start + 2
            continue
        body = text[start + 2 : end]
        match = _TOKEN_BODY.match(body)
        if not match:
            problems.append((start, f"malformed token '{{{{{body}}}}}'; expected {{{{lead.firstName:\"default\"}}}}"))
        elif match.group("prefix") not in TOKEN_PREFIXES:
            problems.append(
                (start, f"unknown token prefix '{match.group('prefix')}' (use {', '.join(TOKEN_PREFIXES)})")
            )
        index = end + 2


def token_fields(text: str) -> List[str]:
    """The fields a text's well-formed tokens read."""
    fields = []
    for match in re.finditer(r"\{\{(.*?)\}\}", text):
        body = _TOKEN_BODY.match(match.group(1))
        if body and body.group("prefix") in TOKEN_PREFIXES:
            fields.append(token_field(body.group("prefix"), body.group("name")))
    return fields


_PLACES = re.compile(r"\{\{(.*?)\}\}|\{([A-Za-z_]+)\}")


def render(text: str, lookup: Callable[[str], Optional[Any]], values: Optional[Mapping[str, Any]] = None) -> str:
    """Replace every token by the field's value, or its default when empty, and each `{name}` of `values` (the
    time, agent, link an action passes), in one pass: a value is never read again as a token. Values come from
    visitors, Marketo and pages, so they go in as plain text (`bot.core.text.plain_text`)."""

    def replace(match: "re.Match[str]") -> str:
        if match.group(2) is not None:
            name = match.group(2)
            return plain_text(values[name]) if values is not None and name in values else match.group(0)
        body = _TOKEN_BODY.match(match.group(1))
        if not body or body.group("prefix") not in TOKEN_PREFIXES:
            return match.group(0)
        value = lookup(token_field(body.group("prefix"), body.group("name")))
        shown = plain_text(value) if value is not None else ""
        return shown or body.group("default") or ""

    return _PLACES.sub(replace, text)


def render_with_slots(text: str, slots: Mapping[str, Any], values: Optional[Mapping[str, Any]] = None) -> str:
    return render(text, lambda field: slots.get(field_slot(field)), values)
