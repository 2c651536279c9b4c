"""Token buckets keyed by anything (user id, address): per process by default, shared by every
process through Redis when the deployment runs several (``OFFICE_HUB_URL=redis://...``).

Used by ``office.web`` for uploads (every multipart endpoint spends one token from the caller's
user bucket and one from their address bucket before the body is read) and by messaging for sends.
Login failures are counted in the database instead, so they need neither.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger("office.ratelimit")

Limits = Callable[[], tuple[float, float]]  # (tokens per second, burst), read at call time


class Buckets:
    """A thread-safe in-process token bucket per key."""

    def __init__(self, *, per_minute: float = 0.0, burst: int = 0, limits: Limits | None = None) -> None:
        self.limits: Limits = limits or (lambda: (per_minute / 60.0, float(burst)))
        self._state: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        rate, burst = self.limits()
        with self._lock:
            tokens, last = self._state.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            allowed = tokens >= 1
            self._state[key] = (tokens - 1 if allowed else tokens, now)
            if len(self._state) > 100_000:  # forget idle keys
                self._state = {k: v for k, v in self._state.items() if now - v[1] < 600}
            return allowed


# One round trip, atomic in Redis: refill by elapsed time (Redis's clock, the same for every
# process), spend a token if there is one, and let idle buckets expire.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
local ttl = 60
if rate > 0 then ttl = math.ceil(burst / rate) + 1 end
redis.call('EXPIRE', KEYS[1], math.min(ttl, 86400))
return allowed
"""


class RedisBuckets:
    """The same buckets kept in Redis, so N workers together allow what one would. If Redis cannot
    be reached the process falls back to its own buckets (logged) rather than refusing everyone."""

    def __init__(self, client: Any, name: str, limits: Limits) -> None:
        self.client, self.name, self.limits = client, name, limits
        self._script = client.register_script(_SCRIPT)
        self._local = Buckets(limits=limits)

    def allow(self, key: Hashable, now: float | None = None) -> bool:
        rate, burst = self.limits()
        try:
            return bool(self._script(keys=[f"tongban:rl:{self.name}:{key}"], args=[rate, burst]))
        except Exception as exc:  # noqa: BLE001  (redis errors, timeouts: degrade to per process)
            log.warning("rate limit store unavailable (%s); limiting per process", type(exc).__name__)
            return self._local.allow(key, now)


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def make_buckets(hub_url: str, name: str, limits: Limits) -> Buckets | RedisBuckets:
    if not hub_url.startswith("redis://"):
        return Buckets(limits=limits)
    import redis

    with _clients_lock:
        client = _clients.get(hub_url)
        if client is None:
            client = _clients[hub_url] = redis.Redis.from_url(hub_url, socket_timeout=1, socket_connect_timeout=1)
    return RedisBuckets(client, name, limits)
