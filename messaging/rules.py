"""Policy rules for messaging. Route-level actions admit any signed-in user; whether they may act
on a given conversation is decided per object (``conversation.manage`` gets the member row), and
which of its messages they may read by ``history_floor``."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor


def _signed_in(actor: Actor, _resource: Any = None) -> bool:
    return True


for _action in ("message.read", "message.send", "conversation.create", "attachment.upload"):
    policy.rule(_action)(_signed_in)


@policy.rule("conversation.manage")
def _manage(actor: Actor, member: Any = None) -> bool:
    """Owner and admins manage a group; ``member`` is the actor's ``Member`` row."""
    return member is not None and member.user_id == actor.user_id and member.role.value in ("owner", "admin")


@policy.rule("conversation.own")
def _own(actor: Actor, member: Any = None) -> bool:
    return member is not None and member.user_id == actor.user_id and member.role.value == "owner"


def history_floor(history_visible: bool, joined: int) -> int:
    """The newest position a member may not read: 0 where the conversation shows new members its
    history (新成员可查看历史消息, ``Conversation.history_visible``), else where they joined. For
    messages that is ``Member.joined_seq``; for websocket resume, ``Member.joined_event_id``. HTTP
    history, search, downloads and resume (``messaging.audience``) all apply it."""
    return 0 if history_visible else joined
