"""Chat events for the dashboards: each stored once by its key, counted per day as it is stored.

`record` runs inside the caller's transaction (the meeting it counts, the
outbox rows it writes back), so a count exists exactly when what it counts
does. The dashboards read the per-day table, whose size grows with days x
dialogues, not with visitors.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from bot.core.analytics import ChatEvent, Report, report
from bot.store.database import Database, insert_for
from bot.store.schema import analytics_daily, chat_events


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
    counts: Dict[Tuple[str, str, str, str], int] = {}
    for event in new:
        daily = (event.day, event.dialogue, event.kind, event.detail)
        counts[daily] = counts.get(daily, 0) + 1
    for (day, dialogue, kind, detail), number in sorted(counts.items()):  # one order: no deadlock between writers
        statement = insert_for(connection, analytics_daily).values(day=day, dialogue=dialogue, kind=kind,
                                                                detail=detail, count=number)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["day", "dialogue", "kind", "detail"],
            set_={"count": analytics_daily.c.count + statement.excluded.count}))
    return new


class Analytics:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def record(self, events: Sequence[ChatEvent]) -> List[ChatEvent]:
        with self.engine.begin() as connection:
            return record(connection, events)

    def report(self, start: str, end: str, dialogue: Optional[str] = None) -> Report:
        """Counts from `start` to `end` (UTC dates, inclusive), optionally for one dialogue."""
        query = select(analytics_daily.c.day, analytics_daily.c.dialogue, analytics_daily.c.kind,
                       analytics_daily.c.detail, analytics_daily.c.count).where(
            and_(analytics_daily.c.day >= start, analytics_daily.c.day <= end))
        if dialogue is not None:
            query = query.where(analytics_daily.c.dialogue == dialogue)
        with self.engine.connect() as connection:
            rows = [(r.day, r.dialogue, r.kind, r.detail, int(r.count)) for r in connection.execute(query)]
        return report(rows, start, end)

    def event_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(chat_events)).scalar_one())
