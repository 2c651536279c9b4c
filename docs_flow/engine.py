"""A generic route engine: cases, steps, tasks. No HTTP, no documents.

A *case* (``WfCase``) runs along a snapshot of ordered steps. Each step names who acts::

    {"key": "sign", "name": "机关领导签发", "mode": "any" | "all", "can_edit": bool,
     "deadline_hours": int | None, "next": "<key>" (optional jump), "allow_add_signer": bool,
     "actor": {"kind": "user", "user_ids": [..]}
            | {"kind": "role", "role": "leader", "department_id": int | None}   # None: agency-wide
            | {"kind": "drafter_head"} | {"kind": "drafter"}
            | {"kind": "context_departments", "role": "dept_head", "key": "countersign_department_ids"},
     ...any other keys (e.g. "tag") are the subject's business and pass through untouched}

When a step starts, its actors are resolved against the directory and each gets a pending task.
An "any" step completes when one of them approves (the others' tasks are cancelled); an "all" step
(parallel 会签) when every one has. People added by 加签 must always approve. A step whose
``context_departments`` list is empty is skipped. The initiator never reviews their own draft: at a
``drafter_head`` step (or one the kind's ``reviews_draft`` names) they are left out, and the step is
skipped if that leaves nobody.

委托 (delegation): while it runs, a deputy of the same agency who holds the principal's step roles
acts on the principal's tasks and reads their cases; when it ends, so does what it gave.

Every transition checks who and which state, bumps the case's ``version`` (optimistic lock: a
caller quoting a stale version gets ``Conflict`` and nothing changes), appends to the route
history and the audit log, and publishes events through the case kind's ``KindSpec`` so the next
actors are notified. Subject-specific rules (what a 签发 step means for a document) live with the
subject's service, which inspects the returned ``Transition``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from docs_flow.models import CaseState, TaskState, WfCase, WfDelegation, WfHistory, WfTask
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.directory.service import users_with_role
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import ROLE_LABELS, Department, Post, Role, User, UserRole

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ACTOR_KINDS = {"user", "role", "drafter_head", "drafter", "context_departments"}
MAX_STEPS = 30
ACTIONS = ("submit", "approve", "return", "withdraw", "transfer", "add_signer", "terminate")


@dataclass(frozen=True)
class KindSpec:
    """How a case kind talks to people: event type prefix, notification type and wording."""

    event_prefix: str  # e.g. "docs": publishes "docs.task" and "docs.case"
    notify_type: str  # e.g. "notify.document"
    source: str  # e.g. "docs_flow"
    describe: Callable[[Session, WfCase], tuple[str, str]]  # -> (title, link)
    # Steps that review the initiator's draft besides 核稿 by the drafter's head: the initiator is never
    # an actor there (see ``_enter``).
    reviews_draft: Callable[[dict[str, Any]], bool] = lambda _step: False


_kinds: dict[str, KindSpec] = {}


def register_kind(kind: str, spec: KindSpec) -> None:
    _kinds[kind] = spec


@dataclass
class Transition:
    """What an action did, for the subject's service to react to (hooks, status, events)."""

    case: WfCase
    action: str
    actor: Actor
    on_behalf_of: int | None = None
    step: dict[str, Any] | None = None  # the step acted on
    completed_step: dict[str, Any] | None = None  # set when the action completed that step
    entered_step: dict[str, Any] | None = None  # the step now current, if it changed
    finished: bool = False
    new_assignees: list[int] = field(default_factory=list)
    removed_assignees: list[int] = field(default_factory=list)
    task: WfTask | None = None


# Route validation ----------------------------------------------------------------------------------


def validate_route(steps: Any) -> list[dict[str, Any]]:
    """Check a route's shape: at least one step, unique keys, known actor kinds and modes, jumps
    only forward to existing steps, and every step reachable from the first. Returns a cleaned copy."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError("流程至少需要一个步骤", code="route_empty")
    if len(steps) > MAX_STEPS:
        raise ValidationError(f"流程步骤不能超过 {MAX_STEPS} 个", code="route_too_long")
    cleaned = [_clean_step(i, s) for i, s in enumerate(steps)]
    index = {s["key"]: i for i, s in enumerate(cleaned)}
    if len(index) != len(cleaned):
        raise ValidationError("步骤标识（key）不能重复", code="duplicate_step_key")
    for i, s in enumerate(cleaned):
        target = s.get("next")
        if target is None:
            continue
        if target not in index:
            raise ValidationError(f"步骤“{s['name']}”跳转到不存在的步骤 {target}", code="unknown_step")
        if index[target] <= i:
            raise ValidationError(f"步骤“{s['name']}”不能跳回前面的步骤（退回请用“退回”操作）", code="route_cycle")
    reached, i = set(), 0
    while i < len(cleaned):
        reached.add(i)
        nxt = cleaned[i].get("next")
        i = index[nxt] if nxt else i + 1
    unreachable = [cleaned[j]["name"] for j in range(len(cleaned)) if j not in reached]
    if unreachable:
        raise ValidationError(
            f"以下步骤永远不会被执行：{'、'.join(unreachable)}", code="unreachable_step", steps=unreachable
        )
    return cleaned


def _clean_step(i: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationError(f"第 {i + 1} 步格式错误", code="bad_step")
    step = dict(raw)
    name = str(step.get("name") or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(f"第 {i + 1} 步缺少名称（或超过 100 字）", code="bad_step")
    step["name"] = name
    key = step.get("key") or f"s{i + 1}"
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationError(f"步骤“{name}”的标识只能用小写字母、数字和下划线", code="bad_step")
    step["key"] = key
    step["mode"] = step.get("mode") or "any"
    if step["mode"] not in ("any", "all"):
        raise ValidationError(f"步骤“{name}”的办理方式只能是 any（一人办理）或 all（全部会签）", code="bad_step")
    step["can_edit"] = bool(step.get("can_edit", False))
    step["allow_add_signer"] = bool(step.get("allow_add_signer", False))
    hours = step.get("deadline_hours")
    if hours is not None and (not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 8760):
        raise ValidationError(f"步骤“{name}”的办理时限必须是 1–8760 小时", code="bad_step")
    step["deadline_hours"] = hours
    step["actor"] = _clean_actor(name, step.get("actor"))
    return step


def _clean_actor(name: str, actor: Any) -> dict[str, Any]:
    if not isinstance(actor, dict) or actor.get("kind") not in ACTOR_KINDS:
        raise ValidationError(f"步骤“{name}”没有指定办理人（角色、指定人员或拟稿处室负责人）", code="bad_actor")
    kind = actor["kind"]
    if kind == "user":
        ids = actor.get("user_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(u, int) and not isinstance(u, bool) for u in ids):
            raise ValidationError(f"步骤“{name}”需要至少一名指定人员", code="bad_actor")
        return {"kind": kind, "user_ids": sorted(set(ids))}
    if kind in ("role", "context_departments"):
        try:
            role = Role(actor.get("role"))
        except ValueError:
            raise ValidationError(f"步骤“{name}”的角色无效", code="bad_actor") from None
        out: dict[str, Any] = {"kind": kind, "role": role.value}
        if kind == "role":
            dept = actor.get("department_id")
            if dept is not None and (not isinstance(dept, int) or isinstance(dept, bool)):
                raise ValidationError(f"步骤“{name}”的部门无效", code="bad_actor")
            out["department_id"] = dept
        else:
            out["key"] = str(actor.get("key") or "countersign_department_ids")
        return out
    return {"kind": kind}


def check_route_people(session: Session, agency_id: int, steps: list[dict[str, Any]]) -> None:
    """Static actor references must exist in the agency and name someone who can act."""
    for s in steps:
        a = s["actor"]
        if a["kind"] == "user":
            users = session.exec(select(User).where(col(User.id).in_(a["user_ids"]))).all()
            active = {u.id for u in users if u.is_active}
            inside = set(
                session.exec(
                    select(Post.user_id)
                    .join(Department, Department.id == Post.department_id)  # type: ignore[arg-type]
                    .where(Department.agency_id == agency_id, col(Post.user_id).in_(a["user_ids"]))
                ).all()
            )
            missing = [u for u in a["user_ids"] if u not in active or u not in inside]
            if missing:
                raise ValidationError(f"步骤“{s['name']}”指定的人员不存在、已停用或不属于本机关", code="bad_actor")
        elif a["kind"] == "role":
            dept_id = a.get("department_id")
            if dept_id is not None:
                dept = session.get(Department, dept_id)
                if dept is None or dept.agency_id != agency_id:
                    raise ValidationError(f"步骤“{s['name']}”的部门不属于本机关", code="bad_actor")
            if not users_with_role(session, Role(a["role"]), agency_id=agency_id, department_id=dept_id):
                raise ValidationError(f"步骤“{s['name']}”找不到具有该角色的人员，流程无法到达后续步骤", code="no_actor")


# Case lifecycle ------------------------------------------------------------------------------------


def create_case(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    subject_id: int,
    agency_id: int | None,
    route: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> WfCase:
    """A draft case holding a validated snapshot of ``route``."""
    if kind not in _kinds:
        raise RuntimeError(f"unregistered case kind {kind!r}")
    case = WfCase(
        kind=kind,
        subject_id=subject_id,
        agency_id=agency_id,
        initiator_id=actor.user_id,
        initiator_dept_id=actor.department_id,
        route=validate_route(route),
        context=dict(context or {}),
    )
    session.add(case)
    session.flush()
    _history(session, case, actor, "create", None)
    return case


def get_case(session: Session, case_id: int) -> WfCase:
    case = session.get(WfCase, case_id)
    if case is None:
        raise NotFound()
    return case


def submit(
    session: Session, actor: Actor, case: WfCase, *, opinion: str = "", expected_version: int | None = None
) -> Transition:
    """送审: the initiator starts (or restarts, after withdrawal or a return to the drafter) the route."""
    _check_version(case, expected_version)
    if case.state not in (CaseState.draft, CaseState.withdrawn):
        raise InvalidTransition("只有草稿或已撤回的文件才能送审", code="not_draft")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied("只有拟稿人可以送审", code="not_initiator")
    t = Transition(case=case, action="submit", actor=actor)
    case.state = CaseState.running
    case.round += 1
    case.submitted_at = utcnow()
    _history(session, case, actor, "submit", None, opinion=opinion)
    _enter(session, case, 0, t)
    return _finish_transition(session, t, opinion)


def approve(
    session: Session,
    actor: Actor,
    case: WfCase,
    *,
    opinion: str = "",
    detail: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Transition:
    """同意/办理: complete the actor's task; when the step is complete, move to the next one."""
    _check_version(case, expected_version)
    task, behalf = _my_task(session, case, actor)
    step = case.route[task.step_index]
    t = Transition(case=case, action="approve", actor=actor, on_behalf_of=behalf, step=step, task=task)
    _close_task(task, actor, TaskState.approved, opinion, detail)
    if step["mode"] == "any" and not task.is_added:
        for other in _step_tasks(session, case, pending=True):
            if other.id != task.id and not other.is_added:
                _close_task(other, None, TaskState.cancelled, "", None)
                t.removed_assignees.append(other.assignee_id)
    session.flush()
    _history(session, case, actor, "approve", task.step_index, opinion=opinion, behalf=behalf, detail=detail)
    if not _step_tasks(session, case, pending=True):
        t.completed_step = step
        _enter(session, case, _next_index(case, task.step_index), t)
    return _finish_transition(session, t, opinion)


def return_to(
    session: Session, actor: Actor, case: WfCase, *, target: str, reason: str, expected_version: int | None = None
) -> Transition:
    """退回: send the case back to an earlier step (by key), or to the drafter (``target="draft"``)."""
    _check_version(case, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("退回必须说明理由", code="reason_required")
    task, behalf = _my_task(session, case, actor)
    targets = return_targets(session, case)
    if target not in {k for k, _ in targets}:
        raise ValidationError("只能退回到已经办理过的前面步骤或拟稿人", code="bad_return_target")
    t = Transition(
        case=case, action="return", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees += _cancel_pending(session, case)
    _history(session, case, actor, "return", task.step_index, opinion=reason, behalf=behalf, detail={"target": target})
    case.round += 1
    if target == "draft":
        case.state = CaseState.draft
        case.current_step = None
        t.entered_step = None
        t.new_assignees = [case.initiator_id]
    else:
        _enter(session, case, _index_of(case, target), t)
    return _finish_transition(session, t, reason)


def withdraw(
    session: Session, actor: Actor, case: WfCase, *, reason: str = "", expected_version: int | None = None
) -> Transition:
    """撤回: the initiator takes the case back, allowed only until someone on the route has acted."""
    _check_version(case, expected_version)
    if case.state != CaseState.running:
        raise InvalidTransition("只有流转中的文件才能撤回", code="not_running")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied("只有拟稿人可以撤回", code="not_initiator")
    if _acted_since_submit(session, case):
        raise InvalidTransition("下一办理人已经办理，不能撤回", code="already_acted")
    t = Transition(case=case, action="withdraw", actor=actor, step=_current(case))
    t.removed_assignees = _cancel_pending(session, case)
    case.state = CaseState.withdrawn
    _history(session, case, actor, "withdraw", case.current_step, opinion=reason)
    case.current_step = None
    return _finish_transition(session, t, reason)


def transfer(
    session: Session,
    actor: Actor,
    case: WfCase,
    *,
    to_user_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Transition:
    """转办: hand one's task at the current step to another person of the same agency."""
    _check_version(case, expected_version)
    task, behalf = _my_task(session, case, actor)
    target = _active_colleague(session, case, case.route[task.step_index], to_user_id)
    if target in _pending_assignees(session, case):
        raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
    t = Transition(
        case=case, action="transfer", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.transferred, reason, {"to_user_id": target})
    session.add(
        WfTask(
            case_id=case.id or 0,
            step_index=task.step_index,
            step_key=task.step_key,
            round=case.round,
            assignee_id=target,
            is_added=task.is_added,
            transferred_from_id=task.assignee_id,
            due_at=task.due_at,
        )
    )
    t.new_assignees, t.removed_assignees = [target], [task.assignee_id]
    _history(
        session, case, actor, "transfer", task.step_index, opinion=reason, behalf=behalf, detail={"to_user_id": target}
    )
    return _finish_transition(session, t, reason)


def add_signer(
    session: Session, actor: Actor, case: WfCase, *, user_id: int, reason: str = "", expected_version: int | None = None
) -> Transition:
    """加签: a leader acting at the current step (or anyone, where the step allows it) adds a person
    who must also approve before the step completes."""
    _check_version(case, expected_version)
    task, behalf = _my_task(session, case, actor)
    step = case.route[task.step_index]
    if not (step.get("allow_add_signer") or actor.has(Role.leader)):
        raise PermissionDenied("只有机关领导可以加签", code="add_signer_denied")
    target = _active_colleague(session, case, step, user_id)
    if target in _pending_assignees(session, case):
        raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
    session.add(
        WfTask(
            case_id=case.id or 0,
            step_index=task.step_index,
            step_key=task.step_key,
            round=case.round,
            assignee_id=target,
            is_added=True,
            added_by_id=actor.user_id,
            due_at=task.due_at,
        )
    )
    t = Transition(case=case, action="add_signer", actor=actor, on_behalf_of=behalf, step=step, new_assignees=[target])
    _history(
        session, case, actor, "add_signer", task.step_index, opinion=reason, behalf=behalf, detail={"user_id": target}
    )
    return _finish_transition(session, t, reason)


def terminate(session: Session, actor: Actor, case: WfCase, *, reason: str) -> Transition:
    """终止: the current actor ends a running case early (e.g. 收文 refused at 初审); pending tasks are
    cancelled and the case is finished with a ``terminate`` history entry."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("终止必须说明理由", code="reason_required")
    task, behalf = _my_task(session, case, actor)
    t = Transition(
        case=case, action="terminate", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees = _cancel_pending(session, case)
    _history(session, case, actor, "terminate", task.step_index, opinion=reason, behalf=behalf)
    case.state = CaseState.finished
    case.current_step = None
    case.finished_at = utcnow()
    return _finish_transition(session, t, reason)


# Reading -------------------------------------------------------------------------------------------


def allowed_actions(session: Session, case: WfCase, actor: Actor) -> list[str]:
    """The engine actions ``actor`` may take now (the UI shows exactly these buttons)."""
    out: list[str] = []
    if case.state in (CaseState.draft, CaseState.withdrawn) and actor.user_id == case.initiator_id:
        out.append("submit")
    if case.state != CaseState.running:
        return out
    if actor.user_id == case.initiator_id and not _acted_since_submit(session, case):
        out.append("withdraw")
    try:
        task, _ = _my_task(session, case, actor)
    except (InvalidTransition, PermissionDenied):
        return out
    out += ["approve", "return", "transfer"]
    if case.route[task.step_index].get("allow_add_signer") or actor.has(Role.leader):
        out.append("add_signer")
    return out


def my_task(session: Session, case: WfCase, actor: Actor) -> WfTask | None:
    """The pending task ``actor`` may act on now (their own, or a principal's while deputising)."""
    try:
        return _my_task(session, case, actor)[0]
    except (InvalidTransition, PermissionDenied):
        return None


def return_targets(session: Session, case: WfCase) -> list[tuple[str, str]]:
    """(key, name) of places the current step may return to: the drafter and earlier steps that ran."""
    if case.current_step is None:
        return []
    ran = set(
        session.exec(
            select(WfTask.step_index).where(
                WfTask.case_id == case.id,
                WfTask.step_index < case.current_step,
                col(WfTask.state).in_([TaskState.approved, TaskState.returned]),
            )
        ).all()
    )
    return [("draft", "拟稿人")] + [(case.route[i]["key"], case.route[i]["name"]) for i in sorted(ran)]


def current_assignees(session: Session, case: WfCase) -> list[int]:
    return sorted(_pending_assignees(session, case))


def participants(session: Session, case: WfCase) -> set[int]:
    """Everyone who is or was on this case's route (initiator, assignees), and deputies who acted for an
    assignee while that 委托 still runs: a former deputy is no longer told about the case."""
    ids = {case.initiator_id}
    acted_for: set[tuple[int, int]] = set()
    for assignee, acted_by in session.exec(
        select(WfTask.assignee_id, WfTask.acted_by_id).where(WfTask.case_id == case.id)
    ).all():
        ids.add(assignee)
        if acted_by and acted_by != assignee:
            acted_for.add((assignee, acted_by))
    running = deputies_for(session, {a for a, _ in acted_for})
    return ids | {d for a, d in acted_for if d in running.get(a, [])}


def on_route_cond(case_id: Any, user_id: int) -> Any:
    """The condition that ``user_id`` is on the route of the case ``case_id`` (a column) names, beyond
    having started it: a task was assigned to them (by the route, 转办 or 加签), or a 委托 to them runs
    now and the case, of their agency, has a pending task of the principal's or one they acted on for
    the principal. When the delegation ends (revoked or expired), so does the access it gave.
    Every reading rule (documents, 收文, search, archive) uses this one."""
    own = select(WfTask.case_id).where(WfTask.assignee_id == user_id)
    deputy = (
        select(WfTask.case_id)
        .join(WfCase, WfCase.id == WfTask.case_id)
        .where(_standing_in(user_id), or_(WfTask.state == TaskState.pending, WfTask.acted_by_id == user_id))
    )
    return or_(col(case_id).in_(own), col(case_id).in_(deputy))


def on_route(session: Session, case: WfCase, user_id: int) -> bool:
    """``on_route_cond`` for one case, or the initiator."""
    if user_id == case.initiator_id:
        return True
    return (
        session.exec(select(WfCase.id).where(WfCase.id == case.id, on_route_cond(WfCase.id, user_id))).first()
        is not None
    )


def _standing_in(user_id: int) -> Any:
    """Condition on ``WfTask`` joined with ``WfCase``: the task is a principal's whose 委托 to ``user_id``
    runs now, on a case of an agency the deputy belongs to (a delegation stored before that was
    required gives nothing across agencies)."""
    now = utcnow()
    principals = select(WfDelegation.principal_id).where(
        WfDelegation.deputy_id == user_id,
        col(WfDelegation.revoked_at).is_(None),
        WfDelegation.starts_at <= now,
        WfDelegation.ends_at > now,
    )
    return and_(col(WfTask.assignee_id).in_(principals), col(WfCase.agency_id).in_(_agencies_sql(user_id)))


def deputies_for(session: Session, principal_ids: Iterable[int], *, at: datetime | None = None) -> dict[int, list[int]]:
    """principal -> deputies with an active 委托 at ``at`` (now)."""
    ids = list(set(principal_ids))
    if not ids:
        return {}
    now = at or utcnow()
    rows = session.exec(
        select(WfDelegation).where(
            col(WfDelegation.principal_id).in_(ids),
            col(WfDelegation.revoked_at).is_(None),
            WfDelegation.starts_at <= now,
            WfDelegation.ends_at > now,
        )
    ).all()
    out: dict[int, list[int]] = {}
    for d in rows:
        out.setdefault(d.principal_id, []).append(d.deputy_id)
    return out


def principals_of(session: Session, deputy_id: int) -> list[int]:
    now = utcnow()
    return list(
        session.exec(
            select(WfDelegation.principal_id).where(
                WfDelegation.deputy_id == deputy_id,
                col(WfDelegation.revoked_at).is_(None),
                WfDelegation.starts_at <= now,
                WfDelegation.ends_at > now,
            )
        ).all()
    )


def pending_case_ids(session: Session, user_id: int, *, kind: str) -> list[int]:
    """待办: cases with a pending task for the user or for someone who delegated to them."""
    return list(
        session.exec(
            select(WfTask.case_id)
            .join(WfCase, WfCase.id == WfTask.case_id)  # type: ignore[arg-type]
            .where(
                or_(WfTask.assignee_id == user_id, _standing_in(user_id)),
                WfTask.state == TaskState.pending,
                WfCase.kind == kind,
                WfCase.state == CaseState.running,
            )
            .distinct()
        ).all()
    )


def done_case_ids(session: Session, user_id: int, *, kind: str) -> list[int]:
    """已办: cases where the user acted on their own task, or as a deputy while that 委托 runs."""
    as_deputy = and_(WfTask.acted_by_id == user_id, _standing_in(user_id))
    return list(
        session.exec(
            select(WfTask.case_id)
            .join(WfCase, WfCase.id == WfTask.case_id)  # type: ignore[arg-type]
            .where(
                or_(WfTask.assignee_id == user_id, as_deputy),
                col(WfTask.state).in_([TaskState.approved, TaskState.returned, TaskState.transferred]),
                WfCase.kind == kind,
            )
            .distinct()
        ).all()
    )


def route_picture(session: Session, case: WfCase) -> dict[str, Any]:
    """The route as people see it: each step with its state, who acted, when, what they wrote, and deadlines."""
    tasks = list(session.exec(select(WfTask).where(WfTask.case_id == case.id).order_by(WfTask.id)).all())  # type: ignore[arg-type]
    history = list(session.exec(select(WfHistory).where(WfHistory.case_id == case.id).order_by(WfHistory.id)).all())  # type: ignore[arg-type]
    names = _names(
        session,
        {t.assignee_id for t in tasks}
        | {t.acted_by_id for t in tasks if t.acted_by_id}
        | {h.actor_id for h in history}
        | {h.on_behalf_of_id for h in history if h.on_behalf_of_id},
    )
    now = utcnow()
    latest: dict[int, int] = {}
    for t in tasks:
        latest[t.step_index] = max(latest.get(t.step_index, -1), t.round)
    steps = []
    for i, s in enumerate(case.route):
        state = _step_state(case, i, latest)
        shown = [t for t in tasks if t.step_index == i and t.round == latest.get(i) and state != "upcoming"]
        steps.append(
            {
                "index": i,
                "key": s["key"],
                "name": s["name"],
                "tag": s.get("tag", ""),
                "mode": s["mode"],
                "can_edit": s["can_edit"],
                "deadline_hours": s.get("deadline_hours"),
                "state": state,
                "tasks": [_task_view(t, names, now) for t in shown],
            }
        )
    return {
        "state": case.state.value,
        "current_step": case.current_step,
        "version": case.version,
        "steps": steps,
        "history": [_history_view(h, names) for h in history],
    }


def _step_state(case: WfCase, i: int, latest: dict[int, int]) -> str:
    if case.state == CaseState.finished:
        return "done" if i in latest else "skipped"
    if case.current_step is None or case.state != CaseState.running:
        return "upcoming"
    if i == case.current_step:
        return "current"
    if i < case.current_step:
        return "done" if i in latest else "skipped"
    return "upcoming"


def _task_view(t: WfTask, names: dict[int, str], now: datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "assignee_id": t.assignee_id,
        "assignee": names.get(t.assignee_id, ""),
        "state": t.state.value,
        "opinion": t.opinion,
        "is_added": t.is_added,
        "acted_by": names.get(t.acted_by_id, "") if t.acted_by_id and t.acted_by_id != t.assignee_id else "",
        "acted_at": t.acted_at.isoformat() if t.acted_at else None,
        "due_at": t.due_at.isoformat() if t.due_at else None,
        "overdue": bool(t.due_at and t.state == TaskState.pending and t.due_at < now),
    }


def _history_view(h: WfHistory, names: dict[int, str]) -> dict[str, Any]:
    return {
        "at": h.at.isoformat(),
        "actor_id": h.actor_id,
        "actor": h.actor_name,
        "action": h.action,
        "on_behalf_of": names.get(h.on_behalf_of_id, "") if h.on_behalf_of_id else "",
        "step_index": h.step_index,
        "step": h.step_name,
        "round": h.round,
        "opinion": h.opinion,
        "detail": h.detail,
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    ids.discard(0)
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids))).all() if u.id}


# Delegation (委托) ----------------------------------------------------------------------------------


# Roles that put people on steps by themselves (签发 机关领导, 核稿/会签 处室负责人, 编号/分发 文书, 用印
# 印章管理员). A deputy acts on every task of the principal's, so must hold each of these the principal
# holds; 科员 are put on steps only by name, and any colleague of the agency may stand in for them.
STEP_ROLES = (Role.leader, Role.dept_head, Role.clerk, Role.seal_keeper)


def set_delegation(
    session: Session, actor: Actor, *, deputy_id: int, starts_at: datetime, ends_at: datetime, reason: str = ""
) -> WfDelegation:
    """While absent from ``starts_at`` to ``ends_at``, the deputy may act on the actor's tasks. The deputy
    must be of the actor's agency and able to act on the steps the actor is put on (``deputy_problem``)."""
    if deputy_id == actor.user_id:
        raise ValidationError("不能委托给自己", code="self_delegation")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationError("时间必须带时区", code="naive_datetime")
    if ends_at <= starts_at or ends_at - starts_at > timedelta(days=366):
        raise ValidationError("委托结束时间必须晚于开始时间，且期限不超过一年", code="bad_period")
    if actor.agency_id is None:
        raise ValidationError("您没有所属机关，不能委托", code="no_agency")
    problem = deputy_problem(
        session, deputy_id, agency_id=actor.agency_id, roles=[r for r in STEP_ROLES if actor.has(r)]
    )
    if problem is not None:
        raise ValidationError(problem[1], code=problem[0])
    overlapping = session.exec(
        select(WfDelegation).where(
            WfDelegation.principal_id == actor.user_id,
            col(WfDelegation.revoked_at).is_(None),
            WfDelegation.starts_at < ends_at,
            WfDelegation.ends_at > starts_at,
        )
    ).first()
    if overlapping is not None:
        raise Conflict("该时段已有委托，请先撤销", code="delegation_overlap")
    row = WfDelegation(
        principal_id=actor.user_id,
        deputy_id=deputy_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip()[:200],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "workflow.delegate",
        target_type="user",
        target_id=deputy_id,
        detail={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "reason": row.reason},
    )
    events.publish_on_commit(
        session,
        "notify.delegation",
        {
            "user_ids": [deputy_id],
            "title": f"{actor.name} 委托您代为办理公文",
            "body": f"{starts_at:%Y-%m-%d %H:%M} 至 {ends_at:%Y-%m-%d %H:%M}",
            "link": "/docs/todo",
            "source": "docs_flow",
        },
        user_ids=[deputy_id],
    )
    return row


def deputy_problem(
    session: Session, deputy_id: int, *, agency_id: int | None, roles: Iterable[Role]
) -> tuple[str, str] | None:
    """Why ``deputy_id`` may not stand in (code, message), or None: an active member of ``agency_id``
    holding every one of ``roles``. Checked when a 委托 is set and again each time the deputy acts."""
    deputy = session.get(User, deputy_id)
    if deputy is None or not deputy.is_active:
        return "bad_deputy", "受托人不存在或已停用"
    if agency_id is not None and agency_id not in _agencies_of(session, deputy_id):
        return "other_agency", "受托人必须是本机关的人员"
    held = set(session.exec(select(UserRole.role).where(UserRole.user_id == deputy_id)).all())
    missing = [_role_label(r.value) for r in roles if r not in held]
    if missing:
        return "deputy_role", f"受托人必须是本机关的{'、'.join(missing)}，才能代为办理相应步骤"
    return None


def _step_roles(step: dict[str, Any]) -> list[Role]:
    """The role a step's actor definition requires (a 签发 step: 机关领导), for checking a deputy."""
    a = step["actor"]
    if a["kind"] == "drafter_head":
        return [Role.dept_head]
    if a["kind"] in ("role", "context_departments") and Role(a["role"]) in STEP_ROLES:
        return [Role(a["role"])]
    return []


def revoke_delegation(session: Session, actor: Actor, delegation_id: int) -> WfDelegation:
    row = session.get(WfDelegation, delegation_id)
    if row is None or row.principal_id != actor.user_id:
        raise NotFound()
    if row.revoked_at is not None:
        raise InvalidTransition("委托已撤销", code="already_revoked")
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(session, actor, "workflow.delegate_revoke", target_type="delegation", target_id=delegation_id)
    return row


def delegations_of(session: Session, user_id: int) -> list[WfDelegation]:
    return list(
        session.exec(
            select(WfDelegation)
            .where(
                or_(WfDelegation.principal_id == user_id, WfDelegation.deputy_id == user_id),
                col(WfDelegation.revoked_at).is_(None),
                WfDelegation.ends_at > utcnow(),
            )
            .order_by(WfDelegation.starts_at)
        ).all()
    )


# Internals -----------------------------------------------------------------------------------------


def _check_version(case: WfCase, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise Conflict("文件已被他人处理，请刷新后重试", code="stale_version", current_version=case.version)


def _bump(session: Session, case: WfCase) -> None:
    """Compare-and-set on the row: across processes, only one writer moves ``version`` from v to v+1."""
    old = case.version
    result = session.execute(
        update(WfCase).where(col(WfCase.id) == case.id, col(WfCase.version) == old).values(version=old + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("文件已被他人处理，请刷新后重试", code="stale_version")
    set_committed_value(case, "version", old + 1)


def _current(case: WfCase) -> dict[str, Any] | None:
    return case.route[case.current_step] if case.current_step is not None else None


def _index_of(case: WfCase, key: str) -> int:
    for i, s in enumerate(case.route):
        if s["key"] == key:
            return i
    raise ValidationError(f"没有步骤 {key}", code="unknown_step")


def _next_index(case: WfCase, i: int) -> int:
    nxt = case.route[i].get("next")
    return _index_of(case, nxt) if nxt else i + 1


def _enter(session: Session, case: WfCase, index: int, t: Transition) -> None:
    """Make ``index`` the current step (skipping steps with nobody to act); past the end, finish."""
    while index < len(case.route):
        step = case.route[index]
        people = resolve_actors(session, case, step)
        reason = "no_departments"
        if _reviews_draft(case, step) and case.initiator_id in people:
            # Nobody reviews their own draft (a 处室负责人 drafting is his own 核稿 head). The route's rule
            # then decides who reviews: the step's other holders of the role if it has any (another head
            # of the department), else the step is skipped like one with nobody to act, and the next
            # step on the route (办公室审核, or 签发 by the leader) is the first to review the draft.
            people = [p for p in people if p != case.initiator_id]
            reason = "drafter_is_reviewer"
        if people:
            break
        _history(session, case, None, "skip", index, detail={"reason": reason})
        index = _next_index(case, index)
    else:
        case.state = CaseState.finished
        case.current_step = None
        case.finished_at = utcnow()
        t.finished = True
        t.entered_step = None
        _history(session, case, None, "finish", None)
        return
    case.current_step = index
    due = utcnow() + timedelta(hours=step["deadline_hours"]) if step.get("deadline_hours") else None
    for uid in people:
        session.add(
            WfTask(
                case_id=case.id or 0,
                step_index=index,
                step_key=step["key"],
                round=case.round,
                assignee_id=uid,
                due_at=due,
            )
        )
    t.entered_step = step
    t.new_assignees = sorted(set(t.new_assignees) | set(people))


def resolve_actors(session: Session, case: WfCase, step: dict[str, Any]) -> list[int]:
    """Who acts at ``step`` for this case; raises if a step that must have people has none."""
    a = step["actor"]
    kind = a["kind"]
    if kind == "user":
        people = [
            u.id
            for u in session.exec(select(User).where(col(User.id).in_(a["user_ids"]))).all()
            if u.is_active and u.id
        ]
    elif kind == "drafter":
        people = [case.initiator_id]
    elif kind == "drafter_head":
        people = (
            users_with_role(session, Role.dept_head, department_id=case.initiator_dept_id)
            if case.initiator_dept_id
            else []
        )
    elif kind == "role":
        people = users_with_role(
            session, Role(a["role"]), agency_id=case.agency_id, department_id=a.get("department_id")
        )
    else:  # context_departments: one or more per listed department; none listed means skip the step
        people = []
        for dept_id in case.context.get(a["key"], []):
            heads = users_with_role(session, Role(a["role"]), department_id=dept_id)
            if not heads:
                raise ValidationError(
                    f"会签部门（编号 {dept_id}）没有{_role_label(a['role'])}，无法会签", code="no_actor"
                )
            people += heads
        return sorted(set(people))
    if not people:
        raise ValidationError(f"步骤“{step['name']}”找不到办理人，请联系管理员调整流程", code="no_actor")
    return sorted(set(people))


def _role_label(role: str) -> str:
    return ROLE_LABELS.get(Role(role), role)


def _step_tasks(session: Session, case: WfCase, *, pending: bool) -> list[WfTask]:
    stmt = select(WfTask).where(
        WfTask.case_id == case.id, WfTask.step_index == case.current_step, WfTask.round == case.round
    )
    if pending:
        stmt = stmt.where(WfTask.state == TaskState.pending)
    return list(session.exec(stmt).all())


def _pending_assignees(session: Session, case: WfCase) -> set[int]:
    return {t.assignee_id for t in _step_tasks(session, case, pending=True)}


def _my_task(session: Session, case: WfCase, actor: Actor) -> tuple[WfTask, int | None]:
    """The actor's own pending task at the current step, else one of a principal who delegated to them.
    Nobody acts on a review of their own draft, whoever's task it is."""
    if case.state != CaseState.running or case.current_step is None:
        raise InvalidTransition(_state_message(case), code=f"case_{case.state.value}")
    task, behalf = _find_task(session, case, actor, _step_tasks(session, case, pending=True))
    if _own_review(case, case.route[task.step_index], actor.user_id):
        raise PermissionDenied("拟稿人不能审核自己起草的文稿", code="own_draft")
    return task, behalf


def _find_task(session: Session, case: WfCase, actor: Actor, pending: list[WfTask]) -> tuple[WfTask, int | None]:
    for task in pending:
        if task.assignee_id == actor.user_id:
            return task, None
    principals = set(principals_of(session, actor.user_id))
    problem = None
    for task in pending:
        if task.assignee_id in principals:
            # Asked again at each action, not only when the 委托 was set: a delegation stored before the
            # rule, or a deputy who has since left the agency or lost the role, must not act.
            problem = deputy_problem(
                session, actor.user_id, agency_id=case.agency_id, roles=_step_roles(case.route[task.step_index])
            )
            if problem is None:
                return task, task.assignee_id
    if problem is not None:
        raise PermissionDenied(problem[1], code="deputy_not_allowed")
    raise PermissionDenied("您不是当前步骤的办理人", code="not_current_actor")


def _state_message(case: WfCase) -> str:
    return {CaseState.draft: "文件尚未送审", CaseState.withdrawn: "文件已撤回", CaseState.finished: "文件已办结"}.get(
        case.state, "当前状态下不能执行此操作"
    )


def _close_task(
    task: WfTask, actor: Actor | None, state: TaskState, opinion: str, detail: dict[str, Any] | None
) -> None:
    task.state = state
    task.opinion = opinion
    task.acted_at = utcnow()
    if actor is not None:
        task.acted_by_id = actor.user_id
    if detail:
        task.detail = dict(detail)


def _cancel_pending(session: Session, case: WfCase) -> list[int]:
    removed = []
    for t in session.exec(select(WfTask).where(WfTask.case_id == case.id, WfTask.state == TaskState.pending)).all():
        _close_task(t, None, TaskState.cancelled, "", None)
        session.add(t)
        removed.append(t.assignee_id)
    return removed


def _acted_since_submit(session: Session, case: WfCase) -> bool:
    return (
        session.exec(
            select(WfTask.id).where(
                WfTask.case_id == case.id,
                WfTask.round == case.round,
                col(WfTask.state).in_([TaskState.approved, TaskState.returned, TaskState.transferred]),
            )
        ).first()
        is not None
    )


def _active_colleague(session: Session, case: WfCase, step: dict[str, Any], user_id: int) -> int:
    """Someone a task at ``step`` may be handed to (转办, 加签): active, of the case's agency, and not the
    drafter at a step that reviews the draft."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationError("指定的人员不存在或已停用", code="bad_user")
    if case.agency_id is not None and case.agency_id not in _agencies_of(session, user_id):
        raise ValidationError("只能转给本机关的人员", code="other_agency")
    if _own_review(case, step, user_id):
        raise ValidationError("不能交给拟稿人审核自己起草的文稿", code="own_draft")
    return user_id


def _agencies_of(session: Session, user_id: int) -> set[int]:
    return set(
        session.exec(
            select(Department.agency_id)
            .join(Post, Post.department_id == Department.id)  # type: ignore[arg-type]
            .where(Post.user_id == user_id)
        ).all()
    )


def _agencies_sql(user_id: int) -> Any:
    """SELECT of the agencies ``user_id`` holds a post in (for conditions built without a session)."""
    return select(Department.agency_id).join(Post, Post.department_id == Department.id).where(Post.user_id == user_id)


def _reviews_draft(case: WfCase, step: dict[str, Any]) -> bool:
    """A step that checks the initiator's draft: 核稿 by the drafter's head, or a step the case kind calls
    a review (a 发文 step tagged ``review``)."""
    return step["actor"]["kind"] == "drafter_head" or _kinds[case.kind].reviews_draft(step)


def _own_review(case: WfCase, step: dict[str, Any], user_id: int) -> bool:
    return user_id == case.initiator_id and _reviews_draft(case, step)


def _history(
    session: Session,
    case: WfCase,
    actor: Actor | None,
    action: str,
    step_index: int | None,
    *,
    opinion: str = "",
    behalf: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    step = case.route[step_index] if step_index is not None else None
    session.add(
        WfHistory(
            case_id=case.id or 0,
            actor_id=actor.user_id if actor else 0,
            actor_name=actor.name if actor else "系统",
            on_behalf_of_id=behalf,
            action=action,
            step_index=step_index,
            step_name=step["name"] if step else "",
            round=case.round,
            opinion=opinion,
            detail=dict(detail or {}),
        )
    )


def _finish_transition(session: Session, t: Transition, opinion: str) -> Transition:
    case = t.case
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    _bump(session, case)
    audit.record(
        session,
        t.actor,
        f"workflow.{t.action}",
        target_type=case.kind,
        target_id=case.subject_id,
        detail={
            "case_id": case.id,
            "step": t.step["key"] if t.step else None,
            "entered": t.entered_step["key"] if t.entered_step else None,
            "on_behalf_of": t.on_behalf_of,
            "new_assignees": t.new_assignees,
            "state": case.state.value,
            "opinion": opinion[:200],
        },
    )
    _notify(session, t)
    return t


def _notify(session: Session, t: Transition) -> None:
    case = t.case
    spec = _kinds[case.kind]
    title, link = spec.describe(session, case)
    added = sorted(set(t.new_assignees))
    removed = sorted(set(t.removed_assignees) - set(added))
    base = {"kind": case.kind, "case_id": case.id, "subject_id": case.subject_id}
    deputies = deputies_for(session, added)
    wake = sorted(set(added) | {d for ds in deputies.values() for d in ds})
    if removed:
        events.publish_on_commit(session, f"{spec.event_prefix}.task", {"op": "remove", **base}, user_ids=removed)
    if wake:
        events.publish_on_commit(session, f"{spec.event_prefix}.task", {"op": "add", **base}, user_ids=wake)
        events.publish_on_commit(
            session,
            spec.notify_type,
            {
                "user_ids": wake,
                "title": _notify_title(t, title),
                "body": _notify_body(t),
                "link": link,
                "source": spec.source,
            },
            user_ids=wake,
        )
    concerned = participants(session, case) | set(wake)
    events.publish_on_commit(
        session,
        f"{spec.event_prefix}.case",
        {
            "op": t.action,
            **base,
            "state": case.state.value,
            "version": case.version,
            "step": t.entered_step["name"] if t.entered_step else None,
        },
        user_ids=concerned,
    )


def _notify_title(t: Transition, title: str) -> str:
    if t.action == "return":
        return f"退回：{title}"
    if t.action == "transfer":
        return f"转办：{title}"
    if t.action == "add_signer":
        return f"加签：{title}"
    if t.action == "terminate":
        return f"已终止：{title}"
    return f"待办：{title}"


def _notify_body(t: Transition) -> str:
    who = t.actor.name
    if t.action == "return":
        where = t.entered_step["name"] if t.entered_step else "拟稿人"
        return f"{who} 退回至“{where}”"
    if t.entered_step:
        return f"{who} 已{_ACTION_LABELS.get(t.action, '办理')}，请办理“{t.entered_step['name']}”"
    return f"{who} 请您办理"


_ACTION_LABELS = {"submit": "送审", "approve": "办理", "transfer": "转办", "add_signer": "加签"}
