"""Who is this visitor? The local store first, Marketo when it is configured and the store does not know.

Used at a visit's start (Munchkin cookie, or the email the site passes) and
when a visitor types an email in the chat.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

from bot.core import naming
from bot.core.naming import field_slot
from bot.core.visitors import Visitor
from bot.marketo import leads
from bot.marketo.client import MarketoClient
from bot.store.visitors import VisitorStore


class Identifier:
    def __init__(self, store: VisitorStore, marketo: Optional[MarketoClient], field_map: Mapping[str, str]) -> None:
        self.store, self.marketo, self.field_map = store, marketo, field_map

    def identify(self, cookie: Optional[str] = None, email: Optional[str] = None) -> Optional[Visitor]:
        """The lead behind a cookie, else behind an email; None for an anonymous visitor.

        Marketo's answer is kept in the store, so each lead is asked for once.
        """
        if cookie:
            visitor = self.store.by_cookie(str(cookie))
            if visitor is not None:
                return visitor
        if email:
            visitor = self.store.by_email(str(email))
            if visitor is not None:
                return visitor
        if self.marketo is not None:
            for by_cookie, by_email in ((cookie, None), (None, email)):
                if by_cookie or by_email:
                    visitor = leads.fetch_visitor(self.marketo, self.store, by_cookie, by_email, self.field_map)
                    if visitor is not None:
                        return visitor
        return None

    def identify_visit(self, metadata: Mapping[str, Any]) -> Optional[Visitor]:
        return self.identify(cookie=metadata.get("mkto_trk"), email=metadata.get("email"))


def known_slots(visitor: Visitor, declared: Iterable[str]) -> Dict[str, Any]:
    """Slots for a known visitor: dc_known and each attribute the domain has a slot for."""
    declared = set(declared)
    slots: Dict[str, Any] = {naming.Slot.KNOWN: True, naming.Slot.LEAD_ID: visitor.lead_id}
    for name, value in visitor.attributes.items():
        if field_slot(name) in declared:
            slots[field_slot(name)] = value
    return slots
