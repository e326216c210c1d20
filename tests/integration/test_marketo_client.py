"""The Marketo client against the emulator: tokens, limits measured at the server, retries, records."""
from __future__ import annotations

import threading
import time

import pytest

from bot.marketo.client import DailyQuotaExhausted, MarketoClient, MarketoConfig, MarketoError
from tests.support import FIXTURES
from tests.support.marketo import start_emulator

FIELDS = ["email", "firstName", "company", "industry"]


@pytest.fixture
def emulator():
    running = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    yield running
    running.stop()


def client_for(emulator, **overrides) -> MarketoClient:
    settings = dict(base_url=emulator.base_url, client_id=emulator.client_id, client_secret=emulator.client_secret,
                    backoff_base=0.01, backoff_cap=0.05)
    settings.update(overrides)
    return MarketoClient(MarketoConfig(**settings))


def test_lookups_reuse_one_token_sent_as_a_header(emulator) -> None:
    client = client_for(emulator)
    assert client.leads_by("email", ["SAM@devco.test"], FIELDS) == [
        {"id": 501, "email": "sam@devco.test", "firstName": "Sam", "company": "DevCo", "industry": "Software"}]
    assert client.leads_by("cookies", ["id:100-AAA-002&token:_mch-shop.test-2"], ["company"]) == [
        {"id": 502, "company": "ShopCo"}]
    assert client.leads_by("email", ["nobody@x.test"], FIELDS) == []
    assert emulator.stats()["token_requests"] == 1


def test_an_expired_token_is_refreshed_once_and_the_call_retried(emulator) -> None:
    client = client_for(emulator)
    client.leads_by("email", ["sam@devco.test"], FIELDS)
    emulator.faults(expire_tokens=True)
    assert client.leads_by("email", ["sam@devco.test"], FIELDS)[0]["id"] == 501
    stats = emulator.stats()
    assert stats["token_requests"] == 2 and stats["errors"] == {"602": 1}


def test_the_client_never_exceeds_its_budget_measured_at_the_emulator(emulator) -> None:
    client = client_for(emulator, calls_per_window=8, window_seconds=1.0, max_concurrent=3)
    emulator.faults(calls=[{"delay": 0.05}] * 40)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [client.leads_by("email", ["sam@devco.test"], FIELDS)
                                                for _ in range(5)]) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = emulator.stats(window=1.0)
    assert stats["calls"] == 30
    assert stats["busiest_window_calls"] <= 8
    assert stats["max_in_flight"] <= 3
    assert "606" not in stats["errors"] and "615" not in stats["errors"]
    assert time.monotonic() - started >= 3.0  # 30 calls at 8 per second


def test_rate_concurrency_and_server_errors_are_retried(emulator) -> None:
    client = client_for(emulator)
    emulator.faults(calls=[{"status": 503}, {"code": "606"}, {"code": "615"}, {"code": "713"}])
    assert client.leads_by("email", ["sam@devco.test"], FIELDS)[0]["id"] == 501
    assert emulator.stats()["errors"] == {"606": 1, "615": 1, "713": 1}


def test_errors_that_retrying_cannot_fix_are_raised(emulator) -> None:
    client = client_for(emulator, max_attempts=3)
    emulator.faults(calls=[{"code": "611"}] * 3)
    with pytest.raises(MarketoError) as failure:
        client.leads_by("email", ["sam@devco.test"], FIELDS)
    assert failure.value.code == "611"
    with pytest.raises(MarketoError) as unknown_field:
        client.leads_by("email", ["sam@devco.test"], ["noSuchField"])
    assert unknown_field.value.code == "1006"


def test_the_daily_quota_stops_calls(emulator) -> None:
    client = client_for(emulator, daily_limit=3)
    for _ in range(3):
        client.leads_by("email", ["sam@devco.test"], FIELDS)
    calls = emulator.stats()["calls"]
    with pytest.raises(DailyQuotaExhausted):
        client.leads_by("email", ["sam@devco.test"], FIELDS)
    assert emulator.stats()["calls"] == calls  # refused here, not sent
    same_process = MarketoClient(client.config, limits=client.limits)  # the composition root hands its limits on
    with pytest.raises(DailyQuotaExhausted):
        same_process.leads_by("email", ["sam@devco.test"], FIELDS)
    assert emulator.stats()["calls"] == calls  # one budget per instance and API user in a process
    emulator.faults(calls=[{"code": "607"}])
    other = MarketoClient(MarketoConfig(base_url=emulator.base_url + "/", client_id=emulator.client_id,
                                        client_secret=emulator.client_secret))
    with pytest.raises(DailyQuotaExhausted) as exhausted:
        other.leads_by("email", ["sam@devco.test"], FIELDS)
    assert exhausted.value.code == "607"


def test_long_lookups_go_as_post_with_method_get(emulator) -> None:
    client = client_for(emulator)
    emails = [f"someone.with.a.rather.long.address{n}@example-company-domain.test" for n in range(299)]
    found = client.leads_by("email", emails + ["sam@devco.test"], ["email"])
    assert found == [{"id": 501, "email": "sam@devco.test"}]
    assert emulator.stats()["requests"].get("POST /rest/v1/leads.json?_method=GET") == 1


def test_record_level_errors_are_reported_per_record(emulator) -> None:
    client = client_for(emulator)
    results = client.create_or_update([{"email": "new@x.test", "firstName": "New"}, {"firstName": "No email"},
                                       {"email": "sam@devco.test", "title": "CTO"}])
    assert [r.status for r in results] == ["created", "skipped", "updated"]
    assert results[1].errors == (("1003", "Invalid value"),) and not results[1].ok
    assert results[2].id == 501 and results[0].ok
    added = client.add_activities([
        {"leadId": 501, "activityDate": "2026-11-25T10:00:00Z", "activityTypeId": 100001,
         "primaryAttributeValue": "pricing", "attributes": []},
        {"leadId": 42, "activityDate": "2026-11-25T10:00:00Z", "activityTypeId": 100001,
         "primaryAttributeValue": "pricing", "attributes": []}])
    assert [r.status for r in added] == ["added", "skipped"] and added[1].errors[0][0] == "1004"


def test_cookie_association(emulator) -> None:
    client = client_for(emulator)
    client.associate_cookie(501, "id:123-XYZ-456&token:_mch-acme.test-99")
    assert emulator.stats()["cookies"]["id:123-XYZ-456&token:_mch-acme.test-99"] == 501
    assert client.leads_by("cookies", ["id:123-XYZ-456&token:_mch-acme.test-99"], ["email"])[0]["id"] == 501
    with pytest.raises(MarketoError) as bad:
        client.associate_cookie(501, "not-a-cookie")
    assert bad.value.code == "1012"


def test_bad_credentials_are_a_clear_error(emulator) -> None:
    client = client_for(emulator, client_secret="wrong")
    with pytest.raises(MarketoError) as refused:
        client.leads_by("email", ["sam@devco.test"], FIELDS)
    assert refused.value.code == "http-401" and "Bad client credentials" in refused.value.message
    assert "wrong" not in str(refused.value)  # secrets never in messages
