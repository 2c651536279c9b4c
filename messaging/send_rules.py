"""What a chat send must pass, as pure functions of what the caller has already loaded: no database,
no settings lookup, no I/O. Both send paths call them, in the same order, so a send is refused for
the same reason whichever path takes it: ``messages.send_message`` (one send through the ORM) and
``sendbatch.SendBatch`` (a run of plain sends checked in Python, then written together).

1. ``check_client_id``: the retry key's length.
2. ``check_retry``: a ``client_id`` already used names its message (the caller returns it), in
   the same conversation only; then the caller refuses a non-member.
3. ``check_may_send``: the conversation takes messages from this member now.
4. ``check_message``: the text, @所有人, the quoted message.
"""

from __future__ import annotations

from messaging.models import ConversationKind, MemberRole
from office.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError

MAX_CLIENT_ID = 64


def check_client_id(client_id: str | None) -> None:
    if client_id is not None and not (0 < len(client_id) <= MAX_CLIENT_ID):
        raise ValidationError("client_id 长度应为 1–64", code="bad_client_id")


def check_retry(stored_in: int, conversation_id: int) -> None:
    """The sender already stored a message under this ``client_id``, in conversation ``stored_in``:
    a retry to the same conversation gets that message back; reusing the key elsewhere is refused."""
    if stored_in != conversation_id:
        raise Conflict("client_id 已用于其他会话", code="client_id_reused")


def check_may_send(*, dissolved: bool, kind: ConversationKind, muted_all: bool, role: MemberRole) -> None:
    """The conversation takes messages from a member with ``role``: not a dissolved group, not the
    read-only 工作通知 channel, and 全员禁言 leaves owners and admins only."""
    if dissolved:
        raise InvalidTransition("该群已解散", code="dissolved")
    if kind == ConversationKind.notice:
        raise PermissionDenied("工作通知不能回复", code="read_only")
    if muted_all and role == MemberRole.member:
        raise PermissionDenied("群主已开启全员禁言", code="muted_all")


def check_text(text: str, max_text: int, *, allow_empty: bool = False) -> str:
    """A message's text (also an edit's): at most ``max_text`` characters, no NUL, not blank unless
    ``allow_empty`` (a file or picture carries the message)."""
    if len(text) > max_text:
        raise ValidationError(f"消息不能超过 {max_text} 个字符", code="text_too_long")
    if "\x00" in text:
        raise ValidationError("消息包含非法字符", code="bad_text")
    if not text.strip() and not allow_empty:
        raise ValidationError("消息不能为空", code="empty_text")
    return text


def check_message(
    text: str,
    *,
    max_text: int,
    allow_empty: bool,
    role: MemberRole,
    mention_all: bool,
    reply_to_seq: int | None,
    floor: int,
    last_seq: int,
) -> str:
    """The message itself: its text (``check_text``), @所有人 from owners and admins only, and a
    quoted message that exists and the sender may read (after ``floor``, the sender's
    ``rules.history_floor``, up to the conversation's ``last_seq``). Returns the text."""
    text = check_text(text, max_text, allow_empty=allow_empty)
    if mention_all and role == MemberRole.member:
        raise PermissionDenied("只有群主和管理员可以 @所有人", code="mention_all_denied")
    if reply_to_seq is not None and not floor < reply_to_seq <= last_seq:
        raise ValidationError("引用的消息不存在", code="bad_reply")
    return text
