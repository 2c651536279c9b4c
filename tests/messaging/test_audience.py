"""Chat events are stored once per conversation (messaging.audience): resume must still give each
person exactly what the live path gave them, through joins, removals and rejoins, in a group that
hides its history from new members; in one that shows it, a later member is also replayed what came
before them, as HTTP history shows it."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from sqlmodel import select

from messaging import messages, service
from messaging.batcher import GroupCommit
from messaging.sendbatch import SendOp
from office import eventstore
from office.models import EventRecipient, StoredEvent, User
from tests.factories import Org
from tests.messaging.helpers import capture_events, send


def _batch_send(db, org: Org, user: str, cid: int, text: str) -> None:  # type: ignore[no-untyped-def]
    gc = GroupCommit(db)
    try:
        fut: Future = Future()  # type: ignore[type-arg]
        gc._commit([(SendOp(org.actor(user), cid, {"text": text, "client_id": None}), fut)])
        fut.result()
    finally:
        gc.stop()


def test_resume_replays_exactly_what_was_delivered_live(db, org: Org) -> None:  # type: ignore[no-untyped-def]
    with db.read() as s:
        start = int(s.exec(select(StoredEvent.id).order_by(StoredEvent.id.desc())).first() or 0)  # type: ignore[union-attr]
        everyone = list(s.exec(select(User.id)).all())
    with capture_events("") as seen:
        with db.write() as s:
            g = service.create_group(s, org.actor("hamlet"), name="专项组", member_ids=[org.users["ophelia"]]).id
            service.update_group(s, org.actor("hamlet"), g, history_visible=False)
        first = send(org, "hamlet", g, "第一条，只有两人")
        with db.write() as s:
            service.add_members(s, org.actor("hamlet"), g, user_ids=[org.users["horatio"]])
        _batch_send(db, org, "horatio", g, "我来了（批量写入）")
        with db.write() as s:
            messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=first["seq"], text="第一条（已修改）")
            messages.react(s, org.actor("ophelia"), conversation_id=g, seq=first["seq"], emoji="👍", on=True)
            service.remove_member(s, org.actor("hamlet"), g, org.users["ophelia"])
        gone = send(org, "hamlet", g, "李娜已移出，这条她看不到")
        with db.write() as s:
            messages.recall_message(s, org.actor("hamlet"), conversation_id=g, seq=gone["seq"])
            service.add_members(s, org.actor("hamlet"), g, user_ids=[org.users["ophelia"]])
        _batch_send(db, org, "ophelia", g, "我又回来了")
    stored = [e for e in seen if e.id is not None]
    assert any(e.type == "chat.message" for e in stored)
    for uid in everyone:
        live = [e.id for e in stored if uid in e.user_ids]
        resync, replayed = eventstore.events_after(db, uid, start)
        assert not resync
        assert [f["id"] for f in replayed] == live, uid
    # The group-wide ones were stored once, with no row per member.
    with db.read() as s:
        grouped = s.exec(select(StoredEvent.id).where(StoredEvent.audience == f"chat:{g}")).all()
        assert len(grouped) >= 6
        assert not s.exec(select(EventRecipient).where(EventRecipient.event_id.in_(grouped))).all()  # type: ignore[attr-defined]


@pytest.mark.parametrize("shown", [True, False])
def test_a_new_member_is_replayed_what_came_before_them_only_where_history_is_shown(  # type: ignore[no-untyped-def]
    db, org: Org, shown: bool
) -> None:
    with db.write() as s:
        g = service.create_group(s, org.actor("hamlet"), name="旧群", member_ids=[org.users["ophelia"]]).id
        service.update_group(s, org.actor("hamlet"), g, history_visible=shown)
    earlier = send(org, "hamlet", g, "加入之前的讨论")
    with db.write() as s:
        service.add_members(s, org.actor("hamlet"), g, user_ids=[org.users["horatio"]])
    later = send(org, "ophelia", g, "欢迎")
    _, replayed = eventstore.events_after(db, org.users["horatio"], 0)
    seqs = [f["seq"] for f in replayed if f["type"] == "chat.message" and f["conversation_id"] == g]
    assert (earlier["seq"] in seqs) is shown and later["seq"] in seqs
    assert len(seqs) == len(set(seqs))


def test_ended_memberships_go_with_the_events_they_cover(db, org: Org) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sqlalchemy import update

    from messaging.models import PastMembership
    from office.db import utcnow

    with db.write() as s:
        g = service.create_group(
            s, org.actor("hamlet"), name="临时组", member_ids=[org.users["ophelia"], org.users["horatio"]]
        ).id
    with db.write() as s:
        service.remove_member(s, org.actor("hamlet"), g, org.users["ophelia"])
    with db.write() as s:
        s.execute(update(StoredEvent).values(created_at=utcnow() - timedelta(days=10)))
    send(org, "hamlet", g, "之后的消息")  # newer than the cut: the removal's events all fall before it
    eventstore.prune(db, retention=timedelta(hours=1))
    with db.write() as s:
        service.remove_member(s, org.actor("hamlet"), g, org.users["horatio"])
    with db.read() as s:
        past = s.exec(select(PastMembership.user_id).where(PastMembership.conversation_id == g)).all()
    assert past == [org.users["horatio"]]  # ophelia's ended before everything still kept
