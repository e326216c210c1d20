"""A Marketo REST API emulator for tests and demos: a real HTTP server on loopback.

It speaks the documented protocol: identity OAuth (client credentials, tokens
that live `token_ttl` seconds and are reused while valid), `Authorization:
Bearer` only, errors as HTTP 200 with `success: false` and Marketo's codes,
the rate limit (100 calls per 20 s -> 606), the concurrency limit (10 -> 615)
and the daily quota (-> 607), record-level errors, lead lookups by email or
cookie (GET, or POST with `_method=GET`), cookie association, createOrUpdate,
push and external activities. `/_emulator/*` (the shared control plane) injects
faults (codes, HTTP 5xx, slowness, expired tokens) and report what the server saw, so tests
can measure the client from the outside.

Run: python -m bot.emulators.marketo --port 8899 [--seed leads.csv]
"""
from __future__ import annotations

import argparse
import base64
import collections
import csv
import hashlib
import io
import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Mapping, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.emulators.control import ControlPlane

MAX_BATCH = 300
ERRORS = {
    "600": "Access token missing", "601": "Access token invalid", "602": "Access token expired", "603": "Access denied",
    "604": "Request timed out", "606": "Max rate limit '{limit}' exceeded with in '{window}' secs",
    "607": "Daily quota reached", "608": "API Temporarily Unavailable", "609": "Invalid JSON",
    "610": "Requested resource not found", "611": "System error", "615": "Concurrent access limit reached",
    "701": "{what} cannot be blank", "713": "Transient Error", "1003": "Invalid value",
    "1004": "Lead not found", "1005": "Lead already exists", "1006": "Field '{what}' not found",
    "1007": "Multiple leads match the lookup criteria", "1012": "Invalid cookie value '{what}'",
}
LEAD_FIELDS = ("email", "firstName", "lastName", "title", "phone", "mobilePhone", "company", "industry",
               "numberOfEmployees", "country", "state", "city", "annualRevenue", "website", "mainPhone",
               "billingCountry", "billingCity", "sicCode", "leadScore", "leadStatus", "createdAt", "updatedAt")


@dataclass
class State:
    client_id: str
    client_secret: str
    token_ttl: int = 3600
    rate_limit: int = 100
    rate_window: float = 20.0
    max_concurrent: int = 10
    daily_quota: int = 50000
    leads: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    cookies: Dict[str, int] = field(default_factory=dict)
    tokens: Dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    current_token: Optional[str] = None
    call_times: Deque[float] = field(default_factory=collections.deque)
    all_call_times: List[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    calls_today: int = 0
    token_requests: int = 0
    activities: List[Dict[str, Any]] = field(default_factory=list)
    errors_returned: collections.Counter = field(default_factory=collections.Counter)
    control: ControlPlane = field(default_factory=lambda: ControlPlane("marketo"))  # faults; calls by "POST /path"
    next_id: itertools.count = field(default_factory=lambda: itertools.count(1_000_000))
    jobs: Dict[str, "ExportJob"] = field(default_factory=dict)
    job_seconds: float = 1.0            # how long a job waits in the queue and how long it processes
    updated_at_filter: bool = True      # False: the subscription lacks it (1035)
    export_bytes_today: int = 0
    export_daily_bytes: int = 500 * 1024 * 1024
    drop_file_after: List[int] = field(default_factory=list)  # cut the next downloads after N bytes
    fail_next_jobs: int = 0
    max_processing: int = 0
    lead_changes: List[Dict[str, Any]] = field(default_factory=list)  # New Lead (12) / Change Data Value (13)
    custom_fields: set = field(default_factory=set)  # the instance's custom fields (the seed's columns)

    def known_field(self, name: str) -> bool:
        """A field of the instance's lead schema (describe.json): the standard ones and its custom ones."""
        return name == "id" or name in LEAD_FIELDS or name in self.custom_fields

    def emails(self, email: str) -> List[int]:
        wanted = email.strip().lower()
        return sorted(i for i, lead in self.leads.items() if str(lead.get("email", "")).lower() == wanted)


@dataclass
class ExportJob:
    """A bulk lead export job, moving Created -> Queued -> Processing -> Completed."""

    export_id: str
    fields: List[str]
    filter_name: str
    start_at: str
    end_at: str
    created_at: str
    status: str = "Created"
    queued_at: Optional[float] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    content: bytes = b""
    records: int = 0
    fail: bool = False


def _iso(moment: Optional[float]) -> Optional[str]:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment)) if moment else None


def _request_id() -> str:
    return f"{secrets.token_hex(2)}#{uuid.uuid4().hex[:11]}"


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def error(state: State, code: str, **details: Any) -> response.HTTPResponse:
    state.errors_returned[code] += 1
    message = ERRORS.get(code, "Error").format(limit=state.rate_limit, window=int(state.rate_window), **details)
    return response.json({"requestId": _request_id(), "success": False, "errors": [{"code": code, "message": message}]})


def ok(result: Any = None, **extra: Any) -> response.HTTPResponse:
    body: Dict[str, Any] = {"requestId": _request_id(), "success": True}
    if result is not None:
        body["result"] = result
    body.update(extra)
    return response.json(body)


def create_app(state: State) -> Sanic:
    app = Sanic(f"marketo_emulator_{uuid.uuid4().hex[:8]}", configure_logging=False)

    @app.middleware("request")
    async def gatekeeper(request: Request):
        if not request.path.startswith(("/rest/", "/bulk/")):
            return None
        now = time.monotonic()
        state.all_call_times.append(now)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        request.ctx.counted = True
        fault = await state.control.before_call(
            f"{request.method} {request.path}"
            f"{'?_method=GET' if request.args.get('_method') or (request.form and request.form.get('_method')) else ''}")
        if fault and fault.get("status"):  # a gateway error: plain text, before the API looks at the call
            return response.text("Service Unavailable", status=int(fault["status"]))
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:  # "600 Access token missing" (developers.marketo.com, error codes)
            return error(state, "600")
        if token not in state.tokens:
            return error(state, "601")
        if state.tokens[token] <= now:
            return error(state, "602")
        if fault and fault.get("code"):  # an API error code, after the token was accepted
            return error(state, str(fault["code"]))
        while state.call_times and state.call_times[0] <= now - state.rate_window:
            state.call_times.popleft()
        state.call_times.append(now)
        if len(state.call_times) > state.rate_limit:
            return error(state, "606")
        if state.in_flight > state.max_concurrent:
            return error(state, "615")
        state.calls_today += 1
        if state.calls_today > state.daily_quota:
            return error(state, "607")
        return None

    @app.middleware("response")
    async def release(request: Request, _response):
        if getattr(request.ctx, "counted", False):
            request.ctx.counted = False
            state.in_flight -= 1

    @app.route("/identity/oauth/token", methods=["GET", "POST"])
    async def token(request: Request):
        """GET with the query string, or POST with it or a form (both documented)."""
        state.token_requests += 1
        form = request.form if request.method == "POST" else {}

        def param(name: str) -> Optional[str]:
            return request.args.get(name) or (form.get(name) if form else None)
        if state.control.token_error():
            return response.json({"error": "unauthorized", "error_description": "Bad client credentials"}, status=401)
        if param("grant_type") != "client_credentials":
            return response.json({"error": "invalid_request", "error_description": "Unsupported grant type"}, status=400)
        if param("client_id") != state.client_id or param("client_secret") != state.client_secret:
            return response.json({"error": "unauthorized", "error_description": "Bad client credentials"}, status=401)
        now = time.monotonic()
        current = state.current_token
        if current is None or state.tokens.get(current, 0) <= now:
            current = f"{uuid.uuid4()}:ab"
            state.current_token = current
            state.tokens[current] = now + state.token_ttl
        remaining = max(0, int(state.tokens[current] - now))
        return response.json({"access_token": current, "token_type": "bearer", "expires_in": remaining,
                              "scope": "apiuser@example.com"})

    def _fields(request_fields: Any) -> List[str]:
        """`fields` comma-separated, or repeated (`fields=a&fields=b`, as clients send a list)."""
        joined = ",".join(request_fields) if isinstance(request_fields, list) else (request_fields or "")
        return [f for f in joined.split(",") if f] or ["email", "firstName", "lastName",
                                                                        "updatedAt", "createdAt"]

    def _project(lead_id: int, fields: List[str]) -> Dict[str, Any]:
        lead = state.leads[lead_id]
        record: Dict[str, Any] = {"id": lead_id}
        for name in fields:
            if name != "id":
                record[name] = lead.get(name)
        return record

    def _lookup(params: Dict[str, str]):
        filter_type = params.get("filterType")
        values = [v for v in (params.get("filterValues") or "").split(",") if v]
        if not filter_type:
            return error(state, "701", what="filterType")
        if not values:
            return error(state, "701", what="filterValues")
        if len(values) > MAX_BATCH:
            return error(state, "1003")
        fields = _fields(params.get("fields"))
        unknown = [f for f in fields if not state.known_field(f)]
        if unknown:
            return error(state, "1006", what=unknown[0])
        if filter_type == "email":
            ids = [i for value in values for i in state.emails(value)]
        elif filter_type == "cookies":
            ids = [state.cookies[v] for v in values if v in state.cookies]
        elif filter_type == "id":
            ids = [int(v) for v in values if v.isdigit() and int(v) in state.leads]
        else:
            return error(state, "1003")
        return ok([_project(i, fields) for i in dict.fromkeys(ids)])

    @app.get("/rest/v1/leads.json")
    async def leads_get(request: Request):
        return _lookup({k: (request.args.getlist(k) if k == "fields" else request.args.get(k)) for k in request.args})

    @app.post("/rest/v1/leads.json")
    async def leads_post(request: Request):
        if request.args.get("_method") == "GET" or (request.form and request.form.get("_method") == "GET"):
            # the override in the query string or in the form (clients send both)
            return _lookup({k: (request.form.getlist(k) if k == "fields" else request.form.get(k)) for k in request.form})
        try:
            body = request.json
        except Exception:  # sanic raises InvalidUsage for bad JSON
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("input"), list):
            return error(state, "609")
        return ok(_upsert(body["input"], body.get("action", "createOrUpdate"), body.get("lookupField", "email")))

    @app.post("/rest/v1/leads/push.json")
    async def push(request: Request):
        body = request.json if request.json is not None else {}
        if not isinstance(body.get("input"), list):
            return error(state, "609")
        return ok(_upsert(body["input"], "createOrUpdate", body.get("lookupField", "email")))

    def _upsert(records: List[Any], action: str, lookup: str) -> List[Dict[str, Any]]:
        if len(records) > MAX_BATCH:
            return [{"status": "skipped", "reasons": [{"code": "1003", "message": "Too many records"}]}]
        results: List[Dict[str, Any]] = []
        for record in records:
            if not isinstance(record, dict) or not record.get(lookup):
                results.append({"status": "skipped", "reasons": [{"code": "1003", "message": ERRORS["1003"]}]})
                continue
            unknown = [name for name in record if not state.known_field(name)]
            if unknown:  # a field the instance does not have: the record is skipped, never stored
                results.append({"status": "skipped", "reasons": [
                    {"code": "1006", "message": ERRORS["1006"].format(what=unknown[0])}]})
                continue
            if lookup == "id":
                matches = [int(record["id"])] if str(record["id"]).isdigit() and int(record["id"]) in state.leads else []
            elif lookup == "email":
                matches = state.emails(record[lookup])
            else:
                matches = [i for i, lead in state.leads.items() if lead.get(lookup) == record[lookup]]
            if len(matches) > 1 and action != "createOnly":
                results.append({"status": "skipped", "reasons": [{"code": "1007", "message": ERRORS["1007"]}]})
            elif matches and action == "createOnly":
                results.append({"status": "skipped", "reasons": [{"code": "1005", "message": ERRORS["1005"]}]})
            elif not matches and action == "updateOnly":
                results.append({"status": "skipped", "reasons": [{"code": "1004", "message": ERRORS["1004"]}]})
            elif matches:
                state.leads[matches[0]].update({k: v for k, v in record.items() if k != "id"})
                state.leads[matches[0]]["updatedAt"] = _now_iso()
                results.append({"id": matches[0], "status": "updated"})
                _changed(matches[0], 13)
            else:
                lead_id = next(state.next_id)
                state.leads[lead_id] = {**{k: v for k, v in record.items() if k != "id"},
                                        "createdAt": _now_iso(), "updatedAt": _now_iso()}
                results.append({"id": lead_id, "status": "created"})
                _changed(lead_id, 12)
        return results

    def _changed(lead_id: int, type_id: int) -> None:
        state.lead_changes.append({"id": len(state.lead_changes) + 1, "marketoGUID": str(uuid.uuid4()),
                                   "leadId": lead_id, "activityDate": _now_iso(), "activityTypeId": type_id,
                                   "primaryAttributeValueId": lead_id, "attributes": []})

    @app.get("/rest/v1/activities/pagingtoken.json")
    async def paging_token(request: Request):
        since = request.args.get("sinceDatetime")
        if not since:
            return error(state, "701", what="sinceDatetime")
        start = next((i for i, a in enumerate(state.lead_changes) if a["activityDate"] >= since[:19] + "Z"),
                     len(state.lead_changes))
        return ok(nextPageToken=base64.b64encode(f"pos:{start}".encode()).decode())

    @app.get("/rest/v1/activities.json")
    async def activities(request: Request):
        token = request.args.get("nextPageToken")
        type_ids = {int(t) for t in (request.args.get("activityTypeIds") or "").split(",") if t.isdigit()}
        if not token:
            return error(state, "701", what="nextPageToken")
        if not type_ids:
            return error(state, "701", what="activityTypeIds")
        try:
            start = int(base64.b64decode(token).decode().split(":")[1])
        except (ValueError, IndexError):
            return error(state, "1003")
        size = min(MAX_BATCH, int(request.args.get("batchSize", MAX_BATCH)))
        page = [a for a in state.lead_changes[start:start + size] if a["activityTypeId"] in type_ids]
        end = min(len(state.lead_changes), start + size)
        more = end < len(state.lead_changes)
        extra = {"nextPageToken": base64.b64encode(f"pos:{end}".encode()).decode(), "moreResult": more}
        return ok(page if page else None, **extra)

    @app.get("/rest/v1/lead/<name:str>")
    async def lead_by_id(request: Request, name: str):
        """Get Lead by Id (`/rest/v1/lead/{id}.json`): the lead, or an empty result for an id no lead has."""
        number = name[:-len(".json")] if name.endswith(".json") else ""
        if not number.isdigit():
            return error(state, "610")
        lead_id = int(number)
        fields = _fields(request.args.getlist("fields"))
        unknown = [f for f in fields if not state.known_field(f)]
        if unknown:
            return error(state, "1006", what=unknown[0])
        return ok([_project(lead_id, fields)] if lead_id in state.leads else [])

    @app.post("/rest/v1/leads/<lead_id:int>/associate.json")
    async def associate(request: Request, lead_id: int):
        cookie = request.args.get("cookie")
        if not cookie:
            return error(state, "701", what="cookie")
        if "&token:" not in cookie or not cookie.startswith("id:"):
            return error(state, "1012", what=cookie[:40])
        if lead_id not in state.leads:
            return error(state, "1004")
        state.cookies[cookie] = lead_id
        return ok()

    @app.post("/rest/v1/activities/external.json")
    async def external_activities(request: Request):
        body = request.json if request.json is not None else {}
        records = body.get("input")
        if not isinstance(records, list):
            return error(state, "609")
        if len(records) > MAX_BATCH:
            return error(state, "1003")
        results: List[Dict[str, Any]] = []
        for record in records:
            if not isinstance(record, dict) or record.get("leadId") not in state.leads:
                results.append({"status": "skipped", "reasons": [{"code": "1004", "message": ERRORS["1004"]}]})
            elif not record.get("activityTypeId") or not record.get("primaryAttributeValue"):
                results.append({"status": "skipped", "reasons": [{"code": "1003", "message": ERRORS["1003"]}]})
            else:
                activity_id = len(state.activities) + 1
                state.activities.append({**record, "id": activity_id})
                results.append({"id": activity_id, "status": "added"})
        return ok(results)


    # --- bulk lead extract ------------------------------------------------------
    def _advance_jobs() -> None:
        """Move jobs along by elapsed time: at most two process at once (Marketo's limit)."""
        now = time.time()
        for job in state.jobs.values():
            if job.status == "Processing" and now - (job.started_at or now) >= state.job_seconds:
                if job.fail:
                    job.status, job.finished_at = "Failed", now
                    continue
                job.content, job.records = _export_file(job)
                state.export_bytes_today += len(job.content)
                job.status, job.finished_at = "Completed", now
        processing = sum(1 for job in state.jobs.values() if job.status == "Processing")
        for job in sorted(state.jobs.values(), key=lambda j: j.queued_at or 0):
            if processing >= 2:
                break
            if job.status == "Queued" and now - (job.queued_at or now) >= state.job_seconds / 2:
                job.status, job.started_at = "Processing", now
                processing += 1
        state.max_processing = max(state.max_processing, processing)

    def _export_file(job: ExportJob) -> tuple:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(job.fields)
        records = 0
        for lead_id in sorted(state.leads):
            lead = state.leads[lead_id]
            stamp = lead.get(job.filter_name) or ""
            if job.start_at <= stamp < job.end_at:
                writer.writerow([lead_id if name == "id" else ("null" if lead.get(name) is None else lead.get(name))
                                 for name in job.fields])
                records += 1
        return out.getvalue().encode("utf-8"), records

    def _job_view(job: ExportJob) -> Dict[str, Any]:
        view: Dict[str, Any] = {"exportId": job.export_id, "format": "CSV", "status": job.status,
                                "createdAt": job.created_at}
        for key, moment in (("queuedAt", job.queued_at), ("startedAt", job.started_at),
                            ("finishedAt", job.finished_at)):
            if moment:
                view[key] = _iso(moment)
        if job.status == "Completed":
            view.update(numberOfRecords=job.records, fileSize=len(job.content),
                        fileChecksum="sha256:" + hashlib.sha256(job.content).hexdigest())
        if job.status == "Failed":
            view["errorMsg"] = "Export failed"
        return view

    @app.post("/bulk/v1/leads/export/create.json")
    async def export_create(request: Request):
        body = request.json if isinstance(request.json, dict) else None
        if not body or not isinstance(body.get("fields"), list) or not body["fields"]:
            return error(state, "1003")
        unknown = [f for f in body["fields"] if not state.known_field(str(f))]
        if unknown:
            return error(state, "1006", what=unknown[0])
        filters = body.get("filter") or {}
        if len(filters) != 1 or next(iter(filters)) not in ("createdAt", "updatedAt"):
            return error(state, "1003")
        name, window = next(iter(filters.items()))
        if name == "updatedAt" and not state.updated_at_filter:
            return response.json({"requestId": _request_id(), "success": False, "errors": [
                {"code": "1035", "message": "Unsupported filter type for target subscription: updatedAt"}]})
        try:
            start = time.mktime(time.strptime(window["startAt"], "%Y-%m-%dT%H:%M:%SZ"))
            end = time.mktime(time.strptime(window["endAt"], "%Y-%m-%dT%H:%M:%SZ"))
        except (KeyError, TypeError, ValueError):
            return error(state, "1003")
        if end <= start or end - start > 31 * 86400:
            return error(state, "1003")
        if state.export_bytes_today >= state.export_daily_bytes:
            return response.json({"requestId": _request_id(), "success": False, "errors": [
                {"code": "1029", "message": "Export daily quota exceeded"}]})
        job = ExportJob(str(uuid.uuid4()), body["fields"], name, window["startAt"], window["endAt"], _now_iso())
        if state.fail_next_jobs:
            state.fail_next_jobs -= 1
            job.fail = True
        state.jobs[job.export_id] = job
        return ok([_job_view(job)])

    def _job(export_id: str) -> Optional[ExportJob]:
        _advance_jobs()
        return state.jobs.get(export_id)

    @app.post("/bulk/v1/leads/export/<export_id>/enqueue.json")
    async def export_enqueue(request: Request, export_id: str):
        job = _job(export_id)
        if job is None:
            return error(state, "1003")
        waiting = sum(1 for j in state.jobs.values() if j.status in ("Queued", "Processing"))
        if waiting >= 10:
            return response.json({"requestId": _request_id(), "success": False, "errors": [
                {"code": "1029", "message": "Too many jobs (10) in queue"}]})
        if job.status != "Created":
            return error(state, "1003")
        job.status, job.queued_at = "Queued", time.time()
        return ok([_job_view(job)])

    @app.get("/bulk/v1/leads/export.json")
    async def export_list(request: Request):
        """Get Export Lead Jobs: the jobs of the last seven days, filtered by `status` (comma-separated)."""
        _advance_jobs()
        wanted = {name for name in (request.args.get("status") or "").split(",") if name}
        jobs = [_job_view(job) for job in state.jobs.values() if not wanted or job.status in wanted]
        size = min(MAX_BATCH, int(request.args.get("batchSize", MAX_BATCH)))
        return ok(jobs[:size])

    @app.post("/bulk/v1/leads/export/<export_id>/cancel.json")
    async def export_cancel(request: Request, export_id: str):
        job = _job(export_id)
        if job is None:
            return error(state, "1003")
        if job.status in ("Created", "Queued", "Processing"):
            job.status, job.finished_at = "Cancelled", time.time()
        return ok([_job_view(job)])

    @app.get("/bulk/v1/leads/export/<export_id>/status.json")
    async def export_status(request: Request, export_id: str):
        job = _job(export_id)
        return ok([_job_view(job)]) if job else error(state, "1003")

    @app.get("/bulk/v1/leads/export/<export_id>/file.json")
    async def export_file(request: Request, export_id: str):
        job = _job(export_id)
        if job is None or job.status != "Completed":
            return error(state, "1003")
        data, total = job.content, len(job.content)
        start, end, status = 0, total - 1, 200
        ranged = request.headers.get("range", "")
        if ranged.startswith("bytes="):
            first, _, last = ranged[6:].partition("-")
            start = int(first or 0)
            end = min(int(last), total - 1) if last else total - 1
            status = 206
        chunk = data[start:end + 1]
        headers = {"Content-Type": "text/csv"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        if state.drop_file_after:
            cut = state.drop_file_after.pop(0)
            stream = await request.respond(status=status, headers={**headers, "Content-Length": str(len(chunk))})
            await stream.send(chunk[:cut])
            request.transport.close()  # type: ignore[attr-defined]  # sanic's transport is asyncio's
            return None
        return response.raw(chunk, status=status, headers=headers)

    # --- switches and measurements for tests ---------------------------------
    def on_faults(body: Mapping[str, Any]) -> None:
        if body.get("expire_tokens"):
            for token_value in state.tokens:
                state.tokens[token_value] = 0
        for name in ("token_ttl", "rate_limit", "max_concurrent", "daily_quota"):
            if name in body:
                setattr(state, name, int(body[name]))
        if "rate_window" in body:
            state.rate_window = float(body["rate_window"])
        if "job_seconds" in body:
            state.job_seconds = float(body["job_seconds"])
        if "updated_at_filter" in body:
            state.updated_at_filter = bool(body["updated_at_filter"])
        state.drop_file_after.extend(int(n) for n in body.get("drop_file_after", []))
        state.fail_next_jobs += int(body.get("fail_next_jobs", 0))
        if "export_daily_bytes" in body:
            state.export_daily_bytes = int(body["export_daily_bytes"])
        state.custom_fields.update(str(name) for name in body.get("custom_fields", []))
        for lead in body.get("add_leads", []):
            state.leads[int(lead.pop("id"))] = lead
            state.custom_fields.update(name for name in lead if name not in LEAD_FIELDS)

    def stats(request: Request) -> Dict[str, Any]:
        window = float(request.args.get("window", state.rate_window))
        times, busiest, start = state.all_call_times, 0, 0
        for end in range(len(times)):
            while times[end] - times[start] >= window:
                start += 1
            busiest = max(busiest, end - start + 1)
        return {
            "calls": len(times), "busiest_window_calls": busiest, "window": window,
            "max_in_flight": state.max_in_flight, "token_requests": state.token_requests,
            "errors": dict(state.errors_returned), "activities": state.activities,
            "cookies": state.cookies, "leads": len(state.leads), "requests": dict(state.control.calls),
            "jobs": {job.export_id: job.status for job in state.jobs.values()},
            "max_processing_jobs": state.max_processing,
        }

    state.control.mount(app, on_faults, stats)
    return app


def seed_from_csv(state: State, path: str) -> None:
    """Leads from a CSV with an `id` column and Marketo field names (`cookies`: ;-separated)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            lead_id = int(row.pop("id"))
            cookies = row.pop("cookies", "") or ""
            state.custom_fields.update(name for name in row if name not in LEAD_FIELDS)
            state.leads[lead_id] = {k: (None if v in ("", "null") else v) for k, v in row.items()}
            state.leads[lead_id].setdefault("createdAt", "2026-01-01T00:00:00Z")
            state.leads[lead_id].setdefault("updatedAt", state.leads[lead_id]["createdAt"])
            for cookie in filter(None, (c.strip() for c in cookies.split(";"))):
                state.cookies[cookie] = lead_id


def main() -> None:
    parser = argparse.ArgumentParser(description="Marketo REST API emulator (loopback only)")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--seed", help="CSV of leads to start with")
    parser.add_argument("--client-id", default="emulator-client")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--job-seconds", type=float, default=1.0, help="bulk jobs: seconds queued and processing")
    args = parser.parse_args()
    state = State(args.client_id, args.client_secret, token_ttl=args.token_ttl, job_seconds=args.job_seconds)
    if args.seed:
        seed_from_csv(state, args.seed)
    create_app(state).run(host="127.0.0.1", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
