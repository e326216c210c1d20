"""Shared test helpers: paths to fixtures and the project."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PYTHON = sys.executable


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


@pytest.fixture
def project_env(tmp_path: Path) -> dict:
    """Environment for a subprocess that works on a copy-free project with its own build."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["DYNCHAT_PROJECT"] = str(ROOT)
    env["DYNCHAT_BUILD"] = str(tmp_path / "build")
    env["DYNCHAT_MODELS"] = str(tmp_path / "models")
    return env
