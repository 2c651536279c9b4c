"""会议纪要: drafted in the app (per occurrence), tasks handed to 督办, and the 纪要-format Word file.

``minutes_content`` builds the 纪要 as plain data (spec 5.1: header, 期号, time, place, host, recorder,
出席/请假/列席, 议题, 议定事项 with 责任单位 and 完成时限). ``render_docx`` turns it into the GB/T 9704
纪要 format through ``typeset.render``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from meetings.access import access_meeting, attendees_of, user_names
from meetings.models import AttendeeRole, Meeting, MeetingOccurrence, Minutes, MinutesTask, Room, Rsvp, SignIn
from meetings.notices import changed, get_zone
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, ValidationError
from office.models import Department, User
from office.timefmt import iso
from typeset.layout import Attendance, DocType, ListItem, OfficialDocument, Paragraph
from typeset.render import render_docx as render_typeset

CN_NUMERALS = "一二三四五六七八九十"


def cn_index(n: int) -> str:
    """1 -> 一, 12 -> 十二, 20 -> 二十 (enough for a 纪要's 议定事项)."""
    if n <= 10:
        return CN_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (CN_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (CN_NUMERALS[ones - 1] if ones else "")


def _occurrence(session: Session, meeting: Meeting, original: dt.datetime | None) -> MeetingOccurrence:
    stmt = select(MeetingOccurrence).where(MeetingOccurrence.meeting_id == meeting.id)
    if original is not None:
        occ = session.exec(stmt.where(MeetingOccurrence.original_start == original)).first()
    else:
        occ = (
            session.exec(
                stmt.where(col(MeetingOccurrence.start_at) <= utcnow()).order_by(col(MeetingOccurrence.start_at).desc())
            ).first()
            or session.exec(stmt.order_by(col(MeetingOccurrence.start_at))).first()
        )
    if occ is None:
        raise NotFound("没有这一场会议", code="occurrence_not_found")
    return occ


def _find(session: Session, meeting_id: int, occ: MeetingOccurrence) -> Minutes | None:
    return session.exec(
        select(Minutes).where(Minutes.meeting_id == meeting_id, Minutes.occurrence_start == occ.original_start)
    ).first()


def minutes_public(session: Session, minutes: Minutes | None, occ: MeetingOccurrence) -> dict[str, Any]:
    tasks = (
        session.exec(
            select(MinutesTask).where(MinutesTask.minutes_id == minutes.id).order_by(col(MinutesTask.id))
        ).all()
        if minutes
        else []
    )
    names = user_names(session, [t.owner_id for t in tasks if t.owner_id])
    base: dict[str, Any] = {"occurrence_start": iso(occ.original_start), "exists": minutes is not None}
    if minutes is None:
        return base | {"topics": [], "decisions": [], "tasks": [], "sitting_in": [], "distribution": []}
    return base | {
        "id": minutes.id,
        "issuer_name": minutes.issuer_name,
        "number": minutes.number,
        "host_name": minutes.host_name,
        "recorder_name": minutes.recorder_name,
        "topics": list(minutes.topics),
        "summary": minutes.summary,
        "decisions": list(minutes.decisions),
        "sitting_in": list(minutes.sitting_in),
        "distribution": list(minutes.distribution),
        "issue_date": minutes.issue_date.isoformat() if minutes.issue_date else None,
        "updated_at": iso(minutes.updated_at),
        "tasks": [
            {
                "id": t.id,
                "title": t.title,
                "owner_id": t.owner_id,
                "owner_name": names.get(t.owner_id or 0, ""),
                "owner_unit": t.owner_unit,
                "due_date": t.due_date.isoformat() if t.due_date else None,
                "supervised": t.supervised_at is not None,
            }
            for t in tasks
        ],
    }


def get_minutes(session: Session, actor: Actor, meeting_id: int, *, occurrence: dt.datetime | None) -> dict[str, Any]:
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.materials")
    occ = _occurrence(session, meeting, occurrence)
    return minutes_public(session, _find(session, meeting_id, occ), occ)


def save_minutes(
    session: Session, actor: Actor, meeting_id: int, *, occurrence: dt.datetime | None, body: Any
) -> dict[str, Any]:
    """Create or replace the draft. Tasks are matched by id; a task already handed to 督办 stays."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    occ = _occurrence(session, meeting, occurrence)
    minutes = _find(session, meeting_id, occ) or Minutes(meeting_id=meeting_id, occurrence_start=occ.original_start)
    for key in ("issuer_name", "number", "host_name", "recorder_name", "summary"):
        setattr(minutes, key, getattr(body, key).strip())
    minutes.topics = [t.strip() for t in body.topics if t.strip()]
    minutes.decisions = [d.model_dump() for d in body.decisions]
    minutes.sitting_in = [s.strip() for s in body.sitting_in if s.strip()]
    minutes.distribution = [s.strip() for s in body.distribution if s.strip()]
    minutes.issue_date = body.issue_date
    minutes.updated_by, minutes.updated_at = actor.user_id, utcnow()
    session.add(minutes)
    session.flush()
    _save_tasks(session, meeting, minutes, body.tasks)
    audit.record(
        session,
        actor,
        "meeting.minutes.save",
        target_type="meeting",
        target_id=meeting_id,
        detail={"occurrence": iso(occ.original_start), "decisions": len(minutes.decisions), "tasks": len(body.tasks)},
    )
    changed(session, meeting, "minutes")
    return minutes_public(session, minutes, occ)


def _save_tasks(session: Session, meeting: Meeting, minutes: Minutes, tasks: list[Any]) -> None:
    existing = {t.id: t for t in session.exec(select(MinutesTask).where(MinutesTask.minutes_id == minutes.id)).all()}
    owners = user_names(session, [t.owner_id for t in tasks if t.owner_id])
    keep: set[int] = set()
    for n, t in enumerate(tasks, 1):
        if t.owner_id and t.owner_id not in owners:
            raise ValidationError(f"第 {n} 项任务的责任人不存在", code="bad_owner")
        row = existing.get(t.id) if t.id else None
        if t.id and row is None:
            raise ValidationError(f"第 {n} 项任务不属于这份纪要", code="bad_task")
        if row is None:
            assert meeting.id is not None and minutes.id is not None
            row = MinutesTask(meeting_id=meeting.id, minutes_id=minutes.id, title="")
        row.title, row.owner_id, row.owner_unit, row.due_date = (
            t.title.strip(),
            t.owner_id,
            t.owner_unit.strip(),
            t.due_date,
        )
        session.add(row)
        session.flush()
        keep.add(row.id)  # type: ignore[arg-type]
    dropped = [t for i, t in existing.items() if i not in keep]
    if any(t.supervised_at for t in dropped):
        raise Conflict("已转督办的任务不能删除", code="task_supervised")
    if dropped:
        session.execute(delete(MinutesTask).where(col(MinutesTask.id).in_([t.id for t in dropped])))


def supervise_task(session: Session, actor: Actor, meeting_id: int, task_id: int) -> MinutesTask:
    """Hand a task to the 督办 list: ``meeting.task_created`` goes to the owner and the organiser
    (a supervision package subscribes to it)."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    task = session.get(MinutesTask, task_id)
    if task is None or task.meeting_id != meeting_id:
        raise NotFound("任务不存在", code="task_not_found")
    if task.supervised_at is not None:
        raise InvalidTransition("这项任务已转督办", code="already_supervised")
    if task.owner_id is None and not task.owner_unit:
        raise ValidationError("转督办前请先指定责任人或责任单位", code="owner_required")
    if task.due_date is None:
        raise ValidationError("转督办前请先填写完成时限", code="due_required")
    task.supervised_at = utcnow()
    session.add(task)
    audit.record(
        session,
        actor,
        "meeting.task.supervise",
        target_type="meeting",
        target_id=meeting_id,
        detail={"task_id": task_id, "title": task.title},
    )
    recipients = sorted({meeting.organizer_id, *([task.owner_id] if task.owner_id else [])})
    events.publish_on_commit(
        session,
        "meeting.task_created",
        {
            "task_id": task.id,
            "meeting_id": meeting_id,
            "meeting_title": meeting.title,
            "agency_id": meeting.agency_id,
            "title": task.title,
            "owner_id": task.owner_id,
            "owner_unit": task.owner_unit,
            "due_date": task.due_date.isoformat(),
            "source": "meetings",
        },
        user_ids=recipients,
    )
    return task


def minutes_content(session: Session, meeting: Meeting, minutes: Minutes) -> dict[str, Any]:
    """The 纪要 as data: header, number, dates, the opening sentence, decisions, tasks, attendance."""
    tz = get_zone(meeting.tz)
    occ = _occurrence(session, meeting, minutes.occurrence_start)
    local = occ.start_at.astimezone(tz)
    agency = session.get(Department, meeting.agency_id) if meeting.agency_id else None
    room = session.get(Room, meeting.room_id) if meeting.room_id else None
    rows = attendees_of(session, meeting.id)
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_([a.user_id for a in rows]))).all()}
    signed = set(
        session.exec(
            select(SignIn.user_id).where(SignIn.meeting_id == meeting.id, SignIn.occurrence_start == occ.original_start)
        ).all()
    )
    present, on_leave, sitting_in = [], [], list(minutes.sitting_in)
    for a in rows:
        name = users[a.user_id].name if a.user_id in users else ""
        if a.rsvp is Rsvp.declined:
            on_leave.append(f"{name}（{a.reason}）" if a.reason else name)
        elif a.rsvp is Rsvp.delegated:
            continue
        elif a.role is AttendeeRole.optional:
            sitting_in.append(name)
        elif a.user_id in signed or (not signed and a.rsvp is Rsvp.accepted):
            present.append(name)
    topics = "、".join(minutes.topics) or meeting.title
    place = room.name if room else ("线上" if meeting.online_url else "")
    opening = (
        f"{local.year}年{local.month}月{local.day}日，{minutes.host_name or '会议主持人'}在{place}主持召开"
        f"{meeting.title}，研究{topics}。现将议定事项纪要如下："
    )
    decisions = []
    for n, d in enumerate(minutes.decisions, 1):
        extra = "；".join(
            x
            for x in (
                f"责任单位：{d['unit']}" if d.get("unit") else "",
                f"完成时限：{d['due']}" if d.get("due") else "",
            )
            if x
        )
        decisions.append((f"{cn_index(n)}、", d["text"] + (f"（{extra}）" if extra else "")))
    tasks = session.exec(
        select(MinutesTask).where(MinutesTask.minutes_id == minutes.id).order_by(col(MinutesTask.id))
    ).all()
    owners = user_names(session, [t.owner_id for t in tasks if t.owner_id])
    task_lines = [
        f"{t.title}（责任人：{owners.get(t.owner_id or 0, '') or t.owner_unit}"
        + (f"；完成时限：{t.due_date.year}年{t.due_date.month}月{t.due_date.day}日" if t.due_date else "")
        + "）"
        for t in tasks
    ]
    return {
        "issuer_name": agency.name if agency else "",
        "header": (minutes.issuer_name or meeting.title).removesuffix("纪要"),
        "title": meeting.title,
        "number": minutes.number or None,
        "date": minutes.issue_date or local.date(),
        "opening": opening,
        "summary": minutes.summary,
        "decisions": decisions,
        "tasks": task_lines,
        "present": present,
        "on_leave": on_leave,
        "sitting_in": sitting_in,
        "distribution": list(minutes.distribution),
        "recorder": minutes.recorder_name,
    }


def to_official_document(content: dict[str, Any]) -> OfficialDocument:
    body: list[Any] = [Paragraph(content["opening"])]
    if content["summary"]:
        body += [Paragraph(p.strip()) for p in content["summary"].split("\n") if p.strip()]
    body += [ListItem(text, marker=marker) for marker, text in content["decisions"]]
    if content["tasks"]:
        body.append(Paragraph("会议明确以下工作任务："))
        body += [ListItem(text, marker=f"{n}.") for n, text in enumerate(content["tasks"], 1)]
    return OfficialDocument(
        doc_type=DocType.jiyao,
        issuer_name=content["issuer_name"],
        title=content["title"],
        body=body,
        number=content["number"],
        issuer_mark_text=content["header"] + "纪要",
        date=content["date"],
        cc=content["distribution"],
        seal_space=False,
        attendance=Attendance(
            present=tuple(content["present"]),
            on_leave=tuple(content["on_leave"]),
            sitting_in=tuple(content["sitting_in"]),
        ),
    )


def render_docx(
    session: Session, actor: Actor, meeting_id: int, *, occurrence: dt.datetime | None
) -> tuple[str, bytes]:
    """The 纪要-format .docx (GB/T 9704 §10.3) of one occurrence's minutes: (file name, bytes)."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.materials")
    occ = _occurrence(session, meeting, occurrence)
    minutes = _find(session, meeting_id, occ)
    if minutes is None:
        raise NotFound("这次会议还没有纪要", code="minutes_not_found")
    content = minutes_content(session, meeting, minutes)
    data = render_typeset(to_official_document(content), fmt="minutes")
    return f"{content['header']}纪要.docx", data
