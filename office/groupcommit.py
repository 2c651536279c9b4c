"""Group commit: many small writes share one durable transaction (one fsync instead of many).

With ``synchronous=FULL`` every SQLite commit is an fsync, so one commit per request caps
throughput at the disk's fsync rate (PostgreSQL's commit flush is the same limit). Callers instead
``submit`` a function; one writer thread takes everything queued, runs each function in its own
SAVEPOINT inside ONE ``Database.write()`` (a failing item rolls back alone and gets its error),
commits once, and only then resolves each caller's future: an item is acknowledged only after the
commit that made it durable, and a failed commit acknowledges nobody. The in-process subscribers of
the batch's events (``office.events.subscribe``: other domains' reactions, such as the 工作通知 each
new 办事 task sends) run after the callers were answered, not before: they are later writes of
their own, and a caller waiting for them waited for work its answer does not depend on.

Items carrying a ``batch_type`` are handed, a consecutive run at a time, to that class
(``batch_type(session, items).run() -> [(ok, value), ...]``), which writes the run with multi-row
statements and no SAVEPOINT per item. If a run raises, or the commit itself fails, the whole
transaction rolls back and every item of the batch is retried alone, in its own transaction, so one
bad item never takes the others down.

The writer takes the write lock before it drains the queue (``Database.write(lock_now=True)``):
whatever queued while it waited for the lock (on PostgreSQL, held by other workers' writers) joins
the batch it then commits, so under contention batches grow instead of shrinking.

Chat sends and read marks (``messaging.batcher``), 办事 submissions (``banshi.submit_batch``) and
发文字号 (``docs_flow.numbering``) use it.

Backpressure: the queue is bounded. Work accepted but not yet answered (queued, or in the batch
being written) is at most ``Settings.write_queue_max`` items per writer; past it ``submit`` refuses
at once with ``Overloaded`` (HTTP 503 with ``Retry-After``, a websocket ``error`` frame with
``retry_after``) before anything is queued, so a refused item changes nothing, and what was accepted
is answered within about the time the writer needs for one full queue instead of a backlog that
grows until every caller waits tens of seconds. Reads, health checks and ``/metrics`` never pass
through a writer, so they keep answering. Callers that would do work to build an item (validate a
websocket frame, check a rate limit) ask ``check_room`` first, so a refusal costs them nothing more;
``check_room`` also refuses while the event loop runs late (``office.looplag``), a wait before the
queue that its bound cannot see.
The retry hint grows with the refusals of the overload relative to the writer's throughput
(``RETRY_AFTER``).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import event
from sqlmodel import Session

from office import events, looplag, metrics
from office.db import Database
from office.errors import Overloaded

T = TypeVar("T")
log = logging.getLogger("office.groupcommit")
_STOP = object()
Item = tuple[Callable[[Session], Any], Future[Any]]
# Seconds a refused caller is told to wait (``Retry-After``), growing with the pressure. Each refusal
# of an overload (from the first refusal until the queue is next found below half its bound) takes
# the next slot of a schedule that advances one item at the writer's throughput (items answered per
# second since the overload began; in its first second, a full queue a second): at least RETRY_AFTER
# (about what a full queue takes to write) from now, at most RETRY_AFTER_MAX. The more are refused
# for what the writer gets through, the longer the wait, and the refused come back spread out at
# about the rate the writer takes them. A fixed one-second hint under a 1.5x overload brought every
# refused send back each second, so the refusals grew with the backlog into a storm (~12,000/s)
# that took the event loop from the accepted work. Clients back off exponentially on top, with
# jitter, the hint as their floor (static/js/api.js RETRY_POLICY).
RETRY_AFTER = 1
RETRY_AFTER_MAX = 30


class GroupCommit:
    def __init__(
        self,
        db: Database,
        *,
        name: str = "group-commit",
        max_batch: int = 500,
        linger: float = 0.0,
        max_linger: float = 0.005,
        max_queue: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock  # for the retry hints' schedule (the tests pass their own)
        self.max_batch = max_batch
        # The bound on accepted, unanswered items; None: the database's ``Settings.write_queue_max``,
        # read at each submit (so a changed setting applies at once).
        self.max_queue = max_queue
        # PostgreSQL's commit_delay, in spirit: once the queue is empty, wait up to ``linger``
        # seconds for one more caller (at most ``max_linger`` in all). Callers answered by the last
        # commit come back a moment later; without the wait they miss this batch and the writer
        # settles into alternating half-size batches, each paying a full fsync.
        self.linger = linger
        self.max_linger = max_linger
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.batches = 0
        self.items = 0
        self.retried = 0
        self.refused = 0  # items refused because the queue was full
        # The overload under way (``_refusal``): when it began, ``items`` then, the schedule's next slot.
        self._full_since: float | None = None
        self._full_items = 0
        self._slot = 0.0
        # Events committed by this writer whose subscribers have not run yet (``_after_commit``).
        self._committed: list[events.Event] = []
        self._depth = 0  # accepted and not yet answered: queued, or in the batch being written
        self._depth_lock = threading.Lock()
        # Cleared, the writer stops before its next batch until set again: the tests' way to hold a
        # saturated writer (the queue then fills) without generating real load.
        self.running = threading.Event()
        self.running.set()
        self._thread.start()
        metrics.writer_started(self)

    @property
    def name(self) -> str:
        return self._thread.name

    @property
    def depth(self) -> int:
        """Items accepted and not yet answered."""
        return self._depth

    def _limit(self) -> int:
        return self.max_queue if self.max_queue is not None else self.db.settings.write_queue_max

    def check_room(self) -> None:
        """Raise ``Overloaded`` now, as ``submit`` would, if the queue is full, or while the event
        loop runs later than ``Settings.loop_lag_max_ms`` (``office.looplag``: work waiting there,
        before any writer sees it, is the wait the queue bound cannot see). Asked before the work of
        building an item (new chat sends and read marks), so a refusal under overload costs the
        caller almost nothing. Room now is no promise: ``submit`` checks the queue again."""
        lagging = self._lagging()
        if lagging or self._depth >= self._limit():  # an int read: no lock while there is room
            with self._depth_lock:
                hint = self._refusal(self._limit(), lagging=lagging)
            if hint is not None:
                if lagging:
                    metrics.lag_refused(self._thread.name)
                self._refuse(hint)

    def _lagging(self) -> bool:
        most = self.db.settings.loop_lag_max_ms
        return most > 0 and looplag.lag() * 1000 > most

    def _refusal(self, limit: int, *, lagging: bool = False) -> int | None:
        """With ``_depth_lock`` held: the retry hint if the queue is full or the loop ``lagging``
        (counted as refused), else None. The hint is the refusal's slot in the overload's schedule
        (``RETRY_AFTER``), one schedule for both causes."""
        if self._depth < limit and not lagging:
            if self._full_since is not None and self._depth < limit // 2 and not self._lagging():
                self._full_since = None  # drained and caught up: the overload is over
            return None
        self.refused += 1
        now = self.clock()
        if self._full_since is None:
            self._full_since, self._full_items, self._slot = now, self.items, now
        elapsed = now - self._full_since
        rate = max(1.0, (self.items - self._full_items) / elapsed) if elapsed >= 1 else limit / RETRY_AFTER
        due = max(self._slot, now + RETRY_AFTER)
        self._slot = min(due + 1 / rate, now + RETRY_AFTER_MAX)  # the schedule never runs past the cap
        return min(RETRY_AFTER_MAX, math.ceil(due - now))

    def _refuse(self, hint: int) -> None:
        metrics.write_refused(self._thread.name)
        raise Overloaded(retry_after=hint)

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        """Queue ``fn(session)``; the future resolves after the commit that includes it. Raises
        ``Overloaded`` at once, queueing nothing, when the queue is full."""
        limit = self._limit()
        with self._depth_lock:
            hint = self._refusal(limit)
            if hint is None:
                self._depth += 1
        if hint is not None:
            self._refuse(hint)
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
            self.running.wait()
            batch = [item]
            stop = self._collect(batch)
            try:
                stop = self._commit(batch, drain=not stop) or stop
            except BaseException as exc:  # never leave a caller waiting, whatever happened
                log.exception("group commit loop failed")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            finally:
                with self._depth_lock:
                    self._depth -= len(batch)
            if stop:
                return

    def _collect(self, batch: list[Any]) -> bool:
        """Add what is queued (lingering as set up) to ``batch``, up to ``max_batch``; True if the
        stop mark was taken."""
        deadline = time.monotonic() + self.max_linger
        while len(batch) < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                wait = min(self.linger, deadline - time.monotonic())
                if wait <= 0:
                    return False
                try:
                    nxt = self._queue.get(timeout=wait)
                except queue.Empty:
                    return False
            if nxt is _STOP:
                return True
            batch.append(nxt)
        return False

    def _drain(self, batch: list[Any]) -> bool:
        """Add what is queued now, without waiting, to ``batch`` (up to ``max_batch``); True if the
        stop mark was taken."""
        while len(batch) < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is _STOP:
                return True
            batch.append(nxt)
        return False

    def _commit(self, batch: list[Item], *, drain: bool = False) -> bool:
        """Write ``batch`` and answer it; True if the stop mark was taken while draining.

        The write lock is taken FIRST (``Database.write(lock_now=True)``) and only then is the queue
        drained into the batch: everything that queued while this writer waited for the lock (other
        processes' writers holding it, on PostgreSQL) joins this commit, so under contention the
        batches grow instead of shrinking and the commit's fixed cost is shared by more items. The
        items are marked running (a cancelled one is dropped) only once they are in the batch.
        Without ``drain`` (a test committing a batch of its own) exactly ``batch`` is written."""
        stop = False
        live: list[Item] = []
        ran = False

        def body(session: Session) -> list[tuple[bool, Any]]:
            nonlocal stop, ran
            if drain:
                stop = self._drain(batch)
            ran = True
            live.extend(item for item in batch if item[1].set_running_or_notify_cancel())
            return _run_items(session, [fn for fn, _ in live])

        started = time.perf_counter()
        outcomes, failure = self._write(body, lock_now=True)
        if not ran:  # the lock or the transaction failed before the batch was taken: as a failed commit
            live.extend(item for item in batch if item[1].set_running_or_notify_cancel())
        if not live:
            self._after_commit()
            return stop
        metrics.group_commit(self._thread.name, len(live), time.perf_counter() - started)
        if outcomes is None and len(live) > 1:
            log.warning("group commit of %d items failed (%r); retrying each alone", len(live), failure)
            for item in live:
                self.retried += 1
                self._finish([item], *self._write(_alone(item[0])))
                self._after_commit()
            return stop
        self._finish(live, outcomes, failure)
        self._after_commit()
        return stop

    def _after_commit(self) -> None:
        """The subscribers of what the last commit published, once its callers were answered."""
        done, self._committed = self._committed, []
        if not done:
            return
        _answered.active = True
        try:
            events.notify_subscribers(self.db, done)
        finally:
            _answered.active = False

    def _write(
        self, body: Callable[[Session], list[tuple[bool, Any]]], *, lock_now: bool = False
    ) -> tuple[list[tuple[bool, Any]] | None, Exception | None]:
        """Run ``body`` in one write transaction: (outcomes, None) once committed, (None, error) if
        nothing was. A failure after the commit (the items are durable) still returns the outcomes."""
        committed: list[bool] = []
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.write(lock_now=lock_now, subscribers=self._committed) as session:
                event.listen(session, "after_commit", lambda _s: committed.append(True))
                outcomes = body(session)
        except Exception as exc:
            if not committed:
                return None, exc
            log.exception("after-commit step of a group commit failed")
        return outcomes, None

    def _finish(self, live: list[Item], outcomes: list[tuple[bool, Any]] | None, failure: Exception | None) -> None:
        if outcomes is None:
            for _, fut in live:
                fut.set_exception(failure or RuntimeError("group commit failed"))
            return
        self.batches += 1
        self.items += len(live)
        for (_, fut), (ok, value) in zip(live, outcomes, strict=True):
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)


_answered = threading.local()


def after_answer() -> bool:
    """True while a group-commit writer runs the subscribers of a commit whose callers it has already
    answered: nobody waits for what they write, so they may queue it (``messaging.subscribers``
    hands 工作通知 to chat's writer then, and writes them at once under a plain ``Database.write``,
    whose caller is answered after them)."""
    return bool(getattr(_answered, "active", False))


def _alone(fn: Callable[[Session], Any]) -> Callable[[Session], list[tuple[bool, Any]]]:
    return lambda session: [(True, fn(session))]


def _run_items(session: Session, fns: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
    pending: list[Any] = session.info.setdefault("pending_events", [])
    outcomes: list[tuple[bool, Any]] = []
    i = 0
    while i < len(fns):
        kind = getattr(fns[i], "batch_type", None)
        if kind is not None:
            j = i + 1
            while j < len(fns) and getattr(fns[j], "batch_type", None) is kind:
                j += 1
            outcomes.extend(kind(session, fns[i:j]).run())
            i = j
            continue
        fn = fns[i]
        i += 1
        mark = len(pending)
        try:
            with session.begin_nested():
                outcomes.append((True, fn(session)))
        except Exception as exc:  # this item alone rolls back, with its events
            del pending[mark:]
            outcomes.append((False, exc))
    return outcomes


__all__ = ["GroupCommit", "after_answer"]
