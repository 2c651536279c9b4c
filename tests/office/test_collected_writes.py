"""``events.collected`` and ``audit.collected``: a group-commit writer keeps many requests' events and
audit entries and writes them together at the end. What readers see must be what the one-by-one path
gives: resume replays each person exactly what was delivered live (messaging's audience marks a
member's joining with the newest event id, read inside the transaction), the chain verifies, and a
savepoint rolled back inside the block takes its events and entries with it."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from messaging import service
from messaging.messages import send_message
from office import audit, events, eventstore
from office.actor import SYSTEM
from office.db import Database
from office.models import AuditEntry, StoredEvent, User
from tests.factories import Org
from tests.messaging.helpers import capture_events


def _newest(db: Database) -> int:
    with db.read() as s:
        return int(s.exec(select(func.max(StoredEvent.id))).one() or 0)


def test_resume_after_a_collected_transaction_replays_exactly_what_went_out_live(org: Org) -> None:
    """Inside one collected block: a message to a group that hides its history, then someone added, a
    second message, then someone removed, a third. The added member was sent the second and third
    live, never the first; the removed one the first two. Without storing the kept events before the
    member's row is written, the member's joining mark sits below the first message and resume gives
    it to them."""
    db = org.db
    with db.read() as s:
        everyone = list(s.exec(select(User.id)).all())
    with db.write() as s:
        g = service.create_group(s, org.actor("hamlet"), name="专项组", member_ids=[org.users["ophelia"]]).id or 0
        service.update_group(s, org.actor("hamlet"), g, history_visible=False)
    start = _newest(db)
    with capture_events("") as seen:
        with db.write() as s, events.collected(s):
            send_message(s, org.actor("hamlet"), conversation_id=g, text="第一条，只有两人")
            service.add_members(s, org.actor("hamlet"), g, user_ids=[org.users["horatio"]])
            send_message(s, org.actor("horatio"), conversation_id=g, text="我来了")
            service.remove_member(s, org.actor("hamlet"), g, org.users["ophelia"])
            send_message(s, org.actor("hamlet"), conversation_id=g, text="她看不到这条")
    stored = [e for e in seen if e.id is not None]
    assert [e.id for e in stored] == sorted(e.id for e in stored)  # ids in the order published
    mine = ("第一条，只有两人", "我来了", "她看不到这条")
    messages = [e for e in stored if e.type == "chat.message" and e.payload["message"]["text"] in mine]
    assert len(messages) == 3
    assert org.users["horatio"] not in messages[0].user_ids and org.users["horatio"] in messages[1].user_ids
    assert org.users["ophelia"] in messages[1].user_ids and org.users["ophelia"] not in messages[2].user_ids
    for uid in everyone:
        live = [e.id for e in stored if uid in e.user_ids]
        resync, replayed = eventstore.events_after(db, uid, start)
        assert not resync
        assert [f["id"] for f in replayed] == live, uid


def test_collected_events_are_stored_when_the_block_ends_and_delivered_after_commit(org: Org) -> None:
    db = org.db
    users = [org.users["hamlet"], org.users["ophelia"]]

    def stored(s: Session) -> int:
        return int(s.exec(select(func.count()).select_from(StoredEvent)).one())

    with capture_events("notify.") as seen:
        with db.write() as s:
            before = stored(s)
            with events.collected(s):
                for n in range(5):
                    events.publish_on_commit(
                        s,
                        "notify.banshi",
                        {"user_ids": users, "title": f"第{n}件", "body": "", "link": "/banshi/r/1", "source": "banshi"},
                        user_ids=users,
                    )
                assert stored(s) == before  # kept, not yet written
            assert stored(s) == before + 5
            assert seen == []  # delivered only after the commit
    assert [e.payload["title"] for e in seen] == [f"第{n}件" for n in range(5)]
    assert all(e.id is not None and e.user_ids == tuple(sorted(users)) for e in seen)


def test_a_savepoint_rolled_back_inside_the_block_takes_its_events_and_entries(org: Org) -> None:
    db = org.db
    start = _newest(db)
    u = org.users["hamlet"]

    def publish(s: Session, title: str) -> None:
        events.publish_on_commit(
            s,
            "notify.banshi",
            {"user_ids": [u], "title": title, "body": "", "link": "/banshi/r/1", "source": "banshi"},
            user_ids=[u],
        )

    with db.write() as s, events.collected(s), audit.collected(s):
        publish(s, "留下")
        audit.record(s, SYSTEM, "test.kept.1")
        with pytest.raises(RuntimeError), s.begin_nested():
            publish(s, "撤回")
            audit.record(s, SYSTEM, "test.undone")
            raise RuntimeError("undo")
        audit.record(s, SYSTEM, "test.kept.2")
        publish(s, "也留下")
    _, replayed = eventstore.events_after(db, u, start)
    assert [f["title"] for f in replayed if f["type"] == "notify.banshi"] == ["留下", "也留下"]
    with db.read() as s:
        actions = list(s.exec(select(AuditEntry.action).where(col(AuditEntry.action).like("test.%"))).all())
        assert actions == ["test.kept.1", "test.kept.2"]
        assert audit.verify_chain(s).ok


def test_collected_audit_entries_chain_like_entries_written_one_by_one(org: Org) -> None:
    """Entries kept in the block (``record`` and ``record_many`` mixed) are written with one insert and
    one head update, after an entry written before the block; the chain verifies, in order."""
    db = org.db
    sent: list[str] = []

    def keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(" ".join(statement.split()))

    with db.write() as s:
        audit.record(s, SYSTEM, "test.before")
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", keep)
        with audit.collected(s):
            audit.record(s, SYSTEM, "test.in.1", detail={"n": 1})
            audit.record_many(s, [audit.Pending(SYSTEM, "test.in.2"), audit.Pending(SYSTEM, "test.in.3")])
            audit.record(s, SYSTEM, "test.in.4")
        event.remove(conn, "before_cursor_execute", keep)
        audit.record(s, SYSTEM, "test.after")
    # One head update for the four (the rows go in one multi-row insert on the driver's cursor, which
    # this listener does not see); written one by one they were four inserts and four updates.
    assert [q.split(" SET")[0] for q in sent] == ["UPDATE audit_head"], sent
    with db.read() as s:
        report = audit.verify_chain(s)
        assert report.ok, report
        last = s.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc())).first()
        assert last is not None and last.action == "test.after"
        tail = list(s.exec(select(AuditEntry.action).order_by(col(AuditEntry.seq).desc()).limit(6)).all())
    assert tail[::-1] == ["test.before", "test.in.1", "test.in.2", "test.in.3", "test.in.4", "test.after"]
