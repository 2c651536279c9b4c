"""Demo data for ``office demo``: 办事 working in every agency.

Without it a newcomer opens 办事 to forms that cannot be routed (no 分管领导, no 人事处/财务处) and
empty boxes. Seeded through the same services a user goes through (so routes, 留痕, notices and
audit entries are real):

* every agency: its built-in forms; a 分管领导 for each department (the agency's deputy leaders in
  turn) and its 主要领导 (the leader whose title is not a 副 one); 人事处 and 财务处 (the demo tree has
  neither: the 行政处 where there is one, else the 办公室); 参加工作时间 for its people, so annual
  leave has balances;
* in the first agency: a 请假 waiting for the applicant's 处长 (the head shown on the demo screen),
  a 差旅费报销 approved by the head and the 财务处, and a 出差审批 returned to its applicant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from banshi import actions, builtin, case_kind, files, leaders, leave, submission
from banshi.models import ApprovalRequest, FormTemplate
from office.accounts import load_actor
from office.actor import SYSTEM, Actor
from office.models import Department, DeptKind, Post, Role
from workflow import engine, tasks

LEADER_OFFICE = "厅（委）领导"
OFFICE_NAMES = ("行政处", "办公室")  # where the demo's 人事 and 财务 work is done


def seed(session: Session) -> None:
    case_kind.register_kind()  # ``office demo`` runs no app start-up (``banshi.startup`` does it there)
    agencies = session.exec(
        select(Department).where(Department.kind == DeptKind.agency).order_by(col(Department.id))
    ).all()
    for agency in agencies:
        assert agency.id is not None
        builtin.ensure_builtin_templates(session, agency.id)
        admin = dataclasses.replace(SYSTEM, agency_id=agency.id)  # the agency's administrator at work
        departments = _departments(session, agency.id)
        _leaders(session, admin, agency.id, departments)
        office = next((d for name in OFFICE_NAMES for d in departments if d.name == name), None)
        if office is not None:
            leaders.set_offices(
                session, admin, {"personnel_department_id": office.id, "finance_department_id": office.id}
            )
            _work_starts(session, agency.id, office.id or 0)
    if agencies:
        _requests(session, agencies[0].id or 0)


def _departments(session: Session, agency_id: int) -> list[Department]:
    return list(
        session.exec(
            select(Department)
            .where(Department.parent_id == agency_id, Department.kind == DeptKind.department)
            .order_by(col(Department.sort_order), col(Department.id))
        ).all()
    )


def _members(session: Session, department_id: int) -> list[tuple[int, str]]:
    """(user id, post title) of a department's people, in the order they were created."""
    rows = session.exec(
        select(Post.user_id, Post.title).where(Post.department_id == department_id).order_by(col(Post.user_id))
    ).all()
    return [(u, t) for u, t in rows if u is not None]


def _leaders(session: Session, admin: Actor, agency_id: int, departments: list[Department]) -> None:
    office = next((d for d in departments if d.name == LEADER_OFFICE), None)
    people = _members(session, office.id or 0) if office else []
    if not people:
        return
    principal = next((u for u, title in people if not title.startswith("副")), people[0][0])
    deputies = [u for u, title in people if u != principal] or [principal]
    supervisors = [
        {"department_id": d.id, "user_id": deputies[i % len(deputies)]}
        for i, d in enumerate(d for d in departments if d.name != LEADER_OFFICE)
    ]
    leaders.set_leaders(session, admin, {"principal": principal, "supervisors": supervisors})


def _work_starts(session: Session, agency_id: int, office_id: int) -> None:
    """参加工作时间 for everyone of the agency, recorded by the personnel office (a keeper never records
    their own: the office's second member records the first's)."""
    keepers = [u for u, _ in _members(session, office_id)][:2]
    if not keepers:
        return
    people = session.exec(
        select(Post.user_id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(Department.agency_id == agency_id)
        .distinct()
    ).all()
    for n, user_id in enumerate(sorted(u for u in people if u is not None)):
        keeper = keepers[1] if user_id == keepers[0] and len(keepers) > 1 else keepers[0]
        if keeper == user_id:
            continue
        # 3 to 30 years of service: annual leave of 5, 10 and 15 days all show up.
        start = dt.date(2023 - (n * 7) % 28, 1 + n % 12, 1)
        leave.set_personnel(session, load_actor(session, keeper), user_id, work_start=start, note="")


def _requests(session: Session, agency_id: int) -> None:
    forms = {
        t.builtin: t.id
        for t in session.exec(select(FormTemplate).where(FormTemplate.agency_id == agency_id)).all()
        if t.builtin and t.id is not None
    }
    staff = _staff_with_heads(session, agency_id)
    if len(staff) < 3 or not {"leave", "expense", "travel"} <= set(forms):
        return
    today = dt.date.today()
    monday = today + dt.timedelta(days=14 - today.weekday())  # a week on Monday: working days ahead
    last_monday = today - dt.timedelta(days=7 + today.weekday())

    # 请假, waiting for the applicant's 处长.
    _create(
        session,
        staff[0],
        forms["leave"],
        {
            "kind": "年休假",
            "dates": {"start": monday.isoformat(), "end": (monday + dt.timedelta(days=1)).isoformat()},
            "reason": "回老家探望父母",
        },
    )

    # 差旅费报销, approved by the head and then the 财务处.
    applicant = load_actor(session, staff[1])
    invoice = files.upload(
        session, applicant, name="发票.txt", content_type="text/plain", data="演示发票：北京往返机票、住宿费".encode()
    )
    trip = {
        "region": "北京",
        "start": last_monday.isoformat(),
        "end": (last_monday + dt.timedelta(days=2)).isoformat(),
        "tickets": 185_000,
        "nights": 2,
        "lodging": 96_000,
    }
    req = _create(
        session, staff[1], forms["expense"], {"rank": "其他人员", "details": [trip], "invoices": [invoice.id]}
    )
    _approve_to_the_end(session, req.id or 0)

    # 出差审批, returned to its applicant by the head.
    req = _create(
        session,
        staff[2],
        forms["travel"],
        {
            "destination": "北京",
            "dates": {"start": monday.isoformat(), "end": (monday + dt.timedelta(days=2)).isoformat()},
            "reason": "参加全国政务服务工作会议",
            "transport": "飞机",
            "amount": 500_000,
        },
    )
    head = tasks.current_assignees(session, engine.get_case(session, req.case_id or 0))[0]
    actions.act(session, load_actor(session, head), req.id or 0, "return", version=req.version, opinion="请附会议通知")


def _create(session: Session, user_id: int, template_id: int, values: dict[str, Any]) -> Any:
    actor = load_actor(session, user_id)
    return submission.create_request(session, actor, template_id=template_id, values=values, submit=True)


def _approve_to_the_end(session: Session, request_id: int) -> None:
    for _ in range(10):  # a built-in route has at most four steps
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        case = engine.get_case(session, row.case_id or 0)
        people = tasks.current_assignees(session, case) if case.current_step is not None else []
        if not people:
            return
        actions.act(session, load_actor(session, people[0]), request_id, "approve", version=row.version, opinion="同意")


def _staff_with_heads(session: Session, agency_id: int) -> list[int]:
    """科员 holding no other role, in departments that have a 处长, one per department in the tree's
    order (so each request has a head to go to, and the first is the head on the demo screen)."""
    out = []
    for d in _departments(session, agency_id):
        if d.name == LEADER_OFFICE:
            continue
        people = [load_actor(session, u) for u, _ in _members(session, d.id or 0)]
        if not any(p.has(Role.dept_head) for p in people):
            continue
        plain = [p.user_id for p in people if p.roles <= {Role.staff}]
        if plain:
            out.append(plain[0])
    return out
