"""Per-user send limits (token bucket) and a per-connection abuse counter."""

from __future__ import annotations

import threading
import time
from collections import deque

from messaging.config import CONFIG


class TokenBuckets:
    """``allow(user_id)`` spends one token; tokens refill at ``CONFIG.rate_per_second`` up to the burst."""

    def __init__(self) -> None:
        self._state: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(user_id, (float(CONFIG.rate_burst), now))
            tokens = min(float(CONFIG.rate_burst), tokens + (now - last) * CONFIG.rate_per_second)
            if tokens < 1:
                self._state[user_id] = (tokens, now)
                return False
            self._state[user_id] = (tokens - 1, now)
            if len(self._state) > 100_000:  # forget idle users
                self._state = {u: v for u, v in self._state.items() if now - v[1] < 60}
            return True


class AbuseCounter:
    """Rejections in a sliding window; ``exceeded`` once sustained abuse should close the socket."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def hit(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.times.append(now)
        while self.times and now - self.times[0] > CONFIG.abuse_window:
            self.times.popleft()
        return len(self.times) >= CONFIG.abuse_rejections
