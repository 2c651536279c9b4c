"""The request's side of a route engine ``Transition``: its status, 抄送 after a step and at the end,
the built-in form's ``approved`` hook and the system's proof (``banshi.proof``) on final approval, and
the applicant's 工作通知 of a decision."""

from __future__ import annotations

import importlib

from sqlmodel import Session

from banshi import behaviours, notices
from banshi.models import ApprovalRequest, FormTemplate, RequestStatus
from banshi.service import STATUS_LABELS
from office.db import utcnow
from workflow.case_kinds import Transition


def apply(session: Session, req: ApprovalRequest, t: FormTemplate, tr: Transition) -> None:
    """What ``tr`` does to the request ``req`` (of template ``t``)."""
    case = tr.case
    if tr.completed_step is not None:
        after = case.context.get("cc_after") or {}
        notices.cc(session, req, after.get(tr.completed_step["key"], []), tr.completed_step["key"])
    decision = ""
    if tr.action == "terminate":
        req.status, req.finished_at = RequestStatus.rejected, utcnow()
        decision = f"{tr.actor.name} 拒绝了您的申请"
    elif tr.finished:
        req.status, req.finished_at = RequestStatus.approved, utcnow()
        notices.cc(session, req, case.context.get("cc_end") or [], "end")
        behaviour = behaviours.behaviour_for(t)
        if behaviour is not None:
            behaviour.approved(session, req)
        _sign(session, req)
        decision = "您的申请已审批通过"
    elif tr.action == "return":
        if tr.entered_step is None:
            req.status = RequestStatus.returned  # the engine's 工作通知 already tells the applicant
        else:
            decision = f"{tr.actor.name} 退回至“{tr.entered_step['name']}”"
    elif tr.action == "withdraw":
        req.status, req.finished_at = RequestStatus.withdrawn, utcnow()
    elif tr.action == "approve" and tr.step is not None:
        decision = f"{tr.actor.name} 已同意（{tr.step['name']}）"
    req.updated_at = utcnow()
    session.add(req)
    if decision and req.applicant_id != tr.actor.user_id:
        notices.notify(session, [req.applicant_id], f"{STATUS_LABELS[req.status]}：{req.title}", decision, req)


def _sign(session: Session, req: ApprovalRequest) -> None:
    """The system's signature over the approved request (``banshi.proof``, when installed)."""
    try:
        proof = importlib.import_module("banshi.proof")
    except ModuleNotFoundError as exc:
        if exc.name != "banshi.proof":
            raise
        return
    proof.sign_request(session, req)
