"""Rate limits shared by every Rasa server through a real Redis, and this server's own when Redis is away.

Without Redis on this machine the shared cases are skipped with a message; in CI they fail.
"""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from redis.asyncio import Redis

from bot.app import Services
from bot.config import from_environment
from bot.store.shared_rates import SharedRateLimit
from tests.support import require_service

REDIS = "redis://127.0.0.1:6379/5"


def test_two_servers_draw_from_one_bucket_per_visitor() -> None:
    """Before, each server counted alone: behind a balancer over two servers a visitor had twice the limit."""
    require_service("Redis", 6379)
    name = f"test-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list:
        first, second = Redis.from_url(REDIS), Redis.from_url(REDIS)
        try:
            servers = [SharedRateLimit(first, name, 5), SharedRateLimit(second, name, 5)]
            answers = [await servers[n % 2].allow("visitor-1") for n in range(8)]
            answers.append(await servers[0].allow("visitor-2"))  # another visitor has a bucket of their own
            left = await first.ttl(f"dynchat:rate:{name}:visitor-1")
            return answers + [left]
        finally:
            await first.close()
            await second.close()

    *answers, other, ttl = asyncio.run(scenario())
    assert answers[:5] == [None] * 5 and all(wait is not None for wait in answers[5:])
    assert 11.0 <= answers[5] <= 12.5  # a token every 12 s at 5 a minute, on Redis's clock
    assert other is None
    assert 0 < ttl <= 61  # an idle bucket goes away once it would be full again


def test_without_redis_each_server_still_limits_on_its_own(tmp_path: Path) -> None:
    settings = from_environment({"DYNCHAT_VAR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:9/0",
                                 "DYNCHAT_RATE_PER_VISITOR": "3"})
    services = Services(settings)

    async def scenario() -> list:
        return [await services.too_fast("visitor-1", "203.0.113.9") for _ in range(5)]

    answers = asyncio.run(scenario())
    assert answers[:3] == [None] * 3 and all(wait is not None and wait > 0 for wait in answers[3:])
