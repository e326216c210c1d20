"""Shared test helpers: paths to fixtures and the project."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # Rasa would otherwise report crashes to Sentry
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


POSTGRES_SERVER = os.environ.get("DYNCHAT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture
def postgres_url() -> str:
    """A fresh PostgreSQL database for one test; skipped without a server, except in CI."""
    import uuid

    import sqlalchemy

    admin = sqlalchemy.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)
    name = f"dynchat_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_SERVER} ({exc.orig})"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """The visitor store's two back ends: the embedded default and the scale-out one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")
