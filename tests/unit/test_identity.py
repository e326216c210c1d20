"""Signed identities and server-issued conversation ids (bot.core.identity)."""
from __future__ import annotations

import hashlib
import hmac

from bot.core import identity

SECRET = "site-secret"


def test_the_signature_is_hmac_sha256_of_the_email_as_sent() -> None:
    expected = hmac.new(b"site-secret", b"Ann@Corp.test", hashlib.sha256).hexdigest()
    assert identity.signature(SECRET, "Ann@Corp.test") == expected  # what a site's backend computes (README)


def test_only_a_rightly_signed_email_is_kept() -> None:
    page = {"url": "https://x.test/", "email": "ann@corp.test"}
    assert identity.proven_identity(page, SECRET) == {"url": "https://x.test/"}  # unsigned: nobody
    signed = {**page, "signature": identity.signature(SECRET, "ann@corp.test")}
    assert identity.proven_identity(signed, SECRET) == page
    assert identity.proven_identity({**signed, "signature": signed["signature"].upper()}, SECRET) == page
    assert identity.proven_identity({**signed, "email": "bob@corp.test"}, SECRET) == {"url": "https://x.test/"}
    assert identity.proven_identity(signed, "another-site") == {"url": "https://x.test/"}
    assert identity.proven_identity(signed, None) == {"url": "https://x.test/"}  # no secret: no email trusted
    assert identity.proven_identity({**signed, "signature": 5}, SECRET) == {"url": "https://x.test/"}


def test_conversation_ids_are_the_servers_and_unguessable() -> None:
    key = identity.conversation_key("token")
    issued = {identity.new_conversation_id(key) for _ in range(1000)}
    assert len(issued) == 1000 and all(identity.is_conversation_id(key, value) for value in issued)
    one = next(iter(issued))
    assert not identity.is_conversation_id(identity.conversation_key("other token"), one)
    assert not identity.is_conversation_id(key, one[:32] + "0" * 32)
    assert not identity.is_conversation_id(key, one[:-1] + ("0" if one[-1] != "0" else "1"))
    for junk in (None, 5, "", "default", one.upper(), one + "0", ["x"]):
        assert not identity.is_conversation_id(key, junk)
