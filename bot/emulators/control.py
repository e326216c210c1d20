"""The control plane every emulator shares: faults for the next calls, counters, health.

`POST /_emulator/faults` takes `{"calls": [fault, ...], "token_errors": n, ...}`;
each fault applies to one API call, in order: `{"delay": seconds}` (answered
late, then normally), `{"status": 503}` (an HTTP error in the vendor's
format) or `{"code": "606"}` (a vendor error code, where the API has them).
Keys the control plane does not know go to the emulator's own handler
(seeded busy time, broken calendars, Marketo's quotas...).
"""
from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Callable, Deque, Dict, Mapping, Optional

from sanic import Sanic, response
from sanic.request import Request

Fault = Dict[str, Any]


class ControlPlane:
    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.time()
        self.faults: Deque[Fault] = collections.deque()
        self.token_errors = 0
        self.calls: collections.Counter = collections.Counter()

    async def before_call(self, key: str) -> Optional[Fault]:
        """Count the call and apply the next fault: a delay is waited out here; an error is returned
        for the emulator to answer in its vendor's format (None: answer normally)."""
        self.calls[key] += 1
        if not self.faults:
            return None
        fault = self.faults.popleft()
        if fault.get("delay"):
            await asyncio.sleep(float(fault["delay"]))
        return fault if fault.get("status") or fault.get("code") else None

    def token_error(self) -> bool:
        """Whether the next token request fails (and uses up one queued token error)."""
        if self.token_errors:
            self.token_errors -= 1
            return True
        return False

    def mount(self, app: Sanic, on_faults: Callable[[Mapping[str, Any]], None],
              stats: Callable[[Request], Dict[str, Any]]) -> None:
        """Add the `/_emulator/*` routes to an emulator's app."""

        @app.post("/_emulator/faults")
        async def faults(request: Request) -> response.HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            self.faults.extend(dict(fault) for fault in body.get("calls", []))
            self.token_errors += int(body.get("token_errors", 0))
            on_faults(body)
            return response.json({"ok": True})

        @app.get("/_emulator/stats")
        async def statistics(request: Request) -> response.HTTPResponse:
            return response.json({"calls": dict(self.calls), "faults_pending": len(self.faults), **stats(request)})

        @app.get("/_emulator/health")
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"ok": True, "emulator": self.name, "uptime": round(time.time() - self.started, 1)})
