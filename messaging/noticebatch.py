"""工作通知 written as runs: other domains' ``notify.*`` events become notice messages on chat's writer.

Each ``notify.*`` event (a new 办事 task, a decision, a 抄送...) is a 工作通知 message to every listed
user who is active, in their notice channel. ``messaging.subscribers.on_notify`` queues a ``NoticeOp``
on chat's group-commit writer (``messaging.batcher``) instead of writing it in a transaction of its own:
under load a 办事 batch of fifty submissions published fifty of them, each an fsync'd commit on the
submitting writer's thread. Queued together, they are taken as one run, and ``NoticeBatch`` writes it
in the writer's one transaction with a few statements for the whole run: one read of the active users,
one of their channels, then the messages, their search entries, the channels' positions and the
``chat.message`` events, each a multi-row statement (ids reserved for the run, as ``sendbatch`` does).

A ``NoticeOp`` called alone is the ORM path (``append_message`` per user): the writer replays a run that
fails that way, each notice in its own SAVEPOINT, so a notice is written once either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from messaging import search_index, service
from messaging.models import Message, MessageKind
from messaging.timeline import append_message
from office import events
from office.db import insert_plain_rows, raw_many, raw_rows, reserve_ids, sql_json, sql_time, utcnow
from office.models import User
from office.timefmt import iso

log = logging.getLogger("messaging.noticebatch")
_MSG = Message.__table__  # type: ignore[attr-defined]
_COLUMNS = (
    "id",
    "conversation_id",
    "seq",
    "sender_id",
    "client_id",
    "kind",
    "body",
    "reply_to_seq",
    "mentions",
    "mention_all",
    "is_ding",
    "meta",
    "created_at",
)


@dataclass(eq=False)
class NoticeOp:
    """One ``notify.*`` event's 工作通知: ``users`` and ``meta`` as ``subscribers.clean_notice`` gives them."""

    event_type: str
    users: list[int]
    meta: dict[str, str]

    @property
    def batch_type(self) -> type[NoticeBatch]:
        return NoticeBatch

    @property
    def text(self) -> str:
        return self.meta["title"] + ("\n" + self.meta["body"] if self.meta["body"] else "")

    @property
    def stored_meta(self) -> dict[str, str]:
        return {**self.meta, "event": self.event_type}

    def __call__(self, session: Session) -> int:
        """The notices one by one (the ORM path); how many were written."""
        active = active_users(session, self.users)
        for uid in active:
            conv = service.notice_channel(session, uid)
            append_message(
                session,
                conv,
                sender_id=None,
                kind=MessageKind.notice,
                body=self.text,
                meta=self.stored_meta,
                recipients=[uid],
            )
        return len(active)


def active_users(session: Session, users: list[int]) -> list[int]:
    """Of ``users``, those whose account is active (a notice to anyone else is not written)."""
    if not users:
        return []
    found = session.exec(select(User.id).where(col(User.id).in_(users), User.is_active == True)).all()  # noqa: E712
    return sorted(u for u in found if u is not None)


class NoticeBatch:
    """A run of ``NoticeOp`` written with multi-row statements (module doc)."""

    def __init__(self, session: Session, ops: list[NoticeOp]) -> None:
        self.session = session
        self.ops = ops

    def run(self) -> list[tuple[bool, Any]]:
        session = self.session
        session.flush()  # earlier items' ORM changes must be visible to the reads below
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        try:
            with session.begin_nested():
                written = self._write()
        except Exception:
            log.exception("multi-row write of %d 工作通知 failed; writing them one by one", len(self.ops))
            del pending[mark:]
            session.expire_all()
            outcomes: list[tuple[bool, Any]] = []
            for op in self.ops:
                m = len(pending)
                try:
                    with session.begin_nested():
                        outcomes.append((True, op(session)))
                except Exception as exc:
                    del pending[m:]
                    outcomes.append((False, exc))
            return outcomes
        session.expire_all()  # a channel loaded earlier in this transaction must not keep its old last_seq
        return [(True, n) for n in written]

    def _write(self) -> list[int]:
        """How many notices each op wrote."""
        session = self.session
        active = set(active_users(session, sorted({u for op in self.ops for u in op.users})))
        written = [sum(1 for u in op.users if u in active) for op in self.ops]
        if not active:
            return written
        conn = session.connection()
        channels = _channels(conn, active)
        for uid in sorted(active - set(channels)):  # first notice of this person: the channel is made
            conv = service.notice_channel(session, uid)
            channels[uid] = [conv.id or 0, conv.last_seq]
        session.flush()
        now = utcnow()
        at, created = sql_time(conn, now), iso(now)
        notices = [(op, uid) for op in self.ops for uid in op.users if uid in active]
        ids = reserve_ids(conn, _MSG, len(notices))
        rows: list[tuple[Any, ...]] = []
        published: list[tuple[str, dict[str, Any], list[int]]] = []
        for (op, uid), mid in zip(notices, ids, strict=True):
            channel = channels[uid]
            channel[1] += 1
            cid, seq, meta, text = channel[0], channel[1], op.stored_meta, op.text
            rows.append(
                (mid, cid, seq, None, None, MessageKind.notice.name, text, None, "[]", False, False, sql_json(meta), at)
            )
            # ``timeline.message_public`` of the stored row: a notice has no sender, reply or file.
            view: dict[str, Any] = {
                "id": mid,
                "conversation_id": cid,
                "seq": seq,
                "sender_id": None,
                "sender_name": "",
                "kind": MessageKind.notice.value,
                "text": text,
                "client_id": None,
                "created_at": created,
                "edited_at": None,
                "recalled": False,
                "recall_notice": None,
                "reply_to": None,
                "mentions": [],
                "mention_all": False,
                "attachment": None,
                "ding": False,
                "meta": meta,
                "reactions": [],
            }
            published.append(("chat.message", {"conversation_id": cid, "seq": seq, "message": view}, [uid]))
        insert_plain_rows(conn, _MSG, _COLUMNS, rows)
        if search_index.indexed(MessageKind.notice, False):
            search_index.index(
                conn, [(mid, channels[uid][0], op.text) for (op, uid), mid in zip(notices, ids, strict=True)]
            )
        raw_many(
            conn,
            "UPDATE chat_conversation SET last_seq = ?, last_message_at = ? WHERE id = ?",
            [(seq, at, cid) for cid, seq in sorted(channels[u] for u in {uid for _, uid in notices})],
        )
        events.publish_many_on_commit(session, published)
        return written


def _channels(conn: Any, users: set[int]) -> dict[int, list[int]]:
    """Each user's notice channel that exists: user -> [conversation id, last seq]."""
    out: dict[int, list[int]] = {}
    ordered = sorted(users)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        marks = ", ".join("?" * len(chunk))
        rows = raw_rows(
            conn,
            f"SELECT unique_key, id, last_seq FROM chat_conversation WHERE unique_key IN ({marks})",
            tuple(f"notice:{u}" for u in chunk),
        )
        for key, cid, last_seq in rows:
            out[int(key.split(":", 1)[1])] = [cid, last_seq]
    return out
