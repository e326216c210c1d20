"""Rasa's Redis lock store, atomic and asynchronous (several Rasa servers or Sanic workers, `REDIS_URL`).

A conversation's messages must be handled one at a time, in the order they
came, whichever Rasa server each lands on: Rasa's ticket lock. Rasa's
`RedisLockStore` keeps a conversation's lock as one JSON value that it reads,
changes and writes back in separate commands, with Redis's blocking client on
the server's event loop: two servers taking a ticket for one conversation at
the same moment can both read the same lock, both write ticket N and both be
served at once (what the lock exists to prevent), and some seven round trips a
message stall every other visitor on that server meanwhile. Here each step is
one Lua script, atomic in Redis and timed by Redis's clock, through redis-py's
asyncio client: take a ticket (first come, first served, as Rasa's), ask
whether it is being served (a waiter asks again after 10 ms, 20 ms ... 0.1 s;
Rasa's asks once a second), give it back. A ticket expires after Rasa's lock
lifetime (`TICKET_LOCK_LIFETIME`, 60 s), so a crashed server's ticket does not
hold its conversation for ever. While Redis is away each server locks its
own conversations in memory, so visitors are answered instead of getting an
error (Rasa's store fails every message then), and the shared lock is back
with Redis.

Configured by `dynchat run` (`bot.web.serve.endpoints_for`) as
`lock_store: {type: bot.web.lock_store.RedisLockStore, url: ..., port: ..., db: ...}`.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncGenerator, Dict, Optional, Tuple

import redis.asyncio
import redis.exceptions
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

if TYPE_CHECKING:
    from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

PREFIX = "dynchat:lock:"  # not Rasa's "lock:": its values are JSON strings, ours sorted sets
FIRST_WAIT, LONGEST_WAIT = 0.01, 0.1

# KEYS: the tickets waiting (a sorted set: member the zero-padded ticket, score its expiry in ms), the
# ticket counter. ARGV: the lifetime in ms. Returns the ticket and 1 when it is served at once.
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
TAKE = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ticket = string.format('%020d', redis.call('INCR', KEYS[2]))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ticket)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if first == ticket then return {ticket, 1} end
return {ticket, 0}
"""
# KEYS: the tickets. ARGV: a ticket. Returns 1 when it is served, 0 while others are before it, -1 when it
# expired (or was never taken).
TURN = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] == ARGV[1] then return 1 end
return 0
"""


class RedisLockStore(LockStore):
    """Rasa's ticket lock per conversation, each step one atomic script on Redis (see the module)."""

    def __init__(self, endpoint_config: Optional["EndpointConfig"] = None, host: str = "localhost",
                 port: int = 6379, db: int = 0, password: Optional[str] = None, socket_timeout: float = 10,
                 **_ignored: Any) -> None:
        if endpoint_config is not None:
            settings = dict(endpoint_config.kwargs)
            host = endpoint_config.url or host
            port, db = int(settings.get("port", port)), int(settings.get("db", db))
            password = settings.get("password", password)
            socket_timeout = float(settings.get("socket_timeout", socket_timeout))
        self.red = redis.asyncio.Redis(host=host, port=int(port), db=int(db), password=password or None,
                                       socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)
        self._take = self.red.register_script(TAKE)
        self._turn = self.red.register_script(TURN)
        self._local: Dict[str, Tuple[asyncio.Lock, int]] = {}  # while Redis is away: lock, its users
        self._away = False
        super().__init__()

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = LONGEST_WAIT) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock: wait for this message's turn, handle it, let the next one go."""
        tickets, counter = f"{PREFIX}{conversation_id}", f"{PREFIX}{conversation_id}:n"
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        away: Optional[Exception] = None
        try:
            ticket, served = await self._take(keys=[tickets, counter], args=[lifetime_ms])
        except redis.exceptions.RedisError as error:
            away = error
        if away is not None:  # the turn itself runs outside the `except`: its own errors are not chained to it
            async with self._locally(conversation_id, away):
                yield TicketLock(conversation_id)
            return
        try:
            wait, longest = FIRST_WAIT, max(FIRST_WAIT, min(wait_time_in_seconds, LONGEST_WAIT))
            while not served:
                await asyncio.sleep(wait)
                wait = min(wait * 2, longest)
                try:
                    turn = await self._turn(keys=[tickets], args=[ticket])
                except redis.exceptions.RedisError as error:
                    raise LockError(f"Error while acquiring lock. Error:\n{error!r}") from error
                if turn == -1:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
                served = turn == 1
            if self._away:
                self._away = False
                logger.warning("lock store: Redis answers again; conversations are locked across servers")
            yield TicketLock(conversation_id)
        finally:
            try:
                await self.red.zrem(tickets, ticket)
            except redis.exceptions.RedisError as error:  # it expires with its lifetime
                logger.warning("lock store: could not give back a ticket (%s)", type(error).__name__)

    @asynccontextmanager
    async def _locally(self, conversation_id: str, error: Exception) -> AsyncGenerator[None, None]:
        """While Redis is away, this server's own lock for the conversation (its messages still one at a
        time here; across servers only while Redis answers), as the rate limits fall back to local buckets."""
        if not self._away:
            self._away = True
            logger.warning("lock store: Redis is away (%s); each server locks its own conversations until it "
                           "is back", type(error).__name__)
        lock, users = self._local.get(conversation_id, (asyncio.Lock(), 0))
        self._local[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._local[conversation_id]
            if users == 1:
                del self._local[conversation_id]
            else:
                self._local[conversation_id] = (lock, users - 1)
