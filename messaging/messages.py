"""Messages: send (idempotent by client id), edit (history kept), recall (within a window),
reactions, read receipts, DING acknowledgements and reminders. History paging is in
``messaging.paging``.

Callers hold ``Database.write()`` for changes (normally the group-commit batcher in
``messaging.batcher``); events are published to the conversation's members after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from messaging import attachments, audience, search_index, send_rules
from messaging.models import (
    Attachment,
    Conversation,
    DingReceipt,
    Member,
    Message,
    MessageEdit,
    MessageKind,
    Reaction,
)
from messaging.service import access_conversation, readable_after
from messaging.timeline import (
    append_message,
    index_message,
    member_ids,
    message_public,
    messages_public,
    recall_notice,
    redact_recalled,
    reply_excerpt,
    user_names,
)
from office import audit, events
from office.actor import Actor
from office.db import settings_of, utcnow
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.timefmt import iso


def get_message(session: Session, conversation_id: int, seq: int) -> Message:
    msg = session.exec(select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq)).first()
    if msg is None:
        raise NotFound("消息不存在", code="message_not_found")
    return msg


def access_message(
    session: Session, actor: Actor, conversation_id: int, seq: int, *, send: bool = False
) -> tuple[Conversation, Member, Message]:
    """The conversation, the actor's membership and the message; NotFound when the actor is not a
    member, or the message is missing or came before they joined a conversation that hides its
    history from new members (the same answer, so hidden messages cannot be probed)."""
    conv, me = access_conversation(session, actor, conversation_id, send=send)
    if seq <= readable_after(conv, me):
        raise NotFound("消息不存在", code="message_not_found")
    return conv, me, get_message(session, conversation_id, seq)


def _own_message(session: Session, actor: Actor, conversation_id: int, seq: int) -> tuple[Conversation, Message]:
    conv, _, msg = access_message(session, actor, conversation_id, seq)
    if msg.sender_id != actor.user_id:
        raise PermissionDenied("只能操作自己发送的消息", code="not_sender")
    return conv, msg


# Sending ---------------------------------------------------------------------------------------


def send_message(
    session: Session,
    actor: Actor,
    *,
    conversation_id: int,
    text: str = "",
    client_id: str | None = None,
    reply_to_seq: int | None = None,
    mentions: Sequence[int] = (),
    mention_all: bool = False,
    attachment_id: int | None = None,
    ding: bool = False,
    ding_user_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Store one message and return it as clients see it (with its server-assigned ``seq``).

    A retry with the same ``client_id`` returns the stored message (``duplicate: true``) and stores
    nothing. The sender's own read position moves to the new message, so it never counts as unread.
    """
    send_rules.check_client_id(client_id)
    if client_id:
        existing = session.exec(
            select(Message).where(Message.sender_id == actor.user_id, Message.client_id == client_id)
        ).first()
        if existing is not None:
            send_rules.check_retry(existing.conversation_id, conversation_id)
            return {**messages_public(session, [existing])[0], "duplicate": True}
    conv, me = access_conversation(session, actor, conversation_id, send=True)  # send_rules.check_may_send
    attachment = _attachment_for(session, actor, conversation_id, attachment_id)
    text = send_rules.check_message(
        text,
        max_text=settings_of(session).chat_max_text,
        allow_empty=attachment is not None,
        role=me.role,
        mention_all=mention_all,
        reply_to_seq=reply_to_seq,
        floor=readable_after(conv, me),
        last_seq=conv.last_seq,
    )
    members = member_ids(session, conversation_id)
    mentioned = sorted({int(u) for u in mentions} & set(members) - {actor.user_id})
    kind = MessageKind.text
    if attachment is not None:
        kind = MessageKind.image if attachment.has_thumb else MessageKind.file
        text = text or attachment.filename
    # The DING recipients go into the message's meta before it is published, so the live
    # ``chat.message`` tells each member whether the DING is for them.
    ding_targets = _ding_targets(actor, members, ding_user_ids) if ding else []
    msg = append_message(
        session,
        conv,
        sender_id=actor.user_id,
        kind=kind,
        body=text,
        client_id=client_id,
        reply_to_seq=reply_to_seq,
        mentions=mentioned,
        mention_all=mention_all,
        attachment=attachment,
        is_ding=ding,
        sender_name=actor.name,
        members=members,
        meta={"ding_user_ids": ding_targets} if ding else None,
    )
    # Sending reads everything before it; when that skips unread messages, their senders are told
    # (their 已读 counts), as a read mark would.
    _advance_read(session, actor, conv, me, msg.seq, only_if_others=True)
    if ding:
        _create_ding(session, msg, ding_targets)
    audit.record(
        session,
        actor,
        "chat.send",
        target_type="chat_message",
        target_id=msg.id,
        detail={"conversation_id": conversation_id, "seq": msg.seq, "ding": ding},
    )
    reply = reply_excerpt(session, conversation_id, reply_to_seq) if reply_to_seq else None
    return message_public(msg, {actor.user_id: actor.name}, attachment=attachment, reply=reply)


def _attachment_for(
    session: Session, actor: Actor, conversation_id: int, attachment_id: int | None
) -> Attachment | None:
    if attachment_id is None:
        return None
    att = session.get(Attachment, attachment_id)
    if att is None or att.conversation_id != conversation_id or att.uploader_id != actor.user_id:
        raise NotFound("附件不存在", code="attachment_not_found")
    return att


def _ding_targets(actor: Actor, members: list[int], chosen: Sequence[int] | None) -> list[int]:
    targets = set(members) - {actor.user_id}
    if chosen is not None:
        targets &= {int(u) for u in chosen}
    if not targets:
        raise ValidationError("DING 至少需要一位接收人", code="ding_no_recipient")
    return sorted(targets)


def _create_ding(session: Session, msg: Message, targets: list[int]) -> None:
    due = utcnow() + timedelta(seconds=settings_of(session).chat_ding_remind_seconds)
    session.add_all([DingReceipt(message_id=msg.id, user_id=u, next_remind_at=due) for u in targets])  # type: ignore[arg-type]


# Edit, recall, reactions -----------------------------------------------------------------------


def edit_message(session: Session, actor: Actor, *, conversation_id: int, seq: int, text: str) -> dict[str, Any]:
    """Replace the text of one's own message; the earlier text is kept in ``MessageEdit``."""
    conv, msg = _own_message(session, actor, conversation_id, seq)
    if msg.recalled_at is not None:
        raise InvalidTransition("消息已撤回，不能编辑", code="recalled")
    if msg.kind != MessageKind.text:
        raise InvalidTransition("只能编辑文字消息", code="not_text")
    access_conversation(session, actor, conversation_id, send=True)
    text = send_rules.check_text(text, settings_of(session).chat_max_text)
    if text == msg.body:
        return messages_public(session, [msg])[0]
    session.add(MessageEdit(message_id=msg.id, body=msg.body))  # type: ignore[arg-type]
    search_index.unindex(session.connection(), msg.id, conversation_id, msg.body)  # type: ignore[arg-type]
    msg.body, msg.edited_at = text, utcnow()
    session.add(msg)
    session.flush()
    index_message(session, msg)
    audit.record(
        session,
        actor,
        "chat.edit",
        target_type="chat_message",
        target_id=msg.id,
        detail={"conversation_id": conversation_id, "seq": seq},
    )
    events.publish_on_commit(
        session,
        "chat.edit",
        {
            "conversation_id": conversation_id,
            "seq": seq,
            "message_id": msg.id,
            "text": text,
            "edited_at": iso(msg.edited_at),
        },
        user_ids=member_ids(session, conversation_id),
        audience=audience.of(conversation_id),
    )
    return messages_public(session, [msg])[0]


def edit_history(session: Session, actor: Actor, *, conversation_id: int, seq: int) -> list[dict[str, Any]]:
    _, _, msg = access_message(session, actor, conversation_id, seq)
    rows = session.exec(select(MessageEdit).where(MessageEdit.message_id == msg.id).order_by(col(MessageEdit.id))).all()
    return [{"text": r.body, "replaced_at": iso(r.replaced_at)} for r in rows]


def recall_message(
    session: Session, actor: Actor, *, conversation_id: int, seq: int, now: datetime | None = None
) -> dict[str, Any]:
    """撤回: the sender may recall within ``OFFICE_CHAT_RECALL_SECONDS``; text, edit history, search
    entries, pending DING reminders and the attached file (when no other message carries it) are
    removed, stored events that carried them are rewritten (resume replays the message as
    recalled), and everyone sees "张伟撤回了一条消息"."""
    conv, msg = _own_message(session, actor, conversation_id, seq)
    if msg.recalled_at is not None:
        raise InvalidTransition("消息已撤回", code="recalled")
    now = now or utcnow()
    window = settings_of(session).chat_recall_seconds
    if now - msg.created_at > timedelta(seconds=window):
        minutes = window // 60 or 1
        raise InvalidTransition(f"超过 {minutes} 分钟的消息不能撤回", code="recall_window")
    if search_index.indexed(msg.kind, recalled=False):
        search_index.unindex(session.connection(), msg.id, conversation_id, msg.body)  # type: ignore[arg-type]
    msg.recalled_at, msg.body = now, ""
    session.add(msg)
    session.execute(delete(MessageEdit).where(MessageEdit.message_id == msg.id))  # type: ignore[arg-type]
    session.execute(delete(DingReceipt).where(DingReceipt.message_id == msg.id))  # type: ignore[arg-type]
    session.flush()
    notice = recall_notice(actor.name)
    # Nor may it come back through a download or a resumed websocket.
    attachment_id = attachments.release(session, msg)
    redacted = redact_recalled(session, msg, notice)
    audit.record(
        session,
        actor,
        "chat.recall",
        target_type="chat_message",
        target_id=msg.id,
        detail={
            "conversation_id": conversation_id,
            "seq": seq,
            "attachment_deleted": attachment_id,
            "events_redacted": redacted,
        },
    )
    events.publish_on_commit(
        session,
        "chat.recall",
        {"conversation_id": conversation_id, "seq": seq, "message_id": msg.id, "notice": notice},
        user_ids=member_ids(session, conversation_id),
        audience=audience.of(conversation_id),
    )
    return messages_public(session, [msg])[0]


def react(session: Session, actor: Actor, *, conversation_id: int, seq: int, emoji: str, on: bool) -> dict[str, Any]:
    _, _, msg = access_message(session, actor, conversation_id, seq, send=True)
    emoji = emoji.strip()
    if not emoji or len(emoji) > 16:
        raise ValidationError("表情长度应为 1–16 个字符", code="bad_emoji")
    if msg.recalled_at is not None:
        raise InvalidTransition("消息已撤回", code="recalled")
    row = session.get(Reaction, (msg.id, actor.user_id, emoji))
    if on == (row is not None):
        return {"changed": False}
    if on:
        session.add(Reaction(message_id=msg.id, user_id=actor.user_id, emoji=emoji))  # type: ignore[arg-type]
    else:
        session.delete(row)
    audit.record(
        session, actor, "chat.reaction", target_type="chat_message", target_id=msg.id, detail={"emoji": emoji, "on": on}
    )
    events.publish_on_commit(
        session,
        "chat.reaction",
        {
            "conversation_id": conversation_id,
            "seq": seq,
            "message_id": msg.id,
            "user_id": actor.user_id,
            "emoji": emoji,
            "op": "add" if on else "remove",
        },
        user_ids=member_ids(session, conversation_id),
        audience=audience.of(conversation_id),
    )
    return {"changed": True}


# Read receipts -----------------------------------------------------------------------------------


def mark_read(session: Session, actor: Actor, *, conversation_id: int, seq: int) -> dict[str, Any]:
    """Move the actor's read position forward to ``seq`` (never back). ``chat.read`` goes to the
    actor's other devices and to the senders of the newly read messages (for their 已读 counts)."""
    conv, me = access_conversation(session, actor, conversation_id)
    seq = min(max(seq, 0), conv.last_seq)
    if seq <= me.last_read_seq:
        return {
            "conversation_id": conversation_id,
            "last_read_seq": me.last_read_seq,
            "unread": conv.last_seq - me.last_read_seq,
        }
    _advance_read(session, actor, conv, me, seq)
    return {"conversation_id": conversation_id, "last_read_seq": seq, "unread": conv.last_seq - seq}


def _advance_read(
    session: Session, actor: Actor, conv: Conversation, me: Member, seq: int, *, only_if_others: bool = False
) -> None:
    """Move ``me``'s read position to ``seq`` (forward only) and publish ``chat.read`` to the actor's
    devices and to the senders of the messages newly read (with ``only_if_others``, only when some
    of them came from someone else)."""
    if seq <= me.last_read_seq:
        return
    old, me.last_read_seq = me.last_read_seq, seq
    session.add(me)
    senders = set(
        session.exec(
            select(Message.sender_id).where(
                Message.conversation_id == conv.id,
                Message.seq > old,
                Message.seq <= seq,
                col(Message.sender_id).is_not(None),
            )
        ).all()
    )
    if only_if_others and not senders - {actor.user_id}:
        return
    events.publish_on_commit(
        session,
        "chat.read",
        {
            "conversation_id": conv.id,
            "user_id": actor.user_id,
            "seq": seq,
            "from_seq": old,
            "unread": conv.last_seq - seq,
        },
        user_ids={actor.user_id} | {s for s in senders if s},
    )


def read_list(session: Session, actor: Actor, *, conversation_id: int, seq: int) -> dict[str, Any]:
    """已读/未读 for one of the actor's own messages: members who were there when it was sent."""
    _, msg = _own_message(session, actor, conversation_id, seq)
    rows = session.exec(
        select(Member).where(
            Member.conversation_id == conversation_id, Member.user_id != actor.user_id, Member.joined_seq < seq
        )
    ).all()
    names = user_names(session, [m.user_id for m in rows])
    read = [{"user_id": m.user_id, "name": names.get(m.user_id, "")} for m in rows if m.last_read_seq >= seq]
    unread = [{"user_id": m.user_id, "name": names.get(m.user_id, "")} for m in rows if m.last_read_seq < seq]
    return {"seq": seq, "read": read, "unread": unread, "read_count": len(read), "unread_count": len(unread)}


# DING ---------------------------------------------------------------------------------------------


def ding_ack(session: Session, actor: Actor, *, conversation_id: int, seq: int) -> dict[str, Any]:
    """The recipient confirms a DING; the sender learns who is still pending."""
    _, _, msg = access_message(session, actor, conversation_id, seq)
    receipt = session.get(DingReceipt, (msg.id, actor.user_id))
    if receipt is None:
        raise NotFound("这条消息没有 DING 你", code="not_ding_recipient")
    if receipt.acked_at is None:
        receipt.acked_at, receipt.next_remind_at = utcnow(), None
        session.add(receipt)
        session.flush()
        pending = _pending_count(session, msg.id)  # type: ignore[arg-type]
        audit.record(session, actor, "chat.ding_ack", target_type="chat_message", target_id=msg.id)
        events.publish_on_commit(
            session,
            "chat.ding_ack",
            {
                "conversation_id": conversation_id,
                "seq": seq,
                "message_id": msg.id,
                "user_id": actor.user_id,
                "pending": pending,
            },
            user_ids=[actor.user_id, msg.sender_id or 0],
        )
        mark_read(session, actor, conversation_id=conversation_id, seq=seq)
    return {"acked_at": iso(receipt.acked_at)}


def _pending_count(session: Session, message_id: int) -> int:
    return len(
        session.exec(
            select(DingReceipt.user_id).where(DingReceipt.message_id == message_id, col(DingReceipt.acked_at).is_(None))
        ).all()
    )


def ding_status(session: Session, actor: Actor, *, conversation_id: int, seq: int) -> dict[str, Any]:
    _, msg = _own_message(session, actor, conversation_id, seq)
    rows = session.exec(select(DingReceipt).where(DingReceipt.message_id == msg.id)).all()
    names = user_names(session, [r.user_id for r in rows])

    def person(r: DingReceipt) -> dict[str, Any]:
        return {
            "user_id": r.user_id,
            "name": names.get(r.user_id, ""),
            "reminders": r.reminders,
            "acked_at": iso(r.acked_at),
        }

    return {"acked": [person(r) for r in rows if r.acked_at], "pending": [person(r) for r in rows if not r.acked_at]}


def send_ding_reminders(session: Session, *, now: datetime | None = None) -> int:
    """Remind every unacknowledged DING recipient whose reminder is due (a stored ``chat.ding_remind``
    event, so a device that is offline gets it on resume). Returns the number sent."""
    now = now or utcnow()
    due = session.exec(
        select(DingReceipt)
        .where(
            col(DingReceipt.acked_at).is_(None),
            col(DingReceipt.next_remind_at).is_not(None),
            col(DingReceipt.next_remind_at) <= now,
        )
        .limit(1000)
    ).all()
    if not due:
        return 0
    msgs = {
        m.id: m for m in session.exec(select(Message).where(col(Message.id).in_({r.message_id for r in due}))).all()
    }
    names = user_names(session, [m.sender_id for m in msgs.values()])
    settings = settings_of(session)
    for r in due:
        msg = msgs[r.message_id]
        r.reminders += 1
        more = r.reminders < settings.chat_ding_max_reminders
        r.next_remind_at = now + timedelta(seconds=settings.chat_ding_remind_seconds) if more else None
        session.add(r)
        events.publish_on_commit(
            session,
            "chat.ding_remind",
            {
                "conversation_id": msg.conversation_id,
                "seq": msg.seq,
                "message_id": msg.id,
                "sender_name": names.get(msg.sender_id or 0, ""),
                "text": msg.body[:120],
                "reminders": r.reminders,
            },
            user_ids=[r.user_id],
        )
    return len(due)
