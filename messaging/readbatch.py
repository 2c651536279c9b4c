"""Read marks staged and written together: the group-commit path of ``chat.read`` and ``POST .../read``.

``messages.mark_read`` loads the conversation and the membership through the ORM, flushes one row
and stores one ``chat.read`` event per mark, each in its own SAVEPOINT in the batcher: under load
read marks were about 30 % of the chat writer's time (#20), while sends were written as runs. The
batcher now hands a run of consecutive ``ReadOp`` items to ``ReadBatch``, which

* loads the run's conversations and the readers' memberships with two queries,
* answers each mark in order exactly as ``mark_read`` would: ``conversation_not_found`` for a
  conversation that is missing or not the reader's, the seq clamped to ``[0, last_seq]``, and a
  mark that does not move the reader's position forward answers the position as it stands and
  writes nothing,
* coalesces the marks that move one person's position in one conversation forward within the run:
  one row updated and ONE ``chat.read`` event, from the position before the run to the last one,
  to the reader (all their devices) and to the senders of every message in between, which is the
  union of what each mark alone would have told them,
* writes the run with one multi-row UPDATE and one multi-row insert of the events
  (``events.publish_many_on_commit``).

If the multi-row write fails for a reason the checks did not foresee, each mark is replayed through
``mark_read`` in its own SAVEPOINT, so the outcome is what the ORM path would have given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from messaging import messages
from office import events
from office.actor import Actor
from office.db import raw_many, raw_rows
from office.errors import NotFound

log = logging.getLogger("messaging.readbatch")


@dataclass(eq=False)
class ReadOp:
    """One queued read mark; calling it with a session takes the ORM path (``messages.mark_read``)."""

    actor: Actor
    conversation_id: int
    seq: int

    @property
    def batch_type(self) -> type[ReadBatch]:
        return ReadBatch

    def __call__(self, session: Session) -> dict[str, Any]:
        return messages.mark_read(session, self.actor, conversation_id=self.conversation_id, seq=self.seq)


class ReadBatch:
    """Stages a run of read marks and writes them coalesced, with multi-row statements (module doc)."""

    def __init__(self, session: Session, ops: list[ReadOp]) -> None:
        self.session = session
        self.ops = ops
        self.last_seq: dict[int, int] = {}  # conversation -> its newest seq
        self.read_at: dict[tuple[int, int], int] = {}  # (conversation, reader) -> position, as staged
        self.before: dict[tuple[int, int], int] = {}  # (conversation, reader) -> position before the run

    def run(self) -> list[tuple[bool, Any]]:
        session = self.session
        session.flush()  # earlier items' ORM changes must be visible to the reads below
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        outcomes: list[tuple[bool, Any]] = []
        try:
            with session.begin_nested():
                self._load()
                for op in self.ops:
                    try:
                        outcomes.append((True, self._stage(op)))
                    except NotFound as exc:
                        outcomes.append((False, exc))
                self._write()
        except Exception:
            log.exception("multi-row write of %d read marks failed; replaying them one by one", len(self.ops))
            del pending[mark:]
            session.expire_all()
            outcomes = []
            for op in self.ops:
                m = len(pending)
                try:
                    with session.begin_nested():
                        outcomes.append((True, op(session)))
                except Exception as exc:
                    del pending[m:]
                    outcomes.append((False, exc))
            return outcomes
        session.expire_all()  # ORM objects loaded earlier in this transaction must not keep old positions
        return outcomes

    def _load(self) -> None:
        conn = self.session.connection()
        convs = sorted({op.conversation_id for op in self.ops})
        readers = sorted({op.actor.user_id for op in self.ops})
        c_marks, r_marks = ", ".join("?" * len(convs)), ", ".join("?" * len(readers))
        for cid, last_seq in raw_rows(
            conn, f"SELECT id, last_seq FROM chat_conversation WHERE id IN ({c_marks})", tuple(convs)
        ):
            self.last_seq[cid] = last_seq
        wanted = {(op.conversation_id, op.actor.user_id) for op in self.ops}
        for cid, uid, last_read in raw_rows(
            conn,
            (
                "SELECT conversation_id, user_id, last_read_seq FROM chat_member "
                f"WHERE conversation_id IN ({c_marks}) AND user_id IN ({r_marks})"
            ),
            (*convs, *readers),
        ):
            if (cid, uid) in wanted and cid in self.last_seq:
                self.read_at[(cid, uid)] = self.before[(cid, uid)] = last_read or 0

    def _stage(self, op: ReadOp) -> dict[str, Any]:
        """``messages.mark_read`` for one mark, against the positions staged so far."""
        cid, key = op.conversation_id, (op.conversation_id, op.actor.user_id)
        if key not in self.read_at:
            raise NotFound("会话不存在或你不是成员", code="conversation_not_found")
        last = self.last_seq[cid]
        seq = min(max(op.seq, 0), last)
        if seq > self.read_at[key]:
            self.read_at[key] = seq
        return {"conversation_id": cid, "last_read_seq": self.read_at[key], "unread": last - self.read_at[key]}

    def _write(self) -> None:
        moved = [(key, seq) for key, seq in self.read_at.items() if seq > self.before[key]]
        if not moved:
            return
        conn = self.session.connection()
        raw_many(
            conn,
            "UPDATE chat_member SET last_read_seq = ? WHERE conversation_id = ? AND user_id = ?",
            [(seq, cid, uid) for (cid, uid), seq in moved],
        )
        published = []
        for (cid, uid), seq in moved:
            old = self.before[(cid, uid)]
            senders = raw_rows(
                conn,
                (
                    "SELECT DISTINCT sender_id FROM chat_message "
                    "WHERE conversation_id = ? AND seq > ? AND seq <= ? AND sender_id IS NOT NULL"
                ),
                (cid, old, seq),
            )
            payload = {
                "conversation_id": cid,
                "user_id": uid,
                "seq": seq,
                "from_seq": old,
                "unread": self.last_seq[cid] - seq,
            }
            published.append(("chat.read", payload, {uid} | {r[0] for r in senders}))
        events.publish_many_on_commit(self.session, published)
