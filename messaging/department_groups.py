"""Department groups kept in step with the directory: each department's group holds its active
staff (department heads as admins), repaired after a change to someone's posts, at startup and
lazily when a member opens the conversation list. Membership changes are announced with
``service.notify_conversation`` / ``notify_members``, as for ad-hoc groups."""

from __future__ import annotations

from sqlmodel import Session, col, select

from messaging.models import Conversation, ConversationKind, Member, MemberRole
from messaging.service import drop_member, notify_conversation, notify_members
from office import audit
from office.actor import SYSTEM, Actor
from office.db import Database
from office.directory.service import department_member_ids, users_with_role
from office.models import Department, DeptKind, Role


def sync_department_group(session: Session, dept_id: int) -> Conversation | None:
    """Create the department's group if needed and make its members the department's active
    staff (dept heads are admins). Returns None for agencies and unknown departments."""
    dept = session.get(Department, dept_id)
    if dept is None or dept.kind != DeptKind.department:
        return None
    conv = session.exec(select(Conversation).where(Conversation.department_id == dept_id)).first()
    if conv is None:
        conv = Conversation(kind=ConversationKind.department, name=dept.name, department_id=dept_id)
        session.add(conv)
        session.flush()
    assert conv.id is not None  # flushed above when new
    want = set(department_member_ids(session, dept_id))
    heads = set(users_with_role(session, Role.dept_head, department_id=dept_id))
    have = {m.user_id: m for m in session.exec(select(Member).where(Member.conversation_id == conv.id)).all()}
    added = sorted(want - set(have))
    removed = sorted(set(have) - want)
    for uid in added:
        session.add(
            Member(
                conversation_id=conv.id,
                user_id=uid,
                last_read_seq=conv.last_seq,
                joined_seq=conv.last_seq,
            )
        )
    changed_roles = []
    for uid, m in have.items():
        role = MemberRole.admin if uid in heads else MemberRole.member
        if uid in want and m.role != role:
            m.role = role
            session.add(m)
            changed_roles.append(uid)
    for uid in added:
        if uid in heads:
            session.flush()
            head = session.get(Member, (conv.id, uid))
            assert head is not None  # added above
            head.role = MemberRole.admin
            session.add(head)
    if not (added or removed or changed_roles):
        return conv
    for uid in removed:
        drop_member(session, conv, have[uid])
    session.flush()
    if added:
        notify_conversation(session, conv, "add", added)
        notify_members(session, conv, "add", added)
    audit.record(
        session,
        SYSTEM,
        "chat.department_sync",
        target_type="chat_conversation",
        target_id=conv.id,
        detail={"department_id": dept_id, "added": added, "removed": removed, "roles": changed_roles},
    )
    return conv


def sync_user_departments(session: Session, user_id: int) -> None:
    """After a person's posts change: refresh the groups of their departments, old and new."""
    from office.models import Post

    depts = set(session.exec(select(Post.department_id).where(Post.user_id == user_id)).all())
    depts |= set(
        session.exec(
            select(Conversation.department_id)
            .join(Member, Member.conversation_id == Conversation.id)  # type: ignore[arg-type]
            .where(Member.user_id == user_id, col(Conversation.department_id).is_not(None))
        ).all()
    )
    for dept_id in sorted(d for d in depts if d):
        sync_department_group(session, dept_id)


def sync_all_department_groups(db: Database) -> None:
    with db.read() as s:
        dept_ids = list(s.exec(select(Department.id).where(Department.kind == DeptKind.department)).all())
    for dept_id in dept_ids:
        with db.write() as s:
            sync_department_group(s, dept_id)  # type: ignore[arg-type]


def ensure_department_groups(db: Database, actor: Actor) -> bool:
    """Lazily repair the actor's department groups (e.g. after a CLI import that ran no
    subscribers), in its own write transaction; True when something was created."""
    with db.read() as s:
        mine = set(
            s.exec(
                select(Conversation.department_id)
                .join(Member, Member.conversation_id == Conversation.id)  # type: ignore[arg-type]
                .where(Member.user_id == actor.user_id, col(Conversation.department_id).is_not(None))
            ).all()
        )
        kinds = dict(
            s.exec(select(Department.id, Department.kind).where(col(Department.id).in_(actor.department_ids))).all()
        )
    missing = [d for d in actor.department_ids if d not in mine and kinds.get(d) == DeptKind.department]
    for dept_id in sorted(missing):
        with db.write() as s:
            sync_department_group(s, dept_id)
    return bool(missing)
