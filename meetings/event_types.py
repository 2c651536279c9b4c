"""办会 (meetings): meetings, sign-ups and the tasks agreed in their minutes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from office.event_types import Notice


@dataclass(frozen=True)
class MeetingCreated:
    """A meeting was confirmed: messaging makes (or updates) its group of `member_ids`."""

    type: ClassVar[str] = "meeting.created"
    recipients: ClassVar[str] = "the members (the organiser and everyone invited)"
    meeting_id: int
    title: str
    organizer_id: int
    member_ids: list[int]


@dataclass(frozen=True)
class MeetingMembersChanged:
    """A confirmed meeting's people changed after its group was made: attendees the organiser added or
    removed, an invited agency's nominees, a substitute sent or withdrawn. Messaging adds `added` to
    and removes `removed` from the meeting's group (one who declines stays: only removal takes anyone
    out). Handling it twice changes nothing."""

    type: ClassVar[str] = "meeting.members_changed"
    recipients: ClassVar[str] = "none (in-process subscribers only)"
    meeting_id: int
    added: list[int]
    removed: list[int]


@dataclass(frozen=True)
class MeetingChanged:
    """Something about a meeting changed; the meeting page and calendars refresh. `op` says what:
    `updated`, `moved`, `skipped`, `split`, `cancelled`, `approved`, `rejected`, `attendees`,
    `agenda`, `materials`, `minutes`, `rsvp` (with `user_id` and their `rsvp`) or `signin` (with
    `user_id`)."""

    type: ClassVar[str] = "meeting.changed"
    recipients: ClassVar[str] = "everyone involved (the organiser and everyone invited)"
    meeting_id: int
    op: str
    user_id: int | None = None
    rsvp: str | None = None


@dataclass(frozen=True)
class MeetingSignup:
    """Sign-up figures per invited agency changed: for each, `agency_id`, `agency`, `quota`, `named`,
    `replied` and a count per RSVP answer."""

    type: ClassVar[str] = "meeting.signup"
    recipients: ClassVar[str] = "the organiser"
    meeting_id: int
    agencies: list[dict[str, Any]]


@dataclass(frozen=True)
class TaskCreated:
    """A task agreed in the minutes was handed to the 督办 list (转督办)."""

    type: ClassVar[str] = "meeting.task_created"
    recipients: ClassVar[str] = "the task's owner and the organiser"
    task_id: int
    meeting_id: int
    meeting_title: str
    agency_id: int | None  # the meeting's agency: where ``owner_unit`` (a department's name) is looked up
    title: str
    owner_id: int | None
    owner_unit: str
    due_date: str  # YYYY-MM-DD; 转督办 needs one
    source: str


@dataclass(frozen=True)
class TaskCompleted:
    """A meeting task was done: docs_flow closes its 督办 item. Nothing in meetings marks a task
    done yet, so nothing publishes this; docs_flow subscribes to it."""

    type: ClassVar[str] = "meeting.task_completed"
    recipients: ClassVar[str] = "none (in-process subscribers only)"
    task_id: int


@dataclass(frozen=True, kw_only=True)
class MeetingNotice(Notice):
    """A 工作通知 about a meeting: an invitation, an approval request, a substitute named, a change."""

    type: ClassVar[str] = "notify.meeting"
    recipients: ClassVar[str] = "the people concerned: invitees, approvers, substitutes, attendees reminded"
    meeting_id: int


EVENT_TYPES = (
    MeetingCreated,
    MeetingMembersChanged,
    MeetingChanged,
    MeetingSignup,
    TaskCreated,
    TaskCompleted,
    MeetingNotice,
)
