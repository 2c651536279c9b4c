"""History paging: a page of a conversation's messages as the member may read them, with 已读/未读
counts on their own messages and whether each DING to them is acknowledged."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from messaging.models import DingReceipt, Member, Message
from messaging.service import access_conversation, readable_after
from messaging.timeline import messages_public
from office.actor import Actor


def history(
    session: Session,
    actor: Actor,
    *,
    conversation_id: int,
    before: int | None = None,
    after: int | None = None,
    around: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of messages in seq order: the newest (default), older than ``before``, newer than
    ``after``, or centred on ``around`` (jump to a message). Own messages carry 已读/未读 counts."""
    conv, me = access_conversation(session, actor, conversation_id)
    limit = min(max(limit, 1), 200)
    floor = readable_after(conv, me)
    base = select(Message).where(Message.conversation_id == conversation_id, Message.seq > floor)
    if around is not None:
        half = limit // 2
        older = session.exec(base.where(Message.seq < around).order_by(col(Message.seq).desc()).limit(half)).all()
        newer = session.exec(base.where(Message.seq >= around).order_by(col(Message.seq)).limit(limit - half)).all()
        msgs = list(reversed(older)) + list(newer)
    elif after is not None:
        msgs = list(session.exec(base.where(Message.seq > after).order_by(col(Message.seq)).limit(limit)).all())
    else:
        top = before if before is not None else conv.last_seq + 1
        msgs = list(
            reversed(session.exec(base.where(Message.seq < top).order_by(col(Message.seq).desc()).limit(limit)).all())
        )
    items = messages_public(session, msgs)
    counts = _read_counts(session, conversation_id, [m for m in msgs if m.sender_id == actor.user_id])
    dings = _my_dings(session, actor, msgs)
    for item in items:
        if item["seq"] in counts:
            item["read_count"], item["unread_count"] = counts[item["seq"]]
        if item["id"] in dings:
            item["ding_acked"] = dings[item["id"]]
    first = msgs[0].seq if msgs else (before or conv.last_seq + 1)
    last = msgs[-1].seq if msgs else (after or 0)
    return {
        "items": items,
        "has_more_before": first > floor + 1,
        "has_more_after": last < conv.last_seq,
        "last_seq": conv.last_seq,
        "last_read_seq": me.last_read_seq,
    }


def _my_dings(session: Session, actor: Actor, msgs: list[Message]) -> dict[int, bool]:
    ids = [m.id for m in msgs if m.is_ding]
    if not ids:
        return {}
    rows = session.exec(
        select(DingReceipt).where(col(DingReceipt.message_id).in_(ids), DingReceipt.user_id == actor.user_id)
    ).all()
    return {r.message_id: r.acked_at is not None for r in rows}


def _read_counts(session: Session, conversation_id: int, own: list[Message]) -> dict[int, tuple[int, int]]:
    if not own:
        return {}
    rows = session.exec(
        select(Member.user_id, Member.last_read_seq, Member.joined_seq).where(Member.conversation_id == conversation_id)
    ).all()
    out = {}
    for m in own:
        read = unread = 0
        for uid, last, joined in rows:
            if uid == m.sender_id or joined >= m.seq:
                continue
            if last >= m.seq:
                read += 1
            else:
                unread += 1
        out[m.seq] = (read, unread)
    return out
