"""The group-commit fast path for plain sends (``messaging.sendbatch``): one batch mixing good and
refused sends, in-batch duplicates and replies, and ORM items in between, must give exactly what
the one-by-one ORM path gives: same acks and errors, gap-free seqs, read positions, search index,
one stored ``chat.message`` event per message, and one correctly chained audit entry per send."""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import Any

import pytest
from sqlmodel import col, select

from messaging import messages, paging, search, service
from messaging.batcher import GroupCommit
from messaging.models import Member, Message
from messaging.sendbatch import SendBatch, SendOp
from office import audit, events, eventstore
from office.errors import Conflict, NotFound, PermissionDenied, ValidationError
from office.models import AuditEntry, EventRecipient, StoredEvent, User
from tests.factories import Org
from tests.messaging.helpers import capture_events, group, send

FIELDS: dict[str, Any] = {
    "text": "",
    "client_id": None,
    "reply_to_seq": None,
    "mentions": [],
    "mention_all": False,
    "attachment_id": None,
    "ding": False,
    "ding_user_ids": None,
}


def op(org: Org, user: str, cid: int, **kw: Any) -> SendOp:
    return SendOp(org.actor(user), cid, {**FIELDS, **kw})


def commit(batcher: GroupCommit, items: list[Any]) -> list[tuple[bool, Any]]:
    batch = [(fn, Future()) for fn in items]  # type: ignore[var-annotated]
    batcher._commit(batch)
    out = []
    for _, fut in batch:
        exc = fut.exception()
        out.append((False, exc) if exc else (True, fut.result()))
    return out


@pytest.fixture
def batcher(db):  # type: ignore[no-untyped-def]
    gc = GroupCommit(db)
    yield gc
    gc.stop()


def test_mixed_batch_matches_the_orm_path(db, org: Org, batcher: GroupCommit) -> None:
    g = group(org, "hamlet", "项目组", ["ophelia", "horatio"])
    other = group(org, "othello", "别的组", ["iago"])
    earlier = send(org, "hamlet", g, "早先的消息", client_id="old-1")
    ham, oph = org.actor("hamlet"), org.actor("ophelia")
    with capture_events("chat.message") as seen:
        out = commit(
            batcher,
            [
                op(org, "hamlet", g, text="你好 Hello", client_id="a1", mentions=[org.users["ophelia"], 99999]),
                op(org, "hamlet", g, text="   "),  # empty: refused
                op(org, "hamlet", other, text="不是成员"),  # not a member
                op(org, "hamlet", g, text="重发", client_id="a1"),  # in-batch retry
                op(org, "ophelia", g, text="回复你", reply_to_seq=earlier["seq"] + 1),  # reply to a1, same batch
                op(org, "hamlet", g, text="x", mention_all=True, client_id="a2"),  # owner may @all
                op(org, "ophelia", g, text="y", mention_all=True),  # a member may not
                op(org, "hamlet", g, text="旧的重发", client_id="old-1"),  # retry of a stored send
                op(org, "hamlet", other, text="z", client_id="a1"),  # client id reused elsewhere
                lambda s: messages.mark_read(s, oph, conversation_id=g, seq=earlier["seq"]),  # ORM item between
                op(org, "horatio", g, text="最后", reply_to_seq=9999),  # bad reply
                op(org, "horatio", g, text="最后一条"),
                SendOp(ham, g, {**FIELDS, "text": "带 DING", "ding": True}),  # ORM path inside the batch
                op(org, "ophelia", g, text="DING 之后"),
            ],
        )
    ok = [v for good, v in out if good]
    errors = [(i, type(v)) for i, (good, v) in enumerate(out) if not good]
    assert errors == [
        (1, ValidationError),
        (2, NotFound),
        (4 + 2, PermissionDenied),
        (8, Conflict),
        (10, ValidationError),
    ]
    a1, dup, reply, a2, old, _read, last, ding, after = ok
    assert dup["duplicate"] and {**dup, "duplicate": None} == {**a1, "duplicate": None}
    assert old["duplicate"] and old["id"] == earlier["id"]
    assert a1["mentions"] == [org.users["ophelia"]]
    assert reply["reply_to"] == {
        "seq": a1["seq"],
        "sender_id": a1["sender_id"],
        "sender_name": a1["sender_name"],
        "text": "你好 Hello",
        "recalled": False,
    }
    fresh = [a1, reply, a2, last, ding, after]
    assert [m["seq"] for m in fresh] == list(range(earlier["seq"] + 1, earlier["seq"] + 7))
    # What was acked is what history (the ORM serialiser) shows, and what the event carried.
    with db.read() as s:
        page = {m["seq"]: m for m in paging.history(s, ham, conversation_id=g)["items"]}
    for m in fresh:
        stored = {k: v for k, v in page[m["seq"]].items() if k in m}
        if m is ding:
            continue  # the ack of a DING carries ding_user_ids in meta, as before
        assert stored == m
    carried = {e.payload["seq"]: e for e in seen}
    assert sorted(carried) == [m["seq"] for m in fresh]
    for m in fresh:
        if m is not ding:
            assert carried[m["seq"]].payload["message"] == m
    assert [e.id for e in seen] == sorted(e.id for e in seen)
    framed = [e for e in seen if e.text is not None]  # batched events carry their frame as JSON text
    assert len(framed) == 5 and all(json.loads(e.text) == e.frame() for e in framed)  # type: ignore[arg-type]
    members = {org.users[u] for u in ("hamlet", "ophelia", "horatio")}
    with db.read() as s:
        for m in fresh:
            ev = s.get(StoredEvent, carried[m["seq"]].id)
            assert ev is not None and ev.payload["message"]["id"] == m["id"]
            # Stored once for the conversation, not once per member (messaging.audience).
            assert ev.audience == f"chat:{g}"
            assert not s.exec(select(EventRecipient.user_id).where(EventRecipient.event_id == ev.id)).all()
        everyone = set(s.exec(select(User.id)).all())
    # Resume gives each member every one of them, and nobody else any.
    first = min(carried[m["seq"]].id for m in fresh)
    for uid in everyone:
        _, replayed = eventstore.events_after(db, uid, first - 1)
        got = {f["seq"] for f in replayed if f["type"] == "chat.message" and f["conversation_id"] == g}
        assert got == ({m["seq"] for m in fresh} if uid in members else set()), uid
    with db.read() as s:
        reads = dict(s.exec(select(Member.user_id, Member.last_read_seq).where(Member.conversation_id == g)).all())
        assert reads[org.users["hamlet"]] == ding["seq"]
        assert reads[org.users["ophelia"]] == after["seq"]
        assert reads[org.users["horatio"]] == last["seq"]
        assert audit.verify_chain(s).ok
        sends = s.exec(select(AuditEntry).where(AuditEntry.action == "chat.send").order_by(col(AuditEntry.seq))).all()
        assert [int(e.target_id) for e in sends][-6:] == [m["id"] for m in fresh]
        assert sends[-1].detail == {"conversation_id": g, "seq": after["seq"], "ding": False}
        assert len(s.exec(select(Message).where(Message.conversation_id == other)).all()) == 1  # system msg only
        hits = search.search(s, oph, "回复")["items"]
        assert [h["message"]["id"] for h in hits] == [reply["id"]]
        conv = service.get_conversation(s, ham, g)
        assert conv["last_seq"] == after["seq"]


def test_failed_multi_row_write_replays_one_by_one(
    db, org: Org, batcher: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = group(org, "hamlet", "项目组", ["ophelia"])
    real = events.publish_many_on_commit

    def broken(*a: Any, **kw: Any) -> Any:
        real(*a, **kw)
        raise RuntimeError("disk says no")

    monkeypatch.setattr(events, "publish_many_on_commit", broken)
    with capture_events("chat.message") as seen:
        out = commit(
            batcher,
            [
                op(org, "hamlet", g, text="一"),
                op(org, "hamlet", g, text=""),
                op(org, "ophelia", g, text="二", client_id="c"),
            ],
        )
    assert [ok for ok, _ in out] == [True, False, True]
    assert [e.payload["seq"] for e in seen] == [out[0][1]["seq"], out[2][1]["seq"]]
    with db.read() as s:
        bodies = s.exec(select(Message.body).where(Message.conversation_id == g).order_by(col(Message.seq))).all()
        assert bodies[1:] == ["一", "二"]  # after the "created the group" message; the failed write left nothing
        assert audit.verify_chain(s).ok
    assert isinstance(out[1][1], ValidationError)


def test_sends_with_attachment_or_ding_take_the_orm_path(org: Org) -> None:
    assert op(org, "hamlet", 1, text="x").batch_type is SendBatch
    assert op(org, "hamlet", 1, text="x", ding=True).batch_type is None
    assert op(org, "hamlet", 1, text="x", attachment_id=3).batch_type is None


def test_both_send_paths_refuse_the_same_sends_for_the_same_reasons(db, org: Org, batcher: GroupCommit) -> None:
    """Every rule of ``messaging.send_rules``, met once through the ORM path and once through the
    batch: the same error class, code and message, and nothing stored either way."""
    from messaging.models import Conversation

    g = group(org, "hamlet", "项目组", ["ophelia", "horatio"])
    muted = group(org, "hamlet", "禁言组", ["ophelia"])
    gone = group(org, "hamlet", "解散组", ["ophelia"])
    hidden = group(org, "hamlet", "新人组", ["ophelia"])
    first = send(org, "hamlet", hidden, "新人看不到")
    used = send(org, "hamlet", g, "已发", client_id="k1")
    ham = org.actor("hamlet")
    with db.write() as s:
        service.update_group(s, ham, muted, muted_all=True)
        service.dissolve(s, ham, gone)
        service.update_group(s, ham, hidden, history_visible=False)
        service.add_members(s, ham, hidden, user_ids=[org.users["horatio"]])
        notice = service.notice_channel(s, org.users["ophelia"]).id
    assert notice is not None
    cases: list[tuple[str, int, dict[str, Any], str]] = [
        ("hamlet", g, {"text": "x", "client_id": "k" * 65}, "bad_client_id"),
        ("hamlet", g, {"text": "x", "client_id": ""}, "bad_client_id"),
        ("hamlet", muted, {"text": "x", "client_id": "k1"}, "client_id_reused"),
        ("hamlet", gone, {"text": "x"}, "dissolved"),
        ("ophelia", notice, {"text": "x"}, "read_only"),
        ("ophelia", muted, {"text": "x"}, "muted_all"),
        ("hamlet", g, {"text": "长" * 10_001}, "text_too_long"),
        ("hamlet", g, {"text": "a\x00b"}, "bad_text"),
        ("hamlet", g, {"text": " \n "}, "empty_text"),
        ("ophelia", g, {"text": "x", "mention_all": True}, "mention_all_denied"),
        ("hamlet", g, {"text": "x", "reply_to_seq": used["seq"] + 1}, "bad_reply"),
        ("horatio", hidden, {"text": "x", "reply_to_seq": first["seq"]}, "bad_reply"),
        ("iago", g, {"text": "x"}, "conversation_not_found"),
    ]

    def orm(user: str, cid: int, fields: dict[str, Any]) -> Exception:
        with pytest.raises(Exception) as info, db.write() as s:
            messages.send_message(s, org.actor(user), conversation_id=cid, **{**FIELDS, **fields})
        return info.value

    def last_seqs() -> dict[int | None, int]:
        with db.read() as s:
            return {c.id: c.last_seq for c in s.exec(select(Conversation)).all()}

    before = last_seqs()
    batched = commit(batcher, [op(org, user, cid, **fields) for user, cid, fields, _ in cases])
    for (user, cid, fields, code), (ok, exc) in zip(cases, batched, strict=True):
        assert not ok, code
        slow = orm(user, cid, fields)
        assert (type(exc), exc.code, exc.message) == (type(slow), slow.code, slow.message), code
        assert slow.code == code
    assert last_seqs() == before
