"""RFC 5545 calendars: one meeting's .ics and each user's subscription feed (Outlook, Apple
Calendar, Thunderbird). The feed URL carries a random token that is its only credential: only the
token's SHA-256 is stored, and regenerating or revoking it cuts off the old URL at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from icalendar import Alarm, Calendar, Event, Timezone, TimezoneStandard, vCalAddress, vRecur
from sqlalchemy import or_
from sqlmodel import Session, col, select

from meetings.access import access_meeting
from meetings.models import (
    AttendeeRole,
    CalendarToken,
    Meeting,
    MeetingAttendee,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Room,
    Rsvp,
)
from meetings.notices import get_zone
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import NotFound
from office.models import User
from office.timefmt import iso

PRODID = "-//Tongban 通办//Meetings//ZH"
FEED_PAST = dt.timedelta(days=90)
FEED_LIMIT = 1000
PARTSTAT = {
    Rsvp.needs_action: "NEEDS-ACTION",
    Rsvp.accepted: "ACCEPTED",
    Rsvp.declined: "DECLINED",
    Rsvp.tentative: "TENTATIVE",
    Rsvp.delegated: "DELEGATED",
}
ROLE = {AttendeeRole.chair: "CHAIR", AttendeeRole.required: "REQ-PARTICIPANT", AttendeeRole.optional: "OPT-PARTICIPANT"}
STATUS = {
    MeetingStatus.confirmed: "CONFIRMED",
    MeetingStatus.pending: "TENTATIVE",
    MeetingStatus.cancelled: "CANCELLED",
    MeetingStatus.rejected: "CANCELLED",
}


def cal_address(user: User) -> vCalAddress:
    # Not everyone has a mail address; .invalid (RFC 2606) can never be delivered to by mistake.
    addr = vCalAddress(f"mailto:{user.email or user.username + '@tongban.invalid'}")
    addr.params["CN"] = user.name
    return addr


def shanghai_vtimezone() -> Timezone:
    """A minimal VTIMEZONE: China has had no DST since 1991, UTC+8 all year (spec 5.2)."""
    tz = Timezone()
    tz.add("tzid", "Asia/Shanghai")
    std = TimezoneStandard()
    std.add("dtstart", dt.datetime(1970, 1, 1))
    std.add("tzoffsetfrom", dt.timedelta(hours=8))
    std.add("tzoffsetto", dt.timedelta(hours=8))
    std.add("tzname", "CST")
    tz.add_component(std)
    return tz


def _events(session: Session, meetings: list[Meeting], now: dt.datetime) -> list[Event]:
    ids = [m.id for m in meetings if m.id is not None]
    attendees: dict[int, list[MeetingAttendee]] = {i: [] for i in ids}
    for a in session.exec(select(MeetingAttendee).where(col(MeetingAttendee.meeting_id).in_(ids))).all():
        attendees[a.meeting_id].append(a)
    occs: dict[int, list[MeetingOccurrence]] = {i: [] for i in ids}
    for o in session.exec(
        select(MeetingOccurrence)
        .where(col(MeetingOccurrence.meeting_id).in_(ids))
        .order_by(col(MeetingOccurrence.original_start))
    ).all():
        occs[o.meeting_id].append(o)
    user_ids = {m.organizer_id for m in meetings} | {a.user_id for rows in attendees.values() for a in rows}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids))).all()}
    rooms = {
        r.id: r
        for r in session.exec(select(Room).where(col(Room.id).in_([m.room_id for m in meetings if m.room_id]))).all()
    }
    out = []
    for m in meetings:
        assert m.id is not None  # loaded rows
        master = _vevent(m, attendees[m.id], users, rooms.get(m.room_id), now)
        rows = occs[m.id]
        tz = get_zone(m.tz)
        if m.rrule:
            master.add("rrule", vRecur.from_ical(m.rrule))
            skipped = [o.original_start.astimezone(tz) for o in rows if o.status is OccurrenceStatus.cancelled]
            if skipped and m.status not in (MeetingStatus.cancelled, MeetingStatus.rejected):
                master.add("exdate", skipped)
        out.append(master)
        for o in rows:
            if m.rrule and o.moved and o.status is OccurrenceStatus.active:
                ev = _vevent(
                    m,
                    attendees[m.id],
                    users,
                    rooms.get(m.room_id),
                    now,
                    start=o.start_at,
                    end=o.end_at,
                )
                ev.add("recurrence-id", o.original_start.astimezone(tz))
                out.append(ev)
    return out


def _vevent(
    m: Meeting,
    attendees: list[MeetingAttendee],
    users: dict[Any, User],
    room: Room | None,
    now: dt.datetime,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Event:
    tz = get_zone(m.tz)
    ev = Event()
    ev.add("uid", m.uid)
    ev.add("dtstamp", now)
    ev.add("sequence", m.sequence)
    ev.add("dtstart", (start or m.start_at).astimezone(tz))
    ev.add("dtend", (end or m.end_at).astimezone(tz))
    ev.add("summary", m.title)
    if m.description:
        ev.add("description", m.description)
    location = " ".join(x for x in ((room.name if room else ""), (room.location if room else ""), m.online_url) if x)
    if location:
        ev.add("location", location)
    if m.online_url:
        ev.add("url", m.online_url)
    ev.add("status", STATUS[m.status])
    organizer = users.get(m.organizer_id)
    if organizer is not None:
        ev.add("organizer", cal_address(organizer))
    for a in attendees:
        user = users.get(a.user_id)
        if user is None:
            continue
        addr = cal_address(user)
        addr.params.update({"CUTYPE": "INDIVIDUAL", "ROLE": ROLE[a.role], "PARTSTAT": PARTSTAT[a.rsvp], "RSVP": "TRUE"})
        if a.substitute_for and a.substitute_for in users:
            addr.params["DELEGATED-FROM"] = str(cal_address(users[a.substitute_for]))
        ev.add("attendee", addr, encode=False)
    for minutes in m.reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"会议提醒：{m.title}")
        alarm.add("trigger", dt.timedelta(minutes=-int(minutes)))
        ev.add_component(alarm)
    return ev


def calendar_bytes(session: Session, meetings: list[Meeting], *, name: str = "") -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    zones = {m.tz for m in meetings} | {"Asia/Shanghai"}
    cal.add_component(shanghai_vtimezone())
    for ev in _events(session, meetings, utcnow()):
        cal.add_component(ev)
    if zones != {"Asia/Shanghai"}:
        cal.add_missing_timezones()
    return cal.to_ical()


def meeting_ics(session: Session, actor: Actor, meeting_id: int) -> tuple[str, bytes]:
    meeting, _ = access_meeting(session, actor, meeting_id)
    return f"meeting-{meeting.id}.ics", calendar_bytes(session, [meeting])


# Subscription feed -------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def regenerate_token(session: Session, actor: Actor) -> str:
    """A new feed token (the old URL stops working). The token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    row = session.exec(select(CalendarToken).where(CalendarToken.user_id == actor.user_id)).first()
    row = row or CalendarToken(user_id=actor.user_id, token_hash="")
    row.token_hash, row.created_at = _hash(token), utcnow()
    session.add(row)
    audit.record(session, actor, "meeting.feed.regenerate", target_type="user", target_id=actor.user_id)
    return token


def revoke_token(session: Session, actor: Actor) -> None:
    row = session.exec(select(CalendarToken).where(CalendarToken.user_id == actor.user_id)).first()
    if row is None:
        raise NotFound("尚未开通日历订阅", code="no_feed")
    session.delete(row)
    audit.record(session, actor, "meeting.feed.revoke", target_type="user", target_id=actor.user_id)


def token_status(session: Session, actor: Actor) -> dict[str, Any]:
    row = session.exec(select(CalendarToken).where(CalendarToken.user_id == actor.user_id)).first()
    return {"active": row is not None, "created_at": iso(row.created_at) if row else None}


def feed(session: Session, token: str) -> bytes:
    """The feed for whoever holds ``token``: meetings they organise or attend (not declined), from
    90 days back. An unknown token is NotFound (nothing tells a bad token from a revoked one)."""
    if not token or len(token) > 100:
        raise NotFound()
    row = session.exec(select(CalendarToken).where(CalendarToken.token_hash == _hash(token))).first()
    user = session.get(User, row.user_id) if row else None
    if row is None or user is None or not user.is_active:
        raise NotFound()
    return calendar_bytes(session, feed_meetings(session, user.id), name=f"{user.name}的会议")  # type: ignore[arg-type]


def feed_meetings(session: Session, user_id: int) -> list[Meeting]:
    since = utcnow() - FEED_PAST
    mine = select(MeetingAttendee.meeting_id).where(
        MeetingAttendee.user_id == user_id, col(MeetingAttendee.rsvp).not_in([Rsvp.declined, Rsvp.delegated])
    )
    recent = select(MeetingOccurrence.meeting_id).where(col(MeetingOccurrence.end_at) > since)
    stmt = (
        select(Meeting)
        .where(
            or_(col(Meeting.id).in_(mine), col(Meeting.organizer_id) == user_id),
            col(Meeting.id).in_(recent),
            col(Meeting.status).in_([MeetingStatus.confirmed, MeetingStatus.pending]),
        )
        .order_by(col(Meeting.start_at))
        .limit(FEED_LIMIT)
    )
    return list(session.exec(stmt).all())
