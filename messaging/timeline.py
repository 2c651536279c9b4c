"""Appending messages and turning them into the JSON clients see.

``append_message`` is the one place a message row is created: it allocates the next
per-conversation ``seq`` (callers hold the serialised write transaction), indexes the text for
search and publishes ``chat.message`` to the members after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from messaging import audience, search_index
from messaging.models import Attachment, Conversation, Member, Message, MessageKind, Reaction
from office import events, eventstore
from office.db import utcnow
from office.models import User
from office.timefmt import iso

EXCERPT = 120


def member_ids(session: Session, conversation_id: int) -> list[int]:
    return list(session.exec(select(Member.user_id).where(Member.conversation_id == conversation_id)).all())


def user_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())  # type: ignore[arg-type]


def index_message(session: Session, msg: Message) -> None:
    """Add a message just stored to the search index (if its kind is searchable)."""
    if search_index.indexed(msg.kind, msg.recalled_at is not None):
        search_index.index(session.connection(), [(msg.id, msg.conversation_id, msg.body)])  # type: ignore[list-item]


def append_message(
    session: Session,
    conv: Conversation,
    *,
    sender_id: int | None,
    kind: MessageKind,
    body: str,
    client_id: str | None = None,
    reply_to_seq: int | None = None,
    mentions: Sequence[int] = (),
    mention_all: bool = False,
    attachment: Attachment | None = None,
    is_ding: bool = False,
    meta: dict[str, Any] | None = None,
    sender_name: str = "",
    members: list[int] | None = None,
    recipients: list[int] | None = None,
) -> Message:
    """Store the next message of ``conv`` and publish ``chat.message`` to its members (pass
    ``members`` when the caller has just read them), or only to ``recipients``.

    Precondition: inside ``Database.write()`` (the seq is read-modify-write on the conversation).
    """
    assert conv.id is not None  # a stored conversation
    conv.last_seq += 1
    conv.last_message_at = utcnow()
    msg = Message(
        conversation_id=conv.id,
        seq=conv.last_seq,
        sender_id=sender_id,
        client_id=client_id,
        kind=kind,
        body=body,
        reply_to_seq=reply_to_seq,
        mentions=list(mentions),
        mention_all=mention_all,
        attachment_id=attachment.id if attachment else None,
        is_ding=is_ding,
        meta=meta or {},
    )
    session.add(conv)
    session.add(msg)
    session.flush()
    index_message(session, msg)
    reply = reply_excerpt(session, conv.id, reply_to_seq) if reply_to_seq else None
    public = message_public(msg, {sender_id: sender_name} if sender_id else {}, attachment=attachment, reply=reply)
    payload = {"conversation_id": conv.id, "seq": msg.seq, "message": public}
    if recipients is not None:
        events.publish_on_commit(session, "chat.message", payload, user_ids=recipients)
    else:
        events.publish_on_commit(
            session,
            "chat.message",
            payload,
            audience=audience.of(conv.id),
            user_ids=members if members is not None else member_ids(session, conv.id),
        )
    return msg


def system_message(session: Session, conv: Conversation, text: str, **meta: Any) -> Message:
    return append_message(session, conv, sender_id=None, kind=MessageKind.system, body=text, meta=meta)


def attachment_public(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "size": a.size,
        "kind": a.kind,
        "mime": a.mime,
        "width": a.width,
        "height": a.height,
        "has_thumb": a.has_thumb,
        "url": f"/api/messages/attachments/{a.id}",
        "thumb_url": f"/api/messages/attachments/{a.id}?thumb=1" if a.has_thumb else None,
    }


def recall_notice(name: str) -> str:
    return f"{name or '对方'}撤回了一条消息"


def redact_recalled(session: Session, msg: Message, notice: str) -> int:
    """Rewrite the stored events that carry a recalled message's text or file, so resume replays
    them as recalled: its ``chat.message`` (text and attachment cleared, as ``message_public`` shows
    it now), its ``chat.edit`` events (text cleared), excerpts of it quoted by later messages, and
    DING reminders of it. Returns how many events were rewritten."""
    cid, seq = msg.conversation_id, msg.seq

    def redact(etype: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if payload.get("conversation_id") != cid:
            return None
        if etype == "chat.message":
            view = payload.get("message") or {}
            if payload.get("seq") == seq:
                return {
                    **payload,
                    "message": {**view, "text": "", "attachment": None, "recalled": True, "recall_notice": notice},
                }
            quoted = view.get("reply_to")
            if isinstance(quoted, dict) and quoted.get("seq") == seq:
                return {**payload, "message": {**view, "reply_to": {**quoted, "text": notice, "recalled": True}}}
        elif etype == "chat.edit" and payload.get("seq") == seq:
            return {**payload, "text": ""}
        elif etype == "chat.ding_remind" and payload.get("seq") == seq:
            return {**payload, "text": notice}
        return None

    return eventstore.rewrite(
        session,
        since=msg.created_at,
        audience=audience.of(cid),
        types=("chat.ding_remind",) if msg.is_ding else (),
        fn=redact,
    )


def message_public(
    msg: Message,
    names: dict[int, str],
    *,
    attachment: Attachment | None = None,
    reply: dict[str, Any] | None = None,
    reactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    name = names.get(msg.sender_id or 0, "")
    recalled = msg.recalled_at is not None
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "seq": msg.seq,
        "sender_id": msg.sender_id,
        "sender_name": name,
        "kind": msg.kind.value,
        "text": "" if recalled else msg.body,
        "client_id": msg.client_id,
        "created_at": iso(msg.created_at),
        "edited_at": iso(msg.edited_at),
        "recalled": recalled,
        "recall_notice": recall_notice(name) if recalled else None,
        "reply_to": reply,
        "mentions": list(msg.mentions or []),
        "mention_all": msg.mention_all,
        "attachment": attachment_public(attachment) if attachment and not recalled else None,
        "ding": msg.is_ding,
        "meta": msg.meta or {},
        "reactions": reactions or [],
    }


def reply_excerpt(session: Session, conversation_id: int, seq: int) -> dict[str, Any] | None:
    msg = session.exec(select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq)).first()
    if msg is None:
        return None
    name = user_names(session, [msg.sender_id]).get(msg.sender_id or 0, "")
    text = recall_notice(name) if msg.recalled_at else msg.body[:EXCERPT]
    return {
        "seq": msg.seq,
        "sender_id": msg.sender_id,
        "sender_name": name,
        "text": text,
        "recalled": msg.recalled_at is not None,
    }


def messages_public(session: Session, msgs: Sequence[Message]) -> list[dict[str, Any]]:
    """Serialise a page of messages with names, attachments, reply excerpts and reactions (fixed query count)."""
    if not msgs:
        return []
    conv_ids = {m.conversation_id for m in msgs}
    reply_keys = {(m.conversation_id, m.reply_to_seq) for m in msgs if m.reply_to_seq}
    replies: dict[tuple[int, int], Message] = {}
    if reply_keys:
        seqs = {s for _, s in reply_keys}
        for r in session.exec(
            select(Message).where(col(Message.conversation_id).in_(conv_ids), col(Message.seq).in_(seqs))
        ).all():
            replies[(r.conversation_id, r.seq)] = r
    att_ids = {m.attachment_id for m in msgs if m.attachment_id}
    atts = (
        {a.id: a for a in session.exec(select(Attachment).where(col(Attachment.id).in_(att_ids))).all()}
        if att_ids
        else {}
    )
    names = user_names(session, [m.sender_id for m in msgs] + [r.sender_id for r in replies.values()])
    reacts: dict[int, dict[str, list[int]]] = {}
    for rx in session.exec(
        select(Reaction).where(col(Reaction.message_id).in_([m.id for m in msgs])).order_by(col(Reaction.created_at))
    ).all():
        reacts.setdefault(rx.message_id, {}).setdefault(rx.emoji, []).append(rx.user_id)
    out = []
    for m in msgs:
        reply = None
        if m.reply_to_seq and (quoted := replies.get((m.conversation_id, m.reply_to_seq))):
            rname = names.get(quoted.sender_id or 0, "")
            reply = {
                "seq": quoted.seq,
                "sender_id": quoted.sender_id,
                "sender_name": rname,
                "recalled": quoted.recalled_at is not None,
                "text": recall_notice(rname) if quoted.recalled_at else quoted.body[:EXCERPT],
            }
        reactions = [{"emoji": e, "user_ids": u} for e, u in reacts.get(m.id or 0, {}).items()]
        out.append(
            message_public(
                m,
                names,
                attachment=atts.get(m.attachment_id) if m.attachment_id else None,
                reply=reply,
                reactions=reactions,
            )
        )
    return out
