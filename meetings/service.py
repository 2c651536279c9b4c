"""Scheduling: create, update, move/skip, split ("this and following"), cancel, approve.

Room double-booking is refused twice: first by a check with a readable message (inside the write
transaction, after locking the room row on PostgreSQL), then by the database itself (exclusion
constraint / trigger on ``meeting_occurrence``) should anything slip past the check. Either way the
transaction rolls back and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from meetings import recurrence
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
from meetings.rules import Relation
from meetings.scheduling import MAX_DURATION, room_conflicts, users_busy, within_open_hours
from meetings.workcal import load_calendar
from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.directory.service import posts_of, users_with_role
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, DeptKind, Role, User

DEFAULT_TZ = "Asia/Shanghai"
MIN_DURATION = dt.timedelta(minutes=5)
DEFAULT_REMINDERS = [15]
WEEKDAYS = "一二三四五六日"
Occ = tuple[dt.datetime, dt.datetime, dt.datetime, bool]  # original start, start, end, active


# Access ------------------------------------------------------------------------------------------


def agency_contacts(session: Session, agency_id: int) -> list[int]:
    """Who answers a 会议通知 for an agency: its clerks (文书), or its department heads if it has none."""
    return users_with_role(session, Role.clerk, agency_id=agency_id) or users_with_role(
        session, Role.dept_head, agency_id=agency_id
    )


def relation(session: Session, actor: Actor, meeting: Meeting) -> Relation:
    attendee = session.exec(
        select(MeetingAttendee.id).where(
            MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.user_id == actor.user_id
        )
    ).first()
    contact: set[int] = set()
    if actor.agency_id is not None:
        invited = session.exec(
            select(AgencyInvite.agency_id).where(
                AgencyInvite.meeting_id == meeting.id, AgencyInvite.agency_id == actor.agency_id
            )
        ).first()
        if invited is not None and actor.user_id in agency_contacts(session, invited):
            contact.add(invited)
    approver = False
    if meeting.room_id is not None:
        room = session.get(Room, meeting.room_id)
        approver = bool(room and room.approval_required and actor.user_id in room.approver_ids)
    return Relation(
        organizer=meeting.organizer_id == actor.user_id,
        attendee=attendee is not None,
        agency_contact=frozenset(contact),
        approver=approver,
    )


def access_meeting(
    session: Session, actor: Actor, meeting_id: int, action: str = "meeting.read"
) -> tuple[Meeting, Relation]:
    """The meeting and the actor's relation to it. NotFound when it is missing *or* the actor may not
    see it (so existence is not revealed); PermissionDenied when they see it but may not do ``action``."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("会议不存在或无权查看", code="meeting_not_found")
    rel = relation(session, actor, meeting)
    if not policy.can(actor, "meeting.read", rel):
        raise NotFound("会议不存在或无权查看", code="meeting_not_found")
    if action != "meeting.read" and not policy.can(actor, action, rel):
        raise PermissionDenied("你对这个会议没有此项权限", code="meeting_forbidden")
    return meeting, rel


def get_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"未知时区：{name[:50]}", code="bad_timezone") from None


# Validation --------------------------------------------------------------------------------------


def check_times(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("时间必须带时区", code="naive_time")
    if end <= start:
        raise ValidationError("结束时间必须晚于开始时间", code="end_before_start")
    if end - start < MIN_DURATION:
        raise ValidationError("会议时长至少 5 分钟", code="too_short")
    if end - start > MAX_DURATION:
        raise ValidationError("单次会议不能超过 24 小时；多日会议请按天分别预约", code="too_long")


def plan_occurrences(
    session: Session, *, start: dt.datetime, end: dt.datetime, tz: ZoneInfo, rule: str, skip_holidays: bool
) -> list[Occ]:
    """Expand the rule; occurrences on non-working days are kept as inactive (EXDATE) when
    ``skip_holidays`` (so a 周例会 skips 国庆 but the series keeps its shape)."""
    duration = end - start
    starts = recurrence.expand(rule, start, tz)
    out: list[Occ] = []
    if rule and skip_holidays:
        days = [s.astimezone(tz).date() for s in starts]
        cal = load_calendar(session, min(days), max(days))
        # A series set on a weekend on purpose only skips holidays; a weekday one skips every
        # non-working day (so FREQ=DAILY lands on 调休 Saturdays and not on holidays).
        weekend_series = start.astimezone(tz).weekday() >= 5
        for s, d in zip(starts, days, strict=True):
            active = not cal.is_holiday(d) if weekend_series else cal.is_workday(d)
            out.append((s, s, s + duration, active))
    else:
        out = [(s, s, s + duration, True) for s in starts]
    if not any(active for *_, active in out):
        raise ValidationError("按重复规则排出的会议全部落在节假日，没有可举行的场次", code="empty_rrule")
    return out


def check_room(
    session: Session,
    actor: Actor,
    room_id: int,
    occs: list[Occ],
    tz: ZoneInfo,
    *,
    headcount: int,
    exclude_meeting_id: int | None = None,
) -> Room:
    """Lock the room row (PostgreSQL: bookings of one room are decided one at a time even across
    processes; SQLite's writers are serialised already) and check capacity, open hours and conflicts."""
    room = session.exec(select(Room).where(Room.id == room_id).with_for_update()).first()
    if room is None or room.agency_id != actor.agency_id:
        raise NotFound("会议室不存在", code="room_not_found")
    if not room.is_active:
        raise ValidationError(f"会议室“{room.name}”已停用", code="room_inactive")
    if headcount > room.capacity:
        raise ValidationError(
            f"参会人数 {headcount} 人超过会议室“{room.name}”的容量（{room.capacity} 人）",
            code="over_capacity",
            capacity=room.capacity,
            headcount=headcount,
        )
    active = [(s, e) for _, s, e, ok in occs if ok]
    for s, e in active:
        if not within_open_hours(room, s.astimezone(tz), e.astimezone(tz)):
            raise ValidationError(
                f"会议室“{room.name}”开放时间为 {room.open_from // 60:02d}:{room.open_from % 60:02d}–"
                f"{room.open_to // 60:02d}:{room.open_to % 60:02d}，{local_text(s, tz)} 不在开放时间内",
                code="outside_open_hours",
            )
    clashes = room_conflicts(session, room_id, active, exclude_meeting_id=exclude_meeting_id)
    if clashes:
        (s, _), busy = clashes[0]
        what = "维护" if busy.kind == "blocked" else "已被预约"
        raise Conflict(
            f"会议室“{room.name}”在 {local_text(s, tz)} {what}，请换时间或会议室",
            code="room_conflict",
            conflicts=[{"start": _iso(a), "end": _iso(b), "kind": k.kind} for (a, b), k in clashes[:20]],
        )
    return room


def resolve_people(
    session: Session, attendees: Iterable[Any], departments: Iterable[Any]
) -> dict[int, tuple[AttendeeRole, int | None]]:
    """user_id -> (role, department invited through). People named one by one win over departments."""
    from office.directory.service import department_member_ids

    out: dict[int, tuple[AttendeeRole, int | None]] = {}
    for d in departments:
        dept = session.get(Department, d.department_id)
        if dept is None or dept.kind != DeptKind.department:
            raise ValidationError(f"部门不存在：{d.department_id}", code="bad_department")
        for uid in department_member_ids(session, d.department_id):
            out.setdefault(uid, (d.role, d.department_id))
    for a in attendees:
        out[a.user_id] = (a.role, None)
    if out:
        found = set(session.exec(select(User.id).where(col(User.id).in_(list(out)), User.is_active == True)).all())  # noqa: E712
        missing = sorted(set(out) - found)
        if missing:
            raise ValidationError(f"参会人不存在或已停用：{missing[:10]}", code="bad_attendee")
    return out


def _check_agencies(session: Session, actor: Actor, agencies: Iterable[Any]) -> list[AgencyInvite]:
    invites: dict[int, AgencyInvite] = {}
    for a in agencies:
        dept = session.get(Department, a.agency_id)
        if dept is None or dept.kind != DeptKind.agency:
            raise ValidationError(f"受邀机关不存在：{a.agency_id}", code="bad_agency")
        if a.agency_id == actor.agency_id:
            raise ValidationError("本机关人员请直接邀请，不需要发会议通知", code="own_agency")
        invites[a.agency_id] = AgencyInvite(meeting_id=0, agency_id=a.agency_id, quota=a.quota, note=a.note.strip())
    return list(invites.values())


def check_url(url: str) -> str:
    url = url.strip()
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValidationError("线上会议地址必须以 http:// 或 https:// 开头", code="bad_url")
    return url


def check_reminders(reminders: list[int] | None) -> list[int]:
    if reminders is None:
        return list(DEFAULT_REMINDERS)
    for m in reminders:
        if not 1 <= m <= 7 * 24 * 60:
            raise ValidationError("提醒时间必须在会前 1 分钟到 7 天之间", code="bad_reminder")
    return sorted(set(reminders), reverse=True)


# Create ------------------------------------------------------------------------------------------


@dataclass
class BookingResult:
    meeting: Meeting
    attendee_conflicts: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dt.datetime] = field(default_factory=list)


def check_create_meeting(session: Session, actor: Actor, *, body: Any) -> BookingResult:
    """Validate a booking and create it (see ``do_create_meeting``). Attendee conflicts are reported,
    not refused; room conflicts are refused."""
    policy.require(actor, "meeting.create")
    tz = get_zone(body.tz)
    check_times(body.start, body.end)
    rule = recurrence.normalise(body.rrule, tz) if body.rrule.strip() else ""
    occs = plan_occurrences(session, start=body.start, end=body.end, tz=tz, rule=rule, skip_holidays=body.skip_holidays)
    people = resolve_people(session, body.attendees, body.departments)
    invites = _check_agencies(session, actor, body.agencies)
    headcount = len(people) + sum(i.quota for i in invites)
    room = None
    if body.room_id is not None:
        room = check_room(session, actor, body.room_id, occs, tz, headcount=headcount)
    meeting = Meeting(
        uid=f"{uuid.uuid4()}@tongban",
        agency_id=actor.agency_id,
        organizer_id=actor.user_id,
        title=body.title.strip(),
        description=body.description.strip(),
        start_at=body.start,
        end_at=body.end,
        tz=tz.key,
        room_id=room.id if room else None,
        online_url=check_url(body.online_url),
        rrule=rule,
        skip_holidays=body.skip_holidays,
        reminders=check_reminders(body.reminders),
        remind_evening_before=body.remind_evening_before,
        signin_secret=secrets.token_hex(16),
        status=MeetingStatus.pending if room and room.approval_required else MeetingStatus.confirmed,
    )
    return do_create_meeting(session, actor, meeting=meeting, occs=occs, people=people, invites=invites, room=room)


def do_create_meeting(
    session: Session,
    actor: Actor,
    *,
    meeting: Meeting,
    occs: list[Occ],
    people: dict[int, tuple[AttendeeRole, int | None]],
    invites: list[AgencyInvite],
    room: Room | None,
) -> BookingResult:
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    insert_occurrences(session, meeting, occs)
    for uid, (role, dept_id) in people.items():
        session.add(MeetingAttendee(meeting_id=meeting.id, user_id=uid, role=role, department_id=dept_id))
    for inv in invites:
        inv.meeting_id = meeting.id
        session.add(inv)
    refresh_busy(session, meeting.id)
    audit.record(
        session,
        actor,
        "meeting.create",
        target_type="meeting",
        target_id=meeting.id,
        detail={
            "title": meeting.title,
            "start": _iso(meeting.start_at),
            "room_id": meeting.room_id,
            "rrule": meeting.rrule,
            "attendees": len(people),
            "status": meeting.status.value,
        },
    )
    if meeting.status is MeetingStatus.confirmed:
        announce(session, meeting)
    else:
        notify(
            session,
            meeting,
            list(room.approver_ids) if room else [],
            f"会议室预约待审批：{meeting.title}",
            f"{actor.name}预约了{room.name if room else ''}，{when_text(meeting)}，请审批。",
        )
    result = BookingResult(meeting, skipped=[s for s, _, _, ok in occs if not ok])
    result.attendee_conflicts = attendee_conflicts(session, meeting, list(people))
    return result


def insert_occurrences(session: Session, meeting: Meeting, occs: list[Occ]) -> None:
    """Insert the occurrence rows; a room overlap the database refuses becomes a Conflict."""
    for orig, s, e, ok in occs:
        session.add(
            MeetingOccurrence(
                meeting_id=meeting.id,
                original_start=orig,
                start_at=s,
                end_at=e,
                room_id=meeting.room_id,
                status=OccurrenceStatus.active if ok else OccurrenceStatus.cancelled,
            )
        )
    flush_guarded(session)


def flush_guarded(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "meeting_room_double_booked" in text or "meeting_room_no_overlap" in text:
            raise Conflict("会议室在该时段已被预约（刚刚被他人抢先），请换时间或会议室", code="room_conflict") from None
        raise


def attendee_conflicts(session: Session, meeting: Meeting, user_ids: list[int]) -> list[dict[str, Any]]:
    """For each attendee already busy at one of this meeting's occurrences: who and when (no titles)."""
    occ = session.exec(
        select(MeetingOccurrence)
        .where(MeetingOccurrence.meeting_id == meeting.id, MeetingOccurrence.status == OccurrenceStatus.active)
        .order_by(col(MeetingOccurrence.start_at))
    ).all()
    if not occ or not user_ids:
        return []
    busy = users_busy(session, user_ids, occ[0].start_at, occ[-1].end_at, exclude_meeting_id=meeting.id)
    names = user_names(session, user_ids)
    out = []
    for uid, items in busy.items():
        hits = [o for o in occ if any(b.start < o.end_at and o.start_at < b.end for b in items)]
        if hits:
            out.append(
                {"user_id": uid, "name": names.get(uid, ""), "count": len(hits), "first": _iso(hits[0].start_at)}
            )
    return out


# Update ------------------------------------------------------------------------------------------


def _editable(meeting: Meeting) -> None:
    if meeting.status in (MeetingStatus.cancelled, MeetingStatus.rejected):
        raise InvalidTransition("会议已取消或预约被驳回，不能再修改", code="meeting_closed")


def check_update_meeting(session: Session, actor: Actor, meeting_id: int, *, body: Any) -> BookingResult:
    """Change the whole series (``all``), move one occurrence (``this``) or split (``following``)."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    _editable(meeting)
    if body.scope == "this":
        return move_occurrence(session, actor, meeting, body)
    if body.scope == "following" and meeting.rrule:
        if body.occurrence_start is None:
            raise ValidationError("请指明从哪一次会议起修改（occurrence_start）", code="occurrence_required")
        first = meeting.start_at
        if body.occurrence_start != first:
            return split_series(session, actor, meeting, body)
    return _update_all(session, actor, meeting, body)


def _update_all(session: Session, actor: Actor, meeting: Meeting, body: Any) -> BookingResult:
    for key in ("title", "description"):
        value = getattr(body, key)
        if value is not None:
            setattr(meeting, key, value.strip())
    if body.online_url is not None:
        meeting.online_url = check_url(body.online_url)
    if body.reminders is not None:
        meeting.reminders = check_reminders(body.reminders)
    timing = any(v is not None for v in (body.start, body.end, body.rrule, body.room_id)) or body.clear_room
    if timing:
        _reschedule(
            session,
            actor,
            meeting,
            start=body.start or meeting.start_at,
            end=body.end or meeting.end_at,
            rule=meeting.rrule if body.rrule is None else body.rrule,
            room_id=None if body.clear_room else (body.room_id or meeting.room_id),
        )
    meeting.sequence += 1
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor,
        "meeting.update",
        target_type="meeting",
        target_id=meeting.id,
        detail={k: v for k, v in body.model_dump().items() if v is not None and k != "scope"},
    )
    if meeting.status is MeetingStatus.confirmed:
        notify(
            session,
            meeting,
            attendee_ids(session, meeting.id),
            f"会议变更：{meeting.title}",
            f"会议安排有变化，现为{when_text(meeting)}。",
        )
    changed(session, meeting, "updated")
    return BookingResult(meeting, attendee_conflicts(session, meeting, attendee_ids(session, meeting.id)))


def _reschedule(
    session: Session,
    actor: Actor,
    meeting: Meeting,
    *,
    start: dt.datetime,
    end: dt.datetime,
    rule: str,
    room_id: int | None,
) -> None:
    """New times/rule/room for the whole series: moved or skipped occurrences are reset."""
    tz = get_zone(meeting.tz)
    check_times(start, end)
    rule = recurrence.normalise(rule, tz) if rule.strip() else ""
    occs = plan_occurrences(session, start=start, end=end, tz=tz, rule=rule, skip_holidays=meeting.skip_holidays)
    room = None
    if room_id is not None:
        headcount = len(attendee_ids(session, meeting.id)) + sum(
            i.quota for i in session.exec(select(AgencyInvite).where(AgencyInvite.meeting_id == meeting.id)).all()
        )
        room = check_room(session, actor, room_id, occs, tz, headcount=headcount, exclude_meeting_id=meeting.id)
    was_room = meeting.room_id
    session.execute(delete(MeetingOccurrence).where(MeetingOccurrence.meeting_id == meeting.id))  # type: ignore[arg-type]
    meeting.start_at, meeting.end_at, meeting.rrule, meeting.room_id = start, end, rule, room_id
    insert_occurrences(session, meeting, occs)
    if room is not None and room.approval_required and (room.id != was_room or meeting.status is MeetingStatus.pending):
        meeting.status = MeetingStatus.pending
        notify(
            session,
            meeting,
            list(room.approver_ids),
            f"会议室预约待审批：{meeting.title}",
            f"{actor.name}预约了{room.name}，{when_text(meeting)}，请审批。",
        )
    elif meeting.status is MeetingStatus.pending:
        meeting.status = MeetingStatus.confirmed
        announce(session, meeting)
    refresh_busy(session, meeting.id)


def get_occurrence(session: Session, meeting: Meeting, original_start: dt.datetime | None) -> MeetingOccurrence:
    if original_start is None:
        raise ValidationError("请指明是哪一次会议（occurrence_start）", code="occurrence_required")
    occ = session.exec(
        select(MeetingOccurrence).where(
            MeetingOccurrence.meeting_id == meeting.id, MeetingOccurrence.original_start == original_start
        )
    ).first()
    if occ is None:
        raise NotFound("这一场会议不存在", code="occurrence_not_found")
    return occ


def move_occurrence(session: Session, actor: Actor, meeting: Meeting, body: Any) -> BookingResult:
    """Move one occurrence (RECURRENCE-ID override): new start/end, same room."""
    occ = get_occurrence(session, meeting, body.occurrence_start)
    if occ.status is not OccurrenceStatus.active:
        raise InvalidTransition("这一场已取消，不能调整", code="occurrence_cancelled")
    start = body.start or occ.start_at
    end = body.end or (start + (occ.end_at - occ.start_at))
    check_times(start, end)
    tz = get_zone(meeting.tz)
    if meeting.room_id is not None:
        room = session.exec(select(Room).where(Room.id == meeting.room_id).with_for_update()).one()
        if not within_open_hours(room, start.astimezone(tz), end.astimezone(tz)):
            raise ValidationError(f"{local_text(start, tz)} 不在会议室开放时间内", code="outside_open_hours")
        clashes = [
            c
            for c in room_conflicts(session, room.id, [(start, end)])
            if c[1].meeting_id != meeting.id or c[1].start != occ.start_at
        ]
        if clashes:
            raise Conflict(f"会议室在 {local_text(start, tz)} 已被占用", code="room_conflict")
    occ.start_at, occ.end_at, occ.moved = start, end, True
    session.add(occ)
    flush_guarded(session)
    refresh_busy(session, meeting.id, occurrence_id=occ.id)
    meeting.sequence += 1
    session.add(meeting)
    audit.record(
        session,
        actor,
        "meeting.occurrence.move",
        target_type="meeting",
        target_id=meeting.id,
        detail={"occurrence": _iso(occ.original_start), "start": _iso(start), "end": _iso(end)},
    )
    notify(
        session,
        meeting,
        attendee_ids(session, meeting.id),
        f"会议调整：{meeting.title}",
        f"原定{local_text(occ.original_start, tz)}的一次会议改为{local_text(start, tz)}。",
    )
    changed(session, meeting, "moved")
    return BookingResult(meeting)


def skip_occurrence(session: Session, actor: Actor, meeting_id: int, *, original_start: dt.datetime) -> Meeting:
    """Cancel one occurrence of a series (EXDATE): its room time is released."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    _editable(meeting)
    occ = get_occurrence(session, meeting, original_start)
    if occ.status is OccurrenceStatus.cancelled:
        raise InvalidTransition("这一场已经取消", code="occurrence_cancelled")
    occ.status = OccurrenceStatus.cancelled
    meeting.sequence += 1
    session.add_all([occ, meeting])
    refresh_busy(session, meeting.id, occurrence_id=occ.id)
    tz = get_zone(meeting.tz)
    audit.record(
        session,
        actor,
        "meeting.occurrence.skip",
        target_type="meeting",
        target_id=meeting.id,
        detail={"occurrence": _iso(original_start)},
    )
    notify(
        session,
        meeting,
        attendee_ids(session, meeting.id),
        f"本次会议取消：{meeting.title}",
        f"{local_text(occ.start_at, tz)}的这一次会议取消，其余照常。",
    )
    changed(session, meeting, "skipped")
    return meeting


def split_series(session: Session, actor: Actor, meeting: Meeting, body: Any) -> BookingResult:
    """ "This and following": end the series before the chosen occurrence and start a new series
    there with the changes (Google Calendar's approach; RANGE=THISANDFUTURE is poorly supported)."""
    tz = get_zone(meeting.tz)
    pivot = get_occurrence(session, meeting, body.occurrence_start)
    rows = session.exec(
        select(MeetingOccurrence)
        .where(MeetingOccurrence.meeting_id == meeting.id)
        .order_by(col(MeetingOccurrence.original_start))
    ).all()
    before = [r for r in rows if r.original_start < pivot.original_start]
    count = recurrence.has_count(meeting.rrule)
    old_rule = recurrence.with_until(meeting.rrule, pivot.original_start - dt.timedelta(seconds=1))
    if body.rrule is not None:
        new_rule = body.rrule
    else:
        new_rule = recurrence.with_count(meeting.rrule, count - len(before)) if count else meeting.rrule
    start = body.start or pivot.original_start
    end = body.end or (start + (meeting.end_at - meeting.start_at))
    check_times(start, end)
    session.execute(
        delete(MeetingOccurrence).where(
            MeetingOccurrence.meeting_id == meeting.id,  # type: ignore[arg-type]
            col(MeetingOccurrence.original_start) >= pivot.original_start,
        )
    )
    meeting.rrule = old_rule
    meeting.sequence += 1
    session.add(meeting)
    session.flush()
    rule = recurrence.normalise(new_rule, tz) if new_rule.strip() else ""
    occs = plan_occurrences(session, start=start, end=end, tz=tz, rule=rule, skip_holidays=meeting.skip_holidays)
    room_id = None if body.clear_room else (body.room_id or meeting.room_id)
    people = {a.user_id: (a.role, a.department_id) for a in attendees_of(session, meeting.id)}
    room = check_room(session, actor, room_id, occs, tz, headcount=len(people)) if room_id else None
    new = Meeting(
        uid=f"{uuid.uuid4()}@tongban",
        agency_id=meeting.agency_id,
        organizer_id=meeting.organizer_id,
        title=(body.title or meeting.title).strip(),
        description=(body.description or meeting.description),
        start_at=start,
        end_at=end,
        tz=meeting.tz,
        room_id=room_id,
        online_url=check_url(body.online_url) if body.online_url is not None else meeting.online_url,
        rrule=rule,
        skip_holidays=meeting.skip_holidays,
        series_parent_id=meeting.id,
        reminders=check_reminders(body.reminders) if body.reminders is not None else meeting.reminders,
        remind_evening_before=meeting.remind_evening_before,
        signin_secret=secrets.token_hex(16),
        status=MeetingStatus.pending
        if room and room.approval_required and room_id != meeting.room_id
        else meeting.status,
    )
    session.add(new)
    session.flush()
    insert_occurrences(session, new, occs)
    for a in attendees_of(session, meeting.id):
        session.add(
            MeetingAttendee(
                meeting_id=new.id,
                user_id=a.user_id,
                role=a.role,
                department_id=a.department_id,
                agency_id=a.agency_id,
                substitute_for=a.substitute_for,
            )
        )
    refresh_busy(session, meeting.id)
    refresh_busy(session, new.id)
    audit.record(
        session,
        actor,
        "meeting.split",
        target_type="meeting",
        target_id=meeting.id,
        detail={"new_meeting_id": new.id, "from": _iso(pivot.original_start), "old_rrule": old_rule, "new_rrule": rule},
    )
    notify(
        session,
        new,
        attendee_ids(session, new.id),
        f"例会调整：{new.title}",
        f"自{local_text(start, tz)}起，会议安排调整为{when_text(new)}。",
    )
    changed(session, meeting, "split")
    return BookingResult(new, attendee_conflicts(session, new, list(people)))


# Cancel and approval -----------------------------------------------------------------------------


def _close_occurrences(session: Session, meeting_id: int) -> None:
    for occ in session.exec(
        select(MeetingOccurrence).where(
            MeetingOccurrence.meeting_id == meeting_id, MeetingOccurrence.status == OccurrenceStatus.active
        )
    ):
        occ.status = OccurrenceStatus.cancelled
        session.add(occ)
    refresh_busy(session, meeting_id)


def cancel_meeting(session: Session, actor: Actor, meeting_id: int, *, reason: str) -> Meeting:
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    _editable(meeting)
    was = meeting.status
    meeting.status = MeetingStatus.cancelled
    meeting.sequence += 1
    meeting.updated_at = utcnow()
    session.add(meeting)
    _close_occurrences(session, meeting.id)  # type: ignore[arg-type]
    audit.record(
        session, actor, "meeting.cancel", target_type="meeting", target_id=meeting.id, detail={"reason": reason}
    )
    if was is MeetingStatus.confirmed:
        notify(
            session,
            meeting,
            attendee_ids(session, meeting.id),
            f"会议取消：{meeting.title}",
            f"原定{when_text(meeting)}的会议取消。" + (f"原因：{reason}" if reason else ""),
        )
    changed(session, meeting, "cancelled")
    return meeting


def decide_approval(session: Session, actor: Actor, meeting_id: int, *, approve: bool, comment: str) -> Meeting:
    """The room's approver confirms or rejects a pending booking; rejection releases the room."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.approve")
    if meeting.status is not MeetingStatus.pending:
        raise InvalidTransition("这个预约不在待审批状态", code="not_pending")
    if not approve and not comment.strip():
        raise ValidationError("驳回需要说明理由", code="reason_required")
    meeting.status = MeetingStatus.confirmed if approve else MeetingStatus.rejected
    meeting.approved_by = actor.user_id
    meeting.approval_comment = comment.strip()
    meeting.sequence += 1
    session.add(meeting)
    if approve:
        refresh_busy(session, meeting.id)  # no longer tentative
    else:
        _close_occurrences(session, meeting.id)  # type: ignore[arg-type]
    audit.record(
        session,
        actor,
        "meeting.approve" if approve else "meeting.reject",
        target_type="meeting",
        target_id=meeting.id,
        detail={"comment": comment},
    )
    result = "已同意" if approve else f"被驳回：{comment}"
    notify(
        session, meeting, [meeting.organizer_id], f"会议室预约{result[:3]}：{meeting.title}", f"{actor.name}{result}"
    )
    if approve:
        announce(session, meeting)
    changed(session, meeting, "approved" if approve else "rejected")
    return meeting


# Events ------------------------------------------------------------------------------------------


def attendees_of(session: Session, meeting_id: int | None) -> list[MeetingAttendee]:
    return list(
        session.exec(
            select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id).order_by(col(MeetingAttendee.id))
        ).all()
    )


def attendee_ids(session: Session, meeting_id: int | None, *, answering: bool = False) -> list[int]:
    """Everyone invited; with ``answering`` only those still expected (not declined or delegated)."""
    rows = attendees_of(session, meeting_id)
    return [a.user_id for a in rows if not answering or a.rsvp not in (Rsvp.declined, Rsvp.delegated)]


def member_ids(session: Session, meeting: Meeting) -> list[int]:
    return sorted({meeting.organizer_id, *attendee_ids(session, meeting.id)})


def notify(session: Session, meeting: Meeting, user_ids: Iterable[int], title: str, body: str) -> None:
    """A 工作通知 through the messaging package (which turns ``notify.*`` events into messages)."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    events.publish_on_commit(
        session,
        "notify.meeting",
        {
            "user_ids": ids,
            "title": title[:200],
            "body": body[:1000],
            "link": f"/meetings/{meeting.id}",
            "source": "meetings",
            "meeting_id": meeting.id,
        },
        user_ids=ids,
    )


def changed(session: Session, meeting: Meeting, op: str, **extra: Any) -> None:
    """Live refresh for the meeting page and calendars of everyone involved."""
    events.publish_on_commit(
        session, "meeting.changed", {"meeting_id": meeting.id, "op": op, **extra}, user_ids=member_ids(session, meeting)
    )


def announce(session: Session, meeting: Meeting) -> None:
    """A confirmed meeting: the meeting group (messaging), invitations, and 会议通知 to agencies."""
    members = member_ids(session, meeting)
    events.publish_on_commit(
        session,
        "meeting.created",
        {"meeting_id": meeting.id, "title": meeting.title, "organizer_id": meeting.organizer_id, "member_ids": members},
        user_ids=members,
    )
    organizer = session.get(User, meeting.organizer_id)
    invitees = [u for u in attendee_ids(session, meeting.id) if u != meeting.organizer_id]
    notify(
        session,
        meeting,
        invitees,
        f"会议邀请：{meeting.title}",
        f"{organizer.name if organizer else ''}邀请你参加会议，{when_text(meeting)}。请在通办中答复。",
    )
    for inv in session.exec(select(AgencyInvite).where(AgencyInvite.meeting_id == meeting.id)).all():
        quota = f"名额 {inv.quota} 人，" if inv.quota else ""
        notify(
            session,
            meeting,
            agency_contacts(session, inv.agency_id),
            f"会议通知：{meeting.title}",
            f"{when_text(meeting)}。{quota}请报送参会人员。{inv.note}",
        )


# Formatting --------------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def local_text(moment: dt.datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def when_text(meeting: Meeting) -> str:
    tz = get_zone(meeting.tz)
    text = f"{local_text(meeting.start_at, tz)}–{meeting.end_at.astimezone(tz):%H:%M}"
    if meeting.rrule:
        text += "起（周期性会议）"
    return text


def user_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}  # type: ignore[misc]


def agency_of_user(session: Session, user_id: int) -> set[int]:
    return {p["agency_id"] for p in posts_of(session, [user_id])[user_id] if p["agency_id"]}
