"""Marketo REST client (requests): identity OAuth, limits held client-side, retries.

- The access token comes from `GET <identity>/oauth/token` (client credentials),
  is reused until shortly before it expires, and is sent only as an
  `Authorization: Bearer` header. A 601/602 refreshes it once and retries.
- Limits are held here, shared by every client of the same instance and API
  user in the process: a sliding window of calls (default 50 per 20 s of
  Marketo's 100), a cap on concurrent calls (default 5 of 10) and a daily
  count (607 stops and says so).
- 606, 615, 604, 608, 611, 713 and HTTP 5xx are retried with exponential
  backoff and jitter. Errors arrive as HTTP 200 with `success: false`;
  record-level errors are returned per record, never swallowed.
"""
from __future__ import annotations

import datetime
import itertools
import logging
import math
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlencode

import requests

logger = logging.getLogger(__name__)

RETRYABLE = {"604", "606", "608", "611", "615", "713"}
TOKEN_ERRORS = {"601", "602"}
MAX_BATCH = 300
MAX_URL = 7000  # beyond this a lookup goes as POST with _method=GET


class MarketoError(Exception):
    """A call failed: Marketo's code and message (or HTTP status)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"Marketo error {code}: {message}")
        self.code = code
        self.message = message


class DailyQuotaExhausted(MarketoError):
    """607, or our own daily count reached: no more calls until the quota resets."""


@dataclass(frozen=True)
class MarketoConfig:
    base_url: str                       # https://<munchkin>.mktorest.com
    client_id: str
    client_secret: str
    identity_url: Optional[str] = None  # default: <base_url>/identity
    calls_per_window: int = 50
    window_seconds: float = 20.0
    max_concurrent: int = 5
    daily_limit: int = 50_000
    timeout: float = 30.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    @property
    def identity(self) -> str:
        return (self.identity_url or f"{self.base_url.rstrip('/')}/identity").rstrip("/")


@dataclass(frozen=True)
class RecordResult:
    """One record of a batch: its id and status, or why Marketo refused it."""

    index: int
    status: str
    id: Optional[int] = None
    errors: Tuple[Tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and self.status not in ("skipped", "failed")


class Limits:
    """Sliding-window rate, concurrency and daily count for one Marketo API user.

    Marketo counts a call when it arrives, which is somewhere between our
    sending it and its answer. So a call holds its place in the window from
    the moment it is sent until a full window after its answer came back:
    the server can then never see more than the budget in any window.
    """

    def __init__(self, calls_per_window: int, window_seconds: float, max_concurrent: int, daily_limit: int) -> None:
        self.calls_per_window, self.window = calls_per_window, window_seconds
        self.daily_limit = daily_limit
        self.slots = threading.BoundedSemaphore(max_concurrent)
        self.lock = threading.Lock()
        self.places: Dict[int, float] = {}  # ticket -> when the call finished (inf while in flight)
        self.tickets = itertools.count()
        self.day = datetime.date.today()
        self.calls_today = 0

    def acquire(self) -> int:
        """Wait for a concurrency slot and a place in the window; count the call. Returns a ticket."""
        self.slots.acquire()
        try:
            while True:
                with self.lock:
                    today = datetime.date.today()
                    if today != self.day:
                        self.day, self.calls_today = today, 0
                    if self.calls_today >= self.daily_limit:
                        raise DailyQuotaExhausted("607", f"daily limit of {self.daily_limit} calls reached")
                    now = time.monotonic()
                    for ticket, finished in list(self.places.items()):
                        if finished <= now - self.window:
                            del self.places[ticket]
                    if len(self.places) < self.calls_per_window:
                        ticket = next(self.tickets)
                        self.places[ticket] = math.inf
                        self.calls_today += 1
                        return ticket
                    earliest = min(self.places.values())
                    wait = earliest + self.window - now if earliest != math.inf else 0.01
                time.sleep(max(wait, 0.001))
        except BaseException:
            self.slots.release()
            raise

    def release(self, ticket: int) -> None:
        with self.lock:
            if ticket in self.places:
                self.places[ticket] = time.monotonic()
        self.slots.release()

    def exhaust_day(self) -> None:
        with self.lock:
            self.calls_today = self.daily_limit


class MarketoClient:
    def __init__(self, config: MarketoConfig, session: Optional[requests.Session] = None,
                 verify: Any = True, limits: Optional[Limits] = None) -> None:
        """`limits` are the instance's: clients of one Marketo instance in one process share them
        (the composition root builds one client; pass its `limits` to another)."""
        self.config = config
        self.session = session or requests.Session()
        self.verify = verify
        self.limits = limits or Limits(config.calls_per_window, config.window_seconds, config.max_concurrent,
                                       config.daily_limit)
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    # --- identity -------------------------------------------------------------
    def _access_token(self, force: bool = False) -> str:
        with self._token_lock:
            if force or self._token is None or time.monotonic() >= self._token_expires:
                params = {"grant_type": "client_credentials", "client_id": self.config.client_id,
                          "client_secret": self.config.client_secret}
                try:
                    reply = self.session.get(f"{self.config.identity}/oauth/token", params=params,
                                             timeout=self.config.timeout, verify=self.verify)
                except requests.RequestException as exc:
                    raise MarketoError("identity", f"cannot reach the identity service: {type(exc).__name__}") from None
                if reply.status_code != 200:
                    try:
                        detail = reply.json().get("error_description") or reply.text[:200]
                    except ValueError:
                        detail = reply.text[:200]
                    raise MarketoError(f"http-{reply.status_code}", f"identity refused: {detail}")
                body = reply.json()
                self._token = body["access_token"]
                # refresh a minute early (or at half-life for short-lived tokens)
                lifetime = float(body.get("expires_in", 0))
                self._token_expires = time.monotonic() + max(0.0, lifetime - min(60.0, lifetime / 2))
            return self._token

    # --- calls ----------------------------------------------------------------
    def request(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None,
                json: Any = None, data: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """One API call with limits, token refresh and retries; the body on success."""
        refreshed = False
        for attempt in range(1, self.config.max_attempts + 1):
            token = self._access_token()
            ticket = self.limits.acquire()
            try:
                reply = self.session.request(
                    method, f"{self.config.base_url.rstrip('/')}{path}", params=params, json=json, data=data,
                    headers={"Authorization": f"Bearer {token}"}, timeout=self.config.timeout, verify=self.verify)
            except requests.RequestException as exc:
                code, message = "network", type(exc).__name__
                body = None
            else:
                body = None
                if reply.status_code >= 500:
                    code, message = f"http-{reply.status_code}", reply.reason or "server error"
                elif reply.status_code != 200:
                    raise MarketoError(f"http-{reply.status_code}", reply.reason or "request refused")
                else:
                    body = reply.json()
                    if body.get("success"):
                        return body
                    first = (body.get("errors") or [{}])[0]
                    code, message = str(first.get("code", "unknown")), str(first.get("message", ""))
            finally:
                self.limits.release(ticket)
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                self._access_token(force=True)
                continue
            if code == "607":
                self.limits.exhaust_day()
                raise DailyQuotaExhausted(code, message or "Daily quota reached")
            retryable = code in RETRYABLE or code.startswith("http-5") or code == "network"
            if not retryable or attempt == self.config.max_attempts:
                raise MarketoError(code, message)
            delay = random.uniform(0, min(self.config.backoff_cap, self.config.backoff_base * 2 ** attempt))
            logger.warning("Marketo %s %s: %s (%s); retrying in %.1fs", method, path, code, message, delay)
            time.sleep(delay)
        raise MarketoError("retries", "gave up")  # pragma: no cover - the loop returns or raises

    def download(self, path: str, target: "os.PathLike[str]", start: int = 0) -> None:
        """Append a bulk file's bytes from `start` to `target` with a Range request.

        A broken connection raises (requests' exception); the caller resumes
        from the new size. An expired token is refreshed once.
        """
        for refresh in (False, True):
            token = self._access_token(force=refresh)
            ticket = self.limits.acquire()
            try:
                reply = self.session.get(
                    f"{self.config.base_url.rstrip('/')}{path}", stream=True, timeout=self.config.timeout,
                    headers={"Authorization": f"Bearer {token}", "Range": f"bytes={start}-"}, verify=self.verify)
                try:
                    if reply.headers.get("Content-Type", "").startswith("application/json"):
                        problem = (reply.json().get("errors") or [{}])[0]
                        code, message = str(problem.get("code")), str(problem.get("message"))
                        if code in TOKEN_ERRORS and not refresh:
                            continue
                        raise MarketoError(code, message)
                    if reply.status_code not in (200, 206):
                        raise MarketoError(f"http-{reply.status_code}", reply.reason or "download refused")
                    with open(target, "ab" if reply.status_code == 206 else "wb") as handle:
                        for block in reply.iter_content(1 << 20):
                            handle.write(block)
                        handle.flush()
                        os.fsync(handle.fileno())
                    return
                finally:
                    reply.close()
            finally:
                self.limits.release(ticket)

    # --- leads ----------------------------------------------------------------
    def leads_by(self, filter_type: str, values: Sequence[str], fields: Sequence[str]) -> List[Dict[str, Any]]:
        """Leads whose `filter_type` (email, cookies, id...) is one of `values`, in batches of 300."""
        found: List[Dict[str, Any]] = []
        for start in range(0, len(values), MAX_BATCH):
            chunk = [str(v) for v in values[start:start + MAX_BATCH]]
            params = {"filterType": filter_type, "filterValues": ",".join(chunk), "fields": ",".join(fields)}
            while True:
                if len(urlencode(params)) > MAX_URL:
                    body = self.request("POST", "/rest/v1/leads.json", params={"_method": "GET"}, data=params)
                else:
                    body = self.request("GET", "/rest/v1/leads.json", params=params)
                found.extend(body.get("result") or [])
                if not body.get("nextPageToken") or not body.get("moreResult", False):
                    break
                params = {**params, "nextPageToken": body["nextPageToken"]}
        return found

    def associate_cookie(self, lead_id: int, cookie: str) -> None:
        """Tie an anonymous Munchkin cookie's history to a known lead."""
        self.request("POST", f"/rest/v1/leads/{int(lead_id)}/associate.json", params={"cookie": cookie})

    @staticmethod
    def _records(body: Mapping[str, Any]) -> List[RecordResult]:
        results = []
        for index, item in enumerate(body.get("result") or []):
            reasons = tuple((str(r.get("code")), str(r.get("message"))) for r in item.get("reasons") or [])
            results.append(RecordResult(index, str(item.get("status", "")), item.get("id"), reasons))
        return results

    def create_or_update(self, leads: Sequence[Mapping[str, Any]], lookup_field: str = "email",
                         action: str = "createOrUpdate") -> List[RecordResult]:
        """Sync leads (batches of 300); one result per input record, refusals included."""
        results: List[RecordResult] = []
        for start in range(0, len(leads), MAX_BATCH):
            body = self.request("POST", "/rest/v1/leads.json", json={
                "action": action, "lookupField": lookup_field, "input": list(leads[start:start + MAX_BATCH])})
            results += [RecordResult(start + r.index, r.status, r.id, r.errors) for r in self._records(body)]
        return results

    def add_activities(self, activities: Sequence[Mapping[str, Any]]) -> List[RecordResult]:
        """Custom activities (`/activities/external.json`), batches of 300, a result per record."""
        results: List[RecordResult] = []
        for start in range(0, len(activities), MAX_BATCH):
            body = self.request("POST", "/rest/v1/activities/external.json",
                                json={"input": list(activities[start:start + MAX_BATCH])})
            results += [RecordResult(start + r.index, r.status, r.id, r.errors) for r in self._records(body)]
        return results
