"""A short-lived cache of who people are (roles, posts), so each request does not rebuild it.

Entries live ``TTL`` seconds. Any change to roles, posts or account state in this process
clears the cache at once (``invalidate``); other processes see it within ``TTL``. The session
itself (expiry, revocation) is still checked against the database on every request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

TTL = 5.0
_lock = threading.Lock()
_entries: dict[Any, tuple[float, Any]] = {}


def get(key: Any) -> Any | None:
    entry = _entries.get(key)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def put(key: Any, value: Any) -> None:
    with _lock:
        if len(_entries) > 20_000:
            _entries.clear()
        _entries[key] = (time.monotonic() + TTL, value)


def invalidate() -> None:
    with _lock:
        _entries.clear()
