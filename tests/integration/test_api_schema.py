"""schemathesis against `/api/openapi.json` with a logged-in admin: no 500, every answer as documented.

Each operation gets generated calls (valid and invalid parameters and
bodies); every answer must have a documented status code, content type and
a body that matches its schema. Logging out is left out (it would end the
session the other calls use); the login route is covered by the API tests.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.console import Web, running_web

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schemathesis.serializer("image/png", "image/jpeg", "image/gif", "image/webp")
def raw_bytes(_context, value) -> bytes:
    """An uploaded avatar is the file's bytes as they are (schemathesis generates them as binary strings)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    yield from running_web(Path(tmp_path_factory.mktemp("schema")))


@pytest.fixture(scope="module")
def admin(web: Web) -> requests.Session:
    return web.login("admin")


@pytest.fixture(scope="module")
def credentials(admin: requests.Session) -> dict:
    """The admin's cookie and CSRF token as headers: each generated call carries them, none can change them."""
    return {"Cookie": f"dc_console={admin.cookies['dc_console']}", "X-CSRF-Token": admin.headers["X-CSRF-Token"]}


@pytest.fixture(scope="module")
def api_schema(web: Web):
    return schemathesis.openapi.from_url(web.base + "/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/session", method=["POST", "DELETE"])


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case, web: Web, credentials: dict) -> None:
    case.call_and_validate(base_url=web.base, headers=credentials, checks=CHECKS)


def test_the_session_outlived_the_generated_calls(web: Web, admin: requests.Session) -> None:
    """The calls above ran logged in (not as 401s), and nothing they sent broke the session."""
    assert admin.get(web.base + "/api/session").status_code == 200
