"""The case kind ``banshi``: what the route engine is told about 办事 requests (``workflow.case_kinds``)."""

from __future__ import annotations

from sqlmodel import Session

from banshi.models import ApprovalRequest
from banshi.service import KIND, link_of
from workflow import case_kinds
from workflow.models import WfCase


def _describe(session: Session, case: WfCase) -> tuple[str, str]:
    req = session.get(ApprovalRequest, case.subject_id)
    return (req.title if req else "办事申请"), link_of(case.subject_id)


KIND_SPEC = case_kinds.KindSpec(
    event_prefix="banshi",
    notify_type="notify.banshi",
    source="banshi",
    describe=_describe,
    # The applicant never approves their own request at any step (a 处长 asking for leave is not their
    # own 部门负责人): the engine leaves them out of every step, skips a step left with nobody, and
    # refuses 转交 and 加签 to them.
    reviews_draft=lambda _step: True,
    initiator_label="申请人",
    own_work="自己的申请",
)


def register_kind() -> None:
    """Tell the route engine about cases of kind ``banshi`` (``banshi.startup``; idempotent)."""
    case_kinds.register_kind(KIND, KIND_SPEC)
