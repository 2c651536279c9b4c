"""Messaging tables: conversations, members, messages (with edits, reactions, DING receipts),
attachments and the bigram search index.

A conversation's ``last_seq`` is the sequence number of its newest message; every message gets
``last_seq + 1`` inside the serialised write transaction, so per-conversation order is total and
gap-free. Unread count for a member is ``last_seq - last_read_seq`` (sending marks your own
message read, so your own messages never count).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


class ConversationKind(str, enum.Enum):
    department = "department"  # membership follows the directory
    group = "group"  # ad-hoc group with owner and admins
    direct = "direct"  # one-to-one
    notice = "notice"  # 工作通知: per-user, read-only


class MemberRole(str, enum.Enum):
    owner = "owner"
    admin = "admin"
    member = "member"


class MessageKind(str, enum.Enum):
    text = "text"
    file = "file"
    image = "image"
    system = "system"
    notice = "notice"


class Conversation(SQLModel, table=True):
    __tablename__ = "chat_conversation"
    id: int | None = Field(default=None, primary_key=True)
    kind: ConversationKind
    name: str = Field(default="", max_length=100)
    department_id: int | None = Field(default=None, foreign_key="department.id", unique=True)
    owner_user_id: int | None = Field(default=None, index=True)  # the notice channel's user / group creator
    unique_key: str | None = Field(default=None, max_length=40, unique=True)  # "direct:a:b" or "notice:u"
    announcement: str = Field(default="", max_length=2000)
    muted_all: bool = False  # 全员禁言: only owner and admins may send
    # 新成员可查看历史消息: members who joined later read (and are replayed) what came before them.
    # Off: they see from their joining on (``Member.joined_seq``, ``joined_event_id``).
    history_visible: bool = True
    last_seq: int = 0
    last_message_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    dissolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Member(SQLModel, table=True):
    __tablename__ = "chat_member"
    __table_args__ = (Index("ix_chat_member_user", "user_id", "conversation_id"),)
    conversation_id: int = Field(foreign_key="chat_conversation.id", primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    role: MemberRole = MemberRole.member
    last_read_seq: int = 0
    joined_seq: int = 0  # messages up to this seq were sent before the member joined
    joined_event_id: int = 0  # resume replays this conversation's events after this id (messaging.audience)
    muted: bool = False  # 消息免打扰: unread still counted, left out of the total
    joined_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PastMembership(SQLModel, table=True):
    """A membership that ended: resume still owes the person what reached them while it lasted
    (events of the conversation with ``joined_event_id < id <= left_event_id``)."""

    __tablename__ = "chat_member_past"
    __table_args__ = (Index("ix_chat_member_past_user", "user_id", "left_event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int
    user_id: int
    joined_event_id: int
    left_event_id: int


class Attachment(SQLModel, table=True):
    """An uploaded file; the bytes live in the data folder under their SHA-256."""

    __tablename__ = "chat_attachment"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="chat_conversation.id", index=True)
    uploader_id: int = Field(foreign_key="user_account.id")
    sha256: str = Field(max_length=64, index=True)
    size: int
    kind: str = Field(max_length=10)  # detected from magic bytes: png, pdf, docx, ...
    mime: str = Field(max_length=100)
    filename: str = Field(max_length=200)
    width: int | None = None
    height: int | None = None
    has_thumb: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Message(SQLModel, table=True):
    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("sender_id", "client_id"),
        Index("ix_chat_message_attachment", "attachment_id"),  # who may download a file (messaging.attachments)
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="chat_conversation.id")
    seq: int
    sender_id: int | None = Field(default=None, foreign_key="user_account.id")  # None: system
    client_id: str | None = Field(default=None, max_length=64)
    kind: MessageKind = MessageKind.text
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    reply_to_seq: int | None = None
    mentions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mention_all: bool = False
    attachment_id: int | None = Field(default=None, foreign_key="chat_attachment.id")
    is_ding: bool = False
    meta: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    edited_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    recalled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class MessageEdit(SQLModel, table=True):
    """A message's earlier text, kept on every edit (cleared on recall)."""

    __tablename__ = "chat_message_edit"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="chat_message.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    replaced_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Reaction(SQLModel, table=True):
    __tablename__ = "chat_reaction"
    message_id: int = Field(foreign_key="chat_message.id", primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    emoji: str = Field(max_length=16, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class DingReceipt(SQLModel, table=True):
    """One recipient of a DING: acknowledged or still being reminded."""

    __tablename__ = "chat_ding_receipt"
    __table_args__ = (Index("ix_chat_ding_pending", "acked_at", "next_remind_at"),)
    message_id: int = Field(foreign_key="chat_message.id", primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    acked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminders: int = 0
    next_remind_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class MessageGram(SQLModel, table=True):
    """Search index: each distinct lower-cased character bigram of a message's text.

    Any query of two or more characters contains a bigram, so the rarest of its bigrams gives a
    complete candidate set, which a LIKE over the text confirms. Works the same on SQLite and
    PostgreSQL and for Chinese, where word tokenizers fail.
    """

    __tablename__ = "chat_message_gram"
    __table_args__ = (Index("ix_chat_gram_conv", "gram", "conversation_id", "message_id"),)
    gram: str = Field(max_length=2, primary_key=True)
    message_id: int = Field(foreign_key="chat_message.id", primary_key=True, index=True)
    conversation_id: int


# Registers the conversation audience (member join positions, resume lookup) wherever these tables are.
import messaging.audience  # noqa: E402, F401
