"""Session idle-timer refreshes written off the request's critical path.

A read whose session is due its once-a-minute refresh (``accounts.touch_due``) used to write
``last_seen_at`` before answering, so under load the first request of each user action waited
behind every other writer (chat's group commit, 公文 actions). Reads, and the websocket frames that
count as a request (``office.ws_session``), now only note when they checked the session
(``SessionTouches.note``); one background thread per database writes whatever was noted, a moment
later, in one transaction with one multi-row statement. A request that writes anyway refreshes
inside its own transaction, as before (``office.web``).

The expiry rule itself (``accounts.live_until``) is unchanged. The time written is the moment the
request found the session live, never the moment of the write, and ``last_seen_at`` only ever moves
forward, so a session left idle for the whole window expires exactly as before and a refresh can
never revive one that had already expired. What changes is when the refresh lands: a few
milliseconds after the answer (``LINGER`` plus the wait for the write lock) instead of before it.
Until then another process (or a restart) sees the older time; a refresh lost in a crash costs at
most one minute of idle time, as a failed refresh always could.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from datetime import datetime

from office.db import Database, raw_many, sql_time

log = logging.getLogger("office.session_touch")
# Once woken, wait this long for more refreshes to share the transaction (each one is an fsync).
LINGER = 0.02
RETRY_AFTER = 1.0  # seconds before a failed write is tried again

_BY_DB: weakref.WeakKeyDictionary[Database, SessionTouches] = weakref.WeakKeyDictionary()
_BY_DB_LOCK = threading.Lock()


def of(db: Database) -> SessionTouches:
    """The database's refresher, made on first use; it writes what is left when the database is disposed."""
    with _BY_DB_LOCK:
        found = _BY_DB.get(db)
        if found is None:
            found = _BY_DB[db] = SessionTouches(db)
            db.on_dispose.append(found.stop)
        return found


class SessionTouches:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._due: dict[int, datetime] = {}
        self._lock = threading.Lock()
        # One flush at a time, so a flush returns only once everything noted before it is written,
        # including what a flush already under way took (never called inside a write transaction).
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.written = 0  # refreshes written so far (tests, benchmarks)

    def note(self, session_id: int, at: datetime) -> None:
        """Refresh ``session_id``'s last-seen time to ``at`` (when a request found it live), soon."""
        with self._lock:
            before = self._due.get(session_id)
            if before is None or at > before:
                self._due[session_id] = at
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._loop, name="session-touch", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self) -> int:
        """Write everything noted so far in one transaction; the number of sessions refreshed. On a
        failure the refreshes are kept for the next attempt and the error is raised."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            due, self._due = self._due, {}
        if not due:
            return 0
        try:
            with self.db.write() as session:
                conn = session.connection()
                raw_many(
                    conn,
                    "UPDATE auth_session SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?",
                    [(sql_time(conn, at), sid, sql_time(conn, at)) for sid, at in sorted(due.items())],
                )
        except BaseException:
            with self._lock:
                for sid, at in due.items():
                    newer = self._due.get(sid)
                    if newer is None or at > newer:
                        self._due[sid] = at
            raise
        self.written += len(due)
        return len(due)

    def stop(self) -> None:
        """Stop the thread and write what is left (at shutdown, before the engine goes)."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.warning("could not write the last session refreshes", exc_info=True)

    def _loop(self) -> None:
        # ``_stopped`` is looked at again before each wait: a stop that came while this thread slept
        # out LINGER or flushed had its wake-up cleared below, and the thread would wait on until
        # ``stop``'s join gave up (10 s at every shutdown).
        while not self._stopped:
            self._wake.wait()
            if self._stopped:
                return
            time.sleep(LINGER)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is busy or gone for a moment: keep them, try again
                log.warning("could not refresh session last-seen times", exc_info=True)
                time.sleep(RETRY_AFTER)
                self._wake.set()


__all__ = ["SessionTouches", "of"]
