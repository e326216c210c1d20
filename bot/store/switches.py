"""Switches the console flips and the chat obeys at once: paused dialogues and the chat's on/off switch.

Read on every visit's start (one small query each, no cache: a pause takes
effect for the next visitor, on every replica, without a retrain).
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, TypeVar

from sqlalchemy import select

from bot.store.database import Database, insert_for
from bot.store.schema import console_settings, dialogue_states

CHAT_ENABLED = "chat_enabled"
BLOCKED_EMAIL_DOMAINS = "blocked_email_domains"
ALLOWED_DOMAINS = "allowed_domains"
T = TypeVar("T")


class Switches:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def paused(self) -> FrozenSet[str]:
        with self.engine.connect() as connection:
            return frozenset(row.dialogue for row in connection.execute(
                select(dialogue_states.c.dialogue).where(dialogue_states.c.paused.is_(True))))

    def set_paused(self, dialogue: str, paused: bool, by: Optional[str] = None) -> None:
        with self.engine.begin() as connection:
            statement = insert_for(connection, dialogue_states).values(
                dialogue=dialogue, paused=paused, changed_at=time.time(), changed_by=by)
            connection.execute(statement.on_conflict_do_update(
                index_elements=["dialogue"], set_={"paused": paused, "changed_at": statement.excluded.changed_at,
                                                   "changed_by": by}))

    def setting(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as connection:
            row = connection.execute(select(console_settings.c.value).where(console_settings.c.key == key)).first()
        return json.loads(row.value) if row else default

    def set_setting(self, key: str, value: Any, by: Optional[str] = None) -> None:
        with self.engine.begin() as connection:
            statement = insert_for(connection, console_settings).values(
                key=key, value=json.dumps(value), changed_at=time.time(), changed_by=by)
            connection.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={"value": statement.excluded.value,
                                              "changed_at": statement.excluded.changed_at, "changed_by": by}))

    def chat_enabled(self) -> bool:
        return bool(self.setting(CHAT_ENABLED, True))

    def blocked_email_domains(self) -> List[str]:
        """Domains whose email addresses a capture refuses (free mail, competitors), lower-case."""
        return [str(d) for d in self.setting(BLOCKED_EMAIL_DOMAINS, []) or []]

    def allowed_domains(self) -> List[str]:
        """Sites that may embed the widget ("example.com" also allows its subdomains); empty: any site."""
        return [str(d) for d in self.setting(ALLOWED_DOMAINS, []) or []]

    def offered(self, dialogues: Mapping[str, T]) -> Dict[str, T]:
        """The dialogues a new visit may be shown: none while the chat is off, never a paused one."""
        if not self.chat_enabled():
            return {}
        paused = self.paused()
        return {name: dialogue for name, dialogue in dialogues.items() if name not in paused}
