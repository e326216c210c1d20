"""Who is this visitor? The local store first (Marketo lookups join when configured).

Used at a visit's start (Munchkin cookie, or the email the site passes) and
when a visitor types an email in the chat.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Iterable, Mapping, Optional

from bot.config import settings
from bot.dialogues.naming import field_slot
from bot.store.visitors import Visitor, VisitorStore


@functools.lru_cache(maxsize=4)
def store_for(url: str) -> VisitorStore:
    return VisitorStore(url)


def default_store() -> VisitorStore:
    return store_for(settings().database_url)


def identify(store: VisitorStore, cookie: Optional[str] = None, email: Optional[str] = None,
             use_marketo: bool = True) -> Optional[Visitor]:
    """The lead behind a cookie, else behind an email; None for an anonymous visitor.

    The local store answers first; Marketo is asked (and the answer kept in
    the store) only when it is configured and the store does not know.
    """
    if cookie:
        visitor = store.by_cookie(str(cookie))
        if visitor is not None:
            return visitor
    if email:
        visitor = store.by_email(str(email))
        if visitor is not None:
            return visitor
    if use_marketo and (cookie or email):
        from bot.marketo import leads

        client = leads.configured_client()
        if client is not None:
            for by_cookie, by_email in ((cookie, None), (None, email)):
                if by_cookie or by_email:
                    visitor = leads.fetch_visitor(client, store, by_cookie, by_email, leads.field_map())
                    if visitor is not None:
                        return visitor
    return None


def identify_visit(store: VisitorStore, metadata: Mapping[str, Any]) -> Optional[Visitor]:
    return identify(store, cookie=metadata.get("mkto_trk"), email=metadata.get("email"))


def known_slots(visitor: Visitor, declared: Iterable[str]) -> Dict[str, Any]:
    """Slots for a known visitor: dc_known and each attribute the domain has a slot for."""
    declared = set(declared)
    slots: Dict[str, Any] = {"dc_known": True, "dc_lead_id": visitor.lead_id}
    for field, value in visitor.attributes.items():
        if field_slot(field) in declared:
            slots[field_slot(field)] = value
    return slots
