"""The built-in forms on the real service: 请假 across 国庆 2026 (working days by the calendar with its
调休 Saturday, more than three days → 分管领导, 人事处 copied, the ledger written on approval, a
request beyond the balance refused naming the dates), and 差旅费报销 (allowances computed, the amount
that takes the route's branch)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from banshi import actions, files, preview, submission
from banshi.builtin import ensure_builtin_templates
from banshi.models import ApprovalRequest, FormTemplate, LeaderAssignment, LeaveEntry, RequestCc, RequestStatus
from office.db import Database
from office.errors import ValidationError
from tests.banshi.people_world import set_offices, set_work_start
from tests.factories import Org
from workflow.models import TaskState, WfTask


def _setup(db: Database, org: Org) -> dict[str, int]:
    set_offices(db, org)
    set_work_start(db, org.users["hamlet"], "2020-03-01")  # 5 days a year
    with db.write() as s:
        s.add(LeaderAssignment(department_id=org.depts["A1"], kind="supervisor", user_id=org.users["claudius"]))
        s.add(LeaderAssignment(department_id=org.agencies["A"], kind="principal", user_id=org.users["claudius"]))
        ensure_builtin_templates(s, org.agencies["A"])
        rows = s.exec(select(FormTemplate).where(FormTemplate.agency_id == org.agencies["A"])).all()
        return {t.builtin: t.id or 0 for t in rows}


def _approve_all(db: Database, org: Org, rid: int) -> ApprovalRequest:
    """Each pending approver agrees in turn until the request is decided."""
    names = {uid: name for name, uid in org.users.items()}
    for _ in range(6):
        with db.read() as s:
            req = s.get(ApprovalRequest, rid)
            assert req is not None
            uid = s.exec(select(WfTask.assignee_id).where(WfTask.case_id == req.case_id,
                                                          WfTask.state == TaskState.pending)).first()  # fmt: skip
        if req.status != RequestStatus.running:
            return req
        assert uid is not None
        with db.write() as s:
            actions.act(s, org.actor(names[uid]), rid, "approve", version=req.version, opinion="同意")
    raise AssertionError("the route did not end")


def _leave(start: str, end: str, kind: str = "年休假") -> dict[str, Any]:
    return {"kind": kind, "dates": {"start": start, "end": end}, "reason": "回老家"}


def test_leave_across_national_day(db: Database, org: Org) -> None:
    ids = _setup(db, org)
    hamlet = org.actor("hamlet")
    with db.read() as s, pytest.raises(ValidationError) as exc:
        preview.preview(s, hamlet, template_id=ids["leave"], values=_leave("2026-09-28", "2026-10-10"))
    assert exc.value.extra["field"] == "dates" and "可休 5 天，本次申请 6 天" in exc.value.message
    with db.read() as s:
        shown = preview.preview(s, hamlet, template_id=ids["leave"], values=_leave("2026-09-28", "2026-10-08"))
    assert shown["values"]["dates"]["days"] == 4  # 28–30 September and 8 October
    assert [step["people"][0]["name"] for step in shown["route"]] == ["王强", "赵刚"]  # > 3 days: 分管领导
    assert shown["info"]["leave"]["balance"]["available"] == 5
    with db.write() as s:
        req = submission.create_request(s, hamlet, template_id=ids["leave"], values=_leave("2026-09-28", "2026-10-08"),
                                     submit=True)  # fmt: skip
        rid = req.id or 0
    assert req.days == 4
    done = _approve_all(db, org, rid)
    assert done.status == RequestStatus.approved
    with db.read() as s:
        entries = s.exec(select(LeaveEntry).where(LeaveEntry.user_id == org.users["hamlet"])).all()
        cc = set(s.exec(select(RequestCc.user_id).where(RequestCc.request_id == rid)).all())
    assert sorted((e.days, e.request_id) for e in entries) == [(-4, rid), (5, None)]
    assert {org.users["horatio"], org.users["laertes"]} <= cc  # 人事处 copied at the end
    with db.read() as s, pytest.raises(ValidationError) as exc:
        preview.preview(s, hamlet, template_id=ids["leave"], values=_leave("2026-11-02", "2026-11-03"))
    assert "可休 1 天" in exc.value.message


def test_expense_allowances_and_amount_branch(db: Database, org: Org) -> None:
    ids = _setup(db, org)
    row = {"region": "北京", "start": "2026-03-02", "end": "2026-03-04", "nights": 2, "lodging": 120_000,
           "tickets": 55_300}  # fmt: skip
    with db.write() as s:
        invoice = files.upload(
            s, org.actor("hamlet"), name="发票.pdf", content_type="application/pdf", data=b"%PDF-1.4"
        )
    values = {"rank": "其他人员", "details": [row], "amount": 1, "invoices": [invoice.id]}
    with db.read() as s:
        small = preview.preview(s, org.actor("hamlet"), template_id=ids["expense"], values=values)
    total = 55_300 + 100_000 + 3 * (10_000 + 8_000)
    assert small["values"]["amount"] == total  # the client's 1 分 is replaced by the computed total
    assert small["values"]["allowances"]["over_cap_rows"] == [1]
    assert len(small["route"]) == 2  # 部门负责人, 财务处 (laertes heads 秘书处)
    big = {**values, "details": [{**row, "tickets": 5_000_000}]}
    with db.read() as s:
        large = preview.preview(s, org.actor("hamlet"), template_id=ids["expense"], values=big)
    assert large["values"]["amount"] >= 5_000_000 and len(large["route"]) >= 3


def test_expense_trip_links_only_a_travel_request(db: Database, org: Org) -> None:
    """差旅费报销's 出差审批单 names its form (``link_form``): a 请假 of the applicant is refused there on
    the server as the picker never offers it, naming the field and saving nothing."""
    ids = _setup(db, org)
    hamlet = org.actor("hamlet")
    trip = {"destination": "北京", "dates": {"start": "2026-03-02", "end": "2026-03-04"}, "reason": "调研",
            "transport": "火车"}  # fmt: skip
    with db.write() as s:
        leave = submission.create_request(
            s, hamlet, template_id=ids["leave"], values=_leave("2026-03-02", "2026-03-03")
        )
        travel = submission.create_request(s, hamlet, template_id=ids["travel"], values=trip)
        invoice = files.upload(s, hamlet, name="发票.pdf", content_type="application/pdf", data=b"%PDF-1.4")
    row = {"region": "北京", "start": "2026-03-02", "end": "2026-03-04", "nights": 2, "lodging": 60_000}
    values = {"rank": "其他人员", "details": [row], "invoices": [invoice.id]}
    with db.read() as s:
        before = len(s.exec(select(ApprovalRequest.id)).all())
    for submit in (False, True):
        with db.write() as s, pytest.raises(ValidationError) as exc:
            submission.create_request(s, hamlet, template_id=ids["expense"], submit=submit,
                                      values={**values, "trip": {"kind": "request", "id": leave.id}})  # fmt: skip
        assert (exc.value.status_code, exc.value.code, exc.value.extra) == (422, "bad_link", {"field": "trip"})
        assert exc.value.message == "“出差审批单”只能关联「出差审批」申请"
    with db.read() as s:
        assert len(s.exec(select(ApprovalRequest.id)).all()) == before
    with db.write() as s:
        ok = submission.create_request(s, hamlet, template_id=ids["expense"], submit=True,
                                       values={**values, "trip": {"kind": "request", "id": travel.id}})  # fmt: skip
    assert ok.values["trip"] == {"kind": "request", "id": travel.id}
