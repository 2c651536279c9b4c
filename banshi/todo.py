"""办事's 待办 source for the 工作台 (``office.todo``): requests waiting for the person's approval (or
for someone who delegated to them), and their own requests returned to them to change and resubmit.

Who has what is decided where the 办事 boxes decide it (``listing.box_cond``), so the 工作台 and the
待我审批 tab always agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from banshi.listing import box_cond
from banshi.models import ApprovalRequest, RequestStatus
from banshi.service import STATUS_LABELS
from office import policy
from office.actor import Actor
from office.todo import TodoItem
from workflow.models import TaskState, WfCase, WfTask


def _returned(actor: Actor) -> Any:
    return (col(ApprovalRequest.applicant_id) == actor.user_id) & (
        col(ApprovalRequest.status) == RequestStatus.returned
    )


def _todo(actor: Actor) -> Any:
    return or_(box_cond(actor, "todo"), _returned(actor))


class RequestSteps:
    """办事 requests at a step for the person, and the person's requests returned to them."""

    kind = "banshi"
    label = "办事"
    section = "banshi"
    events = ("banshi.task", "banshi.case", "banshi.request")

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        if not policy.can(actor, "banshi.use"):
            return 0
        stmt = select(func.count()).select_from(ApprovalRequest).where(_todo(actor))
        return int(session.exec(stmt).one())

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if not policy.can(actor, "banshi.use"):
            return []
        cond = {"todo": _todo(actor), "done": box_cond(actor, "done"), "mine": box_cond(actor, "mine")}[box]
        rows = list(
            session.exec(
                select(ApprovalRequest).where(cond).order_by(col(ApprovalRequest.updated_at).desc()).limit(limit)
            ).all()
        )
        steps = _steps(session, [r.case_id for r in rows if r.case_id]) if box == "todo" else {}
        return [self._item(r, steps.get(r.case_id or 0), actor, box) for r in rows]

    def _item(self, r: ApprovalRequest, step: Any, actor: Actor, box: str) -> TodoItem:
        name, given, due = step or ("", None, None)
        returned = r.status == RequestStatus.returned and r.applicant_id == actor.user_id
        approving = box == "todo" and not returned
        return TodoItem(
            kind=self.kind,
            key=str(r.id),
            title=r.title,
            link=f"#/banshi/r/{r.id}",
            since=(given if approving and given else r.updated_at),
            deadline=due if approving else None,
            detail=" · ".join(x for x in (r.serial, name if approving else STATUS_LABELS[r.status]) if x),
            action="审批" if approving else ("修改" if returned and box == "todo" else "查看"),
        )


def _steps(session: Session, case_ids: list[int]) -> dict[int, tuple[str, datetime | None, datetime | None]]:
    """case id -> (the current step's name, when its pending tasks were given, their earliest due time)."""
    if not case_ids:
        return {}
    names = {
        c.id: (c.route[c.current_step]["name"] if c.current_step is not None else "")
        for c in session.exec(select(WfCase).where(col(WfCase.id).in_(case_ids))).all()
    }
    pending = session.exec(
        select(WfTask.case_id, func.min(WfTask.created_at), func.min(WfTask.due_at))
        .where(col(WfTask.case_id).in_(case_ids), WfTask.state == TaskState.pending)
        .group_by(col(WfTask.case_id))
    ).all()
    given = {cid: (since, due) for cid, since, due in pending}
    return {cid: (name, *given.get(cid, (None, None))) for cid, name in names.items() if cid is not None}


SOURCES = (RequestSteps(),)
