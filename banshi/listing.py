"""What the 办事 pages show: the four boxes (待我审批, 我已审批, 我发起的, 抄送我的) with filters and
keyset pagination, their counts, and one request's page.

Every list is also held to ``visibility.readable_cond``, the same condition the detail asks, so a list
never shows what the page would refuse. Pagination is by id, newest first: ``cursor`` is the last id
of the previous page, so a page costs an index range scan however deep it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, union
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from banshi import behaviours, fields, files, visibility
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestCc, RequestStatus
from banshi.service import CHINA, EDITABLE, KIND, STATUS_LABELS, case_of
from office.actor import Actor
from office.errors import NotFound, ValidationError
from office.jsonin import is_digits
from office.models import Department, User
from office.timefmt import iso
from workflow import route_view, tasks
from workflow.delegation import standing_in
from workflow.models import CaseState, TaskState, WfCase, WfTask

BOXES = ("todo", "done", "mine", "cc")
ACTED = (TaskState.approved, TaskState.returned, TaskState.transferred)
# The request as 待我审批's task lists reach it (made once: a new alias each call cost every list, and
# every badge count, a quarter of its CPU building the alias's column expressions again).
_TODO_REQUEST = aliased(ApprovalRequest, name="todo_request")


def box_cond(actor: Actor, box: str) -> Any:
    """The condition on ``ApprovalRequest`` of one box for ``actor``."""
    me = actor.user_id
    if box == "todo":  # a pending task of theirs, or of someone who delegated to them (``todo_ids``)
        return and_(col(ApprovalRequest.id).in_(todo_ids(actor)), col(ApprovalRequest.status) == RequestStatus.running)

    if box == "done":  # they acted, on their own task or as a deputy while that 委托 runs
        acted = (
            select(WfTask.case_id)
            .join(WfCase, col(WfCase.id) == WfTask.case_id)
            .where(
                or_(col(WfTask.assignee_id) == me, and_(col(WfTask.acted_by_id) == me, standing_in(me))),
                col(WfTask.state).in_(ACTED),
                WfCase.kind == KIND,
            )
        )
        return col(ApprovalRequest.case_id).in_(acted)
    if box == "mine":
        return col(ApprovalRequest.applicant_id) == me
    return col(ApprovalRequest.id).in_(select(RequestCc.request_id).where(RequestCc.user_id == me))


def todo_ids(actor: Actor) -> Any:
    """待我审批's request ids: a pending task of the person's, or of someone whose 委托 to them runs now, on a
    running request of their agency. Found from the tasks (``ix_wf_task_assignee_state``, which holds the
    case id), then the request through ``ix_bs_request_case`` (case, status, agency: the request's row is
    not read). ``case_id + 0`` keeps SQLite from starting at wf_case (through ix_wf_case_state) for the
    deputy's list, ``coalesce(status)`` and ``agency_id + 0`` from starting at every running request or
    every request of the agency (SQLite has no statistics): seconds a page at 10^6 requests."""
    me, req = actor.user_id, _TODO_REQUEST
    if actor.agency_id is None:
        return select(req.id).where(false())

    def pending(whose: Any) -> Any:
        return (
            select(req.id)
            .join(WfTask, col(WfTask.case_id) == req.case_id)
            .join(WfCase, col(WfCase.id) == col(WfTask.case_id) + 0)
            .where(
                whose,
                WfTask.state == TaskState.pending,
                WfCase.kind == KIND,
                WfCase.state == CaseState.running,
                func.coalesce(req.status, req.status) == RequestStatus.running,
                req.agency_id + 0 == actor.agency_id,
            )
        )

    return union(pending(col(WfTask.assignee_id) == me), pending(standing_in(me)))


def page_cond(session: Session, actor: Actor, box: str) -> Any:
    """A box's rows that ``actor`` may read: ``box_cond`` and ``visibility.readable_cond``.

    For 待我审批 the box already is one of the reading rule's grounds: a pending task of theirs, or of a
    principal whose 委托 to them runs now (``worklist.on_route_cond``), so only the rule's agency term is
    added. The whole rule built, for every page, the list of every task the person ever had: for a
    分管领导 with 20,000 tasks at 10^6 requests three quarters of the page's work (165k against 45k
    thousand SQLite instructions, the same rows)."""
    if box == "todo":
        return and_(box_cond(actor, box), visibility.of_agency(actor))
    return and_(box_cond(actor, box), visibility.readable_cond(session, actor))


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} 必须是 YYYY-MM-DD 格式的日期", code="bad_query", field=name) from None


def list_requests(
    session: Session,
    actor: Actor,
    *,
    box: str,
    template_id: int | None = None,
    status: str = "",
    q: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: str = "",
    limit: int = 20,
) -> dict[str, Any]:
    """One page of a box, newest first, with the filters; ``next_cursor`` is null on the last page."""
    if box not in BOXES:
        raise ValidationError("box 只能是 todo / done / mine / cc", code="bad_query", field="box")
    if cursor and (not is_digits(cursor) or len(cursor) > 12):
        raise ValidationError("cursor 无效", code="bad_query", field="cursor")
    if box == "todo" and not (template_id is not None or status or q.strip() or date_from or date_to):
        return _todo_page(session, actor, cursor=int(cursor) if cursor else None, limit=limit)
    stmt = select(ApprovalRequest).where(page_cond(session, actor, box))
    if template_id is not None:
        stmt = stmt.where(ApprovalRequest.template_id == template_id)
    if status:
        if status not in RequestStatus.__members__:
            raise ValidationError("状态无效", code="bad_query", field="status")
        stmt = stmt.where(ApprovalRequest.status == RequestStatus(status))
    q = q.strip()[:100]
    if q:
        stmt = stmt.where(
            or_(
                col(ApprovalRequest.title).contains(q, autoescape=True),  # % and _ are what they say
                col(ApprovalRequest.serial).startswith(q, autoescape=True),
            )
        )
    if date_from:
        start = datetime.combine(_day(date_from, "date_from"), time(), CHINA)
        stmt = stmt.where(col(ApprovalRequest.submitted_at) >= start)
    if date_to:
        end = datetime.combine(_day(date_to, "date_to") + timedelta(days=1), time(), CHINA)
        stmt = stmt.where(col(ApprovalRequest.submitted_at) < end)
    if cursor:
        stmt = stmt.where(col(ApprovalRequest.id) < int(cursor))
    rows = list(session.exec(stmt.order_by(col(ApprovalRequest.id).desc()).limit(limit + 1)).all())
    return _page(session, actor, rows, limit)


def _page(
    session: Session, actor: Actor, rows: list[ApprovalRequest], limit: int, todo: int | None = None
) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": items_public(session, rows),
        "next_cursor": str(rows[-1].id) if more and rows else None,
        "counts": counts(session, actor, todo=todo),
    }


def _todo_page(session: Session, actor: Actor, *, cursor: int | None, limit: int) -> dict[str, Any]:
    """待我审批 without filters: the box's request ids found once, newest first; the badge counts them and
    the page is cut from them. The page and the badge each found them from the person's tasks before:
    for a 分管领导 with thousands waiting, the same task, case and request rows read twice a page."""
    found = todo_ids(actor).subquery()
    ids = session.exec(select(found.c.id).order_by(found.c.id.desc())).all()
    after = [i for i in ids if i is not None and (cursor is None or i < cursor)][: limit + 1]
    rows = session.exec(
        select(ApprovalRequest).where(col(ApprovalRequest.id).in_(after)).order_by(col(ApprovalRequest.id).desc())
    ).all()
    return _page(session, actor, list(rows), limit, todo=len(ids))


def counts(session: Session, actor: Actor, *, todo: int | None = None) -> dict[str, int]:
    """待我审批 and unread 抄送我的, for the tabs' badges (``todo``: the 待我审批 count when the caller has
    it already)."""
    if todo is None:
        todo = session.exec(
            select(func.count())
            .select_from(ApprovalRequest)
            # Counted from the person's tasks, not from every request of the agency (``of_agency``).
            .where(page_cond(session, actor, "todo"))
        ).one()
    unread = session.exec(
        select(func.count())
        .select_from(RequestCc)
        .where(RequestCc.user_id == actor.user_id, col(RequestCc.read_at).is_(None))
    ).one()
    return {"todo": int(todo), "cc_unread": int(unread)}


def summary(req: ApprovalRequest) -> str:
    """A line for the lists: the amount and the dates, as the summary columns hold them."""
    parts = []
    if req.amount_fen is not None:
        parts.append(f"¥{req.amount_fen / 100:,.2f}")
    if req.start_date is not None:
        end = f" 至 {req.end_date.isoformat()}" if req.end_date and req.end_date != req.start_date else ""
        parts.append(req.start_date.isoformat() + end)
    if req.days is not None:
        parts.append(f"{req.days:g} 天")
    return " · ".join(parts)


def items_public(session: Session, rows: list[ApprovalRequest]) -> list[dict[str, Any]]:
    tids = {r.template_id for r in rows}
    uids = {r.applicant_id for r in rows}
    dids = {r.applicant_dept_id for r in rows if r.applicant_dept_id}
    cids = {r.case_id for r in rows if r.case_id}
    tnames = dict(session.exec(select(FormTemplate.id, FormTemplate.name).where(col(FormTemplate.id).in_(tids))).all())
    # 批量同意 goes by the version a request was made with (``service.batch_approve`` asks the same).
    vids = {r.version_id for r in rows}
    batch = {
        vid: batch_allowed(options)
        for vid, options in session.exec(
            select(FormVersion.id, FormVersion.options).where(col(FormVersion.id).in_(vids))
        ).all()
    }
    unames = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(uids))).all())
    dnames = dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(dids))).all())
    steps = {c.id: running_step(c) for c in session.exec(select(WfCase).where(col(WfCase.id).in_(cids))).all()}
    return [
        item_public(
            r,
            template_name=tnames.get(r.template_id, ""),
            batch=batch.get(r.version_id, False),
            applicant_name=unames.get(r.applicant_id, ""),
            department_name=dnames.get(r.applicant_dept_id or 0, ""),
            current_step=steps.get(r.case_id or 0),
        )
        for r in rows
    ]


def item_public(
    r: ApprovalRequest,
    *,
    template_name: str,
    batch: bool,
    applicant_name: str,
    department_name: str,
    current_step: str | None,
) -> dict[str, Any]:
    """One request as the lists show it, from what the caller has read (``items_public`` for a page of
    them; the submission writer for the request it has just written, from what it holds)."""
    return {
        "id": r.id,
        "serial": r.serial,
        "title": r.title,
        "template": {"id": r.template_id, "name": template_name},
        "applicant": {"id": r.applicant_id, "name": applicant_name, "department": department_name},
        "status": r.status.value,
        "status_label": STATUS_LABELS[r.status],
        "current_step": current_step,
        "submitted_at": iso(r.submitted_at),
        "finished_at": iso(r.finished_at),
        "summary": summary(r),
        "version": r.version,
        "batch": batch,
    }


def batch_allowed(options: Mapping[str, Any] | None) -> bool:
    """Whether a form version's requests may be approved in a batch (批量同意)."""
    return bool((options or {}).get("batch"))


def running_step(case: WfCase | None) -> str | None:
    """The name of the step a case is at, while it runs (the lists' 当前环节)."""
    if case is None or case.current_step is None or case.state != CaseState.running:
        return None
    return str(case.route[case.current_step]["name"])


# One request ---------------------------------------------------------------------------------------


def request_detail(session: Session, actor: Actor, req: ApprovalRequest) -> dict[str, Any]:
    """The request's page for ``actor`` (who may read it: ``service.access_request``): the fields and
    values they may see, the route with who did what, the buttons they have, 抄送, files and proof."""
    t = session.get(FormTemplate, req.template_id)
    v = session.get(FormVersion, req.version_id)
    if t is None or v is None:
        raise NotFound()
    steps_seen, offices, full = visibility.fields_seen(session, actor, req)
    values = fields.visible_values(v.fields, req.values, steps_seen=steps_seen, offices=offices, full=full)
    case = case_of(session, req)
    applicant = session.get(User, req.applicant_id)
    dept = session.get(Department, req.applicant_dept_id) if req.applicant_dept_id else None
    behaviour = behaviours.behaviour_for(t)
    return {
        "id": req.id,
        "serial": req.serial,
        "title": req.title,
        "status": req.status.value,
        "status_label": STATUS_LABELS[req.status],
        "template": {"id": t.id, "name": t.name, "builtin": t.builtin, "version_no": v.no},
        "fields": fields.visible_fields(v.fields, steps_seen=steps_seen, offices=offices, full=full),
        "values": values,
        "applicant": {
            "id": req.applicant_id,
            "name": applicant.name if applicant else "",
            "department": dept.name if dept else "",
        },
        "route": route_view.route_picture(session, case) if case is not None and req.submitted_at else None,
        "skipped": (case.context.get("skipped") or []) if case is not None else [],
        "actions": actions_for(session, actor, req, case),
        "return_targets": _return_targets(session, actor, case),
        "cc": _cc(session, req),
        "files": files.files_of(session, actor, req),
        "proof": req.proof or None,
        "info": behaviour.info(session, actor, req) if behaviour is not None else {},
        "version": req.version,
        "links": _links(session, actor, v.fields, values),
        "created_at": iso(req.created_at),
        "submitted_at": iso(req.submitted_at),
        "finished_at": iso(req.finished_at),
    }


def actions_for(session: Session, actor: Actor, req: ApprovalRequest, case: WfCase | None) -> list[str]:
    """The buttons ``actor`` has on the request now (the server checks each again when pressed)."""
    mine = actor.user_id == req.applicant_id
    if req.status in EDITABLE:
        return ["save", "submit"] if mine else []
    if req.status != RequestStatus.running or case is None:
        return []
    out = [a for a in tasks.allowed_actions(session, case, actor) if a != "submit"]
    if "approve" in out:
        out.insert(out.index("approve") + 1, "reject")
    if mine:
        out.append("urge")
    return out


def _return_targets(session: Session, actor: Actor, case: WfCase | None) -> list[dict[str, str]]:
    if case is None or tasks.my_task(session, case, actor) is None:
        return []
    return [{"key": k, "name": n} for k, n in tasks.return_targets(session, case)]  # "draft": 申请人 (KindSpec)


def _cc(session: Session, req: ApprovalRequest) -> list[dict[str, Any]]:
    rows = session.exec(
        select(RequestCc.user_id, RequestCc.stage, User.name)
        .join(User, col(User.id) == RequestCc.user_id)
        .where(RequestCc.request_id == req.id)
        .order_by(col(RequestCc.id))
    ).all()
    return [{"id": u, "name": n, "stage": s} for u, s, n in rows]


def _links(
    session: Session, actor: Actor, field_defs: list[dict[str, Any]], values: dict[str, Any]
) -> list[dict[str, Any]]:
    """The requests and 公文 the form links to that the reader may open (others are not named)."""
    out = []
    for f in field_defs:
        value = values.get(f["key"])
        if f["type"] != "link" or not isinstance(value, dict) or not isinstance(value.get("id"), int):
            continue
        title = _link_title(session, actor, str(value.get("kind")), value["id"])
        if title is not None:
            out.append({"kind": value.get("kind"), "id": value["id"], "title": title})
    return out


def _link_title(session: Session, actor: Actor, kind: str, target_id: int) -> str | None:
    if kind == "request":
        other = session.get(ApprovalRequest, target_id)
        return other.title if other is not None and visibility.may_read(session, actor, other) else None
    if kind == "document":
        from docs_flow.service import access_document

        try:
            return access_document(session, actor, target_id).title
        except NotFound:
            return None
    return None
