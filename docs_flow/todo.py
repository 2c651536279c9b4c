"""办文's 待办 sources for the 工作台 (``office.todo``): 公文 steps, 收文 steps and 传阅, 督办 items due.

Who has what is decided where the 公文 and 收文 pages decide it (``worklist.pending_case_ids``,
``done_case_ids``; ``supervision.owned_by``), so the 工作台 and those pages always agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from docs_flow import incoming, service, supervision
from docs_flow.incoming_models import Circulation, CirculationReader, IncomingDocument, SupervisionItem
from docs_flow.joint_seal import JointSealTodo
from docs_flow.models import OutgoingDocument, Urgency
from office import policy
from office.actor import Actor
from office.todo import TodoItem
from workflow import worklist
from workflow.models import TaskState, WfCase, WfTask


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


def _newest(items: list[TodoItem], limit: int) -> list[TodoItem]:
    return sorted(items, key=lambda i: i.since, reverse=True)[:limit]


class DocumentSteps:
    """公文 (发文) waiting at a step for the person (or for someone who delegated to them)."""

    kind = "docs"
    label = "公文"
    section = "docs"
    events = ("docs.task", "docs.case")

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        if not policy.can(actor, "document.use"):
            return 0
        return len(worklist.pending_case_ids(session, actor.user_id, kind=service.KIND))

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if not policy.can(actor, "document.use"):
            return []
        stmt = select(OutgoingDocument)
        if box == "todo":
            case_ids = worklist.pending_case_ids(session, actor.user_id, kind=service.KIND)
            docs = session.exec(stmt.where(col(OutgoingDocument.case_id).in_(case_ids))).all()
            steps = _steps(session, case_ids)
            return _newest([self._item(d, steps.get(d.case_id or 0), d.updated_at) for d in docs], limit)
        if box == "done":
            stmt = stmt.where(
                col(OutgoingDocument.case_id).in_(worklist.done_case_ids(session, actor.user_id, kind=service.KIND))
            )
        else:
            stmt = stmt.where(OutgoingDocument.drafter_id == actor.user_id)
        docs = session.exec(stmt.order_by(col(OutgoingDocument.updated_at).desc()).limit(limit)).all()
        return [self._item(d, None, d.updated_at) for d in docs]

    def _item(self, d: OutgoingDocument, step: Any, since: datetime) -> TodoItem:
        name, given, due = step or ("", None, None)
        return TodoItem(
            kind=self.kind,
            key=str(d.id),
            title=d.title or "（无标题）",
            link=f"#/docs/{d.id}",
            since=given or since,
            deadline=due,
            detail=" · ".join(
                x for x in (d.doc_type.value, name or service.STATUS_LABELS[d.status], d.urgency.value) if x
            ),
            urgent=d.urgency != Urgency.normal,
            action="办理" if step else "查看",
        )


class IncomingSteps:
    """收文 waiting at a step for the person, and 收文 being circulated (传阅) that they hold now."""

    kind = "incoming"
    label = "收文"
    section = "docs"
    events = ("incoming.task", "incoming.case", "incoming.document", "notify.incoming")

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        if not policy.can(actor, "document.use"):
            return 0
        steps = len(worklist.pending_case_ids(session, actor.user_id, kind=incoming.KIND))
        return steps + len(session.exec(self._holding(actor)).all())

    def _holding(self, actor: Actor) -> Any:
        return (
            select(CirculationReader.received_at, IncomingDocument)
            .join(Circulation, col(Circulation.id) == CirculationReader.circulation_id)
            .join(IncomingDocument, col(IncomingDocument.id) == Circulation.incoming_id)
            .where(CirculationReader.user_id == actor.user_id, CirculationReader.state == "holding")
        )

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if not policy.can(actor, "document.use"):
            return []
        if box == "todo":
            case_ids = worklist.pending_case_ids(session, actor.user_id, kind=incoming.KIND)
            steps = _steps(session, case_ids)
            docs = session.exec(select(IncomingDocument).where(col(IncomingDocument.case_id).in_(case_ids))).all()
            out = [self._item(d, steps.get(d.case_id or 0), d.updated_at) for d in docs]
            out += [
                self._item(d, ("传阅", received, None), d.updated_at, key="read")
                for received, d in session.exec(self._holding(actor)).all()
            ]
            return _newest(out, limit)
        stmt = select(IncomingDocument)
        if box == "done":
            done = worklist.done_case_ids(session, actor.user_id, kind=incoming.KIND)
            stmt = stmt.where(col(IncomingDocument.case_id).in_(done))
        else:
            stmt = stmt.where(IncomingDocument.created_by == actor.user_id)
        docs = session.exec(stmt.order_by(col(IncomingDocument.updated_at).desc()).limit(limit)).all()
        return [self._item(d, None, d.updated_at) for d in docs]

    def _item(self, d: IncomingDocument, step: Any, since: datetime, *, key: str = "step") -> TodoItem:
        name, given, due = step or ("", None, None)
        deadline = d.deadline if d.deadline and not (due and due < d.deadline) else due
        return TodoItem(
            kind=self.kind,
            key=f"{key}:{d.id}",
            title=d.title or "（无标题）",
            link=f"#/incoming/{d.id}",
            since=given or since,
            deadline=deadline if step else None,
            detail=" · ".join(
                x for x in (d.source_agency_name, name or incoming.STATUS_LABELS[d.status], d.urgency) if x
            ),
            urgent=d.urgency in ("特急", "加急"),
            action=("阅知" if key == "read" else "办理") if step else "查看",
        )


class SupervisionDue:
    """督办 items the person owns (named, or heading the owning department) that are overdue or fall due
    within the agency's "due soon" window (the dashboard's)."""

    kind = "supervision"
    label = "督办"
    section = "docs"
    events = ("notify.supervision", "supervision.item", "incoming.case")

    def _due(self, session: Session, actor: Actor, now: datetime) -> tuple[list[Any], timedelta]:
        soon = timedelta(hours=int(supervision.get_schedule(session)["due_soon_hours"]))
        cond = [
            SupervisionItem.agency_id == actor.agency_id,
            SupervisionItem.status == "open",
            supervision.owned_by(actor),
            SupervisionItem.deadline < now + soon,
        ]
        return cond, soon

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        if not policy.can(actor, "supervision.view"):
            return 0
        cond, _ = self._due(session, actor, now)
        return int(session.exec(select(func.count()).select_from(SupervisionItem).where(*cond)).one())

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if not policy.can(actor, "supervision.view"):
            return []
        mine = [SupervisionItem.agency_id == actor.agency_id]
        if box == "todo":
            cond, soon = self._due(session, actor, now)
            rows = session.exec(select(SupervisionItem).where(*cond)).all()
            # It became a 待办 when it came due soon (or when it was made, if that was later).
            return _newest([self._item(r, max(r.created_at, r.deadline - soon)) for r in rows], limit)
        if box == "done":
            stmt = select(SupervisionItem).where(*mine, SupervisionItem.status == "done", supervision.owned_by(actor))
            stmt = stmt.order_by(col(SupervisionItem.completed_at).desc())
        else:
            stmt = select(SupervisionItem).where(*mine, SupervisionItem.created_by == actor.user_id)
            stmt = stmt.order_by(col(SupervisionItem.created_at).desc())
        return [self._item(r, r.completed_at or r.created_at) for r in session.exec(stmt.limit(limit)).all()]

    def _item(self, r: SupervisionItem, since: datetime) -> TodoItem:
        state = "已办结" if r.status == "done" else "办理中"
        return TodoItem(
            kind=self.kind,
            key=str(r.id),
            title=r.title,
            link=f"#{r.link}" if r.link.startswith("/") else "#/incoming/supervision",
            since=since,
            deadline=r.deadline if r.status == "open" else None,
            detail=f"{supervision.SOURCES.get(r.source_kind, r.source_kind)} · {state}",
            action="办理" if r.status == "open" else "查看",
        )


SOURCES = (DocumentSteps(), IncomingSteps(), SupervisionDue(), JointSealTodo())
