"""The Integrations tab's API against the Marketo emulator: what is configured (never the secret), a connection
test, a sync started from the console, and the outbox's refused messages queued again."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.support import FIXTURES
from tests.support.console import Web, running_web
from tests.support.marketo import Emulator, start_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    server = start_emulator(seed=FIXTURES / "marketo" / "known_leads.csv")
    server.faults(job_seconds=0.2)  # export jobs finish in 0.2 s instead of minutes
    yield server
    server.stop()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> Iterator[Web]:
    yield from running_web(Path(tmp_path_factory.mktemp("integrations")), {
        "MARKETO_BASE_URL": emulator.base_url, "MARKETO_CLIENT_ID": emulator.client_id,
        "MARKETO_CLIENT_SECRET": emulator.client_secret, "MARKETO_SYNC_POLL_SECONDS": "0.2",
        "MARKETO_SYNC_SINCE": "2025-12-25"})


def test_marketo_is_shown_without_its_secret_and_the_connection_tested(web: Web, emulator: Emulator) -> None:
    admin = web.login("admin")
    shown = admin.get(web.base + "/api/integrations/marketo")
    assert shown.json()["configured"] is True and shown.json()["host"] == "127.0.0.1"
    assert emulator.client_secret not in shown.text and shown.json()["client_id"] == "…ient"
    assert admin.post(web.base + "/api/integrations/marketo/test").json()["ok"] is True
    emulator.faults(calls=[{"code": "603"}])  # Marketo: access denied
    failed = admin.post(web.base + "/api/integrations/marketo/test").json()
    assert failed["ok"] is False and failed["message"].startswith("Marketo answered 603")
    assert web.login("designer").post(web.base + "/api/integrations/marketo/test").status_code == 403


def test_a_sync_started_in_the_console_loads_the_leads_with_progress(web: Web) -> None:
    admin = web.login("admin")
    started = admin.post(web.base + "/api/integrations/marketo/sync")
    assert started.status_code == 202 and started.json()["state"] == "running"
    assert admin.post(web.base + "/api/integrations/marketo/sync").status_code in (409, 202)
    deadline = time.monotonic() + 120
    while True:
        runs = admin.get(web.base + "/api/integrations/marketo").json()["runs"]
        if runs[0]["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert runs[0]["state"] == "done" and runs[0]["records"] > 0, runs[0]
    assert web.services.visitors.by_email("sam@devco.test") is not None


def test_refused_messages_are_listed_and_queued_again(web: Web) -> None:
    box = web.services.outbox
    box.add("activity", {"kind": "triggered", "leadId": 1})
    [message] = box.claim(10, kinds=["activity"])
    box.refused(message, "1004")
    admin = web.login("admin")
    outbox = admin.get(web.base + "/api/integrations/marketo").json()["outbox"]
    assert outbox["refused"] >= 1 and outbox["refused_messages"][0] == {
        **outbox["refused_messages"][0], "kind": "activity", "error": "1004"}
    assert "leadId" not in str(outbox["refused_messages"])  # what the message carries is not shown
    assert admin.post(web.base + "/api/integrations/outbox/retry", json={"ids": [message.id]}).json() == {"queued": 1}
    assert admin.post(web.base + "/api/integrations/outbox/retry", json={"ids": "all"}).status_code == 400
