"""Full-text search over the conversations a user belongs to, correct for Chinese.

Every message's text is indexed by its distinct character bigrams (``MessageGram``). A query of
two or more characters contains at least one bigram; every message containing the query also
contains that bigram, so the rarest bigram gives a complete candidate list, and a LIKE over the
text confirms the whole query. The same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from office.actor import Actor
from office.errors import ValidationError
from messaging.models import Conversation, Member, Message, MessageGram
from messaging.service import _escape_like, _titles, access_conversation
from messaging.timeline import grams, messages_public

RARITY_PROBE = 5000


def search(session: Session, actor: Actor, q: str, *, conversation_id: int | None = None,
           before_id: int | None = None, limit: int = 30) -> dict[str, Any]:
    """Messages containing ``q`` (case-insensitive), newest first; page on with ``before_id``."""
    q = (q or "").strip()
    if len(q) < 2:
        raise ValidationError("搜索词至少需要 2 个字符", code="query_too_short")
    if len(q) > 50:
        raise ValidationError("搜索词不能超过 50 个字符", code="query_too_long")
    if conversation_id is not None:
        access_conversation(session, actor, conversation_id)
        conv_ids = [conversation_id]
    else:
        conv_ids = list(session.exec(select(Member.conversation_id).where(Member.user_id == actor.user_id)).all())
    if not conv_ids:
        return {"items": [], "next_before_id": None}
    key = _rarest(session, sorted(grams(q)))
    like = f"%{_escape_like(q.lower())}%"
    stmt = (select(Message).join(MessageGram, MessageGram.message_id == Message.id)  # type: ignore[arg-type]
            .where(MessageGram.gram == key, col(MessageGram.conversation_id).in_(conv_ids),
                   func.lower(Message.body).like(like, escape="\\"), col(Message.recalled_at).is_(None)))
    if before_id:
        stmt = stmt.where(MessageGram.message_id < before_id)
    limit = min(max(limit, 1), 100)
    msgs = list(session.exec(stmt.order_by(col(MessageGram.message_id).desc()).limit(limit)).all())
    convs = {c.id: c for c in session.exec(select(Conversation).where(
        col(Conversation.id).in_({m.conversation_id for m in msgs}))).all()}
    titles = _titles(session, actor, list(convs.values()))
    items = []
    for m in messages_public(session, msgs):
        conv = convs[m["conversation_id"]]
        items.append({"conversation_id": conv.id, "conversation_name": titles.get(conv.id, conv.name),  # type: ignore[arg-type]
                      "message": m})
    return {"items": items, "next_before_id": msgs[-1].id if len(msgs) == limit else None}


def _rarest(session: Session, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    best, best_n = keys[0], None
    for k in keys[:8]:
        n = session.exec(select(func.count()).select_from(
            select(MessageGram.message_id).where(MessageGram.gram == k).limit(RARITY_PROBE).subquery())).one()
        if best_n is None or n < best_n:
            best, best_n = k, n
    return best
