"""Visitor records: bulk upserts (fast paths for SQLite and PostgreSQL) and lookups.

Lookups are what a visit start waits for, so they are single indexed
queries; bulk upserts are what an import or sync spends its time in, so they
go straight to the driver's executemany / execute_values.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from sqlalchemy import select

from bot.core.visitors import Visitor
from bot.store.database import Database
from bot.store.schema import cookies, sync_state, visitors

Row = Tuple[int, Optional[str], str, Optional[str]]  # lead_id, email, attributes JSON, updated_at


def normal_email(email: Optional[str]) -> Optional[str]:
    email = (email or "").strip().lower()
    return email or None


class VisitorStore:
    """Read and write visitors in the store."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine
        self.dialect = database.dialect

    # --- writing ------------------------------------------------------------
    def upsert_rows(self, rows: Sequence[Row], state: Optional[Tuple[str, str]] = None) -> None:
        """Insert or replace visitors in one transaction (all or nothing).

        `state` (key, JSON) is saved to dc_sync_state in the same transaction,
        so a sync's progress and the rows it loaded can never disagree.
        """
        if not rows and state is None:
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if not rows:
                pass
            elif self.dialect == "postgresql":
                from psycopg2.extras import execute_values

                execute_values(cursor, (
                    "INSERT INTO dc_visitors (lead_id, email, attributes, updated_at) VALUES %s "
                    "ON CONFLICT (lead_id) DO UPDATE SET email = EXCLUDED.email, "
                    "attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at"), rows, page_size=2000)
            else:
                cursor.executemany(
                    "INSERT INTO dc_visitors (lead_id, email, attributes, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (lead_id) DO UPDATE SET email = excluded.email, "
                    "attributes = excluded.attributes, updated_at = excluded.updated_at", rows)
            if state is not None:
                marker = "%s" if self.dialect == "postgresql" else "?"
                cursor.execute(f"INSERT INTO dc_sync_state (key, value) VALUES ({marker}, {marker}) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", state)
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()

    def upsert(self, visitors_: Iterable[Visitor]) -> None:
        self.upsert_rows([(v.lead_id, normal_email(v.email), json.dumps(dict(v.attributes), ensure_ascii=False),
                           v.updated_at) for v in visitors_])

    def associate_cookie(self, cookie: str, lead_id: int, proven: bool = True) -> bool:
        """Remember that this Munchkin cookie belongs to this lead; True when it is now theirs.

        Proven (Marketo said so, or the site signed the visitor's identity on this browser), a later visit with
        the cookie is known as the lead. Unproven (an email typed in the chat), the cookie is only claimed: it
        identifies nobody, and a cookie already associated with anyone is never moved.
        """
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            statement = insert(cookies).values(cookie=cookie, lead_id=lead_id, proven=proven)
            if proven:
                statement = statement.on_conflict_do_update(index_elements=["cookie"],
                                                            set_={"lead_id": lead_id, "proven": True})
            else:
                statement = statement.on_conflict_do_nothing(index_elements=["cookie"])
            return connection.execute(statement).rowcount == 1

    # --- reading ------------------------------------------------------------
    @staticmethod
    def _visitor(row: Any) -> Visitor:
        return Visitor(int(row.lead_id), row.email, json.loads(row.attributes), row.updated_at)

    def by_lead_id(self, lead_id: int) -> Optional[Visitor]:
        with self.engine.connect() as connection:
            row = connection.execute(select(visitors).where(visitors.c.lead_id == lead_id)).first()
        return self._visitor(row) if row else None

    def by_email(self, email: str) -> Optional[Visitor]:
        """The most recently updated lead with this email (Marketo allows duplicates)."""
        wanted = normal_email(email)
        if not wanted:
            return None
        query = (select(visitors).where(visitors.c.email == wanted)
                 .order_by(visitors.c.updated_at.desc(), visitors.c.lead_id.desc()).limit(1))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return self._visitor(row) if row else None

    def by_cookie(self, cookie: str) -> Optional[Visitor]:
        """The lead this cookie proves (a cookie only claimed by a typed email proves nobody)."""
        return self.cookie_owner(cookie)[1]

    def cookie_owner(self, cookie: str) -> Tuple[bool, Optional[Visitor]]:
        """(is the cookie associated with any lead, the lead it proves), in one query."""
        query = (select(cookies.c.proven, visitors).select_from(cookies)
                 .outerjoin(visitors, cookies.c.lead_id == visitors.c.lead_id).where(cookies.c.cookie == cookie))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return False, None
        return True, (self._visitor(row) if row.proven and row.lead_id is not None else None)

    def load_state(self, key: str) -> Optional[Dict[str, Any]]:

        with self.engine.connect() as connection:
            value = connection.execute(select(sync_state.c.value).where(sync_state.c.key == key)).scalar()
        return json.loads(value) if value else None

    def save_state(self, key: str, value: Mapping[str, Any]) -> None:
        self.upsert_rows([], state=(key, json.dumps(value, sort_keys=True)))

    def count(self) -> int:
        from sqlalchemy import func

        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(visitors)).scalar_one())
