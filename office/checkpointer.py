"""WAL checkpoints on a thread of their own (SQLite).

By default the connection whose commit takes the WAL past 1,000 pages copies the WAL back into the
database file and fsyncs it, inside that commit: every so often one chat message or one request
waited 10-20 ms for work that was not its own. SQLite's documentation suggests exactly this instead:
switch automatic checkpoints (nearly) off and run them from a separate thread. ``sqlite3`` releases
the GIL while it copies and syncs, so the checkpoint overlaps the writer rather than stalling it.

A PASSIVE checkpoint never blocks writers or readers; frames it cannot copy yet (a reader still
needs them) are taken by the next one. Writers keep a high automatic threshold as a backstop, so
the WAL stays bounded even if this thread were to fall behind. Durability does not change: a
commit is durable once its WAL frames are synced, before any checkpoint.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("office.checkpointer")
BACKSTOP_PAGES = 20_000  # writers' own wal_autocheckpoint: about 80 MB of WAL with 4 KiB pages


class Checkpointer:
    """``poke()`` after each commit; at most one PASSIVE checkpoint per ``interval`` seconds."""

    def __init__(self, path: str, *, interval: float = 0.25) -> None:
        self.path = path
        self.interval = interval
        self.runs = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            # Looked at before each wait: a stop whose wake-up fell between the linger's timeout and
            # the clear below would otherwise leave the thread asleep until stop's join gave up (10 s).
            while not self._stop.is_set():
                self._wake.wait()
                # Let a burst of commits pile up: one checkpoint then copies each page once.
                if self._stop.wait(self.interval):
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; the writers' own backstop still applies")
        finally:
            conn.close()
