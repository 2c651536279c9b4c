"""Meetings tables: rooms, the working calendar, meetings with their occurrences, attendees,
agency invitations, agenda, materials, sign-in, minutes and calendar-feed tokens.

Every meeting has at least one ``MeetingOccurrence`` row (a recurring meeting has one per
expanded occurrence, capped). Room double-booking is refused by the database itself on those
rows: an exclusion constraint on PostgreSQL and a trigger on SQLite (see ``install_room_guard``).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DDL, JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


class MeetingStatus(str, enum.Enum):
    """``pending`` waits for the room approver; only ``confirmed`` meetings send invitations."""

    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"
    cancelled = "cancelled"


class AttendeeRole(str, enum.Enum):
    chair = "chair"  # 主持
    required = "required"  # 出席
    optional = "optional"  # 列席


class Rsvp(str, enum.Enum):
    needs_action = "needs_action"
    accepted = "accepted"
    declined = "declined"  # 请假 (with a reason)
    tentative = "tentative"
    delegated = "delegated"  # sent a substitute (代参会)


class Room(SQLModel, table=True):
    """A meeting room of one agency. Open hours are local (Asia/Shanghai) minutes after midnight."""

    __tablename__ = "meeting_room"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="department.id", index=True)
    name: str = Field(max_length=100)
    location: str = Field(default="", max_length=200)
    capacity: int = 10
    equipment: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    open_from: int = 8 * 60
    open_to: int = 22 * 60
    approval_required: bool = False
    approver_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class RoomBlock(SQLModel, table=True):
    """A maintenance block: the room cannot be booked in [start_at, end_at)."""

    __tablename__ = "meeting_room_block"
    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="meeting_room.id", index=True)
    start_at: dt.datetime = Field(sa_column=utc_column())
    end_at: dt.datetime = Field(sa_column=utc_column())
    reason: str = Field(default="", max_length=200)
    created_by: int | None = None


class Meeting(SQLModel, table=True):
    """A meeting or a recurring series (``rrule`` set). Times are UTC; ``start_at``/``end_at`` are the
    first occurrence. ``uid`` and ``sequence`` follow iCalendar (stable id, bumped on each change)."""

    __tablename__ = "meeting"
    # A retried booking (its answer lost) names the meeting its first try made (``booking``).
    __table_args__ = (Index("uq_meeting_client", "organizer_id", "client_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=100, unique=True)
    sequence: int = 0
    agency_id: int | None = Field(default=None, index=True)
    organizer_id: int = Field(foreign_key="user_account.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    start_at: dt.datetime = Field(sa_column=utc_column())
    end_at: dt.datetime = Field(sa_column=utc_column())
    tz: str = Field(default="Asia/Shanghai", max_length=50)
    room_id: int | None = Field(default=None, foreign_key="meeting_room.id", index=True)
    online_url: str = Field(default="", max_length=500)
    status: MeetingStatus = MeetingStatus.confirmed
    rrule: str = Field(default="", max_length=300)
    skip_holidays: bool = True
    series_parent_id: int | None = Field(default=None, index=True)  # set on the "following" half of a split
    reminders: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # minutes before
    remind_evening_before: bool = True
    signin_secret: str = Field(default="", max_length=64)
    approval_comment: str = Field(default="", max_length=500)
    approved_by: int | None = None
    client_id: str | None = Field(default=None, max_length=64)  # the organiser's idempotency key
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class OccurrenceStatus(str, enum.Enum):
    active = "active"
    cancelled = "cancelled"  # skipped occurrence (EXDATE) or cancelled/rejected meeting


class MeetingOccurrence(SQLModel, table=True):
    """One concrete occurrence. ``original_start`` identifies it within its series (RECURRENCE-ID);
    ``room_id`` is copied from the meeting so the room guard can look at this table alone."""

    __tablename__ = "meeting_occurrence"
    __table_args__ = (
        UniqueConstraint("meeting_id", "original_start"),
        Index("ix_meeting_occurrence_room_start", "room_id", "start_at"),
        Index("ix_meeting_occurrence_meeting_start", "meeting_id", "start_at"),
        Index("ix_meeting_occurrence_start", "start_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    original_start: dt.datetime = Field(sa_column=utc_column())
    start_at: dt.datetime = Field(sa_column=utc_column())
    end_at: dt.datetime = Field(sa_column=utc_column())
    room_id: int | None = Field(default=None, foreign_key="meeting_room.id")
    status: OccurrenceStatus = OccurrenceStatus.active
    moved: bool = False


class MeetingAttendee(SQLModel, table=True):
    """An invited person. ``substitute_for`` marks a 代参会 stand-in; ``department_id`` records that
    the person was invited as part of a whole department; ``agency_id`` for cross-agency nominees."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        Index("ix_meeting_attendee_user_meeting", "user_id", "meeting_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int = Field(foreign_key="user_account.id")
    role: AttendeeRole = AttendeeRole.required
    rsvp: Rsvp = Rsvp.needs_action
    reason: str = Field(default="", max_length=500)
    department_id: int | None = None
    agency_id: int | None = None
    substitute_for: int | None = None
    responded_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class MeetingBusy(SQLModel, table=True):
    """Materialised busy time: one row per active occurrence and attendee still expected (not
    declined or delegated). Derived data, rewritten by ``meetings.busy.refresh`` in the same
    transaction as every change to attendees, occurrences or the meeting's status, so free/busy is
    one range scan of ``(user_id, start_at)`` instead of a join over everything a person attended.
    ``tentative``: the attendee answered 待定 or the meeting waits for room approval."""

    __tablename__ = "meeting_busy"
    __table_args__ = (
        # Covers the free/busy query: the rows are answered from the index alone on SQLite.
        Index("ix_meeting_busy_user_start", "user_id", "start_at", "end_at", "meeting_id", "tentative"),
        Index("ix_meeting_busy_meeting_user", "meeting_id", "user_id"),
    )
    occurrence_id: int = Field(primary_key=True)
    user_id: int = Field(primary_key=True)
    meeting_id: int
    start_at: dt.datetime = Field(sa_column=utc_column())
    end_at: dt.datetime = Field(sa_column=utc_column())
    tentative: bool = False


class AgencyInvite(SQLModel, table=True):
    """会议通知 to another agency: its clerks name who attends, up to ``quota`` people (0 = no limit)."""

    __tablename__ = "meeting_agency_invite"
    __table_args__ = (UniqueConstraint("meeting_id", "agency_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    agency_id: int = Field(foreign_key="department.id")
    quota: int = 0
    note: str = Field(default="", max_length=500)
    replied_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AgendaItem(SQLModel, table=True):
    __tablename__ = "meeting_agenda_item"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int = 0
    title: str = Field(max_length=200)
    presenter_id: int | None = Field(default=None, foreign_key="user_account.id")
    presenter_name: str = Field(default="", max_length=100)
    start_minute: int = 0  # minutes after the meeting's start
    duration_minutes: int = 15


class MaterialKind(str, enum.Enum):
    file = "file"
    link = "link"


class Material(SQLModel, table=True):
    """A file (stored by content hash under the data folder) or a link to a document."""

    __tablename__ = "meeting_material"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kind: MaterialKind
    name: str = Field(max_length=200)
    url: str = Field(default="", max_length=1000)
    sha256: str = Field(default="", max_length=64)
    size: int = 0
    content_type: str = Field(default="", max_length=100)
    uploaded_by: int = Field(foreign_key="user_account.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SignIn(SQLModel, table=True):
    """签到 for one occurrence (``occurrence_start`` = its original start)."""

    __tablename__ = "meeting_signin"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_start", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    occurrence_start: dt.datetime = Field(sa_column=utc_column())
    user_id: int = Field(foreign_key="user_account.id")
    method: str = Field(default="tap", max_length=10)  # tap | code
    signed_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Minutes(SQLModel, table=True):
    """会议纪要 draft: the fields of the 纪要 (spec 5.1); decisions are ``[{"text", "unit", "due"}]``."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_start"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    occurrence_start: dt.datetime = Field(sa_column=utc_column())  # which session of a series
    issuer_name: str = Field(default="", max_length=100)
    number: str = Field(default="", max_length=30)  # 第X期
    host_name: str = Field(default="", max_length=50)
    recorder_name: str = Field(default="", max_length=50)
    topics: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: str = Field(default="", max_length=20000)
    decisions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sitting_in: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    distribution: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    issue_date: dt.date | None = None
    updated_by: int | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class MinutesTask(SQLModel, table=True):
    """A task agreed in the meeting; ``supervised_at`` is set once handed to the 督办 list."""

    __tablename__ = "meeting_task"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    minutes_id: int = Field(foreign_key="meeting_minutes.id", index=True)
    title: str = Field(max_length=500)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    owner_unit: str = Field(default="", max_length=100)
    due_date: dt.date | None = None
    supervised_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ReminderSent(SQLModel, table=True):
    __tablename__ = "meeting_reminder_sent"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_start", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    occurrence_start: dt.datetime = Field(sa_column=utc_column())
    kind: str = Field(max_length=20)  # "m15", "evening"
    sent_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CalendarToken(SQLModel, table=True):
    """The per-user feed token: only its SHA-256 is stored; the URL is the credential."""

    __tablename__ = "meeting_calendar_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


# The room guard --------------------------------------------------------------------------------

# Occurrences last at most 24 hours (enforced by the service), so only rows starting in the day
# before can overlap: the bound keeps the trigger's probe a short range scan of (room_id, start_at).
ROOM_GUARD_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS meeting_room_no_overlap_insert BEFORE INSERT ON meeting_occurrence "
    "WHEN NEW.room_id IS NOT NULL AND NEW.status = 'active' AND EXISTS (SELECT 1 FROM meeting_occurrence o "
    "WHERE o.room_id = NEW.room_id AND o.status = 'active' AND o.start_at < NEW.end_at AND o.end_at > NEW.start_at "
    "AND o.start_at > datetime(NEW.start_at, '-1 day')) "
    "BEGIN SELECT RAISE(ABORT, 'meeting_room_double_booked'); END",
    "CREATE TRIGGER IF NOT EXISTS meeting_room_no_overlap_update BEFORE UPDATE ON meeting_occurrence "
    "WHEN NEW.room_id IS NOT NULL AND NEW.status = 'active' AND EXISTS (SELECT 1 FROM meeting_occurrence o "
    "WHERE o.id <> NEW.id AND o.room_id = NEW.room_id AND o.status = 'active' AND o.start_at < NEW.end_at "
    "AND o.end_at > NEW.start_at AND o.start_at > datetime(NEW.start_at, '-1 day')) "
    "BEGIN SELECT RAISE(ABORT, 'meeting_room_double_booked'); END",
]
# Range types have built-in GiST support, so no btree_gist extension is needed for the room id.
ROOM_GUARD_PG = [
    "ALTER TABLE meeting_occurrence ADD CONSTRAINT meeting_room_no_overlap EXCLUDE USING gist ("
    "int4range(room_id, room_id, '[]') WITH &&, tstzrange(start_at, end_at, '[)') WITH &&) "
    "WHERE (room_id IS NOT NULL AND status = 'active')",
]
ROOM_GUARD_NAME = "meeting_room_double_booked"


def install_room_guard(connection: object) -> None:
    """Make overlapping active bookings of one room impossible in the database itself."""
    stmts = ROOM_GUARD_SQLITE if connection.dialect.name == "sqlite" else ROOM_GUARD_PG  # type: ignore[attr-defined]
    for stmt in stmts:
        connection.execute(DDL(stmt))  # type: ignore[attr-defined]


@event.listens_for(MeetingOccurrence.__table__, "after_create")  # type: ignore[attr-defined]  # set by SQLModel
def _after_create(_target: object, connection: object, **_kw: object) -> None:
    install_room_guard(connection)
