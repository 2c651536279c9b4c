"""The group-commit writer answers its callers at the commit, then runs the subscribers.

A batch's events have in-process subscribers (``office.events.subscribe``): the 工作通知 each new 办事
task sends is a write of messaging's. They ran inside ``Database.write`` before the writer answered,
so every caller of a batch waited for all of them (under load, one transaction per notice). Now the
callers are answered once the commit is done, and only then do the subscribers run; an answer still
comes only after the commit that made the item durable.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from office import events
from office.config import Settings
from office.db import Database
from office.groupcommit import GroupCommit

TYPE = "test.groupcommit_answer"


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    with db.write() as s:
        s.execute(text("CREATE TABLE answer_probe (n INTEGER NOT NULL)"))
    try:
        yield db
    finally:
        db.dispose()


def _stored(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("SELECT count(*) FROM answer_probe")).scalar_one())


def test_callers_are_answered_after_the_commit_and_before_the_subscribers(db: Database) -> None:
    futures: list[Future[Any]] = []
    answered_when_subscribers_ran: list[bool] = []
    stored_when_answered: list[int] = []

    def subscriber(_db: Database, _ev: events.Event) -> None:
        answered_when_subscribers_ran.append(all(f.done() for f in futures))

    def item(n: int) -> Any:
        def fn(s: Session) -> int:
            s.execute(text("INSERT INTO answer_probe (n) VALUES (:n)"), {"n": n})
            events.publish_on_commit(s, TYPE, {"n": n})
            return n

        return fn

    events.subscribe(TYPE, subscriber)
    group = GroupCommit(db)
    try:
        futures.extend(Future() for _ in range(3))
        for f in futures:
            f.add_done_callback(lambda _f: stored_when_answered.append(_stored(db)))
        with events.unchecked():  # a test-only event type, not declared
            group._commit([(item(n), f) for n, f in enumerate(futures)])
    finally:
        group.stop()
        events.unsubscribe(subscriber)
    assert [f.result() for f in futures] == [0, 1, 2]
    assert stored_when_answered == [3, 3, 3]  # answered only once the commit was durable
    assert answered_when_subscribers_ran == [True, True, True]  # one call per event, each after the answers
