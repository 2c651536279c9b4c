"""A thread-safe token bucket keyed by anything (user id, address), for per-process request limits.

Used by ``office.web`` for uploads: every multipart endpoint spends one token from the caller's user
bucket and one from their address bucket before the body is read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable


class Buckets:
    def __init__(self, *, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._state: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._state[key] = (tokens - 1 if allowed else tokens, now)
            if len(self._state) > 100_000:  # forget idle keys
                self._state = {k: v for k, v in self._state.items() if now - v[1] < 600}
            return allowed
