"""办事 (banshi): requests on the route engine.

The route engine publishes `banshi.task` and `banshi.case` for cases of kind `banshi` (the same
payloads as `docs.task` / `docs.case`, `subject_id` being the request's id), and `notify.banshi`
(a 工作通知 with the link `/banshi/r/<id>`) to each new approver. The service adds `banshi.request`
when a request's status changes, and a `notify.banshi` to the applicant at each decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from office.event_types import Notice


@dataclass(frozen=True)
class BanshiTask:
    """Someone's 待我审批 changed: a step of a request was given to them (`op` `add`) or taken away
    (`remove`). `subject_id` is the request's id, `kind` the route engine's case kind (`banshi`)."""

    type: ClassVar[str] = "banshi.task"
    recipients: ClassVar[str] = "the people whose 待办 changed (for `add`, their deputies too)"
    op: str
    kind: str
    case_id: int
    subject_id: int


@dataclass(frozen=True)
class BanshiCase:
    """A request's route moved: `op` is the action taken, `state` the case's state now, `step` the
    name of the step it entered (null when it left the route)."""

    type: ClassVar[str] = "banshi.case"
    recipients: ClassVar[str] = "the applicant, the people on the request's route and its new assignees"
    op: str
    kind: str
    case_id: int
    subject_id: int
    state: str
    version: int
    step: str | None


@dataclass(frozen=True)
class RequestChanged:
    """A request was created, saved, submitted or decided: `op` says which (`create`, `save`,
    `submit`, `approve`, `reject`, `return`, `withdraw`, `transfer`, `add_signer`, `cc`), `status`
    is the request's status now."""

    type: ClassVar[str] = "banshi.request"
    recipients: ClassVar[str] = "the applicant, the people on its route and those copied (抄送)"
    op: str
    request_id: int
    status: str


@dataclass(frozen=True)
class BanshiNotice(Notice):
    """A 工作通知 about a request: it waits for your approval, it was decided (the applicant), or
    it was copied to you (抄送)."""

    type: ClassVar[str] = "notify.banshi"
    recipients: ClassVar[str] = "the next approvers (and their deputies), the applicant, the people copied"


EVENT_TYPES = (BanshiTask, BanshiCase, RequestChanged, BanshiNotice)
