"""What the tests share: paths, the interpreter, CI detection and the fixture files' expectations.

Tests by kind: `tests/unit` (pure, in-process), `tests/integration` (real
PostgreSQL, emulators, the CLI), `tests/e2e` (a trained model behind real
servers); helpers live here, in `tests/support`.
"""
from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PYTHON = sys.executable
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # Rasa would otherwise report crashes to Sentry


def expected_diagnostics(path: Path, **substitutions: str) -> List[str]:
    """The `# expect: line:col: message` lines a fixture file carries."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^# expect: (.*)$", line)
        if match:
            text = match.group(1)
            for name, value in substitutions.items():
                text = text.replace("{" + name + "}", value)
            lines.append(f"{path}:{text}")
    return lines


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, port: int) -> None:
    """Skip without a service this machine should run (Redis, RabbitMQ); in CI its absence is a failure."""
    import pytest

    with socket.socket() as probe:
        probe.settimeout(2)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            message = f"{name} is not reachable on 127.0.0.1:{port}"
            if in_ci():
                pytest.fail(message)
            pytest.skip(message)
