"""Changing a booked meeting: the whole series, one occurrence (move, skip), "this and following"
(split), cancel, and the room approver's decision. Booking itself is ``meetings.booking``."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from meetings import recurrence
from meetings.access import access_meeting, attendee_ids, attendees_of
from meetings.booking import (
    BookingResult,
    attendee_conflicts,
    check_not_past,
    check_reminders,
    check_room,
    check_times,
    check_url,
    flush_guarded,
    insert_occurrences,
    plan_occurrences,
)
from meetings.busy import refresh as refresh_busy
from meetings.models import (
    AgencyInvite,
    Meeting,
    MeetingAttendee,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Room,
)
from meetings.notices import announce, changed, get_zone, local_text, notify, when_text
from meetings.scheduling import room_conflicts, within_open_hours
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, ValidationError
from office.timefmt import iso

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
    if start != occ.start_at:
        check_not_past(session, start)  # moved: to a time still to come
    tz = get_zone(meeting.tz)
    if meeting.room_id is not None:
        room = session.exec(select(Room).where(Room.id == meeting.room_id).with_for_update()).one()
        if not within_open_hours(room, start.astimezone(tz), end.astimezone(tz)):
            raise ValidationError(f"{local_text(start, tz)} 不在会议室开放时间内", code="outside_open_hours")
        clashes = [
            c
            for c in room_conflicts(session, meeting.room_id, [(start, end)])
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
        detail={"occurrence": iso(occ.original_start), "start": iso(start), "end": iso(end)},
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
        detail={"occurrence": iso(original_start)},
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
    assert new.id is not None
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
        detail={"new_meeting_id": new.id, "from": iso(pivot.original_start), "old_rrule": old_rule, "new_rrule": rule},
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
