"""数据填报 (tianbao): collection tasks and the units' returns.

Every change of a return's status publishes `tianbao.return` to the collecting department's members
(their board updates live), the return's filler and its reviewer (their 工作台 待填报 refreshes). A
task issued, withdrawn or closed publishes `tianbao.task` to the collecting department (on issue that
one event, not one per unit, tells the department; each new return's filler and reviewer still get theirs). 催报, the
automatic reminders and the notices of a return sent back or returned are 工作通知 (`notify.tianbao`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from office.event_types import Notice


@dataclass(frozen=True)
class ReturnChanged:
    """A unit's return changed: `status` is its status now (not_started, filling, in_review, submitted,
    returned, accepted, withdrawn), `late` whether the deadline passed before it was submitted."""

    type: ClassVar[str] = "tianbao.return"
    recipients: ClassVar[str] = "the collecting department's members, the return's filler and reviewer"
    task_id: int
    return_id: int
    unit_id: int
    status: str
    late: bool


@dataclass(frozen=True)
class TaskChanged:
    """A collection task was issued, withdrawn or closed (`op`); `status` is its status now."""

    type: ClassVar[str] = "tianbao.task"
    recipients: ClassVar[str] = "the collecting department's members"
    op: str
    task_id: int
    status: str


@dataclass(frozen=True)
class TianbaoNotice(Notice):
    """A 工作通知 about a return: a new task to fill, 催报 (sent by the collector or automatically
    after the deadline), the reminder before the deadline, a return sent back by the unit's
    reviewer or returned by the collector with comments, a task withdrawn."""

    type: ClassVar[str] = "notify.tianbao"
    recipients: ClassVar[str] = "the returns' fillers and reviewers"


EVENT_TYPES = (ReturnChanged, TaskChanged, TianbaoNotice)
