"""公文 (docs_flow): outgoing documents, 收文, distribution and 督办.

The route engine publishes `<prefix>.task` and `<prefix>.case` for each kind of case it carries:
`docs` for outgoing documents (发文), `incoming` for 收文. docs_flow also subscribes to
`meeting.task_created` and `meeting.task_completed`: meeting tasks become supervision items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from office.event_types import Notice


@dataclass(frozen=True)
class DocsTask:
    """Someone's 待办 changed: a step of an outgoing document was given to them (`op` `add`) or
    taken away (`remove`). `subject_id` is the document's id, `kind` the route engine's case kind."""

    type: ClassVar[str] = "docs.task"
    recipients: ClassVar[str] = "the people whose 待办 changed (for `add`, their deputies too)"
    op: str
    kind: str
    case_id: int
    subject_id: int


@dataclass(frozen=True)
class DocsCase:
    """An outgoing document's route moved: `op` is the action taken, `state` the case's state now,
    `step` the name of the step it entered (null when it left the route)."""

    type: ClassVar[str] = "docs.case"
    recipients: ClassVar[str] = "the people on the document's route and its new assignees"
    op: str
    kind: str
    case_id: int
    subject_id: int
    state: str
    version: int
    step: str | None


@dataclass(frozen=True)
class IncomingTask(DocsTask):
    """`docs.task` for a 收文: `subject_id` is the incoming document's id."""

    type: ClassVar[str] = "incoming.task"
    recipients: ClassVar[str] = "the people on the 收文 route whose 待办 changed"


@dataclass(frozen=True)
class IncomingCase(DocsCase):
    """`docs.case` for a 收文: `subject_id` is the incoming document's id."""

    type: ClassVar[str] = "incoming.case"
    recipients: ClassVar[str] = "the people on the 收文 route"


@dataclass(frozen=True)
class DocumentChanged:
    """An outgoing document was edited (`op` `edit`) or given its 发文字号 (`numbered`)."""

    type: ClassVar[str] = "docs.document"
    recipients: ClassVar[str] = "the people on the route"
    op: str
    document_id: int
    version: int
    status: str


@dataclass(frozen=True)
class DocumentComment:
    """A comment was added to an outgoing document's discussion (`op` `add`)."""

    type: ClassVar[str] = "docs.comment"
    recipients: ClassVar[str] = "the people on the route, except its author"
    op: str
    document_id: int
    comment_id: int


@dataclass(frozen=True)
class Distributed:
    """An issued document was distributed (the return receipt): one receipt per recipient, with its
    `name`, the `incoming_id` of the 收文 made in the receiving agency (null outside the system) and
    its `status`."""

    type: ClassVar[str] = "docs.distributed"
    recipients: ClassVar[str] = "the drafter"
    document_id: int
    receipts: list[dict[str, Any]]


@dataclass(frozen=True)
class IncomingChanged:
    """A 收文 was registered (`op` `created`) or changed (`updated`); lists showing it refresh."""

    type: ClassVar[str] = "incoming.document"
    recipients: ClassVar[str] = (
        "whose 收文 lists show it: the agency's leaders and clerks, everyone on its route, its registrar,"
        " its lead department"
    )
    op: str
    incoming_id: int
    version: int
    status: str


@dataclass(frozen=True)
class SupervisionItem:
    """A 督办 item was escalated (`op` `escalate`) to `level`, or completed (`op` `complete`)."""

    type: ClassVar[str] = "supervision.item"
    recipients: ClassVar[str] = "the leaders it was escalated to; its owners when it is completed"
    op: str
    item_id: int
    level: int


@dataclass(frozen=True)
class DocumentNotice(Notice):
    """A 工作通知 about an outgoing document: it is waiting for you, or it was finished and archived."""

    type: ClassVar[str] = "notify.document"
    recipients: ClassVar[str] = "the next actors (and their deputies); the drafter when finished"


@dataclass(frozen=True)
class IncomingNotice(Notice):
    """A 工作通知 about a 收文 waiting for you."""

    type: ClassVar[str] = "notify.incoming"
    recipients: ClassVar[str] = "the next actors on a 收文 (and their deputies)"


@dataclass(frozen=True)
class DelegationNotice(Notice):
    """A 工作通知 that someone made you their deputy (委托) for a time."""

    type: ClassVar[str] = "notify.delegation"
    recipients: ClassVar[str] = "the deputy"


@dataclass(frozen=True)
class SupervisionNotice(Notice):
    """A 工作通知 about a 督办 item: a reminder (催办) or an escalation."""

    type: ClassVar[str] = "notify.supervision"
    recipients: ClassVar[str] = "handlers being reminded, leaders on escalation (and the owners)"


EVENT_TYPES = (
    DocsTask,
    DocsCase,
    DocumentChanged,
    DocumentComment,
    DocumentNotice,
    DelegationNotice,
    Distributed,
    IncomingTask,
    IncomingCase,
    IncomingChanged,
    IncomingNotice,
    SupervisionItem,
    SupervisionNotice,
)
