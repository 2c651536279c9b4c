"""工作通知 after a group commit go to chat's writer as one run (``messaging.noticebatch``).

A 办事 batch of submissions publishes a ``notify.banshi`` per new task; each was a write transaction of
its own (an fsync) on the submitting writer's thread. Now they are queued on chat's writer, which takes
them as one run and writes it with multi-row statements: what it writes must be what the one-by-one
path writes, every notice exactly once, and none lost when chat's writer is stopping or full.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from banshi import submission
from banshi.submit_batch import CreateOp
from messaging import batcher
from messaging.models import Conversation, Message, MessageKind
from messaging.noticebatch import NoticeOp
from office import events
from office.db import Database
from office.groupcommit import GroupCommit
from office.models import User
from tests.banshi.svc_helpers import make_template
from tests.factories import Org
from tests.messaging.helpers import capture_events


def _notices(db: Database, user_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    with db.read() as s:
        conv = s.exec(select(Conversation).where(Conversation.unique_key == f"notice:{user_id}")).first()
        if conv is None:
            return []
        rows = s.exec(select(Message).where(Message.conversation_id == conv.id).order_by(col(Message.seq))).all()
        assert conv.last_seq == (rows[-1].seq if rows else 0)
        return [(m.seq, m.body, m.meta) for m in rows]


def _commit(group: GroupCommit, items: list[Any]) -> list[Future[Any]]:
    futures: list[Future[Any]] = [Future() for _ in items]
    group._commit(list(zip(items, futures, strict=True)))
    return futures


def test_a_batchs_notices_are_written_by_chats_writer_in_one_commit(client: Any, db: Database, org: Org) -> None:
    chat: batcher.GroupCommit = client.app.state.chat.batcher
    tid = make_template(db, org)  # the first step: polonius
    with db.read() as s:
        drafts = [
            submission.prepare_create(
                s, org.actor("hamlet"), template_id=tid, values={"reason": f"第{i}件"}, submit=True
            )
            for i in range(6)
        ]
    before = _notices(db, org.users["polonius"])
    commits: list[str] = []

    def count(_conn: object) -> None:
        # By thread: the app's background writers (session refreshes, reminders) commit meanwhile too.
        commits.append(threading.current_thread().name)

    chat.running.clear()  # held: everything the banshi commit queues is there when it next looks
    banshi = GroupCommit(db)
    event.listen(db.engine, "commit", count)
    try:
        created = _commit(banshi, [CreateOp(d) for d in drafts])  # type: ignore[arg-type]
        assert all(f.exception() is None for f in created)
        mark = chat.submit(lambda _s: None)  # queued after the notices: done once they are
        chat.running.set()
        mark.result(30)
    finally:
        event.remove(db.engine, "commit", count)
        chat.running.set()
        banshi.stop()
    ours = [name for name in commits if name in (threading.current_thread().name, chat.name)]  # _commit runs here
    assert len(ours) == 2  # the six submissions', then one for their six notices (was one each)
    after = _notices(db, org.users["polonius"])[len(before) :]
    assert len(after) == 6  # each once
    assert [seq for seq, _, _ in after] == list(range(len(before) + 1, len(before) + 7))
    assert all(meta["event"] == "notify.banshi" and meta["link"].startswith("/banshi/r/") for _, _, meta in after)


def test_a_run_writes_what_the_notices_one_by_one_write(client: Any, db: Database, org: Org) -> None:
    """Two notices to one person; people with no notice channel yet (made in the run); an inactive
    account (left out)."""
    u = org.users
    with db.write() as s:
        gone = s.get(User, u["othello"])
        assert gone is not None
        gone.is_active = False
        s.add(gone)
    meta = {"title": "请审批：采购申请", "body": "", "link": "/banshi/r/1", "source": "banshi"}
    run = [
        ("notify.banshi", [u["ophelia"], u["horatio"], u["othello"]], meta),
        ("notify.docs", [u["ophelia"]], {**meta, "body": "第二条", "link": ""}),
    ]
    chat = batcher.GroupCommit(db)
    try:
        with capture_events("chat.") as together:  # first: the channels are made in the run
            done = _commit(chat, [NoticeOp(kind, users, m) for kind, users, m in run])
    finally:
        chat.stop()
    assert [f.result() for f in done] == [2, 1]
    first = {who: _notices(db, u[who]) for who in ("ophelia", "horatio", "othello")}
    with capture_events("chat.") as one_by_one:
        for kind, users, m in run:
            with db.write() as s:
                NoticeOp(kind, users, m)(s)
    for who in ("ophelia", "horatio", "othello"):
        both = _notices(db, u[who])
        assert both[len(first[who]) :] == [(seq + len(first[who]), b, m) for seq, b, m in first[who]]
    assert first["othello"] == []  # inactive: nothing written either way
    assert [(s, b) for s, b, _ in first["ophelia"]] == [(1, "请审批：采购申请"), (2, "请审批：采购申请\n第二条")]

    def shape(seen: list[events.Event]) -> list[tuple[str, tuple[int, ...], dict[str, Any]]]:
        out = []
        for e in seen:
            if e.type != "chat.message":
                continue
            view = {k: v for k, v in e.payload["message"].items() if k not in ("id", "seq", "created_at")}
            out.append((e.type, e.user_ids, view))
        return out

    assert shape(together) == shape(one_by_one)
    made = [(e.type, e.user_ids) for e in together if e.type == "chat.conversation"]
    assert made == [("chat.conversation", (u["ophelia"],)), ("chat.conversation", (u["horatio"],))]
    ids = [e.id for e in together]
    assert ids == sorted(ids) and None not in ids
    with db.read() as s:
        kinds = s.exec(select(Message.kind).where(Message.body.startswith("请审批"))).all()  # type: ignore[attr-defined]
        assert set(kinds) == {MessageKind.notice}


def test_no_notice_is_lost_when_chats_writer_is_stopping(client: Any, db: Database, org: Org) -> None:
    """A notice offered to chat's writer once it has begun to stop would sit behind its stop mark and
    never be written: the writer refuses it and the subscriber writes it itself."""
    u = org.users
    chat = batcher.GroupCommit(db)
    chat.stop()
    batcher.serve_notices(db, chat)  # as found by a subscriber that looked just before the stop
    payload = {"user_ids": [u["horatio"]], "title": "停止时的通知", "body": "", "link": "", "source": "banshi"}
    banshi = GroupCommit(db)
    try:

        def publish(s: Any) -> None:
            events.publish_on_commit(s, "notify.banshi", payload, user_ids=[u["horatio"]])

        assert _commit(banshi, [publish])[0].exception() is None
    finally:
        banshi.stop()
        batcher.serve_notices(db, client.app.state.chat.batcher)
    assert [b for _, b, _ in _notices(db, u["horatio"])] == ["停止时的通知"]
