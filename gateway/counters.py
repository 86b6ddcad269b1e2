"""Rate-limit and quota counters in Django's cache, and subscription generations.

With Redis (REDIS_URL) both checks and both increments run in one Lua script,
so every gateway process shares the counters and a race past a limit lets
exactly the limit through. With the local-memory cache (one process, the
embedded default) the same arithmetic from ``gateway.limits`` runs under a
process lock. Other cache backends work but are only atomic per process.

A call refused by one limit consumes neither: only admitted calls count.

The gateway's data plane calls ``admit_async``: the same script through
redis.asyncio, with the subscription's generation compared first (a cached
key that is stale is told so in the same round trip, see gateway.keycache).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver

from gateway import limits

OK, RATE, QUOTA = "ok", "rate", "quota"
# The key's cached subscription is out of date (see gateway.keycache).
STALE = "stale"
# The Lua script's answer when the quota counter is cold and no seed was given.
COLD = 3
# ... and when the key's generation is not the one it was cached under.
STALE_CODE = 4

# Calls already counted in a quota window, from its start to now (epoch
# seconds): the call records, for a counter that was lost.
Seed = Callable[[float, float], int]

LUA = """
if KEYS[3] then
  local generation = redis.call('GET', KEYS[3]) or '0'
  if generation ~= ARGV[8] then
    return {4, '0', 0, 0}
  end
end
local now = tonumber(ARGV[1])
local rl = tonumber(ARGV[2])
local rp = tonumber(ARGV[3])
local ql = tonumber(ARGV[4])
local qttl = tonumber(ARGV[5])
local rate_count = 0
if rl >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - rp)
  rate_count = redis.call('ZCARD', KEYS[1])
  if rate_count >= rl then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local o = now
    if oldest[2] then o = math.min(tonumber(oldest[2]), now) end
    return {1, tostring(o + rp - now), 0, -1}
  end
end
local used = 0
if ql >= 0 then
  local stored = redis.call('GET', KEYS[2])
  if not stored then
    -- A cold quota counter (a new window, or lost keys): ask the caller for
    -- the calls already recorded in this window, then start from them.
    if ARGV[7] == '' then return {3, '0', 0, 0} end
    redis.call('SET', KEYS[2], ARGV[7], 'EX', qttl)
    stored = ARGV[7]
  end
  used = tonumber(stored)
  if used >= ql then
    return {2, '0', rl - rate_count, 0}
  end
end
if rl >= 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], math.ceil(rp * 1000) + 1000)
end
if ql >= 0 then
  used = redis.call('INCR', KEYS[2])
  if used == 1 then redis.call('EXPIRE', KEYS[2], qttl) end
end
return {0, '0', rl - rate_count - 1, ql - used}
"""


@dataclass(frozen=True)
class Limits:
    rate_calls: int | None = None
    rate_period: int | None = None
    quota_calls: int | None = None
    quota_period: int | None = None

    @classmethod
    def of(cls, source) -> Limits:
        """From a Product or a KeyHolder, whose has_rate_limit and has_quota
        say which limits apply (Product.limit_applies)."""
        rate, quota = source.has_rate_limit, source.has_quota
        return cls(
            source.rate_limit_calls if rate else None,
            source.rate_limit_period if rate else None,
            source.quota_calls if quota else None,
            source.quota_period if quota else None,
        )

    @property
    def unlimited(self) -> bool:
        return self.rate_calls is None and self.quota_calls is None


@dataclass(frozen=True)
class Decision:
    outcome: str  # OK, RATE or QUOTA
    retry_after: int = 0
    # Calls left after this one, None where there is no such limit.
    rate_remaining: int | None = None
    quota_remaining: int | None = None
    # Seconds to the quota's renewal, for the 403 message.
    quota_renewal: int = 0

    @property
    def allowed(self) -> bool:
        return self.outcome == OK


_lock = threading.Lock()
# Members of the sliding-window sorted set must be unique per call.
_serial = itertools.count()
_process = secrets.token_hex(4)
_scripts: dict[int, tuple] = {}


def admit(
    counter_id: str, lim: Limits, started: float, now: float | None = None, cache=None, seed: Seed | None = None
) -> Decision:
    """Count one call of a subscription against its product's limits.
    ``counter_id`` names the subscription's counters (see Subscription.counter_id).
    ``seed`` counts the calls already made in a quota window whose counter
    is cold, so that a restart (local memory) or lost Redis keys never grant
    calls again; without it a cold counter starts from zero."""
    # caches[...], not django.core.cache.cache: that is a proxy, which is no
    # RedisCache to isinstance(), so Redis would get the per-process path
    # (not atomic across processes, four round trips under a lock).
    cache = cache or caches[DEFAULT_CACHE_ALIAS]
    now = time.time() if now is None else now
    if lim.unlimited:
        return Decision(OK)
    window = limits.quota_window(started, now, lim.quota_period) if lim.quota_calls is not None else None
    rate_key = f"gw:rate:{counter_id}"
    quota_key = f"gw:quota:{counter_id}:{window.index if window else 0}"
    if isinstance(cache, RedisCache):
        return _admit_redis(cache, rate_key, quota_key, lim, window, now, seed)
    return _admit_local(cache, rate_key, quota_key, lim, window, now, seed)


def _admit_redis(cache, rate_key, quota_key, lim: Limits, window, now: float, seed: Seed | None) -> Decision:
    rate_key, quota_key = cache.make_key(rate_key), cache.make_key(quota_key)
    found = _scripts.get(id(cache))
    if found is None or found[0]() is not cache:
        # One client and one registered script per cache object (Django has
        # one per thread): building a Redis client per call, as Django's
        # backend does, costs more than the call itself.
        client = cache._cache.get_client(None, write=True)
        found = _scripts[id(cache)] = (weakref.ref(cache), client, client.register_script(LUA))
    _, client, script = found
    quota_ttl = int(window.end - now) + 60 if window else 0
    args = [
        repr(now),
        lim.rate_calls if lim.rate_calls is not None else -1,
        lim.rate_period or 0,
        lim.quota_calls if lim.quota_calls is not None else -1,
        quota_ttl,
        f"{now!r}:{next(_serial)}:{os.getpid()}:{_process}",
        "" if seed is not None else "0",
    ]
    code, wait, rate_left, quota_left = script(keys=[rate_key, quota_key], args=args, client=client)
    if int(code) == COLD:
        # Once per window and subscription (or after Redis lost its keys):
        # the database is asked, outside the script, and the script runs again.
        args[-1] = str(seed(window.start, now))
        code, wait, rate_left, quota_left = script(keys=[rate_key, quota_key], args=args, client=client)
    return _decision(int(code), float(wait), int(rate_left), int(quota_left), lim, window, now)


def _admit_local(cache, rate_key, quota_key, lim: Limits, window, now: float, seed: Seed | None) -> Decision:
    seeded = 0
    if window is not None and seed is not None and cache.get(quota_key) is None:
        # Asked outside the lock: a database query must not hold up every
        # other call of the process.
        seeded = seed(window.start, now)
    with _lock:
        rate_left = -1
        if lim.rate_calls is not None:
            result = limits.sliding_window(cache.get(rate_key, ()), now, lim.rate_calls, lim.rate_period)
            if not result.allowed:
                cache.set(rate_key, result.log, lim.rate_period + 1)
                return Decision(RATE, retry_after=result.retry_after, rate_remaining=0)
        used = 0
        if window is not None:
            used = cache.get(quota_key, seeded)
            if used >= lim.quota_calls:
                # The rate-limit slot this call would have taken stays free.
                unused = result.remaining + 1 if lim.rate_calls is not None else -1
                return _decision(2, 0, unused, 0, lim, window, now)
            used += 1
            cache.set(quota_key, used, int(window.end - now) + 60)
        if lim.rate_calls is not None:
            cache.set(rate_key, result.log, lim.rate_period + 1)
            rate_left = result.remaining
        return _decision(0, 0, rate_left, (lim.quota_calls or 0) - used, lim, window, now)


def _decision(code: int, wait: float, rate_left: int, quota_left: int, lim: Limits, window, now: float) -> Decision:
    rate_remaining = max(rate_left, 0) if lim.rate_calls is not None else None
    quota_remaining = max(quota_left, 0) if lim.quota_calls is not None else None
    renewal = window.seconds_left(now) if window else 0
    if code == 1:
        return Decision(RATE, limits.retry_seconds(wait), 0, None)
    if code == 2:
        return Decision(QUOTA, renewal, rate_remaining, 0, renewal)
    return Decision(OK, 0, rate_remaining, quota_remaining, renewal)


# --- the data plane: async, with the key's generation checked -------------


def _generation_key(subscription_id: int) -> str:
    return f"gw:gen:{subscription_id}"


def generation(subscription_id: int, cache=None) -> int:
    """The subscription's current generation (blocking)."""
    cache = cache or caches[DEFAULT_CACHE_ALIAS]
    return int(cache.get(_generation_key(subscription_id)) or 0)


def bump_generation(subscription_id: int, cache=None) -> None:
    cache = cache or caches[DEFAULT_CACHE_ALIAS]
    key = _generation_key(subscription_id)
    if isinstance(cache, RedisCache):
        # No expiry: a generation lost would make old cached entries look current.
        cache._cache.get_client(None, write=True).incr(cache.make_key(key))
        return
    with _lock:
        cache.set(key, int(cache.get(key) or 0) + 1, None)


# Redis connections per event loop (server process) for the counters.
REDIS_CONNECTIONS = 32
_stores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@receiver(setting_changed)
def _caches_changed(setting: str, **kwargs) -> None:
    if setting == "CACHES":  # tests
        _stores.clear()


def _store(cache=None):
    """The cache, and for Redis a redis.asyncio client and registered script,
    kept per event loop: a client belongs to the loop it was made on, and in
    async code caches[...] builds a new backend (and Redis client) per task,
    which costs more than the call itself."""
    loop = asyncio.get_running_loop()
    found = _stores.get(loop)
    if found is None or (cache is not None and found[0] is not cache):
        cache = cache or caches[DEFAULT_CACHE_ALIAS]
        if isinstance(cache, RedisCache):
            import redis.asyncio

            # A bounded pool that makes a call wait its turn (the round trip is
            # short) rather than fail, or open a connection per call in flight.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                cache._servers[0], max_connections=REDIS_CONNECTIONS, timeout=5, **_redis_options(cache)
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            found = (cache, client, client.register_script(LUA))
        else:
            found = (cache, None, None)
        _stores[loop] = found
    return found


def _redis_options(cache) -> dict:
    options = {k: v for k, v in cache._options.items() if k in ("socket_timeout", "socket_connect_timeout")}
    options.setdefault("socket_timeout", 5)
    options.setdefault("socket_connect_timeout", 5)
    return options


async def admit_async(key, seed=None, now: float | None = None, cache=None) -> Decision:
    """admit() for the event loop, for a cached key (gateway.keycache.Key):
    STALE when its subscription changed since it was cached. ``seed`` is
    admit()'s, as a coroutine function (it reads the database)."""
    cache, client, script = _store(cache)
    now = time.time() if now is None else now
    lim: Limits = key.limits
    window = limits.quota_window(key.quota_start, now, lim.quota_period) if lim.quota_calls is not None else None
    rate_key = f"gw:rate:{key.counter_id}"
    quota_key = f"gw:quota:{key.counter_id}:{window.index if window else 0}"
    generation_key = _generation_key(key.id)
    if client is None:
        # One process: the generation is in this process's memory, bumped by
        # the change's own signal; nothing here waits but a cold quota's seed.
        if int(cache.get(generation_key) or 0) != key.generation:
            return Decision(STALE)
        if lim.unlimited:
            return Decision(OK)
        seeded = None
        if window is not None and seed is not None and cache.get(quota_key) is None:
            seeded = await seed(window.start, now)
        given = (lambda start, at: seeded) if seeded is not None else None
        return _admit_local(cache, rate_key, quota_key, lim, window, now, given)
    quota_ttl = int(window.end - now) + 60 if window else 0
    keys = [cache.make_key(rate_key), cache.make_key(quota_key), cache.make_key(generation_key)]
    args = [
        repr(now),
        lim.rate_calls if lim.rate_calls is not None else -1,
        lim.rate_period or 0,
        lim.quota_calls if lim.quota_calls is not None else -1,
        quota_ttl,
        f"{now!r}:{next(_serial)}:{os.getpid()}:{_process}",
        "" if seed is not None else "0",
        str(key.generation),
    ]
    code, wait, rate_left, quota_left = await script(keys=keys, args=args, client=client)
    if int(code) == COLD:
        # Once per window and subscription (or after Redis lost its keys):
        # the database is asked, outside the script, and the script runs again.
        args[6] = str(await seed(window.start, now))
        code, wait, rate_left, quota_left = await script(keys=keys, args=args, client=client)
    if int(code) == STALE_CODE:
        return Decision(STALE)
    return _decision(int(code), float(wait), int(rate_left), int(quota_left), lim, window, now)
