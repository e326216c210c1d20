"""What the dashboards count, and the rates Dynamic Chat derives from the counts.

A conversation's steps say what happened as ("triggered" | "engaged" |
"captured" | "goal" | "completed" | "meeting", details) pairs; each becomes
at most one `ChatEvent` with a key that is the same however often the step
is retried, so a store that refuses a second row with a key counts nothing
twice.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

# the dashboards' measures, in the order they show them
KINDS = ("triggered", "engaged", "completed", "acquired", "goal", "meeting", "human")
LABELS = {"triggered": "Triggered", "engaged": "Engaged", "completed": "Completed", "acquired": "People acquired",
          "goal": "Goals reached", "meeting": "Meetings booked", "human": "Asked for a person"}
ACQUIRED_FIELD = "person.email"  # "people acquired": an email captured


@dataclass(frozen=True)
class ChatEvent:
    kind: str                 # one of KINDS
    dialogue: str             # "" when no dialogue was showing
    key: str                  # the same for a retried step: stored once
    at: float                 # epoch seconds
    conversation: str = ""
    detail: str = ""          # the goal's name; the meeting's id
    lead_id: Optional[int] = None

    @property
    def day(self) -> str:
        return utc_day(self.at)


def utc_day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%d")


def event_for(kind: str, details: Mapping[str, Any], conversation: str, turn: str, at: float,
              lead_id: Optional[int] = None) -> Optional[ChatEvent]:
    """The countable event for one thing that happened in a step (None: the dashboards do not count it);
    `turn` names the visitor's message the step answers."""
    dialogue = str(details.get("dialogue") or "")
    if kind == "captured":
        if details.get("field") != ACQUIRED_FIELD:
            return None
        kind, detail = "acquired", ""
    elif kind == "goal":
        detail = str(details.get("goal") or "")
    elif kind == "meeting":
        detail = str(details.get("meeting") or "")
    elif kind in KINDS:
        detail = ""
    else:
        return None
    key = f"meeting|{detail}" if kind == "meeting" else f"{conversation}|{turn}|{kind}|{dialogue}|{detail}"
    return ChatEvent(kind, dialogue, key, at, conversation, detail, lead_id)


@dataclass
class Counts:
    """One row of a dashboard: the counts and the two rates."""

    counts: Dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})

    def add(self, kind: str, number: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number

    @property
    def engagement_rate(self) -> Optional[float]:
        """Engaged / triggered, as Dynamic Chat's dashboards show it (None with nothing triggered)."""
        return _rate(self.counts["engaged"], self.counts["triggered"])

    @property
    def conversion_rate(self) -> Optional[float]:
        """People acquired / engaged."""
        return _rate(self.counts["acquired"], self.counts["engaged"])

    def as_json(self) -> Dict[str, Any]:
        return {**self.counts, "engagement_rate": self.engagement_rate, "conversion_rate": self.conversion_rate}


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


@dataclass
class Report:
    """Counts over a date range: overall, per dialogue, per day, and per goal."""

    start: str
    end: str
    total: Counts = field(default_factory=Counts)
    dialogues: Dict[str, Counts] = field(default_factory=dict)
    days: Dict[str, Counts] = field(default_factory=dict)
    goals: Dict[str, int] = field(default_factory=dict)

    def as_json(self) -> Dict[str, Any]:
        return {"start": self.start, "end": self.end, "total": self.total.as_json(),
                "dialogues": {name: counts.as_json() for name, counts in sorted(self.dialogues.items())},
                "days": [{"day": day, **counts.as_json()} for day, counts in sorted(self.days.items())],
                "goals": dict(sorted(self.goals.items()))}


def report_from(day_rows: Iterable[Tuple[str, str, int]], dialogue_rows: Iterable[Tuple[str, str, str, int]],
                start: str, end: str) -> Report:
    """A report from (day, kind, count) rows for all dialogues and (dialogue, kind, detail, count) rows
    over the whole range; every day of the range has a row (zeros too)."""
    result = Report(start, end)
    for day in day_range(start, end):
        result.days[day] = Counts()
    for day, kind, number in day_rows:
        result.total.add(kind, number)
        result.days.setdefault(day, Counts()).add(kind, number)
    for dialogue, kind, detail, number in dialogue_rows:
        result.dialogues.setdefault(dialogue, Counts()).add(kind, number)
        if kind == "goal":
            name = f"{dialogue}.{detail}" if dialogue else detail
            result.goals[name] = result.goals.get(name, 0) + number
    return result


def report(rows: Iterable[Tuple[str, str, str, str, int]], start: str, end: str) -> Report:
    """A report from (day, dialogue, kind, detail, count) rows (the brute force: every row at once)."""
    per_day: Dict[Tuple[str, str], int] = {}
    per_dialogue: Dict[Tuple[str, str, str], int] = {}
    for day, dialogue, kind, detail, number in rows:
        per_day[(day, kind)] = per_day.get((day, kind), 0) + number
        per_dialogue[(dialogue, kind, detail)] = per_dialogue.get((dialogue, kind, detail), 0) + number
    return report_from([(d, k, n) for (d, k), n in per_day.items()],
                       [(d, k, t, n) for (d, k, t), n in per_dialogue.items()], start, end)


def split_by_month(start: str, end: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The whole months (YYYY-MM) inside [start, end], and the day ranges left at its ends."""
    first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    months: List[str] = []
    leftovers: List[Tuple[str, str]] = []
    day = first
    while day <= last:
        month_start = day.replace(day=1)
        next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
        month_end = next_month - datetime.timedelta(days=1)
        if day == month_start and month_end <= last:
            months.append(day.strftime("%Y-%m"))
        else:
            leftovers.append((day.isoformat(), min(month_end, last).isoformat()))
        day = next_month
    return months, leftovers


def day_range(start: str, end: str, limit: int = 3700) -> List[str]:
    """Every day from `start` to `end` inclusive (ISO dates); at most `limit` days."""
    first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    days: List[str] = []
    while first <= last and len(days) < limit:
        days.append(first.isoformat())
        first += datetime.timedelta(days=1)
    return days


def csv_rows(result: Report) -> List[List[Any]]:
    """The report as a table: a header, then a row per day, per dialogue and the total."""
    def row(scope: str, name: str, counts: Counts) -> List[Any]:
        rates = [counts.engagement_rate, counts.conversion_rate]
        return [scope, name] + [counts.counts.get(kind, 0) for kind in KINDS] + ["" if r is None else r for r in rates]

    header = ["scope", "name"] + list(KINDS) + ["engagement_rate", "conversion_rate"]
    return ([header] + [row("day", day, counts) for day, counts in sorted(result.days.items())]
            + [row("dialogue", name or "(none)", counts) for name, counts in sorted(result.dialogues.items())]
            + [row("total", f"{result.start}..{result.end}", result.total)])


@dataclass(frozen=True)
class Step:
    """What one step of a conversation did, as it travels through Rasa's event broker (broker mode): the action
    sets it as the `dc_happened` slot, Rasa publishes the SlotSet, the events consumer counts it."""

    conversation: str
    turn: str
    lead_id: Optional[int]
    happened: Tuple[Tuple[str, Mapping[str, Any]], ...]
    at: float

    def as_slot(self) -> Dict[str, Any]:
        return {"turn": self.turn, "lead_id": self.lead_id, "events": [[kind, dict(details)] for kind, details in self.happened]}


def step_from_broker(body: Any, slot: str) -> Optional[Step]:
    """The step in one event Rasa published (None: another event, or one that is not well formed)."""
    if not isinstance(body, Mapping) or body.get("event") != "slot" or body.get("name") != slot:
        return None
    value, sender, at = body.get("value"), body.get("sender_id"), body.get("timestamp")
    if not isinstance(value, Mapping) or not isinstance(sender, str) or not isinstance(at, (int, float)):
        return None
    lead_id, events, turn = value.get("lead_id"), value.get("events"), value.get("turn")
    if (lead_id is not None and (not isinstance(lead_id, int) or isinstance(lead_id, bool))) or not isinstance(turn, str) \
            or not isinstance(events, list):
        return None
    happened = tuple((str(item[0]), dict(item[1])) for item in events
                     if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], Mapping))
    return Step(sender, turn, lead_id, happened, float(at)) if happened else None
