"""Request bodies (HTTP and websocket frames share them)."""

from __future__ import annotations

from pydantic import Field

from messaging.models import MemberRole
from office.web import Body


class SendBody(Body):
    text: str = Field(default="", max_length=20_000)  # the service enforces the configured limit
    client_id: str | None = Field(default=None, max_length=64)
    reply_to_seq: int | None = Field(default=None, ge=1)
    mentions: list[int] = Field(default_factory=list, max_length=2000)
    mention_all: bool = False
    attachment_id: int | None = None
    ding: bool = False
    ding_user_ids: list[int] | None = Field(default=None, max_length=2000)


class FrameSendBody(SendBody):
    conversation_id: int


class EditBody(Body):
    text: str = Field(max_length=20_000)


class ReadBody(Body):
    seq: int = Field(ge=0)


class FrameReadBody(ReadBody):
    conversation_id: int


class ReactionBody(Body):
    emoji: str = Field(max_length=16)
    on: bool = True


class GroupCreate(Body):
    name: str = Field(max_length=100)
    member_ids: list[int] = Field(default_factory=list, max_length=5000)


class GroupUpdate(Body):
    name: str | None = Field(default=None, max_length=100)
    announcement: str | None = Field(default=None, max_length=2000)
    muted_all: bool | None = None
    history_visible: bool | None = None  # 新成员可查看历史消息


class MembersAdd(Body):
    user_ids: list[int] = Field(max_length=5000)


class RoleBody(Body):
    role: MemberRole


class MuteBody(Body):
    muted: bool


class DirectBody(Body):
    user_id: int
