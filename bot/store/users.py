"""The console's users and sessions, as stored; hashing and checking passwords is the accounts service's."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, List, Optional

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.schema import sessions, users


@dataclass(frozen=True)
class User:
    email: str
    name: str
    role: str
    active: bool
    created_at: float

    def as_json(self) -> dict:
        return {"email": self.email, "name": self.name, "role": self.role, "active": self.active}


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: float


def _user(row: Any) -> User:
    return User(row.email, row.name, row.role, bool(row.active), row.created_at)


class UserStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def add(self, email: str, name: str, role: str, password_hash: str) -> bool:
        """False when a user with this email exists."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(users).values(email=email.lower(), name=name, role=role,
                                                        password_hash=password_hash, created_at=time.time(),
                                                        active=True))
        except IntegrityError:
            return False
        return True

    def password_hash(self, email: str) -> Optional[str]:
        """The stored hash of an active user, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(users.c.password_hash).where(
                users.c.email == email.lower(), users.c.active.is_(True))).first()
        return row.password_hash if row else None

    def set_password(self, email: str, password_hash: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(update(users).where(users.c.email == email.lower())
                                         .values(password_hash=password_hash)).rowcount
            connection.execute(delete(sessions).where(sessions.c.email == email.lower()))  # everywhere logged out
        return bool(changed)

    def get(self, email: str) -> Optional[User]:
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.email == email.lower())).first()
        return _user(row) if row else None

    def list(self) -> List[User]:
        with self.engine.connect() as connection:
            return [_user(row) for row in connection.execute(select(users).order_by(users.c.email))]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(users)).scalar_one())

    # --- sessions ------------------------------------------------------------------
    def open_session(self, token_hash: str, email: str, csrf: str, expires_at: float) -> None:
        now = time.time()
        with self.engine.begin() as connection:
            connection.execute(delete(sessions).where(sessions.c.expires_at < now))  # keep the table small
            connection.execute(insert(sessions).values(token_hash=token_hash, email=email.lower(), csrf=csrf,
                                                       created_at=now, expires_at=expires_at))

    def session(self, token_hash: str, now: Optional[float] = None) -> Optional[Session]:
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            row = connection.execute(
                select(sessions.c.csrf, sessions.c.expires_at, users).join(users, users.c.email == sessions.c.email)
                .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now, users.c.active.is_(True))
            ).first()
        return Session(_user(row), row.csrf, row.expires_at) if row else None

    def close_session(self, token_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(sessions).where(sessions.c.token_hash == token_hash))
