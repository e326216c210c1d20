"""How often a visitor or an address may send: token buckets, one per key, in bounded memory.

A bucket holds up to `per_minute` messages and refills at `per_minute` a
minute, so a person typing (or clicking through a dialogue) never meets it,
while a script replaying a payload does after a burst. Pure: the caller says
what time it is.
"""
from __future__ import annotations

import ipaddress
import threading
from typing import Dict, Optional, Tuple


def counted_address(address: Optional[str]) -> Optional[str]:
    """The address a per-address limit counts, or None: a loopback address is this machine (a test harness, or a
    reverse proxy that does not say who its client is; behind one, set SANIC_PROXIES_COUNT so it is read from
    X-Forwarded-For), and counting it would make all visitors share one bucket."""
    try:
        return None if not address or ipaddress.ip_address(address).is_loopback else address
    except ValueError:
        return None


class RateLimit:
    """`allow(key, now)`: None when a message may go, else the seconds until one may."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self.capacity = float(max(1, per_minute))
        self.refill = self.capacity / 60.0
        self.max_keys = max_keys
        self._buckets: Dict[str, Tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> Optional[float]:
        with self._lock:
            tokens, then = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + max(0.0, now - then) * self.refill)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.refill
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:
                self._forget_idle(now)
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have filled up again (their keys went quiet): they would allow a burst anyway."""
        full_after = self.capacity / self.refill
        for key, (_tokens, then) in list(self._buckets.items()):
            if now - then >= full_after:
                del self._buckets[key]
        while len(self._buckets) > self.max_keys:  # all busy: the oldest go first
            del self._buckets[next(iter(self._buckets))]
