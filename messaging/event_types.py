"""消息 (messaging): the `chat.*` events.

Recipients are always the conversation's current members (never others). Events whose recipients
are exactly "members" below (`chat.message`, `chat.edit`, `chat.recall`, `chat.reaction`) are
published with `audience="chat:<conversation id>"`: stored once, and replayed on resume to whoever
was a member when they happened (`messaging/audience.py`); where the conversation shows new members
its history (`history_visible`, 新成员可查看历史消息, on by default, switched by the group's owner
or admins with `PUT /api/messages/conversations/{id}`), also to members who joined later, as HTTP
history, search and downloads show it to them.

A recall rewrites the stored events that carried the message (`messaging.timeline.redact_recalled`
through `office.eventstore.rewrite`): resume replays its `chat.message` as recalled (`text` empty,
`attachment` null, `recalled` true), its `chat.edit` events with `text` empty, later messages'
`reply_to` excerpts of it as the recall notice, and its `chat.ding_remind` with the notice as `text`.

Ephemeral frames (not stored, no `id`, not replayed): `chat.typing` (`conversation_id`, `user_id`,
`name`) to the other members; `presence` (`user_id`, `status`: `online`/`away`/`offline`) and
`presence.snapshot` (`statuses`) to sockets that sent `presence.watch`.

Client frames accepted on `/ws`: `chat.send` (same fields as the HTTP send body plus
`conversation_id` and an optional `ref`; answered by `chat.ack {ref, message}` after the commit, or
`error {ref, error, message}`), `chat.read {conversation_id, seq, ref?}`, `chat.typing
{conversation_id}`, `presence.set {status}`, `presence.watch {user_ids}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class ChatMessage:
    """A message was sent (a 工作通知 too): `message` as `GET /api/messages/conversations/{id}/messages`
    returns it."""

    type: ClassVar[str] = "chat.message"
    recipients: ClassVar[str] = "members"
    conversation_id: int
    seq: int
    message: dict[str, Any]


@dataclass(frozen=True)
class ChatEdit:
    """A message's text was edited by its sender."""

    type: ClassVar[str] = "chat.edit"
    recipients: ClassVar[str] = "members"
    conversation_id: int
    seq: int
    message_id: int
    text: str
    edited_at: str


@dataclass(frozen=True)
class ChatRecall:
    """A message was recalled; `notice` is what shows in its place ("张伟撤回了一条消息")."""

    type: ClassVar[str] = "chat.recall"
    recipients: ClassVar[str] = "members"
    conversation_id: int
    seq: int
    message_id: int
    notice: str


@dataclass(frozen=True)
class ChatReaction:
    """A reaction was added (`op` `add`) or taken back (`remove`)."""

    type: ClassVar[str] = "chat.reaction"
    recipients: ClassVar[str] = "members"
    conversation_id: int
    seq: int
    message_id: int
    user_id: int
    emoji: str
    op: str


@dataclass(frozen=True)
class ChatRead:
    """`user_id` has read up to `seq` (from `from_seq`); `unread` is what they have left."""

    type: ClassVar[str] = "chat.read"
    recipients: ClassVar[str] = "the reader (all devices) and the senders of messages in `(from_seq, seq]`"
    conversation_id: int
    user_id: int
    seq: int
    from_seq: int
    unread: int


@dataclass(frozen=True)
class ChatMember:
    """Members were added (`op` `add`), removed (`remove`), or given a `role` (`role`)."""

    type: ClassVar[str] = "chat.member"
    recipients: ClassVar[str] = "members, plus the removed user"
    op: str
    conversation_id: int
    user_ids: list[int]
    role: str | None = None


@dataclass(frozen=True)
class ChatConversation:
    """A conversation appeared in someone's list (`op` `add`) or left it (`remove`), or changed
    (`update`, with the `changes`: name, announcement, muted_all, history_visible, dissolved, or the
    reader's own muted)."""

    type: ClassVar[str] = "chat.conversation"
    recipients: ClassVar[str] = "the users concerned"
    op: str
    conversation_id: int
    changes: dict[str, Any] | None = None


@dataclass(frozen=True)
class DingAck:
    """A DING (必达) message was acknowledged by `user_id`; `pending` are still to acknowledge."""

    type: ClassVar[str] = "chat.ding_ack"
    recipients: ClassVar[str] = "the sender and the acknowledging user"
    conversation_id: int
    seq: int
    message_id: int
    user_id: int
    pending: int


@dataclass(frozen=True)
class DingRemind:
    """A reminder of a DING not yet acknowledged (the `reminders`-th)."""

    type: ClassVar[str] = "chat.ding_remind"
    recipients: ClassVar[str] = "the unacknowledged recipient"
    conversation_id: int
    seq: int
    message_id: int
    sender_name: str
    text: str
    reminders: int


EVENT_TYPES = (
    ChatMessage,
    ChatEdit,
    ChatRecall,
    ChatReaction,
    ChatRead,
    ChatMember,
    ChatConversation,
    DingAck,
    DingRemind,
)
