"""办会's 待办 sources for the 工作台 (``office.todo``): invitations awaiting an answer (the person's own,
and 会议通知 their agency must answer when they are its contact), and today's meetings to sign in to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from meetings.access import agency_contacts
from meetings.models import (
    AgencyInvite,
    Meeting,
    MeetingAttendee,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Rsvp,
    SignIn,
)
from meetings.signin import EARLY
from office.actor import Actor
from office.todo import TodoItem

CHINA = ZoneInfo("Asia/Shanghai")
NOT_COMING = (Rsvp.declined, Rsvp.delegated)


def _upcoming(now: datetime) -> SelectOfScalar[int]:
    """Meetings with an occurrence still to come or running."""
    return select(MeetingOccurrence.meeting_id).where(
        MeetingOccurrence.status == OccurrenceStatus.active, col(MeetingOccurrence.end_at) > now
    )


def _next_start(session: Session, meeting_ids: Iterable[int | None], now: datetime) -> dict[int, datetime]:
    ids = [i for i in set(meeting_ids) if i is not None]
    if not ids:
        return {}
    rows = session.exec(
        select(MeetingOccurrence.meeting_id, func.min(MeetingOccurrence.start_at))
        .where(
            col(MeetingOccurrence.meeting_id).in_(ids),
            MeetingOccurrence.status == OccurrenceStatus.active,
            col(MeetingOccurrence.end_at) > now,
        )
        .group_by(col(MeetingOccurrence.meeting_id))
    ).all()
    return dict(rows)


class Invitations:
    """Invitations the person has not answered, and 会议通知 to their agency that it has not answered
    when they are one of its contacts (its clerks), for meetings still to come."""

    kind = "meeting_invites"
    label = "会议邀请"
    section = "meetings"
    events = ("notify.meeting", "meeting.changed", "meeting.signup")

    def _own(self, actor: Actor, now: datetime) -> SelectOfScalar[Meeting]:
        return (
            select(Meeting)
            .join(MeetingAttendee, col(MeetingAttendee.meeting_id) == Meeting.id)
            .where(
                MeetingAttendee.user_id == actor.user_id,
                MeetingAttendee.rsvp == Rsvp.needs_action,
                Meeting.status == MeetingStatus.confirmed,
                col(Meeting.id).in_(_upcoming(now)),
            )
        )

    def _agency(self, session: Session, actor: Actor, now: datetime) -> list[Meeting]:
        if actor.agency_id is None or actor.user_id not in agency_contacts(session, actor.agency_id):
            return []
        return list(
            session.exec(
                select(Meeting)
                .join(AgencyInvite, col(AgencyInvite.meeting_id) == Meeting.id)
                .where(
                    AgencyInvite.agency_id == actor.agency_id,
                    col(AgencyInvite.replied_at).is_(None),
                    Meeting.status == MeetingStatus.confirmed,
                    col(Meeting.id).in_(_upcoming(now)),
                )
            ).all()
        )

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        own = session.exec(select(func.count()).select_from(self._own(actor, now).subquery())).one()
        return int(own) + len(self._agency(session, actor, now))

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if box == "todo":
            own = list(session.exec(self._own(actor, now)).all())
            agency = self._agency(session, actor, now)
            starts = _next_start(session, [m.id for m in own + agency], now)
            out = [self._item(m, "own", m.created_at, starts.get(m.id or 0), "请答复是否参加") for m in own]
            out += [
                self._item(m, "agency", m.created_at, starts.get(m.id or 0), "请报名本单位参会人员") for m in agency
            ]
            return sorted(out, key=lambda i: i.since, reverse=True)[:limit]
        if box == "done":
            rows = session.exec(
                select(Meeting, MeetingAttendee.responded_at)
                .join(MeetingAttendee, col(MeetingAttendee.meeting_id) == Meeting.id)
                .where(MeetingAttendee.user_id == actor.user_id, col(MeetingAttendee.responded_at).is_not(None))
                .order_by(col(MeetingAttendee.responded_at).desc())
                .limit(limit)
            ).all()
            return [self._item(m, "own", at or m.created_at, None, "已答复", action="查看") for m, at in rows]
        mine = session.exec(
            select(Meeting)
            .where(Meeting.organizer_id == actor.user_id)
            .order_by(col(Meeting.created_at).desc())
            .limit(limit)
        ).all()
        return [self._item(m, "own", m.created_at, None, "我组织的会议", action="查看") for m in mine]

    def _item(
        self, m: Meeting, key: str, since: datetime, start: datetime | None, detail: str, *, action: str = "答复"
    ) -> TodoItem:
        return TodoItem(
            kind=self.kind,
            key=f"{key}:{m.id}",
            title=m.title,
            link=f"#/meetings/{m.id}",
            since=since,
            deadline=start,
            detail=detail,
            action=action,
        )


class TodaySignIn:
    """Today's meetings (China time) the person attends and has not signed in to, until they end."""

    kind = "meeting_signin"
    label = "今日会议"
    section = "meetings"
    events = ("meeting.changed",)

    def _today(self, session: Session, actor: Actor, now: datetime) -> list[tuple[MeetingOccurrence, Meeting]]:
        day = now.astimezone(CHINA).date()
        midnight = datetime.combine(day + dt.timedelta(days=1), dt.time(0), CHINA)
        signed = select(SignIn.id).where(
            SignIn.meeting_id == MeetingOccurrence.meeting_id,
            SignIn.occurrence_start == MeetingOccurrence.original_start,
            SignIn.user_id == actor.user_id,
        )
        rows = session.exec(
            select(MeetingOccurrence, Meeting)
            .join(Meeting, col(Meeting.id) == MeetingOccurrence.meeting_id)
            .join(MeetingAttendee, col(MeetingAttendee.meeting_id) == Meeting.id)
            .where(
                MeetingAttendee.user_id == actor.user_id,
                col(MeetingAttendee.rsvp).not_in(NOT_COMING),
                Meeting.status == MeetingStatus.confirmed,
                MeetingOccurrence.status == OccurrenceStatus.active,
                col(MeetingOccurrence.start_at) < midnight,
                col(MeetingOccurrence.end_at) > now,
                ~signed.exists(),
            )
            .order_by(col(MeetingOccurrence.start_at))
        ).all()
        return list(rows)

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        return len(self._today(session, actor, now))

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if box == "todo":
            out = [self._item(o, m, now) for o, m in self._today(session, actor, now)]
            return sorted(out, key=lambda i: i.since, reverse=True)[:limit]
        if box == "done":
            rows = session.exec(
                select(SignIn, Meeting)
                .join(Meeting, col(Meeting.id) == SignIn.meeting_id)
                .where(SignIn.user_id == actor.user_id)
                .order_by(col(SignIn.signed_at).desc())
                .limit(limit)
            ).all()
            return [
                TodoItem(
                    kind=self.kind,
                    key=f"{m.id}:{s.occurrence_start.timestamp():.0f}",
                    title=m.title,
                    link=f"#/meetings/{m.id}",
                    since=s.signed_at,
                    detail="已签到",
                    action="查看",
                )
                for s, m in rows
            ]
        return []

    def _item(self, o: MeetingOccurrence, m: Meeting, now: datetime) -> TodoItem:
        opens = o.start_at - EARLY
        local = o.start_at.astimezone(CHINA).strftime("%H:%M")
        return TodoItem(
            kind=self.kind,
            key=f"{m.id}:{o.original_start.timestamp():.0f}",
            title=m.title,
            # The 签到 page once signing in is open (30 minutes before the start); the meeting before.
            link=f"#/meetings/checkin/{m.id}" if now >= opens else f"#/meetings/{m.id}",
            since=opens,
            deadline=o.start_at,
            detail=f"今天 {local} 开始 · 签到",
            action="签到" if now >= opens else "查看",
        )


SOURCES = (Invitations(), TodaySignIn())
