"""Pure evaluation of audience conditions, page patterns and durations.

Everything here is plain functions over plain data so that the router, the
compiler and the action server share one meaning of a condition.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterable, Mapping, Optional

OPERATORS = (
    "equals", "not_equals", "contains", "starts_with", "in", "not_in",
    "gt", "gte", "lt", "lte", "is_empty", "is_not_empty",
)
UNARY_OPERATORS = ("is_empty", "is_not_empty")
LIST_OPERATORS = ("in", "not_in")
FIELD_PREFIXES = ("person", "company", "page")
PAGE_FIELDS = ("url", "referrer", "locale", "time_on_page", "time_on_site", "scroll")
FIELD_PATTERN = re.compile(r"^(person|company|page)\.[A-Za-z][A-Za-z0-9_]*$")

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)\s*$")
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%\s*$")
_URL_PATTERN = re.compile(r"^(\*|https?)://[^/\s]+(/\S*)?$", re.IGNORECASE)


def parse_duration(value: Any) -> Optional[int]:
    """'10s' -> 10, '2m' -> 120, '1h' -> 3600; None when malformed."""
    match = _DURATION.match(str(value)) if isinstance(value, (str, int)) else None
    if not match:
        return None
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def parse_percent(value: Any) -> Optional[int]:
    """'50%' -> 50; None when malformed or over 100."""
    match = _PERCENT.match(str(value)) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 100:
        return None
    return int(match.group(1))


def page_pattern_problem(pattern: Any) -> Optional[str]:
    """Why a page pattern is invalid, or None. Only `*` is a wildcard."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "a page pattern must be a non-empty string"
    if any(ch.isspace() for ch in pattern):
        return f"page pattern '{pattern}' contains white space"
    if "**" in pattern:
        return f"page pattern '{pattern}' has '**'; use a single '*'"
    if "://" in pattern and not _URL_PATTERN.match(pattern):
        return f"page pattern '{pattern}' must look like 'https://host/path' ('*' allowed for scheme and host)"
    if "://" not in pattern and not pattern.startswith(("*", "/")):
        return f"page pattern '{pattern}' must start with a scheme ('https://'), '*' or '/'"
    return None


@functools.lru_cache(maxsize=8192)
def _pattern_regex(pattern: str) -> "re.Pattern[str]":
    """Compiled once per pattern: every visit start tests the patterns of every dialogue."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


def page_matches(url: Optional[str], include: Iterable[str], exclude: Iterable[str]) -> bool:
    """A page qualifies when it matches some include (or there are none) and no exclude."""
    include, exclude = list(include), list(exclude)
    if not url:
        return not include
    if include and not any(_pattern_regex(p).match(url) for p in include):
        return False
    return not any(_pattern_regex(p).match(url) for p in exclude)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip().rstrip("%").rstrip("s"))
    except (TypeError, ValueError):
        return None


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _same(left: Any, right: Any) -> bool:
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return str(left).strip().casefold() == str(right).strip().casefold()


def compare(actual: Any, op: str, expected: Any) -> bool:
    """Apply one operator; text comparisons ignore case, numbers compare as numbers."""
    if op == "is_empty":
        return _is_empty(actual)
    if op == "is_not_empty":
        return not _is_empty(actual)
    if _is_empty(actual):
        return op in ("not_equals", "not_in")
    if op == "equals":
        return _same(actual, expected)
    if op == "not_equals":
        return not _same(actual, expected)
    if op in LIST_OPERATORS:
        listed = expected if isinstance(expected, (list, tuple)) else [] if expected is None else [expected]
        found = any(_same(actual, item) for item in listed)
        return found if op == "in" else not found
    if op == "contains":
        return str(expected).casefold() in str(actual).casefold()
    if op == "starts_with":
        return str(actual).casefold().startswith(str(expected).casefold())
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        return False
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}.get(op, False)


def evaluate(condition: Optional[Mapping[str, Any]], attributes: Mapping[str, Any]) -> bool:
    """Evaluate a condition tree ({all: [...]}, {any: [...]}, {field, op, value}).

    The loader reports malformed conditions before a dialogue ships; one that gets here anyway (a manifest
    edited by hand, a routing rule) is false, never an exception in a visitor's turn.
    """
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return False
    for combine, key in ((all, "all"), (any, "any")):
        if key in condition:
            items = condition[key]
            return isinstance(items, list) and combine(evaluate(item, attributes) for item in items)
    field, op = condition.get("field"), condition.get("op")
    if not isinstance(field, str) or op not in OPERATORS:
        return False
    return compare(attributes.get(field), op, condition.get("value"))


def plain_condition(condition: Any) -> Any:
    """Strip YAML position wrappers so a condition is plain JSON-able data."""
    if condition is None:
        return None
    if isinstance(condition, dict):
        return {key: plain_condition(value) if isinstance(value, (dict, list)) else value for key, value in condition.items()}
    if isinstance(condition, list):
        return [plain_condition(item) if isinstance(item, (dict, list)) else item for item in condition]
    return condition
