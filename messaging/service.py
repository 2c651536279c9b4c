"""Conversations and membership: reading them, ad-hoc groups, one-to-one chats and each user's
工作通知 channel.

Every function takes the session and the acting user, checks access through
``access_conversation`` (404 for "missing" and "not a member" alike), records an audit entry for
each change and publishes ``chat.conversation`` / ``chat.member`` events to exactly the members
concerned. Messages themselves are in ``messaging.messages``; department groups are kept in step
with the directory by ``messaging.department_groups``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from messaging import send_rules
from messaging.models import Conversation, ConversationKind, Member, MemberRole, Message
from messaging.rules import history_floor
from messaging.timeline import member_ids, messages_public, system_message, user_names
from office import audit, events, policy
from office.actor import Actor
from office.db import escape_like, settings_of, utcnow
from office.directory import visibility
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, User
from office.timefmt import iso

MANAGED = (ConversationKind.group,)


# Access ----------------------------------------------------------------------------------------


def access_conversation(
    session: Session, actor: Actor, conversation_id: int, *, send: bool = False
) -> tuple[Conversation, Member]:
    """The conversation and the actor's membership; NotFound when either is missing.

    With ``send``: also ``send_rules.check_may_send`` (dissolved groups, the read-only 工作通知
    channel, 全员禁言 for ordinary members).
    """
    conv = session.get(Conversation, conversation_id)
    me = session.get(Member, (conversation_id, actor.user_id)) if conv else None
    if conv is None or me is None:
        raise NotFound("会话不存在或你不是成员", code="conversation_not_found")
    if send:
        send_rules.check_may_send(
            dissolved=conv.dissolved_at is not None, kind=conv.kind, muted_all=conv.muted_all, role=me.role
        )
    return conv, me


def readable_after(conv: Conversation, me: Member) -> int:
    """The newest seq of ``conv`` that ``me`` may not read (``rules.history_floor``)."""
    return history_floor(conv.history_visible, me.joined_seq)


def _manage(
    session: Session, actor: Actor, conversation_id: int, *, owner: bool = False
) -> tuple[Conversation, Member]:
    conv, me = access_conversation(session, actor, conversation_id)
    if conv.kind not in MANAGED:
        raise PermissionDenied("该会话的成员和名称由系统维护", code="not_managed")
    if conv.dissolved_at is not None:
        raise InvalidTransition("该群已解散", code="dissolved")
    policy.require(actor, "conversation.own" if owner else "conversation.manage", me)
    return conv, me


# Reading ---------------------------------------------------------------------------------------


def conversation_public(
    session: Session, conv: Conversation, me: Member, *, title: str | None = None
) -> dict[str, Any]:
    return {
        "id": conv.id,
        "kind": conv.kind.value,
        "name": title if title is not None else conv.name,
        "department_id": conv.department_id,
        "announcement": conv.announcement,
        "muted_all": conv.muted_all,
        "history_visible": conv.history_visible,
        "last_seq": conv.last_seq,
        "last_read_seq": me.last_read_seq,
        "unread": max(conv.last_seq - me.last_read_seq, 0),
        "muted": me.muted,
        "role": me.role.value,
        "dissolved": conv.dissolved_at is not None,
        "last_message_at": iso(conv.last_message_at),
    }


def list_conversations(session: Session, actor: Actor) -> dict[str, Any]:
    """Every conversation the actor belongs to, newest activity first, with unread counts and the
    last message; ``total_unread`` leaves out muted conversations."""
    rows = session.exec(
        select(Conversation, Member)
        .join(Member, Member.conversation_id == Conversation.id)  # type: ignore[arg-type]
        .where(Member.user_id == actor.user_id)
        .order_by(col(Conversation.last_message_at).desc())
    ).all()
    titles = conversation_titles(session, actor, [c for c, _ in rows])
    lasts: dict[int, dict[str, Any]] = {}
    wanted = [(c.id, c.last_seq) for c, _ in rows if c.last_seq]
    if wanted:
        msgs = session.exec(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)  # type: ignore[arg-type]
            .where(col(Conversation.id).in_([c for c, _ in wanted]), Message.seq == Conversation.last_seq)
        ).all()
        lasts = {m["conversation_id"]: m for m in messages_public(session, msgs)}
    items = []
    for conv, me in rows:
        item = conversation_public(session, conv, me, title=titles.get(conv.id))  # type: ignore[arg-type]
        readable = conv.last_seq > readable_after(conv, me)
        item["last_message"] = lasts.get(conv.id) if readable else None  # type: ignore[arg-type]
        items.append(item)
    total = sum(i["unread"] for i in items if not i["muted"])
    return {"items": items, "total_unread": total}


def unread_counts(session: Session, actor: Actor) -> dict[str, Any]:
    rows = session.exec(
        select(Conversation.id, Conversation.last_seq, Member.last_read_seq, Member.muted)
        .join(Member, col(Member.conversation_id) == Conversation.id)
        .where(Member.user_id == actor.user_id)
    ).all()
    by = {cid: max(last - read, 0) for cid, last, read, _ in rows}
    return {
        "total": sum(by[cid] for cid, _, _, muted in rows if not muted),
        "conversations": {str(k): v for k, v in by.items()},
    }


def conversation_titles(session: Session, actor: Actor, convs: list[Conversation]) -> dict[int, str]:
    """Display names: a department group follows the department's current name; a direct chat
    shows the other person."""
    out: dict[int, str] = {}
    dept_ids = [c.department_id for c in convs if c.department_id]
    if dept_ids:
        names = dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(dept_ids))).all())
        out.update({c.id: names.get(c.department_id, c.name) for c in convs if c.department_id})  # type: ignore[misc]
    direct = [c.id for c in convs if c.kind == ConversationKind.direct]
    if direct:
        pairs = session.exec(
            select(Member.conversation_id, User.name)
            .join(User, User.id == Member.user_id)  # type: ignore[arg-type]
            .where(col(Member.conversation_id).in_(direct), Member.user_id != actor.user_id)
        ).all()
        out.update(dict(pairs))
    out.update({c.id: "工作通知" for c in convs if c.kind == ConversationKind.notice})  # type: ignore[misc]
    return out


def get_conversation(session: Session, actor: Actor, conversation_id: int) -> dict[str, Any]:
    conv, me = access_conversation(session, actor, conversation_id)
    out = conversation_public(session, conv, me, title=conversation_titles(session, actor, [conv]).get(conv.id))  # type: ignore[arg-type]
    out["members"] = list_members(session, actor, conversation_id)
    return out


def list_members(
    session: Session, actor: Actor, conversation_id: int, *, q: str = "", limit: int = 5000
) -> list[dict[str, Any]]:
    """Members (for the member panel and @-autocomplete: ``q`` matches name, pinyin or initials)."""
    access_conversation(session, actor, conversation_id)
    stmt = (
        select(Member, User)
        .join(User, User.id == Member.user_id)  # type: ignore[arg-type]
        .where(Member.conversation_id == conversation_id)
    )
    q = q.strip().lower()[:30]
    if q:
        like = f"%{escape_like(q)}%"
        stmt = stmt.where(
            col(User.name).like(like, escape="\\")
            | col(User.pinyin).like(f"{escape_like(q)}%", escape="\\")
            | col(User.initials).like(f"{escape_like(q)}%", escape="\\")
        )
    order = {MemberRole.owner: 0, MemberRole.admin: 1, MemberRole.member: 2}
    rows = sorted(session.exec(stmt.limit(limit)).all(), key=lambda r: (order[r[0].role], r[1].pinyin))
    return [{"user_id": u.id, "name": u.name, "username": u.username, "role": m.role.value} for m, u in rows]


# Ad-hoc groups ---------------------------------------------------------------------------------


def _active_users(
    session: Session, user_ids: Iterable[int], *, picked_by: Actor | None = None, present: Iterable[int] = ()
) -> list[int]:
    """``user_ids`` sorted; unknown_user for any missing or disabled. With ``picked_by`` (a member's
    own pick of people) the directory's rule applies too (``office.directory.visibility``, as for
    ``open_direct``): a person it hides is refused in the same words as a missing one. People
    ``present`` already (an existing membership) are not asked about again."""
    ids = {int(u) for u in user_ids}
    found = set(session.exec(select(User.id).where(col(User.id).in_(ids), User.is_active == True)).all())  # noqa: E712
    if picked_by is not None:
        kept = found & set(present)
        scope = visibility.scope_of(settings_of(session), picked_by)
        asked = sorted(u for u in found - kept if u is not None)
        found = kept | set(visibility.visible(session, scope, asked))
    missing = ids - found
    if missing:
        raise ValidationError(f"人员不存在或已停用：{sorted(missing)[:5]}", code="unknown_user")
    return sorted(ids)


def check_size(session: Session, count: int) -> None:
    limit = settings_of(session).chat_group_limit
    if count > limit:
        raise ValidationError(f"群成员不能超过 {limit} 人", code="group_full")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("群名称不能为空", code="required")
    if len(name) > 100:
        raise ValidationError("群名称不能超过 100 个字符", code="too_long")
    return name


def create_group(session: Session, actor: Actor, *, name: str, member_ids: Iterable[int]) -> Conversation:
    """An ad-hoc group owned by the actor, of people the actor picked: each one the directory shows them."""
    name = _clean_name(name)
    return _new_group(session, actor, name, set(_active_users(session, member_ids, picked_by=actor)))


def create_rule_group(
    session: Session, owner: Actor, *, name: str, member_ids: Iterable[int], key: str | None = None
) -> Conversation:
    """A group whose members a rule chose, not the owner's pick: a meeting's chat holds its attendees,
    admitted by the meeting's own rules (an agency's nominee included), so the directory's rule on
    picking people does not apply. ``key`` (``unique_key``) finds it again when the rule's people
    change (``messaging.rule_groups``)."""
    return _new_group(session, owner, _clean_name(name), set(_active_users(session, member_ids)), key=key)


def _new_group(session: Session, actor: Actor, name: str, picked: set[int], *, key: str | None = None) -> Conversation:
    ids = picked | {actor.user_id}
    check_size(session, len(ids))
    conv = Conversation(kind=ConversationKind.group, name=name, owner_user_id=actor.user_id, unique_key=key)
    session.add(conv)
    session.flush()
    for uid in sorted(ids):
        role = MemberRole.owner if uid == actor.user_id else MemberRole.member
        session.add(Member(conversation_id=conv.id, user_id=uid, role=role))  # type: ignore[arg-type]
    session.flush()
    audit.record(
        session,
        actor,
        "chat.group_create",
        target_type="chat_conversation",
        target_id=conv.id,
        detail={"name": name, "members": sorted(ids)},
    )
    system_message(session, conv, f"{actor.name}创建了群聊“{name}”", event="created", user_id=actor.user_id)
    notify_conversation(session, conv, "add", sorted(ids))
    return conv


def add_members(session: Session, actor: Actor, conversation_id: int, *, user_ids: Iterable[int]) -> list[int]:
    conv, _ = _manage(session, actor, conversation_id)
    present = set(member_ids(session, conversation_id))
    new = [u for u in _active_users(session, user_ids, picked_by=actor, present=present) if u not in present]
    check_size(session, len(present) + len(new))
    if not new:
        return []
    for uid in new:
        session.add(
            Member(conversation_id=conversation_id, user_id=uid, last_read_seq=conv.last_seq, joined_seq=conv.last_seq)
        )
    session.flush()
    audit.record(
        session,
        actor,
        "chat.member_add",
        target_type="chat_conversation",
        target_id=conversation_id,
        detail={"user_ids": new},
    )
    names = user_names(session, new)
    notify_members(session, conv, "add", new)
    notify_conversation(session, conv, "add", new)
    system_message(
        session, conv, f"{actor.name}邀请{'、'.join(names[u] for u in new)}加入了群聊", event="member_add", user_ids=new
    )
    return new


def remove_member(session: Session, actor: Actor, conversation_id: int, user_id: int) -> None:
    conv, me = _manage(session, actor, conversation_id)
    target = session.get(Member, (conversation_id, user_id))
    if target is None:
        raise NotFound("该成员不在群中", code="member_not_found")
    if target.role == MemberRole.owner or (target.role == MemberRole.admin and me.role != MemberRole.owner):
        raise PermissionDenied("不能移除群主或其他管理员", code="cannot_remove")
    drop_member(session, conv, target)
    audit.record(
        session,
        actor,
        "chat.member_remove",
        target_type="chat_conversation",
        target_id=conversation_id,
        detail={"user_id": user_id},
    )
    name = user_names(session, [user_id]).get(user_id, "")
    system_message(session, conv, f"{actor.name}将{name}移出了群聊", event="member_remove", user_ids=[user_id])


def drop_member(session: Session, conv: Conversation, target: Member) -> None:
    # Tell the leaver first (while still a recipient), then everyone who remains.
    notify_conversation(session, conv, "remove", [target.user_id])
    session.delete(target)
    session.flush()
    notify_members(session, conv, "remove", [target.user_id], extra=[target.user_id])


def set_member_role(session: Session, actor: Actor, conversation_id: int, user_id: int, *, role: MemberRole) -> None:
    """Owner only: make a member admin or member, or hand ownership over (``role=owner``)."""
    conv, me = _manage(session, actor, conversation_id, owner=True)
    target = session.get(Member, (conversation_id, user_id))
    if target is None:
        raise NotFound("该成员不在群中", code="member_not_found")
    if target.user_id == actor.user_id:
        raise ValidationError("不能修改自己的角色", code="self_role")
    if role == MemberRole.owner:
        me.role = MemberRole.admin
        conv.owner_user_id = user_id
        session.add_all([me, conv])
    target.role = role
    session.add(target)
    audit.record(
        session,
        actor,
        "chat.member_role",
        target_type="chat_conversation",
        target_id=conversation_id,
        detail={"user_id": user_id, "role": role.value},
    )
    notify_members(session, conv, "role", [user_id], role=role.value)


def leave(session: Session, actor: Actor, conversation_id: int) -> None:
    """Leave a group; an owner's ownership passes to the longest-standing admin, else member."""
    conv, me = access_conversation(session, actor, conversation_id)
    if conv.kind not in MANAGED:
        raise PermissionDenied("不能退出部门群、单聊或工作通知", code="not_managed")
    if me.role == MemberRole.owner:
        heir = session.exec(
            select(Member)
            .where(Member.conversation_id == conversation_id, Member.user_id != actor.user_id)
            .order_by(col(Member.role) == MemberRole.member, col(Member.joined_at))
        ).first()
        if heir is not None:
            heir.role = MemberRole.owner
            conv.owner_user_id = heir.user_id
            session.add_all([heir, conv])
    drop_member(session, conv, me)
    audit.record(session, actor, "chat.leave", target_type="chat_conversation", target_id=conversation_id)
    if conv.dissolved_at is None and member_ids(session, conversation_id):
        system_message(session, conv, f"{actor.name}退出了群聊", event="leave", user_id=actor.user_id)


def update_group(
    session: Session,
    actor: Actor,
    conversation_id: int,
    *,
    name: str | None = None,
    announcement: str | None = None,
    muted_all: bool | None = None,
    history_visible: bool | None = None,
) -> Conversation:
    """Rename, set the 群公告, or switch 全员禁言 or 新成员可查看历史消息 (owner and admins). The
    last applies at once to every later member, over HTTP and on websocket resume alike."""
    conv, _ = _manage(session, actor, conversation_id)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != conv.name:
        conv.name = changes["name"] = _clean_name(name)
    if announcement is not None and announcement != conv.announcement:
        if len(announcement) > 2000:
            raise ValidationError("群公告不能超过 2000 个字符", code="too_long")
        conv.announcement = changes["announcement"] = announcement
    if muted_all is not None and muted_all != conv.muted_all:
        conv.muted_all = changes["muted_all"] = muted_all
    if history_visible is not None and history_visible != conv.history_visible:
        conv.history_visible = changes["history_visible"] = history_visible
    if not changes:
        return conv
    session.add(conv)
    audit.record(
        session, actor, "chat.group_update", target_type="chat_conversation", target_id=conv.id, detail=changes
    )
    notify_conversation(session, conv, "update", member_ids(session, conv.id), changes=changes)  # type: ignore[arg-type]
    if "name" in changes:
        system_message(session, conv, f"{actor.name}将群名称修改为“{conv.name}”", event="rename")
    if changes.get("announcement"):
        system_message(session, conv, f"{actor.name}发布了群公告：{conv.announcement[:200]}", event="announcement")
    if "history_visible" in changes:
        verb = "开启" if conv.history_visible else "关闭"
        system_message(session, conv, f"{actor.name}{verb}了“新成员可查看历史消息”", event="history_visible")
    return conv


def dissolve(session: Session, actor: Actor, conversation_id: int) -> None:
    conv, _ = _manage(session, actor, conversation_id, owner=True)
    system_message(session, conv, f"{actor.name}解散了该群", event="dissolve")
    conv.dissolved_at = utcnow()
    session.add(conv)
    audit.record(session, actor, "chat.group_dissolve", target_type="chat_conversation", target_id=conv.id)
    notify_conversation(session, conv, "update", member_ids(session, conv.id), changes={"dissolved": True})  # type: ignore[arg-type]


def set_muted(session: Session, actor: Actor, conversation_id: int, *, muted: bool) -> Member:
    """消息免打扰 for the actor only."""
    _, me = access_conversation(session, actor, conversation_id)
    me.muted = muted
    session.add(me)
    audit.record(
        session, actor, "chat.mute", target_type="chat_conversation", target_id=conversation_id, detail={"muted": muted}
    )
    events.publish_on_commit(
        session,
        "chat.conversation",
        {"op": "update", "conversation_id": conversation_id, "changes": {"muted": muted}},
        user_ids=[actor.user_id],
    )
    return me


def notify_conversation(session: Session, conv: Conversation, op: str, user_ids: list[int], **extra: Any) -> None:
    events.publish_on_commit(
        session, "chat.conversation", {"op": op, "conversation_id": conv.id, **extra}, user_ids=user_ids
    )


def notify_members(
    session: Session, conv: Conversation, op: str, user_ids: list[int], *, extra: Iterable[int] = (), **more: Any
) -> None:
    assert conv.id is not None  # a stored conversation
    events.publish_on_commit(
        session,
        "chat.member",
        {"op": op, "conversation_id": conv.id, "user_ids": user_ids, **more},
        user_ids=member_ids(session, conv.id) + list(extra),
    )


# One-to-one and 工作通知 ------------------------------------------------------------------------


def open_direct(session: Session, actor: Actor, *, user_id: int) -> Conversation:
    """The one-to-one conversation with ``user_id``, created on first use."""
    if user_id == actor.user_id:
        raise ValidationError("不能和自己单聊", code="self_chat")
    _active_users(session, [user_id])
    a, b = sorted((actor.user_id, user_id))
    key = f"direct:{a}:{b}"
    conv = session.exec(select(Conversation).where(Conversation.unique_key == key)).first()
    if conv is not None:
        return conv  # an existing contact stays open, as presence keeps its dot
    if not visibility.sees_user(session, actor, user_id):
        # The directory's rule: a person it hides is refused as one who does not exist.
        raise ValidationError(f"人员不存在或已停用：{[user_id]}", code="unknown_user")
    conv = Conversation(kind=ConversationKind.direct, unique_key=key)
    session.add(conv)
    session.flush()
    session.add_all([Member(conversation_id=conv.id, user_id=a), Member(conversation_id=conv.id, user_id=b)])  # type: ignore[arg-type]
    session.flush()
    audit.record(
        session,
        actor,
        "chat.direct_open",
        target_type="chat_conversation",
        target_id=conv.id,
        detail={"user_id": user_id},
    )
    notify_conversation(session, conv, "add", [a, b])
    return conv


def notice_channel(session: Session, user_id: int) -> Conversation:
    """The user's 工作通知 channel, created on first use (read-only for the user)."""
    key = f"notice:{user_id}"
    conv = session.exec(select(Conversation).where(Conversation.unique_key == key)).first()
    if conv is None:
        conv = Conversation(kind=ConversationKind.notice, name="工作通知", unique_key=key, owner_user_id=user_id)
        session.add(conv)
        session.flush()
        session.add(Member(conversation_id=conv.id, user_id=user_id))  # type: ignore[arg-type]
        session.flush()
        notify_conversation(session, conv, "add", [user_id])
    return conv


__all__ = [
    "access_conversation",
    "add_members",
    "check_size",
    "conversation_titles",
    "create_group",
    "create_rule_group",
    "dissolve",
    "drop_member",
    "get_conversation",
    "leave",
    "list_conversations",
    "list_members",
    "notice_channel",
    "notify_conversation",
    "notify_members",
    "open_direct",
    "remove_member",
    "set_member_role",
    "set_muted",
    "unread_counts",
    "update_group",
]
