"""``office demo`` shows 办事 working: every agency has its built-in forms, 分管领导 and 主要领导, its
人事处/财务处 and people's 参加工作时间 (so annual leave has balances); the first agency has a 请假
waiting for the 处长 on the demo screen, a 差旅费报销 approved and a 出差审批 returned."""

from __future__ import annotations

from sqlmodel import col, func, select

from banshi import demo, leave
from banshi.builtin import BUILTIN_KEYS
from banshi.models import AgencyOffices, ApprovalRequest, FormTemplate, LeaderAssignment, PersonnelRecord
from office import demo as office_demo
from office.db import Database
from office.models import Department, DeptKind, User
from workflow import engine, tasks


def test_demo_gives_every_agency_working_forms_and_the_first_some_requests(db: Database) -> None:
    with db.write() as s:
        accounts = office_demo.seed(s, password="demo-password-2026")
    with db.write() as s:
        demo.seed(s)
    with db.read() as s:
        ids = {u.username: u.id for u in s.exec(select(User)).all()}
        agencies = s.exec(
            select(Department).where(Department.kind == DeptKind.agency).order_by(col(Department.id))
        ).all()
        assert len(agencies) == 3
        for agency in agencies:
            forms = s.exec(select(FormTemplate.builtin).where(FormTemplate.agency_id == agency.id)).all()
            assert sorted(forms) == sorted(BUILTIN_KEYS)
            depts = s.exec(select(Department).where(Department.parent_id == agency.id)).all()
            assigned = s.exec(
                select(LeaderAssignment).where(
                    col(LeaderAssignment.department_id).in_([agency.id, *(d.id for d in depts)])
                )
            ).all()
            assert {a.kind for a in assigned} == {"principal", "supervisor"}
            assert len([a for a in assigned if a.kind == "supervisor"]) == len(depts) - 1  # all but the leaders'
            offices = s.get(AgencyOffices, agency.id)
            assert offices is not None and offices.personnel_department_id and offices.finance_department_id
        people = s.exec(select(func.count()).select_from(PersonnelRecord)).one()
        assert people == len(accounts)
        year = leave.this_year()
        entitled = {leave.balance(s, u, year)["annual"]["entitled"] for u in ids.values() if u is not None}
        assert {5, 10, 15} <= entitled and min(entitled) > 0  # every length of service shows up

        requests = {r.title: r for r in s.exec(select(ApprovalRequest)).all()}
        kinds = {t.id: t.builtin for t in s.exec(select(FormTemplate)).all()}
        made = {r.status.value: kinds[r.template_id] for r in requests.values()}
        assert made == {"running": "leave", "approved": "expense", "returned": "travel"}
        waiting = next(r for r in requests.values() if r.status.value == "running")
        case = engine.get_case(s, waiting.case_id or 0)
        shown = {a.username for a in _printed(accounts)}
        head = tasks.current_assignees(s, case)
        assert case.route[case.current_step]["name"] == "部门负责人审批"  # type: ignore[index]
        assert [u for u, i in ids.items() if i in head][0] in shown  # a login the demo prints
        approved = next(r for r in requests.values() if r.status.value == "approved")
        assert approved.amount_fen and approved.amount_fen > 185_000 and approved.proof


def _printed(accounts: list[office_demo.DemoAccount]) -> list[office_demo.DemoAccount]:
    text = office_demo.print_accounts(accounts, "pw")
    return [a for a in accounts if f"  {a.username} " in text]
