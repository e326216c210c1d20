"""Deleting what we keep about people: a person on request (`forget`), everyone on a schedule (`expire`).

What we keep about a visitor is spread over our tables and Rasa's `events`
table (the tracker store, in our database): the visitor store and cookies,
conversations, meetings and their history, requests for a person, the
Marketo outbox, and analytics events. Both operations run in one
transaction each, so a crash leaves all or nothing; analytics keep their
counts (the daily and monthly rollups hold no person), only the raw events
lose the conversation and lead they came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Sequence

from sqlalchemy import and_, bindparam, delete, func, inspect, or_, select, text, update
from sqlalchemy.engine import Connection

from bot.store.database import Database
from bot.store.schema import chat_events, cookies, human_requests, meeting_history, meetings, outbox, visitors
from bot.store.visitors import normal_email

BATCH = 500


@dataclass
class Deleted:
    """How many of each were deleted (or, for analytics, made anonymous)."""

    counts: Dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int) -> None:
        if count:
            self.counts[what] = self.counts.get(what, 0) + int(count)

    def lines(self) -> List[str]:
        return [f"{what}: {count:,}" for what, count in self.counts.items()] or ["nothing"]


def _batches(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), BATCH):
        yield values[start:start + BATCH]


class PersonalData:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def _has_events(self) -> bool:
        return bool(inspect(self.engine).has_table("events"))

    # --- one person ---------------------------------------------------------------
    def lead_ids(self, email: str) -> List[int]:
        with self.engine.connect() as connection:
            return [int(row[0]) for row in connection.execute(
                select(visitors.c.lead_id).where(visitors.c.email == normal_email(email))).all()]

    def conversations_of(self, email: str, lead_ids: Sequence[int]) -> List[str]:
        """Conversations in which the email was typed, given or set, or that were the lead's."""
        if not self._has_events():
            return []
        wanted = f"%{normal_email(email)}%"
        clauses = ["LOWER(data) LIKE :email"]
        params: Dict[str, Any] = {"email": wanted}
        for index, lead_id in enumerate(lead_ids):
            clauses.append(f"(type_name = 'slot' AND data LIKE '%\"dc_lead_id\"%' AND "
                           f"(data LIKE :lead_a{index} OR data LIKE :lead_b{index}))")
            params[f"lead_a{index}"], params[f"lead_b{index}"] = f'%"value": {lead_id},%', f'%"value": {lead_id}}}%'
        query = text(f"SELECT DISTINCT sender_id FROM events WHERE {' OR '.join(clauses)}")
        with self.engine.connect() as connection:
            return sorted(row[0] for row in connection.execute(query, params).all())

    def forget(self, email: str, lead_ids: Sequence[int], conversations: Sequence[str]) -> Deleted:
        """Delete the person everywhere we keep them, in one transaction."""
        email = normal_email(email) or ""
        deleted = Deleted()
        with self.engine.begin() as connection:
            self._delete_conversations(connection, conversations, deleted)
            held = or_(meetings.c.lead_email == email, meetings.c.conversation.in_(list(conversations) or [""]))
            self._delete_meetings(connection, held, deleted)
            deleted.add("requests for a person", connection.execute(delete(human_requests).where(or_(
                human_requests.c.email == email, human_requests.c.conversation.in_(list(conversations) or [""]),
                human_requests.c.lead_id.in_(list(lead_ids) or [-1])))).rowcount)
            mentions = [outbox.c.payload.like(f"%{email}%")] + [
                outbox.c.payload.like(f'%"{key}": {lead_id}{end}%')
                for lead_id in lead_ids for key in ("leadId", "id") for end in (",", "}")]
            deleted.add("messages for Marketo", connection.execute(delete(outbox).where(or_(*mentions))).rowcount)
            deleted.add("analytics events made anonymous", connection.execute(
                update(chat_events).where(or_(chat_events.c.conversation.in_(list(conversations) or [""]),
                                              chat_events.c.lead_id.in_(list(lead_ids) or [-1])))
                .values(conversation=None, lead_id=None)).rowcount)
            deleted.add("cookies", connection.execute(
                delete(cookies).where(cookies.c.lead_id.in_(list(lead_ids) or [-1]))).rowcount)
            deleted.add("visitors", connection.execute(delete(visitors).where(or_(
                visitors.c.email == email, visitors.c.lead_id.in_(list(lead_ids) or [-1])))).rowcount)
        return deleted

    # --- everyone, by age -----------------------------------------------------------
    def expire(self, now: float, anonymous_before: float, records_before: float, sent_before: float) -> Deleted:
        """Retention: anonymous conversations with no engagement whose last message is older than
        `anonymous_before`; every conversation, meeting, request for a person and raw analytics event older
        than `records_before`; Marketo messages sent (or refused for good) before `sent_before`."""
        deleted = Deleted()
        with self.engine.begin() as connection:
            if self._has_events():
                old = self._senders_quiet_since(connection, records_before)
                self._delete_conversations(connection, old, deleted, "conversations older than the record limit")
                quiet = self._senders_quiet_since(connection, anonymous_before)
                kept = self._engaged_or_known(connection, quiet)
                self._delete_conversations(connection, [s for s in quiet if s not in kept], deleted,
                                           "anonymous conversations without engagement")
            self._delete_meetings(connection, meetings.c.end_at < records_before, deleted)
            deleted.add("requests for a person", connection.execute(
                delete(human_requests).where(human_requests.c.at < records_before)).rowcount)
            deleted.add("analytics events (their counts stay)", connection.execute(
                delete(chat_events).where(chat_events.c.at < records_before)).rowcount)
            deleted.add("messages for Marketo", connection.execute(delete(outbox).where(or_(
                outbox.c.sent_at < sent_before, and_(outbox.c.failed.is_(True), outbox.c.created_at < sent_before))
            )).rowcount)
        return deleted

    @staticmethod
    def _senders_quiet_since(connection: Connection, before: float) -> List[str]:
        rows = connection.execute(text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :before"),
                                  {"before": before}).all()
        return [row[0] for row in rows]

    @staticmethod
    def _engaged_or_known(connection: Connection, senders: Sequence[str]) -> set:
        """Those of `senders` who answered in a dialogue or were a known lead at some point."""
        found: set = set()
        query = text("SELECT DISTINCT sender_id FROM events WHERE sender_id IN :senders AND type_name = 'slot' "
                     "AND (data LIKE '%\"dc_engaged\"%' OR data LIKE '%\"dc_lead_id\"%') "
                     "AND data NOT LIKE '%\"value\": null%' AND data NOT LIKE '%\"value\": []%'"
                     ).bindparams(bindparam("senders", expanding=True))
        for batch in _batches(list(senders)):
            found.update(row[0] for row in connection.execute(query, {"senders": list(batch)}).all())
        return found

    @staticmethod
    def _delete_conversations(connection: Connection, senders: Sequence[str], deleted: Deleted,
                              what: str = "conversations") -> None:
        if not senders:
            return
        query = text("DELETE FROM events WHERE sender_id IN :senders").bindparams(bindparam("senders", expanding=True))
        events = 0
        for batch in _batches(list(senders)):
            events += connection.execute(query, {"senders": list(batch)}).rowcount
        deleted.add(what, len(senders))
        deleted.add("conversation events", events)

    @staticmethod
    def _delete_meetings(connection: Connection, where: Any, deleted: Deleted) -> None:
        ids = [row[0] for row in connection.execute(select(meetings.c.id).where(where)).all()]
        for batch in _batches(ids):
            connection.execute(delete(meeting_history).where(meeting_history.c.meeting_id.in_(list(batch))))
            deleted.add("meetings", connection.execute(delete(meetings).where(meetings.c.id.in_(list(batch)))).rowcount)

    def count(self) -> Dict[str, int]:
        """Rows per table this module deletes from (for tests and `dynchat retention run --dry-run`)."""
        counts: Dict[str, int] = {}
        with self.engine.connect() as connection:
            for table in (visitors, cookies, meetings, human_requests, outbox, chat_events):
                counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            if self._has_events():
                counts["events"] = int(connection.execute(text("SELECT COUNT(*) FROM events")).scalar_one())
        return counts
