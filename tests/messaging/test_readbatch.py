"""Read marks through group commit (``messaging.readbatch``): a run of marks answers each one as
``messages.mark_read`` would, coalesces the marks that move one person's position in one
conversation into one row and one ``chat.read`` event, and that event still reaches the reader's
other devices and the senders of everything read."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from sqlmodel import select

from messaging import messages
from messaging.batcher import GroupCommit
from messaging.models import Member
from messaging.readbatch import ReadOp
from messaging.sendbatch import SendOp
from office.errors import NotFound
from tests.conftest import LiveServer
from tests.factories import Org
from tests.messaging.helpers import capture_events, group, send
from tests.messaging.test_sendbatch import FIELDS, commit
from tests.messaging.test_ws import User, recv, recv_type


@pytest.fixture
def batcher(db):  # type: ignore[no-untyped-def]
    gc = GroupCommit(db)
    yield gc
    gc.stop()


def _read_at(org: Org, cid: int, user: str) -> int:
    with org.db.read() as s:
        return s.exec(
            select(Member.last_read_seq).where(Member.conversation_id == cid, Member.user_id == org.users[user])
        ).one()


def test_a_run_of_read_marks_answers_each_and_coalesces_per_reader(db, org: Org, batcher: GroupCommit) -> None:  # type: ignore[no-untyped-def]
    g = group(org, "hamlet", "项目组", ["ophelia", "horatio"])
    other = group(org, "othello", "别的组", ["iago"])
    b = send(org, "hamlet", g, "一")["seq"] - 1  # creating the group may have stored a notice first
    for text in ("二", "三"):
        send(org, "hamlet", g, text)
    for text in ("四", "五"):
        send(org, "horatio", g, text)  # horatio has read up to b+5 by sending
    oph, hor, ham = org.actor("ophelia"), org.actor("horatio"), org.actor("hamlet")
    with capture_events("chat.read") as seen:
        out = commit(
            batcher,
            [
                ReadOp(oph, g, b + 2),
                ReadOp(oph, g, b + 4),
                ReadOp(oph, g, b + 3),  # behind: answers the position as it stands
                ReadOp(hor, other, 1),  # not a member
                ReadOp(hor, g, b + 4),  # behind his own sends: nothing moves
                ReadOp(ham, g, -7),  # clamped to 0: nothing moves (he read up to b+3 by sending)
                lambda s: messages.mark_read(s, ham, conversation_id=g, seq=b + 5),  # an ORM item between runs
                SendOp(ham, g, {**FIELDS, "text": "六"}),  # b+6, sent in the same batch
                ReadOp(oph, g, 999),  # clamped to b+6
            ],
        )
    answers = [value if ok else type(value) for ok, value in out]
    assert answers[:6] == [
        {"conversation_id": g, "last_read_seq": b + 2, "unread": 3},
        {"conversation_id": g, "last_read_seq": b + 4, "unread": 1},
        {"conversation_id": g, "last_read_seq": b + 4, "unread": 1},
        NotFound,
        {"conversation_id": g, "last_read_seq": b + 5, "unread": 0},
        {"conversation_id": g, "last_read_seq": b + 3, "unread": 2},
    ]
    assert answers[8] == {"conversation_id": g, "last_read_seq": b + 6, "unread": 0}
    assert _read_at(org, g, "ophelia") == b + 6 and _read_at(org, g, "horatio") == b + 5
    # Ophelia's three marks of the first run are one event: from where she was to where she got, to
    # her devices and to everyone whose messages she read.
    reads = [(e.payload["user_id"], e.payload["from_seq"], e.payload["seq"], set(e.user_ids)) for e in seen]
    uid = org.users
    start = _joined(org, g, "ophelia")
    assert reads == [
        (uid["ophelia"], start, b + 4, {uid["ophelia"], uid["hamlet"], uid["horatio"]}),
        (uid["hamlet"], b + 3, b + 5, {uid["hamlet"], uid["horatio"]}),  # the ORM item
        (uid["ophelia"], b + 4, b + 6, {uid["ophelia"], uid["horatio"], uid["hamlet"]}),
    ]


def _joined(org: Org, cid: int, user: str) -> int:
    with org.db.read() as s:
        return s.exec(
            select(Member.joined_seq).where(Member.conversation_id == cid, Member.user_id == org.users[user])
        ).one()


def test_a_coalesced_read_mark_reaches_the_readers_other_devices(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    b = send(live_org, "hamlet", g, "一")["seq"] - 1
    for text in ("二", "三"):
        send(live_org, "hamlet", g, text)
    ham, oph = User(live, "hamlet"), User(live, "ophelia")
    db = live.app.state.db

    async def scenario() -> None:
        async with ham.ws() as h1, oph.ws() as o1, oph.ws() as o2:
            for w in (h1, o1, o2):
                assert (await recv(w))["type"] == "hello"
            # A writer holds the lock while the marks arrive, so the batcher takes them together.
            taken, release = threading.Event(), threading.Event()

            def hold() -> None:
                with db.write():
                    taken.set()
                    release.wait(30)

            holder = threading.Thread(target=hold, daemon=True)
            holder.start()
            assert taken.wait(10)
            for ref, seq in (("a", b + 1), ("b", b + 3), ("c", b + 2)):
                await o1.send(json.dumps({"type": "chat.read", "ref": ref, "conversation_id": g, "seq": seq}))
            await asyncio.sleep(0.3)
            release.set()
            holder.join(10)
            acks = [await recv_type(o1, "chat.read.ack") for _ in range(3)]
            assert [(a["ref"], a["last_read_seq"]) for a in acks] == [("a", b + 1), ("b", b + 3), ("c", b + 3)]
            for device in (o2, h1):  # her other device, and the sender of what she read
                frame = await recv_type(device, "chat.read")
                while frame["seq"] < b + 3:
                    frame = await recv_type(device, "chat.read")
                assert frame["user_id"] == live_org.users["ophelia"] and frame["unread"] == 0

    asyncio.run(scenario())
    assert _read_at(live_org, g, "ophelia") == b + 3
