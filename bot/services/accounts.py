"""Console accounts: Argon2id passwords, sessions with a CSRF token each, and a brake on guessing.

A session's token lives only in the visitor's cookie; the database keeps its
SHA-256, so a copy of the table logs nobody in. A wrong email costs as much
time as a wrong password (a dummy hash is checked), so answers do not tell
which emails have accounts. After `MAX_FAILURES` wrong passwords for an
email (`MAX_CLIENT_FAILURES` from an address) within `WINDOW` seconds,
logins there wait until the window has passed.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.core.roles import ROLES
from bot.store.users import Session, User, UserStore

SESSION_SECONDS = 12 * 3600
MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
WINDOW = 900.0
MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class AccountError(ValueError):
    """A user's mistake, said plainly (shown as is)."""


@dataclass(frozen=True)
class LoggedIn:
    token: str       # for the cookie only
    session: Session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    def __init__(self, store: UserStore, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self.hasher = PasswordHasher()  # Argon2id with argon2-cffi's (RFC 9106 low-memory) parameters
        self._dummy = self.hasher.hash(secrets.token_hex(16))
        self._failures: Dict[str, Deque[float]] = {}
        self._lock = threading.Lock()

    # --- users -----------------------------------------------------------------------
    def add_user(self, email: str, password: str, role: str, name: str = "") -> User:
        email = email.strip().lower()
        if not _EMAIL.match(email):
            raise AccountError("an email address such as ann@example.com is needed")
        if role not in ROLES:
            raise AccountError(f"the role is one of {', '.join(ROLES)}")
        check_password(password)
        if not self.store.add(email, name.strip() or email.split("@")[0], role, self.hasher.hash(password)):
            raise AccountError(f"{email} has an account already")
        user = self.store.get(email)
        assert user is not None
        return user

    def set_password(self, email: str, password: str) -> None:
        check_password(password)
        if not self.store.set_password(email, self.hasher.hash(password)):
            raise AccountError(f"{email} has no account")

    # --- sessions ----------------------------------------------------------------------
    def _throttled(self, *keys: str) -> bool:
        now = self.clock()
        with self._lock:
            for key in keys:
                recent = self._failures.get(key)
                while recent and recent[0] < now - WINDOW:
                    recent.popleft()
                limit = MAX_CLIENT_FAILURES if key.startswith("client:") else MAX_FAILURES
                if recent is not None and len(recent) >= limit:
                    return True
        return False

    def _failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(self.clock())

    def login(self, email: str, password: str, client: str) -> LoggedIn:
        """A new session, or AccountError saying what to do (never which part was wrong)."""
        email = str(email or "").strip().lower()[:320]
        keys = (f"email:{email}", f"client:{client}")
        if self._throttled(*keys):
            raise AccountError("too many failed logins: wait 15 minutes and try again")
        stored = self.store.password_hash(email) if email else None
        try:
            self.hasher.verify(stored or self._dummy, str(password or "")[:1024])
            if stored is None:
                raise VerifyMismatchError()
        except (VerificationError, InvalidHashError):
            self._failed(*keys)
            raise AccountError("wrong email or password") from None
        if self.hasher.check_needs_rehash(stored):
            self.store.set_password(email, self.hasher.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = self.clock() + SESSION_SECONDS
        self.store.open_session(token_hash(token), email, csrf, expires)
        session = self.store.session(token_hash(token), now=self.clock())
        assert session is not None
        return LoggedIn(token, session)

    def session(self, token: Optional[str]) -> Optional[Session]:
        if not token or len(token) > 200:
            return None
        return self.store.session(token_hash(token), now=self.clock())

    def logout(self, token: Optional[str]) -> None:
        if token:
            self.store.close_session(token_hash(token))


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("a password has at most 1024 characters")


def new_password() -> str:
    """A password for a first admin: 20 characters from a URL-safe alphabet."""
    return secrets.token_urlsafe(15)
