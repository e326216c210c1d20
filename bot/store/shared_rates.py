"""Rate limits every Rasa server shares: `bot.core.rates`' token bucket, kept in Redis (with `REDIS_URL`).

With several Rasa servers behind the load balancer, each server's own
buckets would let a visitor send a limit's worth to every server. Here one
bucket per key lives in Redis and a Lua script takes a token atomically, on
Redis's clock (the servers' clocks may differ); an idle bucket expires when
it would be full again. Redis unreachable: the caller falls back to its own
process's buckets, so an outage slows nobody down and stops nobody.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from redis.asyncio import Redis

# KEYS[1]: the bucket; ARGV: capacity, tokens a second. Returns the seconds to wait, "-1" when allowed.
TAKE = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * refill)
local wait = -1
if tokens < 1 then
  wait = (1 - tokens) / refill
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return tostring(wait)
"""


class SharedRateLimit:
    """`await allow(key)`: None when a message may go, else the seconds until one may (raises when Redis does)."""

    def __init__(self, client: "Redis", name: str, per_minute: int) -> None:
        self.client, self.prefix = client, f"dynchat:rate:{name}:"
        self.capacity = float(max(1, per_minute))
        self.refill = self.capacity / 60.0
        self.idle_expiry = math.ceil(self.capacity / self.refill) + 1
        self._take = client.register_script(TAKE)

    async def allow(self, key: str) -> Optional[float]:
        wait = float(await self._take(keys=[self.prefix + key], args=[self.capacity, self.refill, self.idle_expiry]))
        return None if wait < 0 else wait
