"""The Google Calendar emulator on loopback and a service-account key made at test time."""
from __future__ import annotations

from typing import Dict, Sequence

from tests.support.e2e import free_port
from tests.support.servers import LoopbackServer, start_server


def registered_service_account(google: LoopbackServer, users: Sequence[str]) -> Dict[str, str]:
    """A new service-account key that the emulator knows, as Google knows a project's keys, and the Workspace
    directory's users (who may be impersonated; the calendars that exist)."""
    from cryptography.hazmat.primitives import serialization

    info = service_account_info(f"{google.base_url}/token")
    public = serialization.load_pem_private_key(info["private_key"].encode(), None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    google.faults(service_accounts=[{"client_email": info["client_email"], "private_key_id": info["private_key_id"],
                                     "public_key": public}], users=list(users))
    return info


def start_google() -> LoopbackServer:
    return start_server("bot.emulators.google", free_port(), [])


def service_account_info(token_uri: str) -> Dict[str, str]:
    """A service-account key like Google's JSON, with a fresh RSA key (never a committed secret)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "dynchat-test", "private_key_id": "test-key",
            "private_key": pem, "client_email": "dynchat@dynchat-test.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": token_uri}
