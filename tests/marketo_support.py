"""Start the Marketo emulator as a real server on loopback for a test."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from tests.conftest import PYTHON, ROOT
from tests.e2e_support import free_port


@dataclass
class Emulator:
    process: subprocess.Popen
    port: int
    client_id: str = "emulator-client"
    client_secret: str = "emulator-secret"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def faults(self, **switches: Any) -> None:
        self._call("/_emulator/faults", switches)

    def stats(self, window: Optional[float] = None) -> Dict[str, Any]:
        return self._call("/_emulator/stats" + (f"?window={window}" if window else ""))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_emulator(seed: Optional[Path] = None, token_ttl: int = 3600) -> Emulator:
    port = free_port()
    command = [PYTHON, "-m", "bot.marketo.emulator", "--port", str(port), "--token-ttl", str(token_ttl)]
    if seed:
        command += ["--seed", str(seed)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emulator = Emulator(process, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            emulator._call("/_emulator/health")
            return emulator
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the Marketo emulator did not start")
            time.sleep(0.1)
