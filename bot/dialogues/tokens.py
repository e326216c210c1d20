"""Tokens such as {{lead.firstName:"there"}}: parsing, checking and filling."""
from __future__ import annotations

import re
from typing import Any, Callable, List, Mapping, Optional, Tuple

from bot.core.naming import field_slot

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


def render(text: str, lookup: Callable[[str], Optional[Any]]) -> str:
    """Replace every token by the field's value, or its default when empty."""

    def replace(match: "re.Match[str]") -> str:
        body = _TOKEN_BODY.match(match.group(1))
        if not body or body.group("prefix") not in TOKEN_PREFIXES:
            return match.group(0)
        value = lookup(token_field(body.group("prefix"), body.group("name")))
        if value is None or (isinstance(value, str) and not value.strip()):
            return body.group("default") or ""
        return str(value)

    return re.sub(r"\{\{(.*?)\}\}", replace, text)


def render_with_slots(text: str, slots: Mapping[str, Any]) -> str:
    return render(text, lambda field: slots.get(field_slot(field)))
