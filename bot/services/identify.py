"""Who is this visitor? The local store first, Marketo when it is configured and the store does not know.

Used at a visit's start (Munchkin cookie, or the email the site signed) and
when a visitor types an email in the chat (which finds the lead, to write
its activities, but proves nothing: see `Conversations`).
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
        """The lead behind an email, else the lead a cookie proves; None for an anonymous visitor.

        A cookie the store knows only as claimed (an email typed in the chat) proves nobody, and Marketo is not
        asked about it (it heard of the claim). Marketo's answers are kept in the store: each lead is asked once.
        """
        claimed, by_cookie = self.store.cookie_owner(str(cookie)) if cookie else (False, None)
        if email:
            visitor = self.store.by_email(str(email))
            if visitor is not None:
                return visitor
        if by_cookie is not None:
            return by_cookie
        if self.marketo is not None:
            for ask_cookie, ask_email in ((None, email), (None if claimed else cookie, None)):
                if ask_cookie or ask_email:
                    visitor = leads.fetch_visitor(self.marketo, self.store, ask_cookie, ask_email, self.field_map)
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
