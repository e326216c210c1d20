"""A known visitor: the lead behind a cookie or an email."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional


@dataclass(frozen=True)
class Visitor:
    """A known lead: Marketo id, email and contract fields (`person.*`, `company.*`)."""

    lead_id: int
    email: Optional[str]
    attributes: Mapping[str, Any]
    updated_at: Optional[str] = None
