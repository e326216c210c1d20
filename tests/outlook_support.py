"""The Graph emulator on loopback over TLS, with a CA and certificate made at test time."""
from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

from tests.conftest import PYTHON, ROOT
from tests.e2e_support import free_port


def make_certificates(folder: Path) -> Dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dynchat test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


@dataclass
class GraphEmulator:
    process: subprocess.Popen
    port: int
    ca: Path
    client_id: str = "emulator-app"
    client_secret: str = "emulator-secret"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _call(self, path: str, body: Any = None) -> Dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=str(self.ca))
        with urllib.request.urlopen(request, timeout=10, context=context) as reply:
            return json.loads(reply.read())

    def faults(self, **switches: Any) -> None:
        self._call("/_emulator/faults", switches)

    def stats(self) -> Dict[str, Any]:
        return self._call("/_emulator/stats")

    def stop(self) -> None:
        self.process.terminate()  # sanic waits for kept-alive TLS connections; do not wait long
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_graph(folder: Path) -> GraphEmulator:
    paths = make_certificates(folder)
    port = free_port()
    process = subprocess.Popen([PYTHON, "-m", "bot.calendars.outlook_emulator", "--port", str(port),
                                "--cert", str(paths["cert"]), "--key", str(paths["key"])], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emulator = GraphEmulator(process, port, paths["ca"])
    deadline = time.monotonic() + 30
    while True:
        try:
            emulator._call("/_emulator/health")
            return emulator
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the Graph emulator did not start")
            time.sleep(0.1)
