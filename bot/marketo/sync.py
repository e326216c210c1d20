"""Sync the Marketo lead database into the local visitor store with bulk lead extracts.

First a full pass: `createdAt` windows of at most 31 days from `since` to now;
then incremental passes by `updatedAt` from where the last pass ended. Each
window is one export job: create -> enqueue -> poll status -> download the
file (resuming with `Range` after a broken connection) -> check its SHA-256
-> load it in batches. Every step is saved in the store, and each loaded
batch commits together with the progress that counts it, so a sync killed
at any point continues where it was, without losing or duplicating a lead.
One job runs at a time, inside Marketo's limits of 2 running and 10 queued.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

import requests

from bot.marketo.bulk_csv import ParseResult, parse_leads
from bot.marketo.client import MarketoClient, MarketoError
from bot.marketo.leads import lookup_fields, visitor_from_lead
from bot.store.visitors import VisitorStore

logger = logging.getLogger(__name__)

STATE_KEY = "leads"
WINDOW = datetime.timedelta(days=31)
DAILY_EXPORT_BYTES = 500 * 1024 * 1024
FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class SyncError(Exception):
    """The sync cannot go on now; the message says why and what to do."""


@dataclass
class SyncOptions:
    since: datetime.datetime                    # where the full pass starts (the database's first lead)
    download_dir: Path
    poll_seconds: float = 60.0                  # Marketo refreshes job status about once a minute
    daily_export_bytes: int = DAILY_EXPORT_BYTES
    batch_size: int = 5000
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)
    sleep: Callable[[float], None] = time.sleep
    progress: Optional[Callable[[Dict[str, Any]], None]] = None


def _text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(FORMAT)


def _moment(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, FORMAT).replace(tzinfo=datetime.timezone.utc)


def new_state(since: datetime.datetime) -> Dict[str, Any]:
    return {"phase": "full", "cursor": _text(since), "full_started": None, "job": None,
            "totals": {"jobs": 0, "records": 0, "skipped": 0}, "export_bytes": {}, "last_error": None}


class LeadSync:
    def __init__(self, client: MarketoClient, store: VisitorStore, mapping: Mapping[str, str],
                 options: SyncOptions) -> None:
        self.client, self.store, self.mapping, self.options = client, store, mapping, options
        self.state = store.load_state(STATE_KEY) or new_state(options.since)

    # --- state --------------------------------------------------------------
    def save(self) -> None:
        self.store.save_state(STATE_KEY, self.state)
        if self.options.progress:
            self.options.progress(self.state)

    def _fail(self, message: str) -> SyncError:
        self.state["last_error"] = message
        self.save()
        return SyncError(message)

    # --- the loop -------------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        """Work until the store is up to date with Marketo; returns the final state."""
        while True:
            if self.state["job"] is None and not self._next_window():
                self.state["last_error"] = None
                self.save()
                return self.state
            job = self.state["job"]
            if job["status"] in ("Created",):
                self._enqueue(job)
            if job["status"] in ("Queued", "Processing"):
                self._wait(job)
            if job["status"] == "Completed" and not job.get("downloaded"):
                self._download(job)
            if job.get("downloaded"):
                self._load(job)

    def _next_window(self) -> bool:
        """Create the job for the next window, or say the store is up to date."""
        now = self.options.now().replace(microsecond=0)
        cursor = _moment(self.state["cursor"])
        if self.state["phase"] == "full" and self.state["full_started"] is None:
            self.state["full_started"] = _text(now)
        if cursor >= now - datetime.timedelta(seconds=1):
            if self.state["phase"] == "full":
                # updates made while the full pass ran are caught by the first incremental pass
                self.state["phase"], self.state["cursor"] = "incremental", self.state["full_started"]
                self.save()
                return self._next_window() if _moment(self.state["cursor"]) < now - datetime.timedelta(seconds=1) else False
            return False
        if self.state["phase"] == "incremental" and self.state.get("incremental_via") == "activities":
            self._activities_pass(now)
            return False
        end = min(cursor + WINDOW, now)
        filter_name = "createdAt" if self.state["phase"] == "full" else "updatedAt"
        fields = ["id"] + [f for f in lookup_fields(self.mapping) if f != "id"] + ["createdAt"]
        try:
            body = self.client.request("POST", "/bulk/v1/leads/export/create.json", json={
                "fields": list(dict.fromkeys(fields)), "format": "CSV",
                "filter": {filter_name: {"startAt": _text(cursor), "endAt": _text(end)}}})
        except MarketoError as exc:
            if exc.code == "1035" and filter_name == "updatedAt":
                # the subscription lacks the updatedAt filter: follow lead changes through activities
                logger.info("updatedAt filter unavailable (1035); syncing changes through activities")
                self.state["incremental_via"] = "activities"
                self._activities_pass(now)
                return False
            if exc.code == "1035":
                raise self._fail(f"this Marketo subscription refuses the {filter_name} filter (1035)") from None
            if exc.code == "1029":
                raise self._fail(f"Marketo refused a new export job ({exc.message}); run the sync again later") from None
            raise self._fail(f"creating the export job failed: {exc.code} {exc.message}") from None
        export = body["result"][0]
        self.state["job"] = {"exportId": export["exportId"], "filter": filter_name, "start": _text(cursor),
                             "end": _text(end), "status": export["status"], "attempts": 1}
        self.save()
        return True

    def _activities_pass(self, now: datetime.datetime) -> None:
        """Leads changed since the cursor, from New Lead (12) and Change Data Value (13) activities.

        The paging token is saved with each page's leads, so an interrupted
        pass continues from the page it was on.
        """
        token = self.state.get("activities_token")
        if token is None:
            token = self.client.request("GET", "/rest/v1/activities/pagingtoken.json",
                                        params={"sinceDatetime": self.state["cursor"]})["nextPageToken"]
            self.state["activities_token"] = token
            self.save()
        fields = [f for f in lookup_fields(self.mapping) if f != "id"]
        while True:
            page = self.client.request("GET", "/rest/v1/activities.json", params={
                "nextPageToken": token, "activityTypeIds": "12,13", "batchSize": 300})
            lead_ids = sorted({a["leadId"] for a in page.get("result") or []})
            leads = self.client.leads_by("id", [str(i) for i in lead_ids], fields) if lead_ids else []
            rows = []
            for lead in leads:
                visitor = visitor_from_lead(lead, self.mapping)
                rows.append((visitor.lead_id, (visitor.email or "").lower() or None,
                             json.dumps(dict(visitor.attributes), ensure_ascii=False), visitor.updated_at))
            token = page.get("nextPageToken", token)
            self.state["activities_token"] = token
            self.state["totals"]["records"] += len(rows)
            more = bool(page.get("moreResult"))
            if not more:
                self.state["cursor"], self.state["activities_token"] = _text(now), None
            self.store.upsert_rows(rows, state=(STATE_KEY, json.dumps(self.state, sort_keys=True)))
            if self.options.progress:
                self.options.progress(self.state)
            if not more:
                return

    def _enqueue(self, job: Dict[str, Any]) -> None:
        try:
            body = self.client.request("POST", f"/bulk/v1/leads/export/{job['exportId']}/enqueue.json")
        except MarketoError as exc:
            if exc.code == "1029":
                raise self._fail(f"Marketo's export queue is full ({exc.message}); run the sync again later") from None
            raise self._fail(f"enqueueing the export job failed: {exc.code} {exc.message}") from None
        job["status"] = body["result"][0]["status"]
        self.save()

    def _wait(self, job: Dict[str, Any]) -> None:
        while job["status"] in ("Queued", "Processing"):
            self.options.sleep(self.options.poll_seconds)
            status = self.client.request("GET", f"/bulk/v1/leads/export/{job['exportId']}/status.json")["result"][0]
            job["status"] = status["status"]
            if status["status"] == "Completed":
                job.update(size=status["fileSize"], checksum=status.get("fileChecksum", ""),
                           records=status.get("numberOfRecords"))
            self.save()
        if job["status"] in ("Failed", "Cancelled"):
            if job["attempts"] >= 3:
                raise self._fail(f"the export job for {job['start']}..{job['end']} {job['status'].lower()} 3 times")
            # the same window again, with a new job
            self.state["cursor"], self.state["job"] = job["start"], None
            attempts = job["attempts"]
            self._next_window()
            self.state["job"]["attempts"] = attempts + 1
            self.save()

    def _file(self, job: Dict[str, Any]) -> Path:
        return self.options.download_dir / f"{job['exportId']}.csv"

    def _download(self, job: Dict[str, Any]) -> None:
        today = datetime.date.today().isoformat()
        used = self.state["export_bytes"].get(today, 0)
        if used + job["size"] > self.options.daily_export_bytes and not job.get("counted"):
            raise self._fail("the daily bulk export allowance is used up; the sync continues tomorrow")
        if not job.get("counted"):
            self.state["export_bytes"] = {today: used + job["size"]}
            job["counted"] = True
            self.save()
        path = self._file(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            have = path.stat().st_size if path.exists() else 0
            if have >= job["size"]:
                break
            try:
                self.client.download(f"/bulk/v1/leads/export/{job['exportId']}/file.json", path, have)
            except (requests.RequestException, MarketoError) as exc:
                logger.warning("bulk file download interrupted at %d of %d bytes (%s); resuming",
                               path.stat().st_size if path.exists() else 0, job["size"], type(exc).__name__)
                self.options.sleep(min(5.0, self.options.poll_seconds))
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        expected = str(job.get("checksum", "")).split(":")[-1]
        if expected and digest.hexdigest() != expected:
            path.unlink()
            raise self._fail("the export file's SHA-256 does not match Marketo's checksum; it was removed and "
                             "will be downloaded again")
        job["downloaded"], job["loaded_records"] = True, 0
        self.save()

    def _load(self, job: Dict[str, Any]) -> None:
        """Upsert the file's leads; each batch commits with the progress that counts it."""
        path = self._file(job)
        done = job.get("loaded_records", 0)
        result = ParseResult()
        with open(path, "rb") as handle:
            for batch in parse_leads(handle, self.mapping, result, self.options.batch_size):
                if result.records <= done:
                    continue  # applied before an interruption
                job["loaded_records"] = result.records
                self.state["totals"]["records"] += len(batch)
                self.store.upsert_rows(batch, state=("leads", json.dumps(self.state, sort_keys=True)))
                if self.options.progress:
                    self.options.progress(self.state)
        self.state["totals"]["skipped"] += len(result.problems)  # the whole file was read again
        for problem in result.problems[:20]:
            logger.warning("export %s: %s", job["exportId"], problem)
        self.state["totals"]["jobs"] += 1
        self.state["cursor"], self.state["job"] = job["end"], None
        self.save()
        path.unlink(missing_ok=True)


def sync_options_from(variables: Mapping[str, str], download_dir: Path,
                      since: Optional[str] = None) -> SyncOptions:
    """MARKETO_SYNC_SINCE (YYYY-MM-DD, default 2006-01-01) and MARKETO_SYNC_POLL_SECONDS (default 60)."""
    start = since or variables.get("MARKETO_SYNC_SINCE") or "2006-01-01"
    try:
        moment = datetime.datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SyncError(f"'{start}' is not a date like 2015-01-31") from None
    return SyncOptions(since=moment, download_dir=download_dir,
                       poll_seconds=float(variables.get("MARKETO_SYNC_POLL_SECONDS", 60)))


def describe(state: Optional[Mapping[str, Any]]) -> str:
    """`dynchat sync status`: where the sync stands, in a few lines."""
    if not state:
        return "never synced"
    totals = state["totals"]
    incremental = "incremental (activities)" if state.get("incremental_via") == "activities" else "incremental (updatedAt)"
    lines = [f"phase: {'full pass (createdAt windows)' if state['phase'] == 'full' else incremental}",
             f"synced up to: {state['cursor']}",
             f"jobs done: {totals['jobs']}, leads loaded: {totals['records']}, bad rows skipped: {totals['skipped']}"]
    job = state.get("job")
    if job:
        line = f"current job: {job['exportId']} {job['filter']} {job['start']}..{job['end']} {job['status']}"
        if job.get("downloaded"):
            line += f", loading (records done: {job.get('loaded_records', 0)} of {job.get('records', '?')})"
        elif job.get("size") is not None:
            line += f", file {job['size']} bytes"
        lines.append(line)
    if state.get("last_error"):
        lines.append(f"last error: {state['last_error']}")
    return "\n".join(lines)
