"""The calendar clients' one retry loop: rate limits and server errors are retried, the rest raised.

Google and Microsoft Graph differ in what a retryable answer looks like
(Google also says `rateLimitExceeded` with a 403) and in what their
transports raise; the loop, the backoff and the error they end in are the
same, and live here.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Optional

import requests

from bot.calendars.base import CalendarError

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)


def retry_delay(attempt: int, retry_after: Optional[str] = None, cap: float = 30.0) -> float:
    """How long to wait before the next try: the server's Retry-After, else jittered exponential backoff."""
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    return min(cap, 0.5 * 2 ** attempt * random.random())


def call_with_retries(send: Callable[[], requests.Response], *, attempts: int, sleep: Callable[[float], None],
                      reason_of: Callable[[requests.Response], str],
                      retryable: Callable[[int, str], bool] = lambda status, _reason: status in RETRYABLE_STATUSES,
                      transport_error: Callable[[Exception], bool] = lambda exc: isinstance(
                          exc, requests.RequestException),
                      fatal: Callable[[Exception], bool] = lambda _exc: False) -> Any:
    """Send until the API answers 2xx (its JSON, or None when empty) or a CalendarError says why not.

    `reason_of` reads the vendor's error code from a refusal; `transport_error`
    says which exceptions mean "could not reach it" (retried unless `fatal`).
    """
    for attempt in range(1, attempts + 1):
        try:
            reply = send()
        except Exception as exc:
            if not transport_error(exc):
                raise
            if attempt == attempts or fatal(exc):
                raise CalendarError(0, type(exc).__name__) from None
            sleep(retry_delay(attempt))
            continue
        if reply.status_code < 300:
            return reply.json() if reply.content else None
        try:
            reason = reason_of(reply)
        except ValueError:  # not JSON
            reason = ""
        if not retryable(reply.status_code, reason) or attempt == attempts:
            raise CalendarError(reply.status_code, reason or reply.reason or "refused")
        sleep(retry_delay(attempt, reply.headers.get("Retry-After")))
    raise CalendarError(0, "no attempts")
