"""Full-text search over the conversations a user belongs to, correct for Chinese: a query of two
or more characters finds every message containing it (the index: ``messaging.search_index``)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from messaging import search_index
from messaging.models import Conversation, Member, Message
from messaging.rules import history_floor
from messaging.service import access_conversation, conversation_titles, readable_after
from messaging.timeline import messages_public
from office.actor import Actor
from office.errors import ValidationError


def search(
    session: Session,
    actor: Actor,
    q: str,
    *,
    conversation_id: int | None = None,
    before_id: int | None = None,
    limit: int = 30,
) -> dict[str, Any]:
    """Messages containing ``q`` (case-insensitive), newest first; page on with ``before_id``."""
    q = (q or "").strip()
    if len(q) < 2:
        raise ValidationError("搜索词至少需要 2 个字符", code="query_too_short")
    if len(q) > 50:
        raise ValidationError("搜索词不能超过 50 个字符", code="query_too_long")
    if conversation_id is not None:
        conv, me = access_conversation(session, actor, conversation_id)
        floors = {conversation_id: readable_after(conv, me)}
    else:
        floors = {
            cid: history_floor(visible, joined)
            for cid, joined, visible in session.exec(
                select(Member.conversation_id, Member.joined_seq, Conversation.history_visible)
                .join(Conversation, Conversation.id == Member.conversation_id)  # type: ignore[arg-type]
                .where(Member.user_id == actor.user_id)
            ).all()
        }
    if not floors:
        return {"items": [], "next_before_id": None}
    limit = min(max(limit, 1), 100)
    ids = search_index.candidates(session, q, floors, before_id=before_id, limit=limit)
    found = {m.id: m for m in session.exec(select(Message).where(col(Message.id).in_(ids))).all()}
    msgs = [found[i] for i in ids]
    convs = {
        c.id: c
        for c in session.exec(
            select(Conversation).where(col(Conversation.id).in_({m.conversation_id for m in msgs}))
        ).all()
    }
    titles = conversation_titles(session, actor, list(convs.values()))
    items = []
    for m in messages_public(session, msgs):
        conv = convs[m["conversation_id"]]
        items.append(
            {
                "conversation_id": conv.id,
                "conversation_name": titles.get(conv.id, conv.name),  # type: ignore[arg-type]
                "message": m,
            }
        )
    return {"items": items, "next_before_id": msgs[-1].id if len(msgs) == limit else None}
