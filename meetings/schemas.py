"""Request shapes (validated by ``office.web.api``) and the public JSON of meetings.

Times are ISO 8601 strings that must carry a zone ("2026-03-02T09:00:00+08:00" or "...Z"): a time
without one is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from meetings.models import AttendeeRole, Rsvp
from office.web import Body


def parse_aware(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"时间格式无效：{value[:40]}（应为 ISO 8601，如 2026-03-02T09:00:00+08:00）") from None
    else:
        raise ValueError("时间应为 ISO 8601 字符串，如 2026-03-02T09:00:00+08:00")
    if parsed.tzinfo is None:
        raise ValueError("时间必须带时区（如 +08:00），不接受无时区的时间")
    return parsed.astimezone(dt.UTC)


AwareTime = Annotated[dt.datetime, BeforeValidator(parse_aware)]


class AttendeeIn(Body):
    user_id: int
    role: AttendeeRole = AttendeeRole.required


class DepartmentIn(Body):
    department_id: int
    role: AttendeeRole = AttendeeRole.required


class AgencyIn(Body):
    agency_id: int
    quota: int = Field(default=0, ge=0, le=500)
    note: str = Field(default="", max_length=500)


class MeetingCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    start: AwareTime
    end: AwareTime
    tz: str = Field(default="Asia/Shanghai", max_length=50)
    room_id: int | None = None
    online_url: str = Field(default="", max_length=500)
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=500)
    departments: list[DepartmentIn] = Field(default_factory=list, max_length=50)
    agencies: list[AgencyIn] = Field(default_factory=list, max_length=50)
    rrule: str = Field(default="", max_length=250)
    skip_holidays: bool = True
    reminders: list[int] | None = Field(default=None, max_length=5)
    remind_evening_before: bool = True
    # Idempotency key, one per booking attempt (as 办事's and chat's ``client_id``): a repeat answers
    # the meeting the first try made.
    client_id: str | None = Field(default=None, min_length=1, max_length=64)


class MeetingUpdate(Body):
    """``scope``: ``all`` the series, ``this`` one occurrence (move it), ``following`` this and later ones."""

    scope: Literal["all", "this", "following"] = "all"
    occurrence_start: AwareTime | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    start: AwareTime | None = None
    end: AwareTime | None = None
    room_id: int | None = None
    clear_room: bool = False
    online_url: str | None = Field(default=None, max_length=500)
    rrule: str | None = Field(default=None, max_length=250)
    reminders: list[int] | None = Field(default=None, max_length=5)


class OccurrenceSkip(Body):
    occurrence_start: AwareTime


class AttendeesAdd(Body):
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=500)
    departments: list[DepartmentIn] = Field(default_factory=list, max_length=50)


class RsvpIn(Body):
    status: Rsvp
    reason: str = Field(default="", max_length=500)
    substitute_id: int | None = None


class Nominate(Body):
    user_ids: list[int] = Field(min_length=1, max_length=200)
    role: AttendeeRole = AttendeeRole.required


class Decision(Body):
    approve: bool
    comment: str = Field(default="", max_length=500)


class CancelIn(Body):
    reason: str = Field(default="", max_length=500)


class DraftCheck(Body):
    """What the booking form asks while the clerk types: who is busy, which rooms are free."""

    start: AwareTime
    end: AwareTime
    tz: str = Field(default="Asia/Shanghai", max_length=50)
    rrule: str = Field(default="", max_length=250)
    skip_holidays: bool = True
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=500)
    departments: list[DepartmentIn] = Field(default_factory=list, max_length=50)
    exclude_meeting_id: int | None = None


class SlotQuery(Body):
    user_ids: list[int] = Field(default_factory=list, max_length=500)
    department_ids: list[int] = Field(default_factory=list, max_length=50)
    duration_minutes: int = Field(ge=5, le=24 * 60)
    window_start: AwareTime
    window_end: AwareTime
    need_room: bool = True
    min_capacity: int | None = Field(default=None, ge=1, le=10000)
    equipment: list[str] = Field(default_factory=list, max_length=10)
    room_ids: list[int] = Field(default_factory=list, max_length=100)
    limit: int = Field(default=5, ge=1, le=50)
    tz: str = Field(default="Asia/Shanghai", max_length=50)


class RoomIn(Body):
    name: str = Field(min_length=1, max_length=100)
    location: str = Field(default="", max_length=200)
    capacity: int = Field(ge=1, le=10000)
    equipment: list[Annotated[str, Field(max_length=30)]] = Field(default_factory=list, max_length=20)
    open_from: str = Field(default="08:00", pattern=r"^\d{2}:\d{2}$")
    open_to: str = Field(default="22:00", pattern=r"^\d{2}:\d{2}$")
    approval_required: bool = False
    approver_ids: list[int] = Field(default_factory=list, max_length=20)
    agency_id: int | None = None


class RoomUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    location: str | None = Field(default=None, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=10000)
    equipment: list[Annotated[str, Field(max_length=30)]] | None = Field(default=None, max_length=20)
    open_from: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    open_to: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    approval_required: bool | None = None
    approver_ids: list[int] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class BlockIn(Body):
    start: AwareTime
    end: AwareTime
    reason: str = Field(default="", max_length=200)


class CalendarDayIn(Body):
    date: str = Field(max_length=10)
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=50)


class CalendarYear(Body):
    days: list[CalendarDayIn] = Field(max_length=366)


class AgendaItemIn(Body):
    title: str = Field(min_length=1, max_length=200)
    presenter_id: int | None = None
    presenter_name: str = Field(default="", max_length=100)
    start_minute: int = Field(default=0, ge=0, le=24 * 60)
    duration_minutes: int = Field(default=15, ge=1, le=24 * 60)


class AgendaIn(Body):
    items: list[AgendaItemIn] = Field(max_length=100)


class LinkIn(Body):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=1000)


class SignInBody(Body):
    code: str | None = Field(default=None, max_length=12)


class DecisionItem(Body):
    text: str = Field(min_length=1, max_length=2000)
    unit: str = Field(default="", max_length=100)
    due: str = Field(default="", max_length=50)


class TaskIn(Body):
    id: int | None = None
    title: str = Field(min_length=1, max_length=500)
    owner_id: int | None = None
    owner_unit: str = Field(default="", max_length=100)
    due_date: dt.date | None = None


class MinutesIn(Body):
    issuer_name: str = Field(default="", max_length=100)
    number: str = Field(default="", max_length=30)
    host_name: str = Field(default="", max_length=50)
    recorder_name: str = Field(default="", max_length=50)
    topics: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=50)
    summary: str = Field(default="", max_length=20000)
    decisions: list[DecisionItem] = Field(default_factory=list, max_length=100)
    sitting_in: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)
    distribution: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    issue_date: dt.date | None = None
    tasks: list[TaskIn] = Field(default_factory=list, max_length=100)
