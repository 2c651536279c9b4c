"""The optimistic lock every 公文 row carries: ``version``, quoted by each change and moved by compare-and-set.

A writer quotes the version it read (:func:`check_version`), changes the row, then moves ``version``
from v to v+1 with ``UPDATE ... WHERE id = :id AND version = v`` (:func:`bump`). Of two writers that
read the same v, in this process or another, only one update matches; the other gets ``Conflict``
and its transaction changes nothing. Used for outgoing documents, 收文 and the route engine's cases.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import CursorResult, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from office.errors import Conflict


class Versioned(Protocol):
    """A table row with an integer ``id`` and ``version``."""

    id: int | None
    version: int


def check_version(row: Versioned, expected: int | None, message: str) -> None:
    """``Conflict`` (with the current version) when the caller quoted another version than the row's;
    ``expected`` None means the caller quoted none."""
    if expected is not None and expected != row.version:
        raise Conflict(message, code="stale_version", current_version=row.version)


def bump(session: Session, row: Versioned, message: str) -> None:
    """Compare-and-set: move ``row.version`` from the value read to the next, or raise ``Conflict``."""
    model, old = type(row), row.version
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE returns a CursorResult
        update(model).where(col(model.id) == row.id, col(model.version) == old).values(version=old + 1)
    )
    if result.rowcount != 1:
        raise Conflict(message, code="stale_version")
    set_committed_value(row, "version", old + 1)
