"""What happened in the chat, written back to Marketo through the durable outbox.

Custom activities (Dynamic Chat's: Triggered, Engaged with a Dialogue,
Reached Goal, Captured Information, Scheduled Meeting), leads created or
updated from captured fields, and Munchkin cookies tied to leads. The chat
only ever writes to the outbox; a sender thread (or `dynchat outbox flush`)
delivers in batches of up to 300 and retries whatever Marketo could not take.
"""
from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.marketo.client import DailyQuotaExhausted, MarketoClient, MarketoError
from bot.store.outbox import Message, Outbox

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

logger = logging.getLogger(__name__)

ACTIVITIES = {
    "triggered": "Triggered",
    "engaged": "Engaged with a Dialogue",
    "goal": "Reached Goal",
    "captured": "Captured Information",
    "meeting": "Scheduled Meeting",
    "human": "Requested a Person",
}
DEFAULT_TYPE_IDS = {"triggered": 100001, "engaged": 100002, "goal": 100003, "captured": 100004, "meeting": 100005,
                    "human": 100006}
PERMANENT_RECORD_CODES = {"1003", "1004", "1006", "1007", "1012"}


def activity_type_ids(variables: Mapping[str, str]) -> Dict[str, int]:
    """MARKETO_ACTIVITY_TYPE_IDS="triggered=100001,goal=100003,..." overrides the defaults."""
    ids = dict(DEFAULT_TYPE_IDS)
    for pair in filter(None, (variables.get("MARKETO_ACTIVITY_TYPE_IDS") or "").split(",")):
        name, _, value = pair.partition("=")
        if name.strip() in ids and value.strip().isdigit():
            ids[name.strip()] = int(value)
    return ids


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_activity(box: Outbox, kind: str, lead_id: int, primary: str, attributes: Mapping[str, Any],
                    connection: Optional[Connection] = None) -> None:
    box.add("activity", {"kind": kind, "leadId": int(lead_id), "activityDate": _now_iso(),
                         "primaryAttributeValue": str(primary),
                         "attributes": [{"name": k, "value": str(v)} for k, v in sorted(attributes.items())]},
            connection=connection)


def record_association(box: Outbox, lead_id: int, cookie: str) -> None:
    box.add("associate", {"leadId": int(lead_id), "cookie": cookie})


def record_lead(box: Outbox, fields: Mapping[str, Any], cookie: Optional[str]) -> None:
    """Create or update the lead (by email) with captured fields; then tie the cookie to it."""
    box.add("lead", {"fields": dict(fields), "cookie": cookie})


@dataclass
class FlushReport:
    sent: int = 0
    retried: int = 0
    refused: int = 0


def _record_errors(errors) -> str:
    return ",".join(code for code, _ in errors) or "refused"


def flush(box: Outbox, client: MarketoClient, type_ids: Mapping[str, int], limit: int = 300) -> FlushReport:
    """Send one batch of due messages; nothing is lost whatever Marketo answers."""
    report = FlushReport()
    messages = box.claim(limit)
    by_kind: Dict[str, List[Message]] = {}
    for message in messages:
        by_kind.setdefault(message.kind, []).append(message)

    def failed_call(batch: List[Message], exc: MarketoError) -> None:
        box.retry_later(batch, exc.code, delay=3600.0 if isinstance(exc, DailyQuotaExhausted) else None)
        report.retried += len(batch)

    activities = by_kind.get("activity", [])
    if activities:
        payloads = [{key: value for key, value in m.payload.items() if key != "kind"}
                    | {"activityTypeId": type_ids[m.payload["kind"]]} for m in activities]
        try:
            results = client.add_activities(payloads)
        except MarketoError as exc:
            failed_call(activities, exc)
        else:
            done = {r.index: r for r in results}
            box.sent([m.id for i, m in enumerate(activities) if i in done and done[i].ok])
            report.sent += sum(1 for i in range(len(activities)) if i in done and done[i].ok)
            for index, message in enumerate(activities):
                if index not in done:
                    box.retry_later([message], "no result")
                    report.retried += 1
                elif not done[index].ok:
                    box.refused(message, _record_errors(done[index].errors))
                    report.refused += 1
    for message in by_kind.get("associate", []):
        try:
            client.associate_cookie(message.payload["leadId"], message.payload["cookie"])
        except MarketoError as exc:
            if exc.code in PERMANENT_RECORD_CODES:
                box.refused(message, exc.code)
                report.refused += 1
            else:
                failed_call([message], exc)
        else:
            box.sent([message.id])
            report.sent += 1
    for message in by_kind.get("lead", []):
        try:
            result = client.create_or_update([message.payload["fields"]])[0]
        except MarketoError as exc:
            failed_call([message], exc)
            continue
        if not result.ok or result.id is None:
            box.refused(message, _record_errors(result.errors))
            report.refused += 1
            continue
        if message.payload.get("cookie"):
            record_association(box, result.id, message.payload["cookie"])
        box.sent([message.id])
        report.sent += 1
    return report


class Sender:
    """A daemon thread that flushes the outbox every `interval` seconds while the process lives."""

    def __init__(self, box: Outbox, client: MarketoClient, type_ids: Mapping[str, int], interval: float = 2.0):
        self.box, self.client, self.type_ids, self.interval = box, client, type_ids, interval
        self.thread = threading.Thread(target=self._loop, name="marketo-outbox", daemon=True)
        self.wake = threading.Event()

    def start(self) -> "Sender":
        self.thread.start()
        return self

    def nudge(self) -> None:
        self.wake.set()

    def _loop(self) -> None:
        while True:
            try:
                while True:
                    report = flush(self.box, self.client, self.type_ids)
                    if report.sent + report.retried + report.refused < 300:
                        break
            except Exception as exc:  # the loop must survive anything; the rows stay in the outbox
                logger.warning("outbox sender: %s", type(exc).__name__)
            self.wake.wait(self.interval)
            self.wake.clear()


# --- from the chat ------------------------------------------------------------
class WriteBack:
    """What the chat hands to Marketo: rows in the outbox, and one sender thread that delivers them.

    Built by the composition root with the instance's client; with no client
    (Marketo not configured) every call does nothing. The sender starts on
    the first row, so a process that never writes back starts no thread.
    """

    def __init__(self, box: Outbox, client: Optional[MarketoClient], type_ids: Mapping[str, int]) -> None:
        self.box, self.client, self.type_ids = box, client, dict(type_ids)
        self._sender: Optional[Sender] = None
        self._lock = threading.Lock()

    def _outbox(self) -> Optional[Outbox]:
        if self.client is None:
            return None
        with self._lock:
            if self._sender is None:
                self._sender = Sender(self.box, self.client, self.type_ids).start()
        return self.box

    def nudge(self) -> None:
        """Send soon (after the caller's transaction with new rows has committed)."""
        if self._sender is not None:
            self._sender.nudge()

    def chat_events(self, events: Sequence[Tuple[str, Mapping[str, Any]]], lead_id: Optional[int],
                    connection: Optional[Connection] = None) -> None:
        """Activities for what a known visitor did; nothing for anonymous ones.

        With `connection`, the rows join the caller's transaction and the caller nudges after it commits.
        """
        if lead_id is None or not events:
            return
        box = self._outbox()
        if box is None:
            return
        for event, details in events:
            if event in ACTIVITIES:
                primary = details.get("dialogue", "")
                record_activity(box, event, lead_id, primary, {k: v for k, v in details.items() if k != "dialogue"},
                                connection)
        if connection is None:
            self.nudge()

    def visitor_identified(self, lead_id: int, cookie: Optional[str]) -> None:
        """Tie the visitor's cookie to the lead in Marketo too."""
        box = self._outbox()
        if box is not None and cookie:
            record_association(box, lead_id, cookie)
            self.nudge()

    def new_lead(self, fields: Mapping[str, Any], cookie: Optional[str]) -> None:
        """An unknown email was typed: create the lead in Marketo with what was captured."""
        box = self._outbox()
        if box is not None and fields.get("email"):
            record_lead(box, fields, cookie)
            self.nudge()
