"""The console's Integrations tab: Marketo's settings (never its secret), a connection test, syncs run
from the console with their progress and history, and the outbox of what waits to reach Marketo."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from bot.marketo.client import MarketoClient, MarketoError
from bot.marketo.sync import STATE_KEY, LeadSync, SyncError, describe, sync_options_from
from bot.store.outbox import Outbox
from bot.store.visitors import VisitorStore

logger = logging.getLogger(__name__)


def marketo_view(variables: Mapping[str, str], client: Optional[MarketoClient], store: VisitorStore,
                 box: Outbox) -> Dict[str, Any]:
    """What is configured (the host and the client id's end, never the secret), the sync's state, the outbox."""
    base = variables.get("MARKETO_BASE_URL", "")
    client_id = variables.get("MARKETO_CLIENT_ID", "")
    state = store.load_state(STATE_KEY)
    status = box.status()
    return {
        "configured": client is not None, "host": urlsplit(base).hostname if base else None,
        "client_id": f"…{client_id[-4:]}" if client_id else None,
        "sync": {"summary": describe(state), "cursor": (state or {}).get("cursor"), "phase": (state or {}).get("phase"),
                 "totals": (state or {}).get("totals"), "last_error": (state or {}).get("last_error")},
        "outbox": {"pending": status.pending, "due": status.due, "sent": status.sent, "refused": status.failed,
                   "oldest_pending_seconds": status.oldest_pending_seconds, "last_error": status.last_error,
                   "refused_messages": box.refused_messages(50)},
    }


def test_connection(client: Optional[MarketoClient]) -> Dict[str, Any]:
    """Get a token and make one cheap call, timed; what went wrong in Marketo's words when it did."""
    if client is None:
        return {"ok": False, "message": "Marketo is not configured (MARKETO_BASE_URL, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET)"}
    began = time.monotonic()
    try:
        client.leads_by("email", ["connection-test@dynchat.invalid"], ["email"])
    except MarketoError as exc:
        return {"ok": False, "message": f"Marketo answered {exc.code}: {exc}", "seconds": round(time.monotonic() - began, 2)}
    except OSError as exc:
        return {"ok": False, "message": f"Marketo could not be reached: {type(exc).__name__}",
                "seconds": round(time.monotonic() - began, 2)}
    return {"ok": True, "message": "connected: a token and a lead lookup worked", "seconds": round(time.monotonic() - began, 2)}


@dataclass
class SyncRun:
    by: str
    state: str = "running"            # running | done | failed
    started_at: float = field(default_factory=time.time)
    finished_at: Optional[float] = None
    records: int = 0                  # leads loaded in this run
    progress: str = "starting"
    error: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        return asdict(self)


class SyncRunner:
    """Runs one lead sync at a time in the background (the console's "Sync now"), keeping the last runs."""

    def __init__(self, client: Optional[MarketoClient], store: VisitorStore, field_map: Mapping[str, str],
                 variables: Mapping[str, str], downloads: Path) -> None:
        self.client, self.store, self.field_map = client, store, field_map
        self.variables, self.downloads = variables, downloads
        self._lock = threading.Lock()
        self.history: List[SyncRun] = []

    @property
    def current(self) -> Optional[SyncRun]:
        return self.history[0] if self.history else None

    def start(self, by: str) -> Optional[SyncRun]:
        """None when a sync is running already or Marketo is not configured."""
        with self._lock:
            if self.client is None or (self.current is not None and self.current.state == "running"):
                return None
            run = SyncRun(by)
            self.history = ([run] + self.history)[:20]
        threading.Thread(target=self._run, args=(run,), name="marketo-sync", daemon=True).start()
        return run

    def _run(self, run: SyncRun) -> None:
        assert self.client is not None
        before = ((self.store.load_state(STATE_KEY) or {}).get("totals") or {}).get("records", 0)

        def progress(state: Mapping[str, Any]) -> None:
            run.records = int((state.get("totals") or {}).get("records", 0)) - before
            job = state.get("job")
            run.progress = (f"{job['filter']} {job['start'][:10]}..{job['end'][:10]}: {job['status']}" if job
                            else f"synced up to {state.get('cursor', '')[:19]}")

        try:
            options = sync_options_from(self.variables, self.downloads)
            options.progress = progress
            LeadSync(self.client, self.store, self.field_map, options).run()
            run.state = "done"
        except Exception as exc:  # the run says why; the sync resumes from its saved state next time
            run.state, run.error = "failed", str(exc) if isinstance(exc, (SyncError, MarketoError)) else type(exc).__name__
            logger.warning("marketo sync by %s failed: %s", run.by, exc)
        finally:
            run.finished_at = time.time()
