"""How late this process's event loop runs: a periodic probe, for shedding chat sends by delay.

The writers' queue bound (``office.groupcommit``) sees only the work that reached a writer. When
the process is short of CPU, a send first waits in the socket buffers and in the event loop's
backlog, unseen by that bound, and the senders' wait grows with no refusal. The loop's own
lateness measures that wait: a timer asked for every ``interval`` seconds runs late by about as
long as a callback now waits its turn. ``GroupCommit.check_room`` refuses new chat sends while the
smoothed lateness is above ``Settings.loop_lag_max_ms``; ``/metrics`` exports it.

One probe per running app (its lifespan starts it on the app's loop); ``lag()`` is the worst of the
running probes of the process (one in production: a worker has one loop). The probe costs one timer
callback every 50 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

INTERVAL = 0.05  # seconds between ticks when the loop keeps up
# Weight of the newest tick in the smoothed value: one pause (a full collection, a slow callback)
# counts half, so it alone does not shed; a loop late tick after tick crosses the threshold within
# two or three ticks, and a loop that keeps up again halves the value each tick.
ALPHA = 0.5

_running: set[LoopLag] = set()


class LoopLag:
    def __init__(
        self, *, interval: float = INTERVAL, alpha: float = ALPHA, clock: Callable[[], float] = time.monotonic
    ):
        self.interval = interval
        self.alpha = alpha
        self.clock = clock
        self.lag = 0.0  # seconds, smoothed
        self.last = 0.0  # the newest tick's lateness, seconds
        self.peak = 0.0  # the highest smoothed value since start (a benchmark's measure of the setting)
        self.ticks = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Tick on ``loop`` (the running loop if none) until ``stop``."""
        self.loop = loop or asyncio.get_running_loop()
        self._schedule()
        _running.add(self)

    def stop(self) -> None:
        _running.discard(self)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.lag = self.last = 0.0

    def _schedule(self) -> None:
        assert self.loop is not None
        self._due = self.clock() + self.interval
        self._handle = self.loop.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        self.last = max(0.0, self.clock() - self._due)
        self.lag += self.alpha * (self.last - self.lag)
        self.peak = max(self.peak, self.lag)
        self.ticks += 1
        self._schedule()


def lag() -> float:
    """The smoothed lateness, in seconds, of the most behind running probe (0 when none runs)."""
    return max((p.lag for p in list(_running)), default=0.0)
