"""The personnel and finance ledgers: per department and month, what was applied for and approved
(counts per form) and the amounts approved; per person, the leave approved in the month. Read by
the agency's personnel and finance offices; exported to xlsx, every text cell neutralised by
``office.spreadsheet`` (a department or form named "=1+1" stays text).

A month is a month in China time: a request counts as applied in the month it was submitted and as
approved in the month its last step agreed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from banshi import leave_rules
from banshi.leave import CHINA
from banshi.models import ApprovalRequest, FormTemplate, RequestStatus
from banshi.office_access import require_office
from office import audit
from office.actor import Actor
from office.errors import NotFound, ValidationError
from office.models import Department, User
from office.spreadsheet import safe_cell

MONTH = re.compile(r"(20\d\d)-(0[1-9]|1[0-2])", re.ASCII)


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[first moment, first moment of the next month) of ``YYYY-MM`` in China time, as UTC."""
    m = MONTH.fullmatch(month)
    if not m:
        raise ValidationError("月份格式应为 YYYY-MM", code="bad_month", field="month")
    year, mon = int(m[1]), int(m[2])
    start = dt.datetime(year, mon, 1, tzinfo=CHINA)
    end = dt.datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=CHINA)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _departments(session: Session, agency_id: int, department_id: int | None) -> dict[int, str]:
    """The departments counted: the agency's, or one department and those below it."""
    rows = session.exec(select(Department).where(Department.agency_id == agency_id)).all()
    if department_id is None:
        return {d.id: d.name for d in rows if d.id is not None}
    root = next((d for d in rows if d.id == department_id), None)
    if root is None:
        raise NotFound("部门不存在", code="department_not_found")
    return {d.id: d.name for d in rows if d.id is not None and d.path.startswith(root.path)}


def _requests(session: Session, agency_id: int, dept_ids: list[int], start: dt.datetime, end: dt.datetime) -> list[Any]:
    """Requests of the departments submitted or finished in the month, with their form's name."""
    submitted = (col(ApprovalRequest.submitted_at) >= start) & (col(ApprovalRequest.submitted_at) < end)
    finished = (col(ApprovalRequest.finished_at) >= start) & (col(ApprovalRequest.finished_at) < end)
    return list(
        session.exec(
            select(ApprovalRequest, FormTemplate.name, FormTemplate.builtin)
            .join(FormTemplate, col(FormTemplate.id) == ApprovalRequest.template_id)
            .where(
                ApprovalRequest.agency_id == agency_id,
                col(ApprovalRequest.applicant_dept_id).in_(dept_ids),
                submitted | finished,
            )
        ).all()
    )


def ledger(session: Session, actor: Actor, *, month: str, department_id: int | None = None) -> dict[str, Any]:
    require_office(session, actor, "personnel", "finance")
    start, end = month_bounds(month)
    depts = _departments(session, actor.agency_id or 0, department_id)
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    leave: dict[tuple[int, str], float] = defaultdict(float)
    applicants: dict[int, int] = {}
    for r, name, builtin in _requests(session, actor.agency_id or 0, list(depts), start, end):
        dept = r.applicant_dept_id
        row = rows.setdefault(
            (dept, r.template_id),
            {
                "department_id": dept,
                "department": depts.get(dept, ""),
                "template_id": r.template_id,
                "template": name,
                "applied": 0,
                "approved": 0,
                "approved_fen": 0,
            },
        )
        if r.submitted_at and start <= r.submitted_at < end:
            row["applied"] += 1
        if r.status == RequestStatus.approved and r.finished_at and start <= r.finished_at < end:
            row["approved"] += 1
            row["approved_fen"] += r.amount_fen or 0
            if builtin == "leave":
                leave[(r.applicant_id, str(r.values.get("kind", "")))] += r.days or 0
                applicants[r.applicant_id] = dept
    names = {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_({k[0] for k in leave})))}
    items = sorted(rows.values(), key=lambda x: (x["department"], x["template"]))
    people = [
        {
            "user_id": uid,
            "name": names.get(uid, ""),
            "department": depts.get(applicants[uid], ""),
            "kind": kind,
            "days": days,
        }
        for (uid, kind), days in sorted(leave.items(), key=lambda kv: (names.get(kv[0][0], ""), kv[0][1]))
    ]
    return {
        "month": month,
        "department_id": department_id,
        "items": items,
        "totals": {k: sum(i[k] for i in items) for k in ("applied", "approved", "approved_fen")},
        "leave": people,
        "leave_kinds": [k.label for k in leave_rules.LEAVE_KINDS],
    }


def to_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("办事台账")
    ws.append(["月份", "部门", "事项", "申请数", "批准数", "批准金额（元）"])
    for i in data["items"]:
        ws.append(
            [
                safe_cell(v)
                for v in (
                    data["month"],
                    i["department"],
                    i["template"],
                    i["applied"],
                    i["approved"],
                    i["approved_fen"] / 100,
                )
            ]
        )
    t = data["totals"]
    ws.append(["合计", "", "", t["applied"], t["approved"], t["approved_fen"] / 100])
    lv = wb.create_sheet("请假")
    lv.append(["月份", "姓名", "部门", "请假类型", "天数"])
    for p in data["leave"]:
        lv.append([safe_cell(v) for v in (data["month"], p["name"], p["department"], p["kind"], p["days"])])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(session: Session, actor: Actor, *, month: str, department_id: int | None = None) -> bytes:
    data = ledger(session, actor, month=month, department_id=department_id)
    audit.record(
        session,
        actor,
        "banshi.ledger.export",
        target_type="agency",
        target_id=actor.agency_id or "",
        detail={"month": month, "department_id": department_id, "rows": len(data["items"])},
    )
    return to_xlsx(data)
