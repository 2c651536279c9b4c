"""What people are told about a meeting: 工作通知 (through messaging, which turns ``notify.*``
events into messages), live refreshes of meeting pages and calendars, and times in local words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from meetings.access import agency_contacts, attendee_ids, member_ids
from meetings.models import AgencyInvite, Meeting, MeetingStatus
from office import events
from office.errors import ValidationError
from office.models import User

WEEKDAYS = "一二三四五六日"


def get_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"未知时区：{name[:50]}", code="bad_timezone") from None


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


def members_changed(session: Session, meeting: Meeting, before: Iterable[int]) -> None:
    """After the people of a meeting changed (``before``: its ``member_ids`` until then): once it is
    confirmed, and so has its group (``announce``), messaging brings the group in step after commit.
    Before that the group does not exist yet, and ``meeting.created`` will carry everyone."""
    if meeting.status is not MeetingStatus.confirmed:
        return
    session.flush()
    was, now = set(before), set(member_ids(session, meeting))
    if was == now:
        return
    events.publish_on_commit(
        session,
        "meeting.members_changed",
        {"meeting_id": meeting.id, "added": sorted(now - was), "removed": sorted(was - now)},
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


def local_text(moment: dt.datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def when_text(meeting: Meeting) -> str:
    tz = get_zone(meeting.tz)
    text = f"{local_text(meeting.start_at, tz)}–{meeting.end_at.astimezone(tz):%H:%M}"
    if meeting.rrule:
        text += "起（周期性会议）"
    return text
