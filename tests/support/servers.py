"""Run one of our emulators as a real server on loopback for a test, and talk to its switches."""
from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from tests.support import PYTHON, ROOT


@dataclass
class LoopbackServer:
    process: subprocess.Popen
    port: int
    scheme: str = "http"
    ca: Optional[Path] = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _call(self, path: str, body: Any = None) -> Dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        with urllib.request.urlopen(request, timeout=10, context=context) as reply:
            return json.loads(reply.read())

    def faults(self, **switches: Any) -> None:
        self._call("/_emulator/faults", switches)

    def stats(self, query: str = "") -> Dict[str, Any]:
        return self._call("/_emulator/stats" + query)

    def stop(self) -> None:
        self.process.terminate()  # sanic waits for kept-alive connections: do not wait long
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(module: str, port: int, arguments: List[str], server_class=LoopbackServer, **fields: Any):
    """`python -m module --port PORT ...`, waited for until its /_emulator/health answers."""
    process = subprocess.Popen([PYTHON, "-m", module, "--port", str(port), *arguments], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = server_class(process, port, **fields)
    deadline = time.monotonic() + 30
    while True:
        try:
            server._call("/_emulator/health")
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{module} did not start") from None
            time.sleep(0.1)
