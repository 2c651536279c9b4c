"""数据填报's 待办 source for the 工作台 (``office.todo``): the person's returns to fill (未开始,
填报中, 已退回) and the returns waiting for their review (审核中), of tasks still open. Who has what is
``returns.todo_cond``, the same condition as the 待填报 tab, so the two always agree. The list
refreshes after ``tianbao.return``, which every change of a return sends its filler and reviewer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from office import policy
from office.actor import Actor
from office.todo import TodoItem
from tianbao import returns
from tianbao.models import CollectTask, ReturnStatus, UnitReturn


def _base(cond: Any) -> Any:
    return select(UnitReturn, CollectTask).join(CollectTask, col(CollectTask.id) == UnitReturn.task_id).where(cond)


class Returns:
    kind = "tianbao"
    label = "数据填报"
    section = "tianbao"
    events = ("tianbao.return",)

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        if not policy.can(actor, "tianbao.use"):
            return 0
        stmt = (
            select(func.count())
            .select_from(UnitReturn)
            .join(CollectTask, col(CollectTask.id) == UnitReturn.task_id)
            .where(returns.todo_cond(actor))
        )
        return int(session.exec(stmt).one())

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if not policy.can(actor, "tianbao.use") or box == "mine":
            return []
        cond = returns.todo_cond(actor) if box == "todo" else returns.mine_cond(actor) & ~returns.todo_cond(actor)
        order = col(CollectTask.deadline) if box == "todo" else col(UnitReturn.updated_at).desc()
        rows = session.exec(_base(cond).order_by(order, col(UnitReturn.id)).limit(limit)).all()
        return [self._item(r, t, actor, box) for r, t in rows]

    def _item(self, r: UnitReturn, t: CollectTask, actor: Actor, box: str) -> TodoItem:
        reviewing = r.status == ReturnStatus.in_review and r.reviewer_id == actor.user_id
        verb = "审核" if reviewing else ("修改" if r.status == ReturnStatus.returned else "填报")
        return TodoItem(
            kind=self.kind,
            key=str(r.id),
            title=t.title,
            link=f"#/tianbao/returns/{r.id}",
            since=(t.issued_at or r.updated_at) if box == "todo" else r.updated_at,
            deadline=t.deadline if box == "todo" else None,
            detail=returns.STATUS_LABELS[r.status],
            action=verb if box == "todo" else "查看",
        )


SOURCES = (Returns(),)
