"""Who a visitor may claim to be, and which conversation is theirs: signatures checked in constant time.

A site vouches for its logged-in visitor as Intercom's identity verification
does: it sends the visitor's `email` with `signature` = hex HMAC-SHA256 of
that exact email under the site's identity secret (kept on the site's
server, never in a page). Unsigned or wrongly signed, the email identifies
nobody.

Conversation ids are issued by the server: 32 random hex digits followed by
32 of their HMAC under a key only the bot's processes know, so a client can
neither choose nor guess another visitor's conversation.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any, Dict, Mapping, Optional

CONVERSATION_ID = re.compile(r"^[0-9a-f]{64}$")


def signature(secret: str, email: str) -> str:
    """What a site sends beside a visitor's email: hex HMAC-SHA256 of the email as sent."""
    return hmac.new(secret.encode("utf-8"), email.encode("utf-8"), hashlib.sha256).hexdigest()


def proven_identity(metadata: Mapping[str, Any], secret: Optional[str]) -> Dict[str, Any]:
    """The visit metadata with `email` kept only when its signature is right; the signature itself dropped."""
    proven = {key: value for key, value in metadata.items() if key not in ("email", "signature")}
    email, sent = metadata.get("email"), metadata.get("signature")
    if secret and isinstance(email, str) and isinstance(sent, str) \
            and hmac.compare_digest(signature(secret, email), sent.strip().lower()):
        proven["email"] = email
    return proven


def conversation_key(internal_token: str) -> bytes:
    """The key conversation ids are signed with, derived from the token the bot's processes share."""
    return hmac.new(internal_token.encode("utf-8"), b"dynchat conversation ids", hashlib.sha256).digest()


def _mac(key: bytes, random_part: str) -> str:
    return hmac.new(key, random_part.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def new_conversation_id(key: bytes) -> str:
    random_part = secrets.token_hex(16)
    return random_part + _mac(key, random_part)


def is_conversation_id(key: bytes, value: Any) -> bool:
    """Was this id issued by the bot (with this key)?"""
    if not isinstance(value, str) or not CONVERSATION_ID.match(value):
        return False
    return hmac.compare_digest(_mac(key, value[:32]), value[32:])
