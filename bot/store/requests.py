"""Requests for a person: what the visitor asked, with the conversation so far, until someone handles it."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from bot.store.database import Database, insert_for
from bot.store.schema import human_requests

OPEN, DONE = "open", "done"


@dataclass(frozen=True)
class PersonRequest:
    id: str
    at: float
    conversation: str
    dialogue: str
    page: Optional[str]
    lead_id: Optional[int]
    email: Optional[str]
    transcript: List[Dict[str, Any]]
    status: str
    handled_by: Optional[str] = None
    handled_at: Optional[float] = None

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "at": self.at, "conversation": self.conversation, "dialogue": self.dialogue,
                "page": self.page, "lead_id": self.lead_id, "email": self.email, "transcript": self.transcript,
                "status": self.status, "handled_by": self.handled_by, "handled_at": self.handled_at}


def _request(row: Any) -> PersonRequest:
    return PersonRequest(row.id, row.at, row.conversation, row.dialogue, row.page, row.lead_id, row.email,
                         json.loads(row.transcript), row.status, row.handled_by, row.handled_at)


class PersonRequests:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def add(self, connection: Connection, key: str, conversation: str, dialogue: str, page: Optional[str],
            lead_id: Optional[int], email: Optional[str], transcript: List[Dict[str, Any]],
            now: Optional[float] = None) -> Optional[str]:
        """Record a request inside the caller's transaction; None when this key was recorded already."""
        request_id = str(uuid.uuid4())
        inserted = connection.execute(insert_for(connection, human_requests).values(
            id=request_id, key=key, at=time.time() if now is None else now, conversation=conversation,
            dialogue=dialogue, page=page, lead_id=lead_id, email=email,
            transcript=json.dumps(transcript, ensure_ascii=False), status=OPEN,
        ).on_conflict_do_nothing(index_elements=["key"]))
        return request_id if inserted.rowcount else None

    def list(self, status: Optional[str] = None, limit: int = 100, offset: int = 0) -> List[PersonRequest]:
        query = select(human_requests).order_by(human_requests.c.at.desc()).limit(limit).offset(offset)
        if status:
            query = query.where(human_requests.c.status == status)
        with self.engine.connect() as connection:
            return [_request(row) for row in connection.execute(query)]

    def get(self, request_id: str) -> Optional[PersonRequest]:
        with self.engine.connect() as connection:
            row = connection.execute(select(human_requests).where(human_requests.c.id == request_id)).first()
        return _request(row) if row else None

    def open_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(human_requests)
                                          .where(human_requests.c.status == OPEN)).scalar_one())

    def handle(self, request_id: str, by: str, now: Optional[float] = None) -> Optional[PersonRequest]:
        """Mark a request done (by whom, when); None when there is no such request."""
        with self.engine.begin() as connection:
            connection.execute(update(human_requests).where(human_requests.c.id == request_id).values(
                status=DONE, handled_by=by, handled_at=time.time() if now is None else now))
        return self.get(request_id)
