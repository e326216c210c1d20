"""The Google Calendar emulator on loopback and a service-account key made at test time."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict

from tests.conftest import PYTHON, ROOT
from tests.e2e_support import free_port


@dataclass
class GoogleEmulator:
    process: subprocess.Popen
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, path: str, body: Any = None) -> Dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def faults(self, **switches: Any) -> None:
        self._call("/_emulator/faults", switches)

    def stats(self) -> Dict[str, Any]:
        return self._call("/_emulator/stats")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_google() -> GoogleEmulator:
    port = free_port()
    process = subprocess.Popen([PYTHON, "-m", "bot.calendars.google_emulator", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emulator = GoogleEmulator(process, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            emulator._call("/_emulator/health")
            return emulator
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the Google Calendar emulator did not start")
            time.sleep(0.1)


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
