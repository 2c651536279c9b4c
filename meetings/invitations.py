"""Invitations: attendees added or removed, RSVP with reasons, substitutes (代参会), cross-agency
会议通知 with nominations and live sign-up figures, and the meeting's public view."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from meetings.access import access_meeting, agency_of_user, attendees_of, in_agency, member_ids, user_names
from meetings.booking import attendee_conflicts, resolve_people
from meetings.busy import refresh as refresh_busy
from meetings.models import (
    AgencyInvite,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Room,
    Rsvp,
)
from meetings.notices import changed, get_zone, members_changed, notify, when_text
from meetings.rules import Relation
from meetings.scheduling import MAX_DURATION
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, User
from office.timefmt import iso


def _open(meeting: Meeting) -> None:
    if meeting.status in (MeetingStatus.cancelled, MeetingStatus.rejected):
        raise InvalidTransition("会议已取消", code="meeting_closed")


def add_attendees(
    session: Session, actor: Actor, meeting_id: int, *, attendees: list[Any], departments: list[Any]
) -> dict[str, Any]:
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    _open(meeting)
    people = resolve_people(session, actor, attendees, departments)
    before = member_ids(session, meeting)
    existing = {a.user_id for a in attendees_of(session, meeting.id)}
    new = {u: v for u, v in people.items() if u not in existing}
    room = session.get(Room, meeting.room_id) if meeting.room_id else None
    if room and len(existing) + len(new) > room.capacity:
        raise ValidationError(
            f"参会人数将达 {len(existing) + len(new)} 人，超过会议室容量（{room.capacity} 人）", code="over_capacity"
        )
    for uid, (role, dept) in new.items():
        session.add(MeetingAttendee(meeting_id=meeting.id, user_id=uid, role=role, department_id=dept))  # type: ignore[arg-type]
    meeting.sequence += 1
    session.add(meeting)
    refresh_busy(session, meeting.id, user_ids=new)
    audit.record(
        session,
        actor,
        "meeting.attendees.add",
        target_type="meeting",
        target_id=meeting.id,
        detail={"user_ids": sorted(new)},
    )
    if meeting.status is MeetingStatus.confirmed:
        notify(
            session,
            meeting,
            [u for u in new if u != meeting.organizer_id],
            f"会议邀请：{meeting.title}",
            f"{actor.name}邀请你参加会议，{when_text(meeting)}。",
        )
    changed(session, meeting, "attendees")
    members_changed(session, meeting, before)
    return {"added": sorted(new), "attendee_conflicts": attendee_conflicts(session, meeting, sorted(new))}


def remove_attendee(session: Session, actor: Actor, meeting_id: int, user_id: int) -> None:
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    _open(meeting)
    row = session.exec(
        select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound("此人不在参会名单中", code="attendee_not_found")
    removed = [user_id] + [a.user_id for a in attendees_of(session, meeting_id) if a.substitute_for == user_id]
    before = member_ids(session, meeting)
    changed(session, meeting, "attendees")  # before the delete, so the removed still hear of it
    session.execute(
        delete(MeetingAttendee).where(
            MeetingAttendee.meeting_id == meeting_id,  # type: ignore[arg-type]
            col(MeetingAttendee.user_id).in_(removed),
        )
    )
    refresh_busy(session, meeting_id, user_ids=removed)
    meeting.sequence += 1
    session.add(meeting)
    audit.record(
        session,
        actor,
        "meeting.attendees.remove",
        target_type="meeting",
        target_id=meeting_id,
        detail={"user_ids": removed},
    )
    members_changed(session, meeting, before)
    if meeting.status is MeetingStatus.confirmed:
        notify(session, meeting, removed, f"无需参加：{meeting.title}", f"{when_text(meeting)}的会议已不需要你参加。")


def do_rsvp(
    session: Session, actor: Actor, meeting_id: int, *, status: Rsvp, reason: str, substitute_id: int | None
) -> MeetingAttendee:
    """Answer an invitation: accept, decline (with a reason: it becomes 请假), tentative, or send a
    substitute from one's own agency (代参会), who is invited in one's place."""
    meeting, rel = access_meeting(session, actor, meeting_id)
    row = session.exec(
        select(MeetingAttendee).where(
            MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.user_id == actor.user_id
        )
    ).first()
    if row is None:
        raise PermissionDenied("你不在这个会议的邀请名单中，不能答复", code="not_invited")
    if meeting.status is not MeetingStatus.confirmed:
        raise InvalidTransition("会议尚未确认或已取消，不能答复", code="meeting_not_confirmed")
    reason = reason.strip()
    if status is Rsvp.needs_action:
        raise ValidationError("请选择参加、请假、待定或代参会", code="bad_rsvp")
    if status is Rsvp.declined and not reason:
        raise ValidationError("请假需要填写原因", code="reason_required")
    if status is Rsvp.delegated and substitute_id is None:
        raise ValidationError("代参会需要指定代参会人", code="substitute_required")
    if status is not Rsvp.delegated and substitute_id is not None:
        raise ValidationError("只有代参会时才需指定代参会人", code="unexpected_substitute")
    before = member_ids(session, meeting)
    touched = {actor.user_id, *_drop_substitutes(session, meeting_id, actor.user_id, keep=substitute_id)}
    if status is Rsvp.delegated:
        _invite_substitute(session, actor, meeting, row, substitute_id)  # type: ignore[arg-type]
        touched.add(substitute_id)  # type: ignore[arg-type]
    row.rsvp, row.reason, row.responded_at = status, reason, utcnow()
    session.add(row)
    refresh_busy(session, meeting_id, user_ids=touched)
    audit.record(
        session,
        actor,
        "meeting.rsvp",
        target_type="meeting",
        target_id=meeting_id,
        detail={"rsvp": status.value, "reason": reason, "substitute_id": substitute_id},
    )
    changed(session, meeting, "rsvp", user_id=actor.user_id, rsvp=status.value)
    members_changed(session, meeting, before)  # a substitute sent or withdrawn; declining keeps one in
    if row.agency_id is not None:
        publish_signups(session, meeting)
    return row


def _drop_substitutes(session: Session, meeting_id: int, user_id: int, *, keep: int | None) -> list[int]:
    """Uninvite the substitutes ``user_id`` sent, except ``keep``; returns who was dropped."""
    dropped = list(
        session.exec(
            select(MeetingAttendee.user_id).where(
                MeetingAttendee.meeting_id == meeting_id,
                MeetingAttendee.substitute_for == user_id,
                MeetingAttendee.user_id != (keep or 0),
            )
        ).all()
    )
    if dropped:
        session.execute(
            delete(MeetingAttendee).where(
                col(MeetingAttendee.meeting_id) == meeting_id, col(MeetingAttendee.user_id).in_(dropped)
            )
        )
    return dropped


def _invite_substitute(session: Session, actor: Actor, meeting: Meeting, row: MeetingAttendee, sub_id: int) -> None:
    if sub_id == actor.user_id:
        raise ValidationError("不能指定自己代参会", code="bad_substitute")
    sub = session.get(User, sub_id)
    if sub is None or not sub.is_active:
        raise ValidationError("代参会人不存在或已停用", code="bad_substitute")
    if not agency_of_user(session, sub_id) & agency_of_user(session, actor.user_id):
        raise ValidationError("代参会人必须是本单位人员", code="bad_substitute")
    existing = session.exec(
        select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.user_id == sub_id)
    ).first()
    if existing is not None:
        if existing.substitute_for == actor.user_id:
            return
        raise Conflict(f"{sub.name}已在参会名单中，请另选代参会人", code="already_invited")
    session.add(
        MeetingAttendee(
            meeting_id=row.meeting_id,
            user_id=sub_id,
            role=row.role,
            department_id=row.department_id,
            agency_id=row.agency_id,
            substitute_for=actor.user_id,
        )
    )
    notify(
        session, meeting, [sub_id], f"代参会：{meeting.title}", f"{actor.name}请你代为参加会议，{when_text(meeting)}。"
    )


def nominate(
    session: Session, actor: Actor, meeting_id: int, *, agency_id: int, user_ids: list[int], role: AttendeeRole
) -> dict[str, Any]:
    """An invited agency's contact names who attends (within the quota); they get the invitation."""
    meeting, rel = access_meeting(session, actor, meeting_id, "meeting.nominate")
    _open(meeting)
    if agency_id not in rel.agency_contact:
        raise PermissionDenied("你不能为这个单位报名", code="meeting_forbidden")
    invite = session.exec(
        select(AgencyInvite).where(AgencyInvite.meeting_id == meeting_id, AgencyInvite.agency_id == agency_id)
    ).one()
    members = in_agency(session, agency_id, user_ids)
    outsiders = [u for u in user_ids if u not in members]
    if outsiders:
        raise ValidationError(f"只能报名本单位人员：{outsiders[:10]}", code="not_in_agency")
    before = member_ids(session, meeting)
    existing = {a.user_id: a for a in attendees_of(session, meeting_id)}
    new = [u for u in dict.fromkeys(user_ids) if u not in existing]
    ours = sum(1 for a in existing.values() if a.agency_id == agency_id and a.substitute_for is None)
    if invite.quota and ours + len(new) > invite.quota:
        raise ValidationError(f"报名人数超出名额（{invite.quota} 人，已报 {ours} 人）", code="over_quota")
    for uid in new:
        session.add(MeetingAttendee(meeting_id=meeting_id, user_id=uid, role=role, agency_id=agency_id))
    invite.replied_at = utcnow()
    session.add(invite)
    refresh_busy(session, meeting_id, user_ids=new)
    audit.record(
        session,
        actor,
        "meeting.nominate",
        target_type="meeting",
        target_id=meeting_id,
        detail={"agency_id": agency_id, "user_ids": new},
    )
    notify(session, meeting, new, f"会议邀请：{meeting.title}", f"{actor.name}为你报名参加会议，{when_text(meeting)}。")
    changed(session, meeting, "attendees")
    members_changed(session, meeting, before)
    publish_signups(session, meeting)
    return signups(session, meeting)


def signups(session: Session, meeting: Meeting) -> dict[str, Any]:
    """Sign-up figures per invited agency: quota, named, and how they answered."""
    invites = session.exec(
        select(AgencyInvite).where(AgencyInvite.meeting_id == meeting.id).order_by(col(AgencyInvite.id))
    ).all()
    rows = [a for a in attendees_of(session, meeting.id) if a.agency_id is not None]
    names = {
        d.id: d.name
        for d in session.exec(select(Department).where(col(Department.id).in_([i.agency_id for i in invites]))).all()
    }
    items = []
    for inv in invites:
        mine = [a for a in rows if a.agency_id == inv.agency_id]
        count = Counter(a.rsvp.value for a in mine)
        items.append(
            {
                "agency_id": inv.agency_id,
                "agency": names.get(inv.agency_id, ""),
                "quota": inv.quota,
                "named": sum(1 for a in mine if a.substitute_for is None),
                "replied": inv.replied_at is not None,
                **{s.value: count.get(s.value, 0) for s in Rsvp},
            }
        )
    return {"meeting_id": meeting.id, "agencies": items}


def publish_signups(session: Session, meeting: Meeting) -> None:
    events.publish_on_commit(session, "meeting.signup", signups(session, meeting), user_ids=[meeting.organizer_id])


def get_signups(session: Session, actor: Actor, meeting_id: int) -> dict[str, Any]:
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    return signups(session, meeting)


# Views -------------------------------------------------------------------------------------------


def meeting_public(session: Session, actor: Actor, meeting: Meeting, rel: Relation) -> dict[str, Any]:
    tz = get_zone(meeting.tz)
    rows = attendees_of(session, meeting.id)
    names = user_names(session, [a.user_id for a in rows] + [meeting.organizer_id])
    room = session.get(Room, meeting.room_id) if meeting.room_id else None
    mine = next((a for a in rows if a.user_id == actor.user_id), None)
    occs = session.exec(
        select(MeetingOccurrence)
        .where(MeetingOccurrence.meeting_id == meeting.id)
        .order_by(col(MeetingOccurrence.original_start))
        .limit(400)
    ).all()
    see_reasons = rel.organizer
    return {
        "id": meeting.id,
        "uid": meeting.uid,
        "title": meeting.title,
        "description": meeting.description,
        "start": iso(meeting.start_at),
        "end": iso(meeting.end_at),
        "tz": meeting.tz,
        "local_start": meeting.start_at.astimezone(tz).isoformat(),
        "status": meeting.status.value,
        "rrule": meeting.rrule,
        "skip_holidays": meeting.skip_holidays,
        "sequence": meeting.sequence,
        "series_parent_id": meeting.series_parent_id,
        "room": {"id": room.id, "name": room.name, "location": room.location} if room else None,
        "online_url": meeting.online_url,
        "organizer": {"id": meeting.organizer_id, "name": names.get(meeting.organizer_id, "")},
        "reminders": list(meeting.reminders),
        "remind_evening_before": meeting.remind_evening_before,
        "approval_comment": meeting.approval_comment,
        "me": {
            "organizer": rel.organizer,
            "attendee": rel.attendee,
            "approver": rel.approver,
            "agency_contact": sorted(rel.agency_contact),
            "rsvp": mine.rsvp.value if mine else None,
            "role": mine.role.value if mine else None,
        },
        "attendees": [
            {
                "user_id": a.user_id,
                "name": names.get(a.user_id, ""),
                "role": a.role.value,
                "rsvp": a.rsvp.value,
                "reason": a.reason if see_reasons or a.user_id == actor.user_id else "",
                "department_id": a.department_id,
                "agency_id": a.agency_id,
                "substitute_for": a.substitute_for,
            }
            for a in rows
        ],
        "occurrences": [
            {
                "original_start": iso(o.original_start),
                "start": iso(o.start_at),
                "end": iso(o.end_at),
                "status": o.status.value,
                "moved": o.moved,
            }
            for o in occs
        ],
    }


def list_occurrences(
    session: Session, actor: Actor, *, start: dt.datetime, end: dt.datetime, limit: int = 2000
) -> list[dict[str, Any]]:
    """The actor's calendar: occurrences in [start, end) of meetings they organise or attend."""
    if end <= start or end - start > dt.timedelta(days=400):
        raise ValidationError("查询区间无效（最长 400 天）", code="bad_range")
    mine = select(MeetingAttendee.meeting_id).where(
        MeetingAttendee.user_id == actor.user_id, col(MeetingAttendee.rsvp) != Rsvp.delegated
    )
    stmt = (
        select(MeetingOccurrence, Meeting)
        .join(Meeting, col(Meeting.id) == col(MeetingOccurrence.meeting_id))
        .where(
            or_(col(MeetingOccurrence.meeting_id).in_(mine), col(Meeting.organizer_id) == actor.user_id),
            col(MeetingOccurrence.start_at) < end,
            col(MeetingOccurrence.start_at) > start - MAX_DURATION,
            col(MeetingOccurrence.end_at) > start,
            MeetingOccurrence.status == OccurrenceStatus.active,
        )
        .order_by(col(MeetingOccurrence.start_at))
        .limit(limit)
    )
    rows = session.exec(stmt).all()
    rsvps = dict(
        session.exec(
            select(col(MeetingAttendee.meeting_id), col(MeetingAttendee.rsvp)).where(
                MeetingAttendee.user_id == actor.user_id, col(MeetingAttendee.meeting_id).in_([m.id for _, m in rows])
            )
        ).all()
    )
    rooms = {
        r.id: r.name
        for r in session.exec(select(Room).where(col(Room.id).in_([m.room_id for _, m in rows if m.room_id]))).all()
    }
    return [
        {
            "meeting_id": m.id,
            "title": m.title,
            "start": iso(o.start_at),
            "end": iso(o.end_at),
            "original_start": iso(o.original_start),
            "status": m.status.value,
            "recurring": bool(m.rrule),
            "moved": o.moved,
            "room": rooms.get(m.room_id) if m.room_id else None,
            "online": bool(m.online_url),
            "organizer": m.organizer_id == actor.user_id,
            "rsvp": rsvps[m.id].value if m.id in rsvps else None,
        }
        for o, m in rows
    ]


def pending_approvals(session: Session, actor: Actor) -> list[dict[str, Any]]:
    rooms = [
        r
        for r in session.exec(select(Room).where(Room.approval_required == True)).all()  # noqa: E712
        if actor.user_id in r.approver_ids
    ]
    if not rooms:
        return []
    meetings = session.exec(
        select(Meeting)
        .where(col(Meeting.room_id).in_([r.id for r in rooms]), Meeting.status == MeetingStatus.pending)
        .order_by(col(Meeting.start_at))
    ).all()
    names = user_names(session, [m.organizer_id for m in meetings])
    by_id = {r.id: r for r in rooms}
    return [
        {
            "meeting_id": m.id,
            "title": m.title,
            "start": iso(m.start_at),
            "end": iso(m.end_at),
            "room": by_id[m.room_id].name if m.room_id in by_id else "",
            "organizer": names.get(m.organizer_id, ""),
            "rrule": m.rrule,
        }
        for m in meetings
    ]
