"""消息's 待办 source for the 工作台 (``office.todo``): DING messages the person has not acknowledged.

Nobody imports messaging, so ``messaging.startup`` registers it. A DING arrives as a ``chat.message``
whose ``message.ding`` is true; acknowledging it is ``chat.ding_ack``; recalling it drops its
receipts (``chat.recall``); leaving the conversation hides it (``chat.conversation``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from messaging.models import Conversation, DingReceipt, Member, Message
from office.actor import Actor
from office.models import User
from office.todo import TodoItem

EXCERPT = 60


class Dings:
    """DING messages waiting for the person to confirm (确认收到)."""

    kind = "ding"
    label = "DING"
    section = ""  # 消息's badge counts unread messages; a DING read but not acknowledged stays here
    events = ("chat.message?message.ding", "chat.ding_ack", "chat.recall", "chat.conversation")

    def _pending(self, actor: Actor) -> Any:
        """The person's unacknowledged DINGs, in conversations they still belong to."""
        return (
            select(DingReceipt, Message, Conversation)
            .join(Message, col(Message.id) == DingReceipt.message_id)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .join(Member, (col(Member.conversation_id) == Message.conversation_id) & (Member.user_id == actor.user_id))
            .where(
                DingReceipt.user_id == actor.user_id,
                col(DingReceipt.acked_at).is_(None),
                col(Message.recalled_at).is_(None),
            )
        )

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        return int(session.exec(select(func.count()).select_from(self._pending(actor).subquery())).one())

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if box == "todo":
            rows = session.exec(self._pending(actor).order_by(col(Message.created_at).desc()).limit(limit)).all()
            return self._items(session, [(m, c, m.created_at) for _, m, c in rows], action="确认收到")
        if box == "done":
            acked = session.exec(
                select(DingReceipt, Message, Conversation)
                .join(Message, col(Message.id) == DingReceipt.message_id)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(DingReceipt.user_id == actor.user_id, col(DingReceipt.acked_at).is_not(None))
                .order_by(col(DingReceipt.acked_at).desc())
                .limit(limit)
            ).all()
            return self._items(session, [(m, c, r.acked_at or m.created_at) for r, m, c in acked], action="查看")
        sent = session.exec(
            select(Message, Conversation)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(Message.sender_id == actor.user_id, col(Message.is_ding).is_(True))
            .order_by(col(Message.created_at).desc())
            .limit(limit)
        ).all()
        return self._items(session, [(m, c, m.created_at) for m, c in sent], action="查看")

    def _items(
        self, session: Session, rows: list[tuple[Message, Conversation, datetime]], *, action: str
    ) -> list[TodoItem]:
        senders = {m.sender_id for m, _, _ in rows if m.sender_id}
        names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(senders))).all()) if senders else {}
        return [
            TodoItem(
                kind=self.kind,
                key=str(m.id),
                title=(m.body or "（附件）")[:EXCERPT] if not m.recalled_at else "（已撤回）",
                link=f"#/messages/{m.conversation_id}?seq={m.seq}",
                since=since,
                detail=" · ".join(x for x in (names.get(m.sender_id or 0, ""), c.name) if x),
                urgent=True,
                action=action,
            )
            for m, c, since in rows
        ]


SOURCES = (Dings(),)
