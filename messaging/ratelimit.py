"""Send limits (token buckets per user and per address) and a per-connection abuse counter."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable

from messaging.config import CONFIG


class TokenBuckets:
    """``allow(key)`` spends one token; tokens refill at the configured rate up to the burst. The
    limits are read from ``CONFIG`` at call time (per user by default, per address with
    ``per="address"``)."""

    def __init__(self, per: str = "user") -> None:
        self.per = per
        self._state: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _limits(self) -> tuple[float, float]:
        if self.per == "address":
            return CONFIG.address_rate_per_second, float(CONFIG.address_rate_burst)
        return CONFIG.rate_per_second, float(CONFIG.rate_burst)

    def allow(self, key: Hashable, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        rate, burst = self._limits()
        with self._lock:
            tokens, last = self._state.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                self._state[key] = (tokens, now)
                return False
            self._state[key] = (tokens - 1, now)
            if len(self._state) > 100_000:  # forget idle users
                self._state = {u: v for u, v in self._state.items() if now - v[1] < 60}
            return True


class SendLimits:
    """Every send (HTTP or websocket) spends a token from its user's and its address's bucket."""

    def __init__(self) -> None:
        self.users = TokenBuckets()
        self.addresses = TokenBuckets(per="address")

    def allow(self, user_id: int, address: str) -> bool:
        return self.users.allow(user_id) and self.addresses.allow(address)


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
