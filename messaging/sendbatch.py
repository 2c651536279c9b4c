"""Plain text sends staged and written together: the group-commit fast path.

``send_message`` stores one message with the ORM unit of work (a flush per row, a SAVEPOINT per
send in the batcher): about 4–5 ms of CPU per send, which caps one process far below the fsync
rate. The batcher hands a run of consecutive ``SendOp`` items to ``SendBatch`` instead, which

* loads every conversation, its members and any earlier use of the senders' ``client_id`` with a
  few queries for the whole run,
* validates each send completely in Python, exactly as ``send_message`` does, before it allocates
  anything (so a refused send stores nothing and leaves the others alone, without a SAVEPOINT),
  then assigns its ``seq`` and builds what clients will see, and
* writes the run with a handful of multi-row statements in the driver's own values (ids reserved
  for the whole run): messages, search index entries, conversation and read positions, ``chat.message``
  events with their recipients, and one correctly chained audit entry per send.

Sends with an attachment or a DING take the ORM path (``SendOp.__call__``), as does the whole run
if its multi-row write fails for a reason validation did not foresee: then each send is replayed
alone in its own SAVEPOINT, so the outcome is what the slow path would have given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from messaging import audience, messages, search_index, send_rules
from messaging.models import ConversationKind, MemberRole, Message, MessageKind
from messaging.rules import history_floor
from messaging.timeline import EXCERPT, messages_public, reply_excerpt
from office import audit, events
from office.actor import Actor
from office.db import insert_plain_rows, raw_many, raw_rows, reserve_ids, settings_of, sql_json, sql_time, utcnow
from office.errors import NotFound
from office.timefmt import iso

log = logging.getLogger("messaging.sendbatch")

_MSG = Message.__table__  # type: ignore[attr-defined]

_MSG_COLUMNS = (
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
_SENDERS_BETWEEN = select(_MSG.c.sender_id).where(
    _MSG.c.conversation_id == bindparam("cid"),
    _MSG.c.seq > bindparam("lo"),
    _MSG.c.seq <= bindparam("hi"),
    _MSG.c.sender_id.is_not(None),
)


@dataclass(eq=False)
class SendOp:
    """One queued send; calling it with a session takes the ORM path."""

    actor: Actor
    conversation_id: int
    fields: dict[str, Any]

    @property
    def batch_type(self) -> type[SendBatch] | None:
        f = self.fields
        if f.get("attachment_id") is not None or f.get("ding"):
            return None
        return SendBatch

    def __call__(self, session: Session) -> dict[str, Any]:
        return messages.send_message(session, self.actor, conversation_id=self.conversation_id, **self.fields)


@dataclass
class _Conv:
    kind: ConversationKind
    dissolved: bool
    muted_all: bool
    last_seq: int
    history_visible: bool = True
    last_message_at: Any = None
    members: dict[int, MemberRole] = field(default_factory=dict)
    joined: dict[int, int] = field(default_factory=dict)  # each member's joined_seq
    read_at: dict[int, int] = field(default_factory=dict)  # each member's read position before the batch
    stored_last: int = 0  # last seq already in the database before the batch


@dataclass
class _Staged:
    op: SendOp
    seq: int
    text: str
    at: Any
    mentions: list[int]
    recipients: list[int]
    views: list[dict[str, Any]]  # every dict that shows this message (filled with its id on write)


class SendBatch:
    """Stages a run of plain sends and writes them with multi-row statements (see module doc)."""

    def __init__(self, session: Session, ops: list[SendOp]) -> None:
        self.session = session
        self.ops = ops
        self.convs: dict[int, _Conv] = {}
        self.used: dict[tuple[int, str], int] = {}  # (sender, client_id) -> id of the stored message
        self.staged: list[_Staged] = []
        self.by_client: dict[tuple[int, str], _Staged] = {}
        self.by_seq: dict[tuple[int, int], _Staged] = {}

    # the run -----------------------------------------------------------------------------------
    def run(self) -> list[tuple[bool, Any]]:
        session = self.session
        session.flush()  # earlier items' ORM changes must be visible to the Core reads below
        outcomes: list[tuple[bool, Any]] = []
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        try:
            with session.begin_nested():
                self._load()
                for op in self.ops:
                    try:
                        outcomes.append((True, self._stage(op)))
                    except Exception as exc:  # refused before anything was staged for it
                        outcomes.append((False, exc))
                self._write()
        except Exception:
            log.exception("multi-row write of %d sends failed; replaying them one by one", len(self.ops))
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
        # ORM objects loaded earlier in this transaction must not keep the old seq/read positions.
        session.expire_all()
        return outcomes

    def _load(self) -> None:
        conn = self.session.connection()
        ids = sorted({op.conversation_id for op in self.ops})
        marks = ", ".join("?" * len(ids))
        for cid, kind, dissolved, muted_all, last_seq, history_visible in raw_rows(
            conn,
            (
                "SELECT id, kind, dissolved_at IS NOT NULL, muted_all, last_seq, history_visible "
                "FROM chat_conversation "
                f"WHERE id IN ({marks})"
            ),
            tuple(ids),
        ):
            self.convs[cid] = _Conv(
                kind=ConversationKind[kind],
                dissolved=bool(dissolved),
                muted_all=bool(muted_all),
                last_seq=last_seq,
                history_visible=bool(history_visible),
                stored_last=last_seq,
            )
        roles = MemberRole.__members__
        for cid, uid, role, last_read, joined in raw_rows(
            conn,
            (
                "SELECT conversation_id, user_id, role, last_read_seq, joined_seq FROM chat_member "
                f"WHERE conversation_id IN ({marks})"
            ),
            tuple(ids),
        ):
            conv = self.convs[cid]
            conv.members[uid] = roles[role]
            conv.read_at[uid] = last_read or 0
            conv.joined[uid] = joined or 0
        pairs = sorted(
            {
                (op.actor.user_id, op.fields["client_id"])
                for op in self.ops
                if op.fields.get("client_id") and len(op.fields["client_id"]) <= send_rules.MAX_CLIENT_ID
            }
        )
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            # One indexed probe per pair. SQLite answers a row-value IN from the index's first column
            # only, reading every message the sender ever sent.
            where = " OR ".join(["(sender_id = ? AND client_id = ?)"] * len(chunk))
            rows = raw_rows(
                conn,
                f"SELECT sender_id, client_id, id FROM chat_message WHERE {where}",
                tuple(v for pair in chunk for v in pair),
            )
            for sender, client_id, mid in rows:
                self.used[(sender, client_id)] = mid

    # one send: the checks of ``messages.send_message`` (``send_rules``), in the same order -----------
    def _stage(self, op: SendOp) -> dict[str, Any]:
        actor, cid, f = op.actor, op.conversation_id, op.fields
        client_id = f.get("client_id")
        send_rules.check_client_id(client_id)
        if client_id:
            key = (actor.user_id, client_id)
            if key in self.by_client:
                earlier = self.by_client[key]
                send_rules.check_retry(earlier.op.conversation_id, cid)
                view = {**earlier.views[0], "duplicate": True}
                earlier.views.append(view)
                return view
            if key in self.used:
                existing = self.session.get(Message, self.used[key])
                assert existing is not None
                send_rules.check_retry(existing.conversation_id, cid)
                return {**messages_public(self.session, [existing])[0], "duplicate": True}
        conv = self.convs.get(cid)
        role = conv.members.get(actor.user_id) if conv else None
        if conv is None or role is None:
            raise NotFound("会话不存在或你不是成员", code="conversation_not_found")
        send_rules.check_may_send(dissolved=conv.dissolved, kind=conv.kind, muted_all=conv.muted_all, role=role)
        mention_all = bool(f.get("mention_all", False))
        reply_to_seq = f.get("reply_to_seq")
        text = send_rules.check_message(
            f.get("text", ""),
            max_text=settings_of(self.session).chat_max_text,
            allow_empty=False,
            role=role,
            mention_all=mention_all,
            reply_to_seq=reply_to_seq,
            floor=history_floor(conv.history_visible, conv.joined.get(actor.user_id, 0)),
            last_seq=conv.last_seq,
        )
        members = list(conv.members)
        mentioned = sorted({int(u) for u in f.get("mentions") or ()} & set(members) - {actor.user_id})
        reply = self._reply(cid, reply_to_seq) if reply_to_seq else None
        # Valid: from here on nothing raises, so the seq is never skipped.
        conv.last_seq += 1
        seq = conv.last_seq
        now = utcnow()
        conv.last_message_at = now
        view = {
            "id": None,
            "conversation_id": cid,
            "seq": seq,
            "sender_id": actor.user_id,
            "sender_name": actor.name,
            "kind": MessageKind.text.value,
            "text": text,
            "client_id": client_id,
            "created_at": iso(now),
            "edited_at": None,
            "recalled": False,
            "recall_notice": None,
            "reply_to": reply,
            "mentions": mentioned,
            "mention_all": mention_all,
            "attachment": None,
            "ding": False,
            "meta": {},
            "reactions": [],
        }
        event_view = {
            **view,
            "mentions": list(mentioned),
            "meta": {},
            "reactions": [],
            "reply_to": dict(reply) if reply else None,
        }
        staged = _Staged(
            op=op, seq=seq, text=text, at=now, mentions=mentioned, recipients=members, views=[view, event_view]
        )
        self.staged.append(staged)
        self.by_seq[(cid, seq)] = staged
        if client_id:
            self.by_client[(actor.user_id, client_id)] = staged
        return view

    def _announce_reads(self, conn: Any, read: dict[tuple[int, int], int]) -> None:
        """Sending reads everything before it: when that skips someone else's unread messages,
        their senders are told (``chat.read``), exactly as ``messages._advance_read`` does."""
        sent: dict[int, list[_Staged]] = {}  # per conversation, in seq order
        for s in self.staged:
            sent.setdefault(s.op.conversation_id, []).append(s)
        for (cid, uid), seq in read.items():
            conv = self.convs[cid]
            old = conv.read_at.get(uid, 0)
            senders = {s.op.actor.user_id for s in sent[cid] if old < s.seq < seq}
            if old < conv.stored_last:
                between = {"cid": cid, "lo": old, "hi": conv.stored_last}
                senders |= {r[0] for r in conn.execute(_SENDERS_BETWEEN, between)}
            others = senders - {uid}
            if not others:
                continue
            events.publish_on_commit(
                self.session,
                "chat.read",
                {"conversation_id": cid, "user_id": uid, "seq": seq, "from_seq": old, "unread": conv.last_seq - seq},
                user_ids={uid} | others,
            )

    def _reply(self, cid: int, seq: int) -> dict[str, Any] | None:
        earlier = self.by_seq.get((cid, seq))
        if earlier is None:
            return reply_excerpt(self.session, cid, seq)
        return {
            "seq": seq,
            "sender_id": earlier.op.actor.user_id,
            "sender_name": earlier.op.actor.name,
            "text": earlier.text[:EXCERPT],
            "recalled": False,
        }

    # the write ---------------------------------------------------------------------------------
    def _write(self) -> None:
        if not self.staged:
            return
        conn = self.session.connection()
        ids = reserve_ids(conn, _MSG, len(self.staged))
        rows: list[tuple[Any, ...]] = []
        for s, mid in zip(self.staged, ids, strict=True):
            for v in s.views:
                v["id"] = mid
            cid, f = s.op.conversation_id, s.op.fields
            rows.append(
                (
                    mid,
                    cid,
                    s.seq,
                    s.op.actor.user_id,
                    f.get("client_id"),
                    MessageKind.text.name,
                    s.text,
                    f.get("reply_to_seq"),
                    sql_json(s.mentions),
                    bool(f.get("mention_all", False)),
                    False,
                    "{}",
                    sql_time(conn, s.at),
                )
            )
        insert_plain_rows(conn, _MSG, _MSG_COLUMNS, rows)
        search_index.index(conn, [(mid, s.op.conversation_id, s.text) for s, mid in zip(self.staged, ids, strict=True)])
        advanced = sorted({s.op.conversation_id for s in self.staged})
        raw_many(
            conn,
            "UPDATE chat_conversation SET last_seq = ?, last_message_at = ? WHERE id = ?",
            [(self.convs[c].last_seq, sql_time(conn, self.convs[c].last_message_at), c) for c in advanced],
        )
        read: dict[tuple[int, int], int] = {}
        for s in self.staged:
            read[(s.op.conversation_id, s.op.actor.user_id)] = s.seq
        raw_many(
            conn,
            "UPDATE chat_member SET last_read_seq = ? WHERE conversation_id = ? AND user_id = ?",
            [(seq, c, u) for (c, u), seq in read.items()],
        )
        self._announce_reads(conn, read)
        events.publish_many_on_commit(
            self.session,
            [
                (
                    "chat.message",
                    {"conversation_id": s.op.conversation_id, "seq": s.seq, "message": s.views[1]},
                    s.recipients,
                    audience.of(s.op.conversation_id),
                )
                for s in self.staged
            ],
        )
        audit.record_many(
            self.session,
            [
                audit.Pending(
                    s.op.actor,
                    "chat.send",
                    target_type="chat_message",
                    target_id=mid,
                    detail={"conversation_id": s.op.conversation_id, "seq": s.seq, "ding": False},
                    jsonable=True,
                )
                for s, mid in zip(self.staged, ids, strict=True)
            ],
        )
