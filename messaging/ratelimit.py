"""Send limits (token buckets per user and per address, from ``office.ratelimit``) and a per-connection
abuse counter. Their sizes are the ``OFFICE_CHAT_*`` settings of the database's app, read at each
use."""

from __future__ import annotations

import time
from collections import deque

from office.db import Database
from office.ratelimit import make_buckets


class SendLimits:
    """Every send (HTTP or websocket) spends a token from its user's and its address's bucket,
    shared across processes when the deployment uses Redis."""

    def __init__(self, db: Database) -> None:
        hub_url = db.settings.hub_url
        self.users = make_buckets(
            hub_url, "chat:user", lambda: (db.settings.chat_rate_per_second, float(db.settings.chat_rate_burst))
        )
        self.addresses = make_buckets(
            hub_url,
            "chat:ip",
            lambda: (db.settings.chat_address_rate_per_second, float(db.settings.chat_address_rate_burst)),
        )

    def allow(self, user_id: int, address: str) -> bool:
        return self.users.allow(user_id) and self.addresses.allow(address)


class AbuseCounter:
    """Rejections in a sliding window; ``exceeded`` once sustained abuse should close the socket."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.times: deque[float] = deque()

    def hit(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.times.append(now)
        settings = self.db.settings
        while self.times and now - self.times[0] > settings.chat_abuse_window:
            self.times.popleft()
        return len(self.times) >= settings.chat_abuse_rejections
