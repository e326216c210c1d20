"""The Marketo emulator driven by the community's client (marketorestpython, pointed at the emulator's base URL)
and by Marketo's documented request shapes: what our production client uses and the documented errors (issue 12).

https://developers.marketo.com/rest-api/ (authentication, error codes, leads, bulk extract); each case failed against
the emulator before it was made faithful.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
import requests
from marketorestpython.client import MarketoClient as CommunityClient
from marketorestpython.helper.exceptions import MarketoException

from bot.marketo.client import MarketoClient, MarketoConfig
from tests.support import FIXTURES
from tests.support.marketo import start_emulator


@pytest.fixture
def emulator() -> Iterator[Any]:
    running = start_emulator(FIXTURES / "marketo" / "known_leads.csv")
    running.faults(job_seconds=0.2)
    yield running
    running.stop()


def community(emulator) -> CommunityClient:
    client = CommunityClient("123-ABC-456", emulator.client_id, emulator.client_secret, max_retry_time=5)
    client.host = emulator.base_url  # the client builds https://<munchkin>.mktorest.com; here, the emulator
    return client


def test_tokens_by_get_or_post_and_a_call_without_one_is_600(emulator) -> None:
    params = {"grant_type": "client_credentials", "client_id": emulator.client_id,
              "client_secret": emulator.client_secret}
    by_get = requests.get(f"{emulator.base_url}/identity/oauth/token", params=params, timeout=10)
    by_post = requests.post(f"{emulator.base_url}/identity/oauth/token", data=params, timeout=10)
    assert by_get.status_code == by_post.status_code == 200 and by_post.json()["access_token"]
    bare = requests.get(f"{emulator.base_url}/rest/v1/leads.json", params={"filterType": "email",
                                                                            "filterValues": "sam@devco.test"}, timeout=10)
    assert bare.json()["errors"][0]["code"] == "600"  # "Access token missing"


def test_lead_by_id_email_and_cookie(emulator) -> None:
    client = community(emulator)
    assert client.get_lead_by_id(501, fields=["email", "firstName"]) == [
        {"id": 501, "email": "sam@devco.test", "firstName": "Sam"}]
    assert client.get_lead_by_id(999_999, fields=["email"]) == []
    by_email = client.get_multiple_leads_by_filter_type("email", "sam@devco.test", fields=["company"])
    by_cookie = client.get_multiple_leads_by_filter_type("cookies", "id:100-AAA-002&token:_mch-shop.test-2",
                                                         fields=["email"])
    assert by_email == [{"id": 501, "company": "DevCo"}] and by_cookie == [{"id": 502, "email": "rita@shop.test"}]
    with pytest.raises(MarketoException) as unknown:
        client.get_lead_by_id(501, fields=["favouriteColour"])
    assert unknown.value.code == "1006"


def test_create_or_update_skips_a_record_with_a_field_the_instance_lacks(emulator) -> None:
    results = community(emulator).create_update_leads(
        [{"email": "new@x.test", "firstName": "New"}, {"email": "other@x.test", "favouriteColour": "blue"}],
        action="createOrUpdate", lookupField="email")
    assert results[0]["status"] == "created"
    assert results[1]["status"] == "skipped" and results[1]["reasons"][0]["code"] == "1006"
    assert community(emulator).get_multiple_leads_by_filter_type("email", "other@x.test", fields=["email"]) == []
    # and our production client reports it per record, never as stored
    ours = MarketoClient(MarketoConfig(base_url=emulator.base_url, client_id=emulator.client_id,
                                       client_secret=emulator.client_secret))
    again = ours.create_or_update([{"email": "third@x.test", "favouriteColour": "red"}])
    assert not again[0].ok and again[0].errors[0][0] == "1006"


def test_update_only_by_id_and_cookie_association(emulator) -> None:
    client = community(emulator)
    updated = client.create_update_leads([{"id": 502, "firstName": "Rita M."}], action="updateOnly", lookupField="id")
    assert updated == [{"id": 502, "status": "updated"}]
    missing = client.create_update_leads([{"id": 4242, "firstName": "Nobody"}], action="updateOnly", lookupField="id")
    assert missing[0]["status"] == "skipped" and missing[0]["reasons"][0]["code"] == "1004"
    client.associate_lead(501, "id:200-BBB-001&token:_mch-devco.test-7")
    assert client.get_multiple_leads_by_filter_type("cookies", "id:200-BBB-001&token:_mch-devco.test-7",
                                                    fields=["email"])[0]["id"] == 501


def test_the_bulk_extract_lifecycle_with_list_and_cancel(emulator) -> None:
    client = community(emulator)
    window = {"updatedAt": {"startAt": "2026-10-15T00:00:00Z", "endAt": "2026-11-14T00:00:00Z"}}  # 31 days at most
    kept = client.create_leads_export_job(fields=["id", "email"], filters=window)[0]
    dropped = client.create_leads_export_job(fields=["id", "email"], filters=window)[0]
    client.enqueue_leads_export_job(kept["exportId"])
    client.enqueue_leads_export_job(dropped["exportId"])
    assert client.cancel_leads_export_job(dropped["exportId"])[0]["status"] == "Cancelled"
    for _ in range(100):
        if client.get_leads_export_job_status(kept["exportId"])[0]["status"] == "Completed":
            break
        time.sleep(0.05)
    listed = {job["exportId"]: job["status"] for job in client.get_leads_export_jobs_list()}
    assert listed == {kept["exportId"]: "Completed", dropped["exportId"]: "Cancelled"}
    content = client.get_leads_export_job_file(kept["exportId"]).decode()
    assert content.splitlines()[0] == "id,email" and "501,sam@devco.test" in content


def test_lead_changes_through_paging_tokens(emulator) -> None:
    client = community(emulator)
    token = client.get_paging_token(sinceDatetime="2020-01-01T00:00:00Z")
    client.create_update_leads([{"email": "paged@x.test", "firstName": "Paged"}], action="createOrUpdate",
                               lookupField="email")
    changes = client.get_lead_activities(activityTypeIds=["12", "13"], nextPageToken=token)  # as our sync reads them
    assert [change["activityTypeId"] for change in changes] == [12]


def test_custom_activities_and_token_errors_in_marketo_s_codes(emulator) -> None:
    client = community(emulator)
    added = client.add_custom_activities([
        {"leadId": 501, "activityDate": "2026-11-25T10:00:00Z", "activityTypeId": 100001,
         "primaryAttributeValue": "pricing", "attributes": []},
        {"leadId": 4242, "activityDate": "2026-11-25T10:00:00Z", "activityTypeId": 100001,
         "primaryAttributeValue": "pricing", "attributes": []}])
    assert [record["status"] for record in added] == ["added", "skipped"]
    assert added[1]["reasons"][0]["code"] == "1004"
    lookup = {"filterType": "email", "filterValues": "sam@devco.test"}
    stranger = requests.get(f"{emulator.base_url}/rest/v1/leads.json", params=lookup, timeout=10,
                            headers={"Authorization": "Bearer not-a-token"})
    assert stranger.json()["errors"][0]["code"] == "601"  # "Access token invalid"
    token = client.token
    emulator.faults(expire_tokens=True)
    expired = requests.get(f"{emulator.base_url}/rest/v1/leads.json", params=lookup, timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert expired.json()["errors"][0]["code"] == "602"  # "Access token expired": get a new one
