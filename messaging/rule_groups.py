"""Groups whose members a rule chose (``service.create_rule_group``): a meeting's chat holds the
meeting's people, and follows them when the meeting adds or removes someone after its group was
made (``meeting.members_changed``). The meeting's own rules admitted them, so the directory's rule
on picking people does not apply; changes are told to the members' devices as for members added or
removed by hand (``chat.member`` / ``chat.conversation``) and audited as the system's, as department
groups' are (``department_groups``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from messaging.models import Conversation, Member, MemberRole
from messaging.service import check_size, drop_member, notify_conversation, notify_members
from messaging.timeline import system_message, user_names
from office import audit
from office.actor import SYSTEM
from office.models import User


def meeting_key(meeting_id: int) -> str:
    """The ``unique_key`` of a meeting's group."""
    return f"meeting:{meeting_id}"


def find(session: Session, key: str) -> Conversation | None:
    return session.exec(select(Conversation).where(Conversation.unique_key == key)).first()


def sync_members(
    session: Session, conv: Conversation, *, add: Iterable[int], remove: Iterable[int], why: dict[str, Any]
) -> tuple[list[int], list[int]]:
    """Add the active of ``add`` and remove ``remove`` (never the owner); returns who was added and
    removed. Idempotent: people already in, or already gone, are skipped, and when no one is left to
    change nothing is stored, told or audited. A dissolved group stays as it is."""
    if conv.dissolved_at is not None:
        return [], []
    assert conv.id is not None  # a stored conversation
    present = {m.user_id: m for m in session.exec(select(Member).where(Member.conversation_id == conv.id)).all()}
    wanted = {int(u) for u in add} - set(present)
    active = session.exec(select(User.id).where(col(User.id).in_(wanted), User.is_active == True)).all()  # noqa: E712
    added = sorted(u for u in active if u is not None)
    gone = [present[u] for u in sorted({int(u) for u in remove}) if u in present]
    gone = [m for m in gone if m.role != MemberRole.owner]
    if not (added or gone):
        return [], []
    check_size(session, len(present) + len(added) - len(gone))
    for m in gone:
        drop_member(session, conv, m)
    for uid in added:
        session.add(Member(conversation_id=conv.id, user_id=uid, last_read_seq=conv.last_seq, joined_seq=conv.last_seq))
    session.flush()
    removed = [m.user_id for m in gone]
    audit.record(
        session,
        SYSTEM,
        "chat.rule_group_sync",
        target_type="chat_conversation",
        target_id=conv.id,
        detail={**why, "added": added, "removed": removed},
    )
    names = user_names(session, added + removed)
    if removed:
        text = f"{'、'.join(names.get(u, '') for u in removed)}已被移出群聊"
        system_message(session, conv, text, event="member_remove", user_ids=removed)
    if added:
        notify_members(session, conv, "add", added)
        notify_conversation(session, conv, "add", added)
        text = f"{'、'.join(names.get(u, '') for u in added)}加入了群聊"
        system_message(session, conv, text, event="member_add", user_ids=added)
    return added, removed
