"""Group commit: many small writes (sends, read marks) share one durable transaction.

With ``synchronous=FULL`` every SQLite commit is an fsync, so one commit per message caps
throughput at the disk's fsync rate. Senders instead ``submit`` a function; one thread takes
everything queued, runs each function in its own SAVEPOINT inside ONE ``Database.write()``
(a failing send rolls back alone and gets its error), commits once, and only then resolves each
sender's future. Items that carry a ``batch_type`` (plain sends: ``messaging.sendbatch``) are
instead handed, a consecutive run at a time, to that writer, which validates each in Python and
writes the run with multi-row statements (no SAVEPOINT per item). So an ack (HTTP 201 or a
``chat.ack`` frame) always follows the commit that made the message durable, and a failed commit
acks nobody.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlmodel import Session

from office.db import Database

T = TypeVar("T")
log = logging.getLogger("messaging.batcher")
_STOP = object()


class GroupCommit:
    def __init__(self, db: Database, *, max_batch: int = 500) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="chat-group-commit", daemon=True)
        self.batches = 0
        self.items = 0
        self._thread.start()

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        """Queue ``fn(session)``; the future resolves after the commit that includes it."""
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut

    def run(self, fn: Callable[[Session], T], timeout: float = 60) -> T:
        """Submit and wait (for sync callers such as HTTP handlers in the threadpool)."""
        return self.submit(fn).result(timeout)

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Callable[[Session], Any], Future[Any]]]) -> None:
        live = [(fn, fut) for fn, fut in batch if fut.set_running_or_notify_cancel()]
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.write() as session:
                pending: list[Any] = session.info.setdefault("pending_events", [])
                i = 0
                while i < len(live):
                    kind = getattr(live[i][0], "batch_type", None)
                    if kind is not None:
                        # A run of items one writer can stage and write together (e.g. plain sends).
                        j = i + 1
                        while j < len(live) and getattr(live[j][0], "batch_type", None) is kind:
                            j += 1
                        outcomes.extend(kind(session, [fn for fn, _ in live[i:j]]).run())
                        i = j
                        continue
                    fn = live[i][0]
                    i += 1
                    mark = len(pending)
                    try:
                        with session.begin_nested():
                            outcomes.append((True, fn(session)))
                    except Exception as exc:  # this item alone rolls back, with its events
                        del pending[mark:]
                        outcomes.append((False, exc))
        except Exception as exc:
            log.exception("group commit of %d items failed", len(live))
            for _, fut in live:
                fut.set_exception(exc)
            return
        self.batches += 1
        self.items += len(live)
        for (_, fut), (ok, value) in zip(live, outcomes):
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
