"""委托 (delegation): while it runs, a deputy of the same agency who holds the principal's step roles
acts on the principal's tasks and reads their cases; when it ends (revoked or expired), so does what
it gave. The engine asks ``principals_of`` and ``deputy_problem`` each time someone acts
(``workflow.tasks``), reading rules use ``standing_in`` (``workflow.worklist``), and notifications
wake the deputies too (``deputies_for``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, ValidationError
from office.models import Role, User, UserRole
from office.timefmt import iso
from workflow.models import WfCase, WfDelegation, WfTask
from workflow.steps import agencies_of, agencies_sql, role_label

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
        detail={"starts_at": iso(starts_at), "ends_at": iso(ends_at), "reason": row.reason},
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
    if agency_id is not None and agency_id not in agencies_of(session, deputy_id):
        return "other_agency", "受托人必须是本机关的人员"
    held = set(session.exec(select(UserRole.role).where(UserRole.user_id == deputy_id)).all())
    missing = [role_label(r.value) for r in roles if r not in held]
    if missing:
        return "deputy_role", f"受托人必须是本机关的{'、'.join(missing)}，才能代为办理相应步骤"
    return None


def step_roles(step: dict[str, Any]) -> list[Role]:
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
                or_(col(WfDelegation.principal_id) == user_id, col(WfDelegation.deputy_id) == user_id),
                col(WfDelegation.revoked_at).is_(None),
                WfDelegation.ends_at > utcnow(),
            )
            .order_by(col(WfDelegation.starts_at))
        ).all()
    )


def standing_in(user_id: int) -> Any:
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
    return and_(col(WfTask.assignee_id).in_(principals), col(WfCase.agency_id).in_(agencies_sql(user_id)))


def deputies_for(session: Session, principal_ids: Iterable[int], *, at: datetime | None = None) -> dict[int, list[int]]:
    """principal -> deputies with an active 委托 at ``at`` (now)."""
    ids = list(set(principal_ids))
    if not ids:
        return {}
    now = at or utcnow()
    rows = session.exec(  # two columns, not the rows: every transition that gives out tasks asks this
        select(WfDelegation.principal_id, WfDelegation.deputy_id).where(
            col(WfDelegation.principal_id).in_(ids),
            col(WfDelegation.revoked_at).is_(None),
            WfDelegation.starts_at <= now,
            WfDelegation.ends_at > now,
        )
    ).all()
    out: dict[int, list[int]] = {}
    for principal, deputy in rows:
        out.setdefault(principal, []).append(deputy)
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
