"""Chat events for the dashboards: each stored once by its key, and counted as it is stored.

`record` runs inside the caller's transaction (the meeting it counts, the
outbox rows it writes back), so a count exists exactly when what it counts
does. Each new event adds one to three sums: per day, dialogue and kind (a
dialogue's dashboard); per day and kind (the totals and the chart); per
month, dialogue and kind (the per-dialogue table of a long range, whole
months from here and the days at its ends from the first). A year's
dashboard reads a few thousand rows, whatever the number of visitors.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import Table, and_, func, select
from sqlalchemy.engine import Connection

from bot.core.analytics import ChatEvent, Report, report_from, split_by_month
from bot.store.database import Database, insert_for
from bot.store.schema import analytics_daily, analytics_days, analytics_months, chat_events


def _add(connection: Connection, table: Table, keys: Sequence[str], counts: Dict[Tuple[str, ...], int]) -> None:
    for values, number in sorted(counts.items()):  # one order: no deadlock between writers
        statement = insert_for(connection, table).values(**dict(zip(keys, values)), count=number)
        connection.execute(statement.on_conflict_do_update(
            index_elements=list(keys), set_={"count": table.c.count + statement.excluded.count}))


def record(connection: Connection, events: Sequence[ChatEvent]) -> List[ChatEvent]:
    """Store the events not stored yet and count them; returns those that were new."""
    new: List[ChatEvent] = []
    for event in events:
        inserted = connection.execute(insert_for(connection, chat_events).values(
            key=event.key, kind=event.kind, dialogue=event.dialogue, detail=event.detail, day=event.day,
            at=event.at, conversation=event.conversation or None, lead_id=event.lead_id,
        ).on_conflict_do_nothing(index_elements=["key"]))
        if inserted.rowcount:
            new.append(event)
    daily: Dict[Tuple[str, ...], int] = {}
    days: Dict[Tuple[str, ...], int] = {}
    months: Dict[Tuple[str, ...], int] = {}
    for event in new:
        for counts, key in ((daily, (event.day, event.dialogue, event.kind, event.detail)),
                            (days, (event.day, event.kind)),
                            (months, (event.day[:7], event.dialogue, event.kind, event.detail))):
            counts[key] = counts.get(key, 0) + 1
    _add(connection, analytics_daily, ("day", "dialogue", "kind", "detail"), daily)
    _add(connection, analytics_days, ("day", "kind"), days)
    _add(connection, analytics_months, ("month", "dialogue", "kind", "detail"), months)
    return new


class Analytics:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def record(self, events: Sequence[ChatEvent]) -> List[ChatEvent]:
        with self.engine.begin() as connection:
            return record(connection, events)

    def report(self, start: str, end: str, dialogue: Optional[str] = None) -> Report:
        """Counts from `start` to `end` (UTC dates, inclusive), optionally for one dialogue."""
        daily = analytics_daily.c
        with self.engine.connect() as connection:
            if dialogue is not None:  # one dialogue: its per-day rows (an index on dialogue, day)
                mine = and_(daily.dialogue == dialogue, daily.day >= start, daily.day <= end)
                day_rows = connection.execute(select(daily.day, daily.kind, func.sum(daily.count))
                                              .where(mine).group_by(daily.day, daily.kind)).all()
                dialogue_rows = connection.execute(select(daily.dialogue, daily.kind, daily.detail, func.sum(daily.count))
                                                   .where(mine).group_by(daily.dialogue, daily.kind, daily.detail)).all()
                return report_from(_ints(day_rows), _ints(dialogue_rows), start, end)
            days = analytics_days.c
            day_rows = connection.execute(select(days.day, days.kind, days.count).where(
                and_(days.day >= start, days.day <= end))).all()
            whole_months, leftovers = split_by_month(start, end)
            sums: Dict[Tuple[str, str, str], int] = {}
            parts = []
            if whole_months:
                months = analytics_months.c
                parts.append(select(months.dialogue, months.kind, months.detail, func.sum(months.count))
                             .where(months.month.in_(whole_months)).group_by(months.dialogue, months.kind, months.detail))
            for first, last in leftovers:
                parts.append(select(daily.dialogue, daily.kind, daily.detail, func.sum(daily.count))
                             .where(and_(daily.day >= first, daily.day <= last))
                             .group_by(daily.dialogue, daily.kind, daily.detail))
            for part in parts:
                for name, kind, detail, number in connection.execute(part):
                    sums[(name, kind, detail)] = sums.get((name, kind, detail), 0) + int(number)
        return report_from(_ints(day_rows), [(n, k, d, c) for (n, k, d), c in sums.items()], start, end)

    def event_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(chat_events)).scalar_one())


def _ints(rows) -> list:
    """Rows whose last column is a count (SUM gives Decimal on PostgreSQL)."""
    return [(*row[:-1], int(row[-1])) for row in rows]
