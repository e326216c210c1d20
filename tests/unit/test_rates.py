"""Token buckets per visitor and per address (bot.core.rates)."""
from __future__ import annotations

from bot.core.rates import RateLimit, counted_address


def test_a_burst_then_the_refill_rate() -> None:
    limit = RateLimit(per_minute=30)
    assert all(limit.allow("v", 0.0) is None for _ in range(30))  # a burst of a minute's worth
    wait = limit.allow("v", 0.0)
    assert wait is not None and 1.9 < wait <= 2.0  # one more every two seconds
    assert limit.allow("v", 1.0) is not None and limit.allow("v", 2.1) is None
    assert limit.allow("other", 0.0) is None  # each key its own bucket


def test_memory_stays_bounded_and_quiet_keys_go_first() -> None:
    limit = RateLimit(per_minute=60, max_keys=100)
    for n in range(100):
        limit.allow(f"quiet-{n}", 0.0)
    limit.allow("busy", 100.0)
    for n in range(150):
        limit.allow(f"new-{n}", 100.0)
    assert len(limit._buckets) <= 100
    assert not [key for key in limit._buckets if key.startswith("quiet-")]  # idle a minute: full again, dropped
    assert "new-149" in limit._buckets


def test_loopback_and_junk_addresses_are_not_counted() -> None:
    assert counted_address("203.0.113.5") == "203.0.113.5" and counted_address("2001:db8::1") == "2001:db8::1"
    for address in ("127.0.0.1", "::1", "", None, "not an address"):
        assert counted_address(address) is None
