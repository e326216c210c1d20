"""Marketo lead records <-> visitors of the local store, and the client's configuration."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional

from bot.core.visitors import Visitor
from bot.marketo.client import MarketoClient, MarketoConfig, MarketoError
from bot.marketo.fields import contract_field
from bot.store.visitors import VisitorStore

logger = logging.getLogger(__name__)


def config_from(variables: Mapping[str, str]) -> Optional[MarketoConfig]:
    """MARKETO_BASE_URL, MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET turn the integration on."""
    if not all(variables.get(k) for k in ("MARKETO_BASE_URL", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")):
        return None
    return MarketoConfig(
        base_url=variables["MARKETO_BASE_URL"], client_id=variables["MARKETO_CLIENT_ID"],
        client_secret=variables["MARKETO_CLIENT_SECRET"], identity_url=variables.get("MARKETO_IDENTITY_URL"),
        calls_per_window=int(variables.get("MARKETO_CALLS_PER_20S", 50)),
        max_concurrent=int(variables.get("MARKETO_CONCURRENCY", 5)),
        daily_limit=int(variables.get("MARKETO_DAILY_LIMIT", 50_000)),
    )


def lookup_fields(mapping: Mapping[str, str]) -> List[str]:
    return sorted(set(mapping) | {"email", "updatedAt"})


def visitor_from_lead(lead: Mapping[str, Any], mapping: Mapping[str, str]) -> Visitor:
    attributes = {contract_field(name, mapping): value for name, value in lead.items()
                  if name not in ("id", "updatedAt", "createdAt") and value not in (None, "", "null")}
    return Visitor(int(lead["id"]), lead.get("email"), attributes, lead.get("updatedAt"))


def fetch_visitor(client: MarketoClient, store: VisitorStore, cookie: Optional[str], email: Optional[str],
                  mapping: Mapping[str, str]) -> Optional[Visitor]:
    """Ask Marketo for the lead behind a cookie or email; keep what it says in the store.

    A Marketo failure leaves the visitor anonymous (logged without personal
    data): the conversation goes on either way.
    """
    filter_type, value = ("cookies", cookie) if cookie else ("email", email)
    if not value:
        return None
    try:
        leads = client.leads_by(filter_type, [str(value)], lookup_fields(mapping))
    except MarketoError as exc:
        logger.warning("Marketo lookup by %s failed (%s); treating the visitor as anonymous", filter_type, exc.code)
        return None
    if not leads:
        return None
    visitor = visitor_from_lead(leads[0], mapping)
    store.upsert([visitor])
    if cookie:
        store.associate_cookie(str(cookie), visitor.lead_id)
    return visitor


def marketo_record(attributes: Mapping[str, Any], mapping: Mapping[str, str]) -> Dict[str, Any]:
    """Contract fields -> a Marketo lead record, for the fields the field map names.

    Marketo refuses a whole record with a field it does not have (1006), so
    fields without a mapping stay in the chat until the map names them.
    """
    inverse = {field: name for name, field in mapping.items()}
    return {inverse[field]: value for field, value in attributes.items()
            if field in inverse and value not in (None, "")}
