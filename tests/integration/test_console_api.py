"""The console's API as a browser or a script uses it, against the real web process: login, roles, CSRF,
dialogues, meetings, routing, analytics, requests for a person; bad input is a 4xx, never a 500."""
from __future__ import annotations

import csv
import datetime
import io
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from bot.core.meetings import BookingRequest
from tests.support.console import PASSWORDS, Web, running_web, user

TODAY = datetime.datetime.now(datetime.timezone.utc).date().isoformat()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    yield from running_web(tmp_path_factory.mktemp("console"))


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(web: Web) -> None:
    wrong = requests.post(web.base + "/api/session", json={"email": user("admin"), "password": "nope nope nope"})
    unknown = requests.post(web.base + "/api/session", json={"email": "nobody@corp.test", "password": "nope nope nope"})
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert wrong.json() == unknown.json() == {"error": "wrong email or password"}
    assert "dc_console" not in wrong.cookies


def test_guessing_is_slowed_down_after_five_failures(web: Web) -> None:
    web.services.accounts.add_user("guessed@corp.test", "the right password", "viewer")
    for _ in range(5):
        assert requests.post(web.base + "/api/session", json={"email": "guessed@corp.test", "password": "x" * 10}).status_code == 401
    blocked = requests.post(web.base + "/api/session", json={"email": "guessed@corp.test", "password": "the right password"})
    assert blocked.status_code == 429 and "wait" in blocked.json()["error"]


def test_the_session_cookie_is_http_only_and_same_site_strict(web: Web) -> None:
    answer = requests.post(web.base + "/api/session", json={"email": user("viewer"), "password": PASSWORDS["viewer"]})
    cookie = answer.headers["Set-Cookie"]
    assert answer.status_code == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind TLS (or DYNCHAT_SECURE_COOKIES) it is set


def test_every_route_but_login_needs_a_session(web: Web) -> None:
    document = requests.get(web.base + "/api/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "security" not in operation:
                continue
            concrete = path.replace("{", "x").replace("}", "")
            answer = requests.request(method.upper(), web.base + concrete, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)


def test_a_change_without_the_csrf_token_or_from_another_site_is_refused(web: Web) -> None:
    client = web.login("admin")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post(web.base + "/api/dialogues/shop/pause").status_code == 403
    assert client.post(web.base + "/api/dialogues/shop/pause", headers={"X-CSRF-Token": "forged"}).status_code == 403
    other_site = client.post(web.base + "/api/dialogues/shop/pause",
                             headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert "shop" not in web.services.switches.paused()


def test_a_viewer_reads_but_may_not_change_anything(web: Web) -> None:
    viewer = web.login("viewer")
    assert viewer.get(web.base + "/api/dialogues").status_code == 200
    refused = viewer.post(web.base + "/api/dialogues/shop/pause")
    assert refused.status_code == 403 and refused.json() == {"error": "a viewer may not do this"}
    assert viewer.put(web.base + "/api/chat", json={"enabled": False}).status_code == 403
    designer = web.login("designer")
    assert designer.post(web.base + "/api/requests/x/done").status_code == 403  # people's requests are the admin's


def test_logging_out_ends_the_session(web: Web) -> None:
    client = web.login("viewer")
    assert client.delete(web.base + "/api/session").json() == {"ok": True}
    assert client.get(web.base + "/api/session").status_code == 401


def test_dialogues_are_listed_and_a_problem_is_shown_at_its_line(web: Web) -> None:
    client = web.login("designer")
    listed = client.get(web.base + "/api/dialogues").json()
    rows = {row["id"]: row for row in listed["dialogues"]}
    assert set(rows) == {"general", "members", "shop", "svensk"} and listed["chat_enabled"] is True
    assert rows["shop"]["status"] == "published" and rows["shop"]["priority"] == 5
    detail = client.get(web.base + "/api/dialogues/shop").json()
    assert detail["source"].startswith("dialogue: shop") and detail["graph"].startswith("<svg")
    broken = detail["source"].replace("capture: email", "capture: nowhere")
    line = broken.splitlines().index("    capture: nowhere") + 1
    checked = client.post(web.base + "/api/dialogues/validate", json={"source": broken, "file": "shop.yml"}).json()
    assert checked["valid"] is False and [p["line"] for p in checked["problems"]] == [line]
    assert checked["problems"][0]["message"] == "'capture' must be one of: email, phone, text"
    refused = client.put(web.base + "/api/dialogues/shop", json={"source": broken})
    assert refused.status_code == 409 and "nowhere" not in (Path(web.env["DYNCHAT_DIALOGUES"]) / "shop.yml").read_text()


def test_a_saved_dialogue_is_a_draft_until_published(web: Web) -> None:
    client = web.login("designer")
    source = client.get(web.base + "/api/dialogues/members").json()["source"]
    time.sleep(0.01)
    saved = client.put(web.base + "/api/dialogues/members", json={"source": source + "\n# edited\n"})
    assert saved.status_code == 200 and saved.json() == {"valid": True, "id": "members", "problems": []}
    assert (Path(web.env["DYNCHAT_DIALOGUES"]) / "members.yml").read_text().endswith("# edited\n")
    rows = {row["id"]: row for row in client.get(web.base + "/api/dialogues").json()["dialogues"]}
    assert rows["members"]["status"] == "draft"


def test_pausing_a_dialogue_takes_it_out_of_new_visits_at_once(web: Web) -> None:
    client = web.login("designer")
    assert "svensk" in web.services.switches.offered(web.services.catalog.current())
    assert client.post(web.base + "/api/dialogues/svensk/pause").json() == {"id": "svensk", "paused": True}
    assert "svensk" not in web.services.switches.offered(web.services.catalog.current())
    rows = {row["id"]: row for row in client.get(web.base + "/api/dialogues").json()["dialogues"]}
    assert rows["svensk"]["status"] == "paused"
    client.post(web.base + "/api/dialogues/svensk/resume")
    assert "svensk" in web.services.switches.offered(web.services.catalog.current())
    assert client.post(web.base + "/api/dialogues/no_such/pause").status_code == 404
    assert client.put(web.base + "/api/chat", json={"enabled": False}).json() == {"enabled": False}
    assert web.services.switches.offered(web.services.catalog.current()) == {}
    client.put(web.base + "/api/chat", json={"enabled": True})


def test_meetings_are_listed_exported_and_cancelled_with_the_rotation_credited(web: Web) -> None:
    start = int(time.time()) // 3600 * 3600 + 7 * 86400
    agents = web.services.routing.current().agents  # the fixture's always-free agents, as the web process has them
    booked = web.services.meetings.book(list(agents), BookingRequest(start, 30, "visitor@x.test", conversation="c-1",
                                                                     dialogue="shop"))
    assert booked.meeting is not None
    admin = web.login("admin")
    page = admin.get(web.base + "/api/meetings", params={"status": "booked", "dialogue": "shop"}).json()
    assert page["total"] >= 1 and page["meetings"][0]["id"] == booked.meeting.id
    exported = list(csv.reader(io.StringIO(admin.get(web.base + "/api/meetings.csv").text)))
    assert exported[0][:4] == ["id", "start_utc", "end_utc", "agent"] and any(booked.meeting.id in row for row in exported)
    assert web.login("viewer").post(web.base + f"/api/meetings/{booked.meeting.id}/cancel").status_code == 403
    cancelled = admin.post(web.base + f"/api/meetings/{booked.meeting.id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert admin.post(web.base + f"/api/meetings/{booked.meeting.id}/cancel").status_code == 409
    routing = admin.get(web.base + "/api/routing").json()
    pool = next(p for p in routing["pools"] if p["pool"] == "all")
    assert pool["credits"] == {booked.meeting.agent_email: 1}
    assert routing["recent"][0] == {**routing["recent"][0], "meeting": booked.meeting.id, "status": "cancelled"}


def test_analytics_answer_exactly_what_was_recorded(web: Web) -> None:
    for visitor, happened in {"a1": [("triggered", {"dialogue": "shop"}), ("engaged", {"dialogue": "shop"})],
                              "a2": [("triggered", {"dialogue": "shop"})]}.items():
        web.services.activity.record(happened, visitor, "m1", None)
    client = web.login("viewer")
    report = client.get(web.base + "/api/analytics", params={"from": TODAY, "to": TODAY, "dialogue": "shop"}).json()
    assert (report["total"]["triggered"], report["total"]["engaged"], report["total"]["engagement_rate"]) == (2, 1, 0.5)
    table = list(csv.reader(io.StringIO(client.get(web.base + "/api/analytics.csv", params={"from": TODAY, "to": TODAY}).text)))
    assert table[0][:3] == ["scope", "name", "triggered"] and table[-1][0] == "total"
    chart = client.get(web.base + "/api/analytics/chart.svg")
    assert chart.headers["Content-Type"].startswith("image/svg+xml") and chart.text.startswith("<svg")


def test_requests_for_a_person_are_listed_and_handled(web: Web) -> None:
    with web.services.database.engine.begin() as connection:
        web.services.person_requests.add(connection, "k-1", "c-9", "shop", "/pricing", None, None,
                                         [{"from": "visitor", "text": "<script>alert(1)</script>", "at": 1.0}])
    admin = web.login("admin")
    assert admin.get(web.base + "/api/badges").json()["requests"] >= 1
    listed = admin.get(web.base + "/api/requests", params={"status": "open"}).json()
    request = next(r for r in listed["requests"] if r["conversation"] == "c-9")
    assert request["transcript"][0]["text"] == "<script>alert(1)</script>"  # data, shown as text by the console
    done = admin.post(web.base + f"/api/requests/{request['id']}/done").json()
    assert done["status"] == "done" and done["handled_by"] == user("admin")


@pytest.mark.parametrize("payload", [b"[]", b'"text"', b"{", b"\xff\xfe", b"null", b'{"email": 5, "password": []}'])
def test_malformed_bodies_are_400_with_a_json_error(web: Web, payload: bytes) -> None:
    answer = requests.post(web.base + "/api/session", data=payload, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "error" in answer.json()
    client = web.login("designer")
    answer = client.post(web.base + "/api/dialogues/validate", data=payload, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "error" in answer.json()


def test_bad_query_values_are_400_and_unknown_paths_404_in_json(web: Web) -> None:
    client = web.login("viewer")
    for path, params in [("/api/meetings", {"limit": "x"}), ("/api/meetings", {"status": "nope"}),
                         ("/api/analytics", {"from": "2026-13-40"}), ("/api/analytics", {"from": "2026-12-02", "to": "2026-01-01"}),
                         ("/api/conversations", {"before": "nan"})]:
        answer = client.get(web.base + path, params=params)
        assert answer.status_code == 400 and "error" in answer.json(), (path, params)
    missing = client.get(web.base + "/api/no/such/thing")
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}


def test_a_malformed_cookie_header_is_no_session_not_an_error(web: Web) -> None:
    answer = requests.get(web.base + "/api/session", headers={"Cookie": "*=1; dc_console; ;=;"})
    assert answer.status_code == 401 and answer.json() == {"error": "log in first"}


def test_the_widget_look_is_checked_then_written_for_the_next_page_load(web: Web) -> None:
    designer = web.login("designer")
    shown = designer.get(web.base + "/api/configuration").json()
    assert shown["snippet"].endswith('/widget.js" async></script>') and shown["appearance"]["bot_name"] == "Dyna"
    wrong = designer.put(web.base + "/api/configuration/appearance",
                         json={**shown["appearance"], "primary_color": "red", "position": "top"})
    assert wrong.status_code == 400 and "primary_color" in wrong.json()["error"] and "position" in wrong.json()["error"]
    changed = designer.put(web.base + "/api/configuration/appearance", json={**shown["appearance"], "bot_name": "Ada"})
    assert changed.status_code == 200 and changed.json()["appearance"]["bot_name"] == "Ada"
    assert "bot_name: Ada" in Path(web.env["DYNCHAT_WIDGET"]).read_text()
    assert web.services.appearance.current().bot_name == "Ada"  # what the Rasa server hands the widget
    assert web.login("viewer").put(web.base + "/api/configuration/appearance", json={"bot_name": "X"}).status_code == 403


def test_domains_are_cleaned_and_a_wrong_one_is_refused(web: Web) -> None:
    designer = web.login("designer")
    saved = designer.put(web.base + "/api/configuration/domains",
                         json={"blocked_email_domains": ["Gmail.com", "@hotmail.com", "gmail.com"], "allowed_domains": []})
    assert saved.json()["blocked_email_domains"] == ["gmail.com", "hotmail.com"]
    assert web.services.switches.blocked_email_domains() == ["gmail.com", "hotmail.com"]
    wrong = designer.put(web.base + "/api/configuration/domains", json={"allowed_domains": ["not a domain", "<b>"]})
    assert wrong.status_code == 400 and "not a domain" in wrong.json()["error"]
    designer.put(web.base + "/api/configuration/domains", json={"blocked_email_domains": []})


def test_the_preview_is_the_real_widget_with_unsaved_settings_and_no_script_injection(web: Web) -> None:
    client = web.login("viewer")
    settings = '{"bot_name": "</script><script>alert(1)</script>", "primary_color": "#00aa00"}'
    page = client.get(web.base + "/console/preview", params={"settings": settings})
    assert page.status_code == 200 and "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>alert(1)" not in page.text and "\\u003c/script>" in page.text
    assert '"primary_color": "#00aa00"' in page.text


def test_the_agents_are_shown_checked_and_saved_as_the_file_is(web: Web) -> None:
    admin = web.login("admin")
    shown = admin.get(web.base + "/api/calendar").json()
    assert [a["email"] for a in shown["agents"]] == ["alex@agents.test", "sam@agents.test"] and shown["meetings_on"]
    assert shown["agents"][0]["hours"]["mon"] == ["00:00-24:00"] and shown["agents"][0]["calendar"] == "local"
    broken = shown["source"].replace("timezone: UTC", "timezone: Mars/Olympus", 1)
    line = broken.splitlines().index("    timezone: Mars/Olympus") + 1
    checked = admin.post(web.base + "/api/calendar/validate", json={"source": broken}).json()
    assert checked["valid"] is False and checked["problems"][0]["line"] == line
    assert admin.put(web.base + "/api/calendar", json={"source": broken}).status_code == 409
    assert web.services.routing.current() is not None  # the running bot keeps its agents
    renamed = shown["source"].replace("Alex Always", "Alex Ever")
    assert admin.put(web.base + "/api/calendar", json={"source": renamed}).json()["valid"] is True
    assert web.services.routing.current().agents[0].name == "Alex Ever"
    assert admin.post(web.base + "/api/calendar/agents/alex@agents.test/test").json()["ok"] is True
    assert admin.post(web.base + "/api/calendar/agents/nobody@agents.test/test").status_code == 404
    assert web.login("designer").put(web.base + "/api/calendar", json={"source": renamed}).status_code == 403


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201ac5e2b5a0000000049454e44ae426082")


def test_an_avatar_upload_is_checked_by_type_and_size_and_served_for_the_widget(web: Web) -> None:
    designer = web.login("designer")
    url = web.base + "/api/configuration/avatar"
    assert designer.post(url, data=b"GIF89a...", headers={"Content-Type": "image/png"}).status_code == 400  # not a PNG
    assert designer.post(url, data=b"<svg onload=alert(1)>", headers={"Content-Type": "image/svg+xml"}).status_code == 415
    assert designer.post(url, data=PNG + b"\0" * 300_000, headers={"Content-Type": "image/png"}).status_code == 413
    uploaded = designer.post(url, data=PNG, headers={"Content-Type": "image/png"})
    assert uploaded.status_code == 200 and uploaded.json()["avatar"].startswith("/widget/avatar/")
    served = requests.get(web.base + uploaded.json()["avatar"])
    assert served.content == PNG and served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    look = designer.get(web.base + "/api/configuration").json()["appearance"]
    saved = designer.put(web.base + "/api/configuration/appearance", json={**look, "avatar": uploaded.json()["avatar"]})
    assert saved.status_code == 200
    assert requests.get(web.base + "/widget/avatar/..%2f..%2fetc%2fpasswd").status_code == 404
    assert web.login("viewer").post(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 403


def test_a_draft_is_previewed_without_saving_and_a_broken_one_says_why(web: Web) -> None:
    viewer = web.login("viewer")  # reading: any role may preview
    source = (Path(web.env["DYNCHAT_DIALOGUES"]) / "shop.yml").read_text().replace("welcome to the shop", "welcome aboard")
    opening = viewer.post(web.base + "/api/dialogues/preview", json={"source": source}).json()
    assert opening["messages"][0]["text"] == "Hello stranger, welcome aboard."
    answered = viewer.post(web.base + "/api/dialogues/preview",
                           json={"source": source, "state": opening["state"], "answer": 0}).json()
    assert answered["messages"][0]["text"] == "Which email should the quote go to?"
    broken = viewer.post(web.base + "/api/dialogues/preview", json={"source": "dialogue: x\ncards: 5\n"})
    assert broken.status_code == 400 and broken.json()["error"].startswith("fix the problems first")
    assert "welcome aboard" not in (Path(web.env["DYNCHAT_DIALOGUES"]) / "shop.yml").read_text()
