"""Pruning stored events after the retention window: resume past the cut is told to resync, and
event ids never run backwards, even when everything stored is old."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from office import events, eventstore
from office.db import utcnow
from office.models import StoredEvent
from tests.factories import Org


@pytest.fixture(autouse=True)
def _made_up_events() -> Iterator[None]:
    """These tests publish made-up ``test.*`` events: the bus is under test, not a domain's payloads."""
    with events.unchecked():
        yield


def _publish(db: Any, uid: int, tag: str) -> None:
    with db.write() as s:
        events.publish_on_commit(s, "test.ping", {"tag": tag}, user_ids=[uid])


def _age_everything(db: Any) -> None:
    with db.write() as s:
        s.execute(update(StoredEvent).values(created_at=utcnow() - timedelta(days=10)))


def test_pruned_events_make_an_old_client_resync_and_ids_keep_rising(db: Any, org: Org) -> None:
    uid = org.users["hamlet"]
    for tag in "abc":
        _publish(db, uid, tag)
    with db.read() as s:
        top = s.exec(select(func.max(StoredEvent.id))).one()
    _age_everything(db)
    removed = eventstore.prune(db, retention=timedelta(hours=72))
    assert removed >= 2
    with db.read() as s:  # the newest stays, however old: SQLite numbers new rows from it
        assert s.exec(select(StoredEvent.id)).all() == [top]
    assert eventstore.events_after(db, uid, 0) == (True, [])  # fell out of the window
    _publish(db, uid, "d")
    resync, replayed = eventstore.events_after(db, uid, top)
    assert not resync and [e["tag"] for e in replayed] == ["d"] and replayed[0]["id"] > top
    assert eventstore.prune(db, retention=timedelta(hours=72)) == 1  # "c" may go now: "d" is newer
    resync, replayed = eventstore.events_after(db, uid, top)
    assert not resync and [e["tag"] for e in replayed] == ["d"]


def test_rewrite_changes_only_the_chosen_recent_events_in_place(db: Any, org: Org) -> None:
    uid = org.users["hamlet"]
    with db.write() as s:
        events.publish_on_commit(s, "test.ping", {"tag": "old", "secret": "旧"}, user_ids=[uid])
    _age_everything(db)  # stored before the window rewrite looks at
    start = utcnow()
    with db.write() as s:
        events.publish_on_commit(s, "test.ping", {"tag": "a", "secret": "机密"}, user_ids=[uid], audience="g:1")
        events.publish_on_commit(s, "test.other", {"tag": "b", "secret": "机密"}, user_ids=[uid])
        events.publish_on_commit(s, "test.ping", {"tag": "c", "secret": "机密"}, user_ids=[uid])
    with db.read() as s:
        before = {e.id: e.payload for e in s.exec(select(StoredEvent)).all()}

    def redact(etype: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        return {**payload, "secret": ""} if payload.get("secret") else None

    with db.write() as s:
        assert eventstore.rewrite(s, since=start, audience="g:1", types=("test.other",), fn=redact) == 2
    with db.read() as s:
        after = {e.id: e.payload for e in s.exec(select(StoredEvent)).all()}
    assert after.keys() == before.keys()  # nothing deleted, no id changed
    assert sorted(p["tag"] for p in after.values() if p.get("secret") == "") == ["a", "b"]
    assert sorted(p["tag"] for p in after.values() if p.get("secret")) == ["c", "old"]  # not chosen / too old
