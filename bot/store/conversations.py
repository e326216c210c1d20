"""Conversations as Rasa's tracker store keeps them (its `events` table, in our database): read only.

The table is Rasa's (created by the Rasa server on first use); before any
conversation it does not exist and every answer here is empty.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import bindparam, inspect, text

from bot.store.database import Database

SHOWN_SLOTS = {"dc_dialogue": "dialogue", "page_url": "page", "dc_lead_id": "lead_id", "person_email": "email"}


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    started_at: float
    last_at: float
    messages: int          # what the visitor sent
    dialogue: Optional[str]
    page: Optional[str]
    lead_id: Optional[int]
    email: Optional[str]

    @property
    def known(self) -> bool:
        return self.lead_id is not None

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at, "last_at": self.last_at, "messages": self.messages,
                "dialogue": self.dialogue, "page": self.page, "lead_id": self.lead_id, "email": self.email,
                "known": self.known}


class ConversationLog:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def _exists(self) -> bool:
        return bool(inspect(self.engine).has_table("events"))

    def recent(self, limit: int = 50, before: Optional[float] = None) -> List[ConversationSummary]:
        """The conversations with the latest activity first (`before`: older than that time, for paging)."""
        if not self._exists():
            return []
        having = "HAVING MAX(timestamp) < :before" if before is not None else ""
        query = text(f"SELECT sender_id, MIN(timestamp) AS first, MAX(timestamp) AS last, "
                     f"SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END) AS messages "
                     f"FROM events GROUP BY sender_id {having} ORDER BY last DESC LIMIT :limit")
        params: Dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        with self.engine.connect() as connection:
            rows = connection.execute(query, params).all()
            if not rows:
                return []
            slots = connection.execute(
                text("SELECT sender_id, data FROM events WHERE type_name = 'slot' AND sender_id IN :ids ORDER BY id")
                .bindparams(bindparam("ids", expanding=True)), {"ids": [row.sender_id for row in rows]}).all()
        latest: Dict[str, Dict[str, Any]] = {}
        for row in slots:
            data = json.loads(row.data)
            if data.get("name") in SHOWN_SLOTS and data.get("value") is not None:
                latest.setdefault(row.sender_id, {})[SHOWN_SLOTS[data["name"]]] = data["value"]
        result = []
        for row in rows:
            seen = latest.get(row.sender_id, {})
            lead = seen.get("lead_id")
            result.append(ConversationSummary(
                row.sender_id, float(row.first), float(row.last), int(row.messages or 0),
                seen.get("dialogue"), seen.get("page"), int(lead) if isinstance(lead, (int, float)) else None,
                seen.get("email")))
        return result

    def events(self, conversation: str, limit: int = 5000) -> List[Dict[str, Any]]:
        """A conversation's events as Rasa serialised them, oldest first (empty for an unknown id)."""
        if not self._exists():
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :id ORDER BY id LIMIT :limit"),
                                      {"id": conversation, "limit": limit}).all()
        return [json.loads(row.data) for row in rows]
