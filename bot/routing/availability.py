"""Free meeting slots, as pure functions over epoch seconds (UTC).

Working hours are expanded per local calendar date in the agent's time zone
with `zoneinfo`, so DST transition days come out right in both directions
(a block in the missing hour vanishes, a block across the repeated hour is
an hour longer, afternoons keep their wall-clock times). Busy time is widened
by the agent's buffer; minimum notice and the per-day cap (by meeting date in
the agent's zone) apply.
"""
from __future__ import annotations

import bisect
import datetime
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from zoneinfo import ZoneInfo

from bot.core.agents import Agent
from bot.core.meetings import Interval
from bot.routing.router import BUSY

UTC = datetime.timezone.utc


def _local_epoch(day: datetime.date, minutes: int, zone: ZoneInfo) -> int:
    """Wall-clock `minutes` after midnight of `day` in `zone` (24:00 is the next midnight).

    A wall time in a spring-forward gap maps like zoneinfo's fold=0 does, to the
    instant of the transition's far side, so a block in the missing hour is empty.
    """
    wall = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(minutes=minutes)
    return int(wall.replace(tzinfo=zone).timestamp())


def working_days(agent: Agent, first_day: datetime.date, days: int) -> List[Tuple[int, int, datetime.date]]:
    """The agent's working hours for `days` local dates from `first_day`: (start, end, local date)."""
    zone = agent.zone
    intervals: List[Tuple[int, int, datetime.date]] = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        for start, end in agent.hours(day.weekday()):
            begin, finish = _local_epoch(day, start, zone), _local_epoch(day, end, zone)
            if finish > begin:
                intervals.append((begin, finish, day))
    return intervals


def working_intervals(agent: Agent, first_day: datetime.date, days: int) -> List[Interval]:
    """The agent's working hours for `days` local dates from `first_day`, in UTC."""
    return [(begin, finish) for begin, finish, _ in working_days(agent, first_day, days)]


def merge(intervals: Iterable[Interval]) -> List[Interval]:
    merged: List[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def local_date(epoch: int, zone: ZoneInfo) -> datetime.date:
    return datetime.datetime.fromtimestamp(epoch, zone).date()


def free_slots(agent: Agent, window: Interval, busy: Sequence[Interval], now: int,
               booked_per_day: Optional[Mapping[datetime.date, int]] = None,
               duration_minutes: Optional[int] = None, step_minutes: Optional[int] = None) -> List[int]:
    """Start times (epoch seconds) of free slots of the agent inside `window`."""
    if not agent.active:
        return []
    length = (duration_minutes or agent.duration_minutes) * 60
    step = (step_minutes or min(30, duration_minutes or agent.duration_minutes)) * 60
    pad = agent.buffer_minutes * 60
    earliest = max(window[0], now + agent.min_notice_minutes * 60)  # also clips to the window
    first_day = local_date(window[0], agent.zone) - datetime.timedelta(days=1)
    days = (window[1] - window[0]) // 86400 + 3
    blocked = merge((start - pad, end + pad) for start, end in busy)
    starts_of_blocked = [start for start, _ in blocked]
    counts: Dict[datetime.date, int] = dict(booked_per_day or {})
    slots: List[int] = []
    cap = agent.max_per_day
    for begin, finish, day in working_days(agent, first_day, days):
        if cap is not None and counts.get(day, 0) >= cap:
            continue  # a block belongs to one local date: the meeting date that counts
        finish = min(finish, window[1])
        start = begin  # slots keep the grid of the working block (09:00, 09:30...), from the first allowed one
        if start < earliest:
            start = begin + -(-(earliest - begin) // step) * step
        index = max(0, bisect.bisect_right(starts_of_blocked, start) - 1)  # may overlap `start`
        while start + length <= finish:
            end = start + length
            while index < len(blocked) and blocked[index][1] <= start:
                index += 1
            if index < len(blocked) and blocked[index][0] < end:
                start = max(start + step, begin + -(-(blocked[index][1] - begin) // step) * step)
                continue
            slots.append(start)
            start += step
    return slots


def is_free(agent: Agent, start: int, end: int, busy: Sequence[Interval], now: int,
            booked_per_day: Optional[Mapping[datetime.date, int]] = None) -> Optional[str]:
    """None when the agent can take [start, end); otherwise why not (for the routing log)."""
    if not agent.active:
        return "inactive"
    if start < now + agent.min_notice_minutes * 60:
        return "too short notice"
    zone = agent.zone
    day = local_date(start, zone)
    if agent.max_per_day is not None and (booked_per_day or {}).get(day, 0) >= agent.max_per_day:
        return f"has {agent.max_per_day} meetings that day"
    if not any(begin <= start and end <= finish for begin, finish in working_intervals(agent, day - datetime.timedelta(days=1), 3)):
        return "outside working hours"
    pad = agent.buffer_minutes * 60
    for busy_start, busy_end in busy:
        if busy_start - pad < end and start < busy_end + pad:
            return BUSY if busy_end - busy_start < 86400 else "away all day"
    return None


def known_zone(name: str) -> bool:
    """Is this a time zone of the tz database (as a browser's Intl API names them)?"""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for a path-like or malformed key
        return False
    return True


def describe(epoch: int, timezone: str) -> str:
    """A slot as the visitor reads it, in their own time zone: 'Thu 26 Nov 10:00'."""
    try:
        zone, suffix = ZoneInfo(timezone), ""
    except Exception:  # an unknown zone from the widget: fall back to UTC, and say so
        zone, suffix = ZoneInfo("UTC"), " UTC"
    return datetime.datetime.fromtimestamp(epoch, zone).strftime("%a %d %b %H:%M") + suffix
