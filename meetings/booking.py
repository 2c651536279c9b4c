"""Booking a meeting: the checks every booking passes (times, recurrence against the working
calendar, room, people, agencies) and the creation of a meeting with its occurrences.

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
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from meetings import recurrence
from meetings.access import in_agency, own_department, user_names
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
)
from meetings.notices import announce, get_zone, local_text, notify, when_text
from meetings.scheduling import MAX_DURATION, room_conflicts, users_busy, within_open_hours
from office import audit, policy
from office.actor import Actor
from office.db import settings_of, utcnow
from office.errors import Conflict, NotFound, ValidationError
from office.models import Department, DeptKind, User
from office.timefmt import iso
from office.workcal import load_calendar

MIN_DURATION = dt.timedelta(minutes=5)
# A form filled in over a few minutes may name the current five minutes; anything earlier has passed.
PAST_GRACE = dt.timedelta(minutes=5)
DEFAULT_REMINDERS = [15]
Occ = tuple[dt.datetime, dt.datetime, dt.datetime, bool]  # original start, start, end, active


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


def check_not_past(session: Session, start: dt.datetime) -> None:
    """A meeting (or a moved occurrence) cannot start in time that has passed: its room could not be
    used then, nor its people told; ``OFFICE_MEETING_BACKDATE_HOURS`` lets a held meeting be entered."""
    backdate = max(PAST_GRACE, dt.timedelta(hours=settings_of(session).meeting_backdate_hours))
    if start < utcnow() - backdate:
        raise ValidationError("开始时间已经过去，不能预约过去的时间", code="start_in_past", field="start")


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
            conflicts=[{"start": iso(a), "end": iso(b), "kind": k.kind} for (a, b), k in clashes[:20]],
        )
    return room


def resolve_people(
    session: Session, actor: Actor, attendees: Iterable[Any], departments: Iterable[Any]
) -> dict[int, tuple[AttendeeRole, int | None]]:
    """user_id -> (role, department invited through). People named one by one win over departments.
    Only the organiser's own agency's people and departments: another agency is invited by a 会议通知
    and names its own attendees (``invitations.nominate``), so its ids answer as missing ones do."""
    from office.directory.service import department_member_ids

    out: dict[int, tuple[AttendeeRole, int | None]] = {}
    for d in departments:
        dept = own_department(session, actor, d.department_id)
        if dept is None or dept.kind != DeptKind.department:
            raise ValidationError(f"部门不存在：{d.department_id}", code="bad_department")
        for uid in department_member_ids(session, d.department_id):
            out.setdefault(uid, (d.role, d.department_id))
    for a in attendees:
        out[a.user_id] = (a.role, None)
    if out:
        found = set(session.exec(select(User.id).where(col(User.id).in_(list(out)), User.is_active == True)).all())  # noqa: E712
        missing = sorted(set(out) - (found & in_agency(session, actor.agency_id, out)))
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
    not refused; room conflicts are refused. A ``client_id`` this organiser already booked with
    answers that booking as it is now, and checks and changes nothing: the first try's answer was
    lost, and trying again must neither book twice nor be refused as a conflict with itself."""
    policy.require(actor, "meeting.create")
    earlier = _earlier(session, actor, body.client_id)
    if earlier is not None:
        return BookingResult(
            earlier, attendee_conflicts=attendee_conflicts(session, earlier, attendee_ids(session, earlier))
        )
    tz = get_zone(body.tz)
    check_times(body.start, body.end)
    check_not_past(session, body.start)
    rule = recurrence.normalise(body.rrule, tz) if body.rrule.strip() else ""
    occs = plan_occurrences(session, start=body.start, end=body.end, tz=tz, rule=rule, skip_holidays=body.skip_holidays)
    people = resolve_people(session, actor, body.attendees, body.departments)
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
        client_id=body.client_id,
    )
    return do_create_meeting(session, actor, meeting=meeting, occs=occs, people=people, invites=invites, room=room)


def _earlier(session: Session, actor: Actor, client_id: str | None) -> Meeting | None:
    """The meeting this organiser booked with ``client_id``. Two tries racing past this look on
    PostgreSQL meet the unique index (organiser, key): the loser fails and its retry finds the winner."""
    if not client_id:
        return None
    return session.exec(
        select(Meeting).where(Meeting.organizer_id == actor.user_id, Meeting.client_id == client_id)
    ).first()


def attendee_ids(session: Session, meeting: Meeting) -> list[int]:
    return list(session.exec(select(MeetingAttendee.user_id).where(MeetingAttendee.meeting_id == meeting.id)).all())


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
    flush_guarded(session)
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
            "start": iso(meeting.start_at),
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
    assert meeting.id is not None
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
        if "uq_meeting_client" in text or "meeting.organizer_id, meeting.client_id" in text:
            raise Conflict("这次预约的上一次提交仍在处理，请稍后再试", code="client_id_in_flight") from None
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
            out.append({"user_id": uid, "name": names.get(uid, ""), "count": len(hits), "first": iso(hits[0].start_at)})
    return out
