"""Chat's group commit is ``office.groupcommit.GroupCommit``: sends and read marks are queued, written
together in one durable transaction, and acknowledged (HTTP 201 or a ``chat.ack`` frame) only after
that commit. Plain sends carry a ``batch_type`` (``messaging.sendbatch``) and are written as runs
with multi-row statements.

The app's chat writer also writes the 工作通知 of other domains' ``notify.*`` events
(``messaging.noticebatch``): ``serve_notices`` names it for its database, ``notice_writer`` finds it.
Once it is stopping it takes nothing more (``submit`` raises ``Stopped``), so a notice offered to it
then is written by its caller instead of waiting behind the stop mark for a writer that is gone.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from sqlmodel import Session

from office import groupcommit
from office.db import Database

T = TypeVar("T")


class Stopped(RuntimeError):
    """The writer is stopping and takes no more items."""


class GroupCommit(groupcommit.GroupCommit):
    """``office.groupcommit.GroupCommit`` that refuses items once ``stop`` began (``Stopped``)."""

    def __init__(self, db: Database, **kw: object) -> None:
        super().__init__(db, **kw)  # type: ignore[arg-type]  # the base's keywords, passed through
        self._stopping = False
        self._stop_lock = threading.Lock()

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        with self._stop_lock:  # nothing queues behind the stop mark, where it would never be written
            if self._stopping:
                raise Stopped(self.name)
            return super().submit(fn)

    def stop(self) -> None:
        with self._stop_lock:
            self._stopping = True
        if _notice_writers.get(self.db) is self:
            del _notice_writers[self.db]
        super().stop()


_notice_writers: weakref.WeakKeyDictionary[Database, GroupCommit] = weakref.WeakKeyDictionary()


def serve_notices(db: Database, writer: GroupCommit) -> None:
    """``writer`` (the app's chat writer) writes the 工作通知 of ``db`` until it stops."""
    _notice_writers[db] = writer


def notice_writer(db: Database) -> GroupCommit | None:
    return _notice_writers.get(db)


__all__ = ["GroupCommit", "Stopped", "notice_writer", "serve_notices"]
