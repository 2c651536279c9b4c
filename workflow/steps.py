"""A route's steps: their shape, the people each names, and the way from one step to the next.

A route is an ordered list of steps. Each step names who acts::

    {"key": "sign", "name": "机关领导签发", "mode": "any" | "all", "can_edit": bool,
     "deadline_hours": int | None, "next": "<key>" (optional jump), "allow_add_signer": bool,
     "actor": {"kind": "user", "user_ids": [..]}
            | {"kind": "role", "role": "leader", "department_id": int | None}   # None: agency-wide
            | {"kind": "drafter_head"} | {"kind": "drafter"}
            | {"kind": "context_departments", "role": "dept_head", "key": "countersign_department_ids"},
     ...any other keys (e.g. "tag") are the subject's business and pass through untouched}

Nothing here knows a subject (a document, a 办事 request): a subject's service adds its own checks on
top of ``validate_route`` (``docs_flow.templates.validate_document_route`` for 发文).
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from office.directory.service import users_with_role
from office.errors import ValidationError
from office.models import ROLE_LABELS, Department, Post, Role, User
from workflow.models import WfCase

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ACTOR_KINDS = {"user", "role", "drafter_head", "drafter", "context_departments"}
MAX_STEPS = 30


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
                    .join(Department, col(Department.id) == Post.department_id)
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


def resolve_actors(session: Session, case: WfCase, step: dict[str, Any]) -> list[int]:
    """Who acts at ``step`` for this case; raises if a step that must have people has none."""
    a = step["actor"]
    kind = a["kind"]
    if kind == "user":
        # The ids alone: a user row is wide, and every submission of a 办事 form asks this in the writer.
        people = [
            uid
            for uid in session.exec(
                select(User.id).where(col(User.id).in_(a["user_ids"]), col(User.is_active).is_(True))
            ).all()
            if uid
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
                    f"会签部门（编号 {dept_id}）没有{role_label(a['role'])}，无法会签", code="no_actor"
                )
            people += heads
        return sorted(set(people))
    if not people:
        raise ValidationError(f"步骤“{step['name']}”找不到办理人，请联系管理员调整流程", code="no_actor")
    return sorted(set(people))


def role_label(role: str) -> str:
    return ROLE_LABELS.get(Role(role), role)


# Moving along a route -----------------------------------------------------------------------------


def current_step_of(case: WfCase) -> dict[str, Any] | None:
    return case.route[case.current_step] if case.current_step is not None else None


def index_of(case: WfCase, key: str) -> int:
    for i, s in enumerate(case.route):
        if s["key"] == key:
            return i
    raise ValidationError(f"没有步骤 {key}", code="unknown_step")


def next_index(case: WfCase, i: int) -> int:
    nxt = case.route[i].get("next")
    return index_of(case, nxt) if nxt else i + 1


# Agency membership (who may be put on a step of a case of an agency) -----------------------------


def agencies_sql(user_id: int) -> Any:
    """SELECT of the agencies ``user_id`` holds a post in (also for conditions built without a session)."""
    return (
        select(Department.agency_id).join(Post, col(Post.department_id) == Department.id).where(Post.user_id == user_id)
    )


def agencies_of(session: Session, user_id: int) -> set[int]:
    return {a for a in session.exec(agencies_sql(user_id)).all() if a is not None}
