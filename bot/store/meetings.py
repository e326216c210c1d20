"""Book, cancel and list meetings; the database guarantees no double booking.

A booking runs in one transaction that first takes the routing lock (the
"all" rotation row, so bookings from every process and host queue up there),
reads the agents' meetings around the time, lets the pure router choose,
inserts the meeting and advances the rotation. A unique index on (agent,
start) over active meetings backs this up: two active meetings for one
agent at one time cannot both exist.
"""
from __future__ import annotations

import datetime
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.core.agents import Agent, Rule
from bot.core.analytics import event_for
from bot.core.meetings import ACTIVE, BookingRequest, Interval, Meeting, MeetingStatus
from bot.routing.availability import is_free, local_date
from bot.routing.router import Choice, PoolState, choose, credit_back
from bot.store import analytics
from bot.store.database import Database
from bot.store.schema import meeting_history, meetings, routing_state

BOOKED = MeetingStatus.BOOKED.value


@dataclass
class BookingResult:
    meeting: Optional[Meeting]
    choice: Choice
    existing: Optional[Meeting] = None  # not booked: the visitor already holds this meeting of the dialogue
    calendar_failed: bool = False       # not booked: the agent's calendar refused the event (the record is failed)


def _meeting(row: Any, now: Optional[float] = None) -> Meeting:
    """A stored meeting; with `now`, an active one that has ended reads as past."""
    status = MeetingStatus.PAST.value if now is not None and row.status in ACTIVE and row.end_at <= now else row.status
    return Meeting(row.id, row.agent_email, row.lead_email, row.start_at, row.end_at, status, row.calendar,
                   row.reason, row.pool, row.event_id, row.join_url, row.lead_id, row.conversation, row.dialogue)


class Meetings:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    # --- routing state ---------------------------------------------------------
    def _lock(self, connection: Connection) -> None:
        """Take the booking lock: a row lock in PostgreSQL, the write lock in SQLite."""
        if self.engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "INSERT INTO dc_routing_state (pool, value) VALUES ('all', '{}') ON CONFLICT (pool) DO NOTHING")
            connection.exec_driver_sql("SELECT value FROM dc_routing_state WHERE pool = 'all' FOR UPDATE")
        else:
            connection.exec_driver_sql(
                "INSERT INTO dc_routing_state (pool, value) VALUES ('all', '{}') ON CONFLICT (pool) DO UPDATE "
                "SET value = dc_routing_state.value")

    def states(self, connection: Optional[Connection] = None) -> Dict[str, PoolState]:
        def read(conn: Connection) -> Dict[str, PoolState]:
            return {row.pool: PoolState.from_json(json.loads(row.value))
                    for row in conn.execute(select(routing_state)).all()}

        if connection is not None:
            return read(connection)
        with self.engine.connect() as conn:
            return read(conn)

    def _save_state(self, connection: Connection, pool: str, state: PoolState) -> None:
        value = json.dumps(state.to_json(), sort_keys=True)
        updated = connection.execute(update(routing_state).where(routing_state.c.pool == pool).values(value=value))
        if updated.rowcount == 0:
            connection.execute(insert(routing_state).values(pool=pool, value=value))

    # --- reading -----------------------------------------------------------------
    def _active_around(self, connection: Connection, start: int, end: int) -> List[Any]:
        return connection.execute(select(meetings).where(and_(
            meetings.c.status.in_(ACTIVE), meetings.c.start_at < end + 2 * 86400,
            meetings.c.end_at > start - 2 * 86400))).all()

    def busy_between(self, start: int, end: int) -> Dict[str, List[Interval]]:
        """Active meetings per agent that touch [start, end)."""
        busy: Dict[str, List[Interval]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(select(meetings.c.agent_email, meetings.c.start_at, meetings.c.end_at).where(
                    and_(meetings.c.status.in_(ACTIVE), meetings.c.start_at < end, meetings.c.end_at > start))).all():
                busy.setdefault(row.agent_email, []).append((row.start_at, row.end_at))
        return busy

    def _free_check(self, connection: Connection, agents: Sequence[Agent], start: int, end: int, now: float,
                    external_busy: Optional[Mapping[str, List[Interval]]] = None, ignore: Optional[str] = None):
        """A check `agent -> None | why not` for [start, end), from the meetings around it (inside the lock)."""
        busy: Dict[str, List[Interval]] = {a.email: list((external_busy or {}).get(a.email, [])) for a in agents}
        per_day: Dict[str, Dict[datetime.date, int]] = {a.email: {} for a in agents}
        zones = {a.email: a.zone for a in agents}
        for row in self._active_around(connection, start, end):
            if row.agent_email in busy and row.id != ignore:
                busy[row.agent_email].append((row.start_at, row.end_at))
                day = local_date(row.start_at, zones[row.agent_email])
                per_day[row.agent_email][day] = per_day[row.agent_email].get(day, 0) + 1

        def free(agent: Agent) -> Optional[str]:
            return is_free(agent, start, end, busy[agent.email], int(now), per_day[agent.email])

        return free

    def get(self, meeting_id: str) -> Optional[Meeting]:
        with self.engine.connect() as connection:
            row = connection.execute(select(meetings).where(meetings.c.id == meeting_id)).first()
        return _meeting(row) if row else None

    @staticmethod
    def _filtered(query: Any, now: float, status: Optional[str] = None, agent: Optional[str] = None,
                  dialogue: Optional[str] = None, start: Optional[int] = None, end: Optional[int] = None) -> Any:
        ended = and_(meetings.c.status.in_(ACTIVE + (MeetingStatus.PAST.value,)), meetings.c.end_at <= now)
        if status == MeetingStatus.PAST:
            query = query.where(ended)
        elif status in ACTIVE:
            query = query.where(and_(meetings.c.status == status, meetings.c.end_at > now))
        elif status:
            query = query.where(meetings.c.status == status)
        if agent:
            query = query.where(meetings.c.agent_email == agent.lower())
        if dialogue:
            query = query.where(meetings.c.dialogue == dialogue)
        if start is not None:
            query = query.where(meetings.c.start_at >= start)
        if end is not None:
            query = query.where(meetings.c.start_at < end)
        return query

    def list(self, status: Optional[str] = None, agent: Optional[str] = None,
             now: Optional[float] = None) -> List[Meeting]:
        """Meetings by start time; an active meeting that has ended reads as `past` (nothing is written)."""
        now = time.time() if now is None else now
        query = self._filtered(select(meetings).order_by(meetings.c.start_at, meetings.c.id), now, status, agent)
        with self.engine.connect() as connection:
            return [_meeting(row, now) for row in connection.execute(query).all()]

    def page(self, status: Optional[str] = None, agent: Optional[str] = None, dialogue: Optional[str] = None,
             start: Optional[int] = None, end: Optional[int] = None, limit: int = 50, offset: int = 0,
             newest_first: bool = True, now: Optional[float] = None) -> Tuple[int, List[Meeting]]:
        """One page of meetings matching the filters, and how many match in all (the console's table)."""
        now = time.time() if now is None else now
        order = (meetings.c.start_at.desc(), meetings.c.id.desc()) if newest_first else (meetings.c.start_at, meetings.c.id)
        rows = self._filtered(select(meetings).order_by(*order).limit(limit).offset(offset),
                              now, status, agent, dialogue, start, end)
        total = self._filtered(select(func.count()).select_from(meetings), now, status, agent, dialogue, start, end)
        with self.engine.connect() as connection:
            return int(connection.execute(total).scalar_one()), [_meeting(row, now) for row in connection.execute(rows)]

    def recent_history(self, limit: int = 50) -> List[Tuple[float, str, str, str]]:
        """The latest status changes of all meetings (at, meeting id, status, why): the routing reason log."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(meeting_history).order_by(meeting_history.c.id.desc()).limit(limit)).all()
        return [(row.at, row.meeting_id, row.status, row.note) for row in rows]

    def history(self, meeting_id: str) -> List[Tuple[float, str, str]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(meeting_history).where(meeting_history.c.meeting_id == meeting_id)
                                      .order_by(meeting_history.c.id)).all()
        return [(row.at, row.status, row.note) for row in rows]

    def counts(self) -> Dict[str, int]:
        """Active and past meetings per agent (for `dynchat routing show`)."""
        result: Dict[str, int] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(select(meetings.c.agent_email).where(
                    meetings.c.status.in_(ACTIVE + (MeetingStatus.PAST.value,)))).all():
                result[row.agent_email] = result.get(row.agent_email, 0) + 1
        return result

    # --- writing ------------------------------------------------------------------
    def _set_status(self, connection: Connection, meeting_id: str, status: str, note: str, now: float) -> None:
        connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(status=status, updated_at=now))
        connection.execute(insert(meeting_history).values(meeting_id=meeting_id, at=now, status=status, note=note))

    @staticmethod
    def _held(connection: Connection, conversation: str, dialogue: Optional[str], now: float,
              email: Optional[str] = None) -> List[Any]:
        """A visitor's active, future meetings of a dialogue: booked in this conversation, or (for a visitor who
        proved who they are) for their email."""
        holder = meetings.c.conversation == conversation
        if email:
            holder = holder | (meetings.c.lead_email == email)
        return connection.execute(select(meetings).where(and_(
            meetings.c.status.in_(ACTIVE), meetings.c.end_at > now, meetings.c.dialogue == dialogue, holder))
            .order_by(meetings.c.start_at)).all()

    def held(self, conversation: str, dialogue: Optional[str], now: Optional[float] = None) -> List[Meeting]:
        """The active, future meetings this conversation booked in this dialogue."""
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            return [_meeting(row) for row in self._held(connection, conversation, dialogue, now)]

    def book(self, agents: Sequence[Agent], request: BookingRequest, rules: Sequence[Rule] = (),
             accounts: Optional[Mapping[str, str]] = None, external_busy: Optional[Mapping[str, List[Interval]]] = None,
             now: Optional[float] = None, per_visitor: int = 0, by_email: bool = False) -> BookingResult:
        """Choose an agent free at that time and record the meeting, atomically.

        With `per_visitor`, a visitor who already holds that many active meetings of the dialogue gets none
        more (`existing` says which they hold): checked under the lock, so replayed requests cannot race past it.
        """
        now = time.time() if now is None else now
        start, end = request.start_at, request.start_at + request.duration_minutes * 60
        with self.engine.begin() as connection:
            self._lock(connection)
            if per_visitor and request.conversation:
                held = self._held(connection, request.conversation, request.dialogue, now,
                                  request.lead_email if by_email else None)
                if len(held) >= per_visitor:
                    return BookingResult(None, Choice(None, "the visitor already has a meeting of this dialogue"),
                                         existing=_meeting(held[0]))
            free = self._free_check(connection, agents, start, end, now, external_busy)
            choice = choose(agents, free, self.states(connection), request.facts, request.routing, rules, accounts)
            if choice.agent is None:
                return BookingResult(None, choice)
            agent = choice.agent
            meeting = Meeting(str(uuid.uuid4()), agent.email, request.lead_email, start, end, BOOKED, agent.calendar,
                              choice.reason, choice.pool, lead_id=request.lead_id, conversation=request.conversation,
                              dialogue=request.dialogue)
            try:
                with connection.begin_nested():
                    connection.execute(insert(meetings).values(
                        id=meeting.id, agent_email=meeting.agent_email, lead_email=meeting.lead_email,
                        lead_id=meeting.lead_id, start_at=start, end_at=end, status=BOOKED,
                        calendar=meeting.calendar, reason=meeting.reason, pool=meeting.pool,
                        conversation=meeting.conversation, dialogue=meeting.dialogue, created_at=now, updated_at=now))
            except IntegrityError:
                # only possible if the lock were bypassed; refuse rather than double-book
                return BookingResult(None, Choice(None, f"{agent.email} was booked at that time meanwhile"))
            connection.execute(insert(meeting_history).values(meeting_id=meeting.id, at=now, status=BOOKED,
                                                              note=choice.reason))
            if choice.pool and choice.state is not None:
                self._save_state(connection, choice.pool, choice.state)
            if request.conversation:  # booked in the chat: counted on its dialogue's dashboard with the booking
                counted = event_for("meeting", {"dialogue": request.dialogue, "meeting": meeting.id},
                                    request.conversation, "", now, request.lead_id)
                analytics.record(connection, [counted] if counted else [])
        return BookingResult(meeting, choice)

    def reschedule(self, meeting_id: str, agent: Agent, start: int, now: Optional[float] = None,
                   external_busy: Sequence[Interval] = ()) -> Optional[Meeting]:
        """Move a meeting to a new time with the same agent, if they are free then (status rescheduled)."""
        now = time.time() if now is None else now
        with self.engine.begin() as connection:
            self._lock(connection)
            row = connection.execute(select(meetings).where(meetings.c.id == meeting_id)).first()
            if row is None or row.status not in ACTIVE:
                return None
            end = start + (row.end_at - row.start_at)
            free = self._free_check(connection, [agent], start, end, now, {agent.email: list(external_busy)},
                                    ignore=meeting_id)
            if free(agent) is not None:
                return None
            connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(
                start_at=start, end_at=end, status=MeetingStatus.RESCHEDULED.value, updated_at=now))
            connection.execute(insert(meeting_history).values(
                meeting_id=meeting_id, at=now, status=MeetingStatus.RESCHEDULED.value,
                note=f"moved from {datetime.datetime.fromtimestamp(row.start_at, datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"))
        return self.get(meeting_id)

    def reassign(self, meeting_id: str, agents: Sequence[Agent], to: Optional[str] = None,
                 external_busy: Optional[Mapping[str, List[Interval]]] = None,
                 now: Optional[float] = None) -> Tuple[Optional[Meeting], Choice]:
        """Give a meeting to another agent free at its time (named, or the rotation's next).

        The previous agent gets the rotation credit back; the new one is
        counted like any assignment.
        """
        now = time.time() if now is None else now
        with self.engine.begin() as connection:
            self._lock(connection)
            row = connection.execute(select(meetings).where(meetings.c.id == meeting_id)).first()
            if row is None or row.status not in ACTIVE:
                return None, Choice(None, "no such active meeting")
            others = [a for a in agents if a.email != row.agent_email]
            free = self._free_check(connection, others, row.start_at, row.end_at, now, external_busy)
            states = self.states(connection)
            choice = choose(others, free, states, {}, {"agent": to} if to else "round_robin")
            if choice.agent is None:
                return None, choice
            connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(
                agent_email=choice.agent.email, calendar=choice.agent.calendar, reason=choice.reason,
                pool=choice.pool or row.pool, event_id=None, join_url=None, updated_at=now))
            connection.execute(insert(meeting_history).values(
                meeting_id=meeting_id, at=now, status=row.status,
                note=f"reassigned from {row.agent_email} to {choice.agent.email}: {choice.reason}"))
            if row.pool:
                state = choice.state if choice.pool == row.pool and choice.state else states.get(row.pool, PoolState())
                self._save_state(connection, row.pool, credit_back(state, row.agent_email))
            if choice.pool and choice.pool != row.pool and choice.state is not None:
                self._save_state(connection, choice.pool, choice.state)
        return self.get(meeting_id), choice

    def attach_event(self, meeting_id: str, event_id: Optional[str], join_url: Optional[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(
                event_id=event_id, join_url=join_url, updated_at=time.time()))

    def fail(self, meeting_id: str, why: str) -> None:
        """The calendar refused the event: the meeting failed and its agent gets the rotation credit back."""
        self._end(meeting_id, MeetingStatus.FAILED.value, why)

    def cancel(self, meeting_id: str, why: str = "cancelled") -> Optional[Meeting]:
        return self._end(meeting_id, MeetingStatus.CANCELLED.value, why)

    def _end(self, meeting_id: str, status: str, why: str) -> Optional[Meeting]:
        now = time.time()
        with self.engine.begin() as connection:
            self._lock(connection)
            row = connection.execute(select(meetings).where(meetings.c.id == meeting_id)).first()
            if row is None or row.status not in ACTIVE:
                return _meeting(row) if row else None
            self._set_status(connection, meeting_id, status, why, now)
            if row.pool:
                state = self.states(connection).get(row.pool, PoolState())
                self._save_state(connection, row.pool, credit_back(state, row.agent_email))
        return self.get(meeting_id)

