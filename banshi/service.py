"""办事 requests: what every part of a request's handling shares — the case kind's name, the statuses
and their labels, who may open a request, its case and its template, and the optimistic lock.

A request (``ApprovalRequest``) is made on its template's published version and keeps it. Drafting and
submission are in ``banshi.submission`` (values: ``banshi.request_values``; what a submission would
do: ``banshi.preview``), the actions on the route engine in ``banshi.actions``, what a transition does
to the request in ``banshi.transitions``, 抄送 and notifications in ``banshi.notices``, the case kind
the engine is told about in ``banshi.case_kind``.

``version`` on the request is the optimistic lock every change quotes (``workflow.versioning``): a
stale one gets ``Conflict`` and changes nothing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session

from banshi import visibility
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestStatus
from office.actor import Actor
from office.errors import NotFound
from workflow import versioning
from workflow.models import WfCase

KIND = "banshi"
CHINA = ZoneInfo("Asia/Shanghai")
STALE = "申请已被他人处理或修改，请刷新后重试"
STATUS_LABELS = {
    RequestStatus.draft: "草稿",
    RequestStatus.running: "审批中",
    RequestStatus.returned: "已退回",
    RequestStatus.approved: "已通过",
    RequestStatus.rejected: "已拒绝",
    RequestStatus.withdrawn: "已撤销",
}
EDITABLE = (RequestStatus.draft, RequestStatus.returned)


def link_of(request_id: int | None) -> str:
    """The web client's address of a request, as a 工作通知 link (the client opens ``#`` + it)."""
    return f"/banshi/r/{request_id}"


def access_request(session: Session, actor: Actor, request_id: int) -> ApprovalRequest:
    """The request if ``actor`` may read it (``banshi.visibility``); ``NotFound`` for missing and
    forbidden alike."""
    req = session.get(ApprovalRequest, request_id)
    if req is None or not visibility.may_read(session, actor, req):
        raise NotFound()
    return req


def case_of(session: Session, req: ApprovalRequest) -> WfCase | None:
    return session.get(WfCase, req.case_id) if req.case_id is not None else None


def template_of(session: Session, req: ApprovalRequest) -> tuple[FormTemplate, FormVersion]:
    t = session.get(FormTemplate, req.template_id)
    v = session.get(FormVersion, req.version_id)
    if t is None or v is None:
        raise NotFound()
    return t, v


def bump(session: Session, req: ApprovalRequest) -> None:
    """Write the request and move its version on (the lock every later change quotes)."""
    session.add(req)
    session.flush()
    versioning.bump(session, req, STALE)
