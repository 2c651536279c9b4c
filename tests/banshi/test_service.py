"""办事 requests through the service: submission (one transaction: serial, case, tasks, 抄送, events),
the actions on the route and what each does to the request, and the applicant's 工作通知."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import col, select

from banshi import actions, behaviours, submission, templates
from banshi.models import ApprovalRequest, FormVersion, RequestCc, RequestStatus
from office.audit import AuditEntry
from office.db import Database
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Role
from tests.banshi.svc_helpers import make_template, step, two_steps
from tests.conftest import Recorder
from tests.factories import Org, make_user
from workflow.models import TaskState, WfCase, WfTask


def submit(db: Database, org: Org, tid: int, who: str = "hamlet", **values: Any) -> ApprovalRequest:
    with db.write() as s:
        return submission.create_request(
            s, org.actor(who), template_id=tid, values={"reason": "购买打印纸", **values}, submit=True
        )


def act(db: Database, org: Org, who: str, rid: int, action: str, **kw: Any) -> ApprovalRequest:
    with db.write() as s:
        version = s.get(ApprovalRequest, rid).version  # type: ignore[union-attr]
        kw.setdefault("version", version)
        return actions.act(s, org.actor(who), rid, action, **kw)


def get(db: Database, rid: int) -> ApprovalRequest:
    with db.read() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        return row


def pending(db: Database, rid: int) -> list[int]:
    with db.read() as s:
        case_id = s.get(ApprovalRequest, rid).case_id  # type: ignore[union-attr]
        return sorted(
            s.exec(select(WfTask.assignee_id).where(WfTask.case_id == case_id, WfTask.state == TaskState.pending)).all()
        )


def notices(rec: Recorder, user_id: int) -> list[dict[str, Any]]:
    return [e.payload for e in rec.of("notify.banshi") if user_id in e.payload["user_ids"]]


def test_submission_numbers_the_request_and_tells_the_first_approver(
    db: Database, org: Org, recorder: Recorder
) -> None:
    tid = make_template(db, org)
    first = submit(db, org, tid, amount=12_345)
    second = submit(db, org, tid, who="ophelia")
    assert first.status == RequestStatus.running and first.submitted_at is not None
    assert re.fullmatch(r"\d{8}0001", first.serial) and second.serial == first.serial[:8] + "0002"
    assert first.title == "张伟的采购申请" and first.amount_fen == 12_345
    assert pending(db, first.id or 0) == [org.users["polonius"]]
    [notice] = [n for n in notices(recorder, org.users["polonius"]) if n["link"] == f"/banshi/r/{first.id}"]
    assert notice["title"].startswith("待办") and notice["source"] == "banshi"
    assert any(e.payload["op"] == "add" for e in recorder.of("banshi.task"))
    submitted = [
        e
        for e in recorder.of("banshi.request")
        if e.payload == {"op": "submit", "request_id": first.id, "status": "running"}
    ]
    # the applicant and the route's people (as the engine read them for its own event)
    assert submitted and {org.users["hamlet"], org.users["polonius"]} <= set(submitted[0].user_ids)
    with db.read() as s:
        actions = set(s.exec(select(AuditEntry.action).where(AuditEntry.target_id == str(first.id))).all())
    assert {"banshi.create", "banshi.submit"} <= actions


def test_serial_numbers_are_per_agency(db: Database, org: Org) -> None:
    a = make_template(db, org)
    org.users["b_admin"] = make_user(db, "b_admin", "钱伟", dept_id=org.depts["B1"], roles={Role.admin})
    route = {"branches": [], "default": {"steps": [step("s1", "主任审批", org.users["iago"])]}, "cc": {}}
    b = make_template(db, org, route=route, admin="b_admin")
    assert submit(db, org, a).serial.endswith("0001")
    assert submit(db, org, b, who="othello").serial.endswith("0001")


def test_approval_along_the_route_to_the_end(db: Database, org: Org, recorder: Recorder) -> None:
    u = org.users
    tid = make_template(
        db, org, route=two_steps(org, submit=[u["horatio"]], after_s1=[u["gertrude"]], end=[u["yorick"]])
    )
    req = submit(db, org, tid)
    with db.read() as s:
        assert {(c.user_id, c.stage) for c in s.exec(select(RequestCc)).all()} == {(u["horatio"], "submit")}
    act(db, org, "polonius", req.id or 0, "approve", opinion="同意")
    assert pending(db, req.id or 0) == [u["claudius"]]
    assert get(db, req.id or 0).status == RequestStatus.running
    assert any("王强 已同意" in n["body"] for n in notices(recorder, u["hamlet"]))
    act(db, org, "claudius", req.id or 0, "approve")
    done = get(db, req.id or 0)
    assert done.status == RequestStatus.approved and done.finished_at is not None
    with db.read() as s:
        ccs = {(c.user_id, c.stage) for c in s.exec(select(RequestCc)).all()}
    assert ccs == {(u["horatio"], "submit"), (u["gertrude"], "s1"), (u["yorick"], "end")}
    assert any(n["title"].startswith("已通过") for n in notices(recorder, u["hamlet"]))
    assert notices(recorder, u["yorick"]) and notices(recorder, u["gertrude"])
    with pytest.raises(InvalidTransition):
        act(db, org, "claudius", req.id or 0, "approve")


class Recording:
    """A real behaviour of a test form: counts approvals and adds a computed value."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def prepare(self, session: Any, applicant: Any, template: Any, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("amount", 0) > 1_000_000:
            raise ValidationError("超过额度", code="over_limit", field="amount")
        return {"checked_by": "behaviour"}

    def approved(self, session: Any, request: ApprovalRequest) -> None:
        self.seen.append(request.id or 0)

    def undone(self, session: Any, request: ApprovalRequest) -> None:
        return None

    def info(self, session: Any, viewer: Any, request: ApprovalRequest) -> dict[str, Any]:
        return {"note": "test"}


RECORDING = Recording()
behaviours.register("test_recording", RECORDING)


def test_behaviour_prepares_values_and_hears_the_final_approval(db: Database, org: Org) -> None:
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    tid = make_template(db, org, route=route, builtin="test_recording")
    with pytest.raises(ValidationError) as exc:
        submit(db, org, tid, amount=2_000_000)
    assert exc.value.extra.get("field") == "amount"
    with db.read() as s:
        assert s.exec(select(ApprovalRequest)).all() == []  # refused: nothing written
    req = submit(db, org, tid, amount=100)
    assert req.values["checked_by"] == "behaviour"
    act(db, org, "polonius", req.id or 0, "approve")
    assert RECORDING.seen[-1] == req.id


def test_reject_needs_a_reason_and_ends_the_request(db: Database, org: Org, recorder: Recorder) -> None:
    req = submit(db, org, make_template(db, org))
    with pytest.raises(ValidationError):
        act(db, org, "polonius", req.id or 0, "reject", opinion="  ")
    assert get(db, req.id or 0).status == RequestStatus.running
    act(db, org, "polonius", req.id or 0, "reject", opinion="预算不足")
    row = get(db, req.id or 0)
    assert row.status == RequestStatus.rejected and row.finished_at is not None
    assert pending(db, req.id or 0) == []
    assert any("拒绝" in n["body"] for n in notices(recorder, org.users["hamlet"]))


def test_return_to_the_applicant_who_changes_and_resubmits(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    req = submit(db, org, tid, amount=500)
    act(db, org, "polonius", req.id or 0, "approve")
    act(db, org, "claudius", req.id or 0, "return", opinion="请补充用途", target="draft")
    row = get(db, req.id or 0)
    assert row.status == RequestStatus.returned and pending(db, req.id or 0) == []
    with db.write() as s, pytest.raises(PermissionDenied):
        submission.update_request(s, org.actor("polonius"), row.id or 0, values={"reason": "x"}, version=row.version)
    with db.write() as s:
        submission.update_request(
            s,
            org.actor("hamlet"),
            row.id or 0,
            values={"reason": "购买打印纸（用于年报）", "amount": 600},
            version=row.version,
        )
    row = get(db, req.id or 0)
    assert row.amount_fen == 600 and row.status == RequestStatus.returned
    with db.write() as s:
        submission.submit_request(s, org.actor("hamlet"), row.id or 0, version=row.version)
    again = get(db, req.id or 0)
    assert again.status == RequestStatus.running and again.serial == req.serial
    assert pending(db, req.id or 0) == [org.users["polonius"]]


def test_return_to_an_earlier_step(db: Database, org: Org) -> None:
    req = submit(db, org, make_template(db, org))
    act(db, org, "polonius", req.id or 0, "approve")
    act(db, org, "claudius", req.id or 0, "return", opinion="请再核", target="s1")
    assert get(db, req.id or 0).status == RequestStatus.running
    assert pending(db, req.id or 0) == [org.users["polonius"]]


def test_withdraw_only_by_the_applicant_and_only_before_anyone_acted(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    first = submit(db, org, tid)
    with pytest.raises(NotFound):  # ophelia cannot even read it
        act(db, org, "ophelia", first.id or 0, "withdraw")
    with pytest.raises(PermissionDenied):
        act(db, org, "polonius", first.id or 0, "withdraw")
    act(db, org, "hamlet", first.id or 0, "withdraw")
    assert get(db, first.id or 0).status == RequestStatus.withdrawn
    second = submit(db, org, tid)
    act(db, org, "polonius", second.id or 0, "approve")
    with pytest.raises(InvalidTransition):
        act(db, org, "hamlet", second.id or 0, "withdraw")
    assert get(db, second.id or 0).status == RequestStatus.running


def test_a_stale_version_changes_nothing(db: Database, org: Org) -> None:
    req = submit(db, org, make_template(db, org))
    with pytest.raises(Conflict):
        act(db, org, "polonius", req.id or 0, "approve", version=req.version - 1)
    assert pending(db, req.id or 0) == [org.users["polonius"]]


def test_only_the_current_approver_acts(db: Database, org: Org) -> None:
    req = submit(db, org, make_template(db, org, route=two_steps(org, submit=[org.users["horatio"]])))
    with pytest.raises(PermissionDenied):  # copied: reads it, may not approve it
        act(db, org, "horatio", req.id or 0, "approve")
    with pytest.raises(PermissionDenied):  # the applicant is not the approver
        act(db, org, "hamlet", req.id or 0, "approve")
    assert pending(db, req.id or 0) == [org.users["polonius"]]


def test_transfer_and_add_signer(db: Database, org: Org) -> None:
    req = submit(db, org, make_template(db, org))
    act(db, org, "polonius", req.id or 0, "transfer", user_id=org.users["laertes"], opinion="请陈处代批")
    assert pending(db, req.id or 0) == [org.users["laertes"]]
    act(db, org, "laertes", req.id or 0, "add_signer", user_ids=[org.users["ophelia"]])
    assert pending(db, req.id or 0) == sorted([org.users["laertes"], org.users["ophelia"]])
    with pytest.raises(ValidationError):
        act(db, org, "laertes", req.id or 0, "add_signer", user_ids=[org.users["othello"]])  # another agency
    with pytest.raises(ValidationError):
        act(db, org, "laertes", req.id or 0, "transfer")


def test_client_id_makes_a_retried_create_return_the_same_request(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.write() as s:
        a = submission.create_request(s, org.actor("hamlet"), template_id=tid, values={"reason": "x"}, client_id="k1")
    with db.write() as s:
        b = submission.create_request(s, org.actor("hamlet"), template_id=tid, values={"reason": "x"}, client_id="k1")
    assert a.id == b.id and a.status == RequestStatus.draft and a.serial == ""


def test_a_request_keeps_the_version_it_was_made_with(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    req = submit(db, org, tid)
    admin = org.actor("prospero")
    with db.write() as s:
        fields = [{"key": "reason", "label": "采购事由", "type": "text", "required": True}]
        templates.save_draft(s, admin, tid, fields_raw=fields, route_raw=two_steps(org), options_raw={})
        templates.publish(s, admin, tid)
    with db.read() as s:
        row = s.get(ApprovalRequest, req.id)
        assert row is not None
        mine = s.get(FormVersion, row.version_id)
        assert mine is not None and mine.no == 1 and [f["key"] for f in mine.fields] == ["reason", "amount"]
    act(db, org, "polonius", req.id or 0, "approve")  # still runs on its own version


def test_batch_approval_only_for_batch_templates(db: Database, org: Org) -> None:
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    easy = make_template(db, org, route=route, options={"batch": True}, name="物品领用")
    hard = make_template(db, org, route=route, name="采购申请")
    a, b, c = submit(db, org, easy), submit(db, org, easy, who="ophelia"), submit(db, org, hard)
    with db.write() as s:
        out = actions.batch_approve(
            s, org.actor("polonius"), [(a.id or 0, a.version), (b.id or 0, b.version - 1), (c.id or 0, c.version)]
        )
    assert out["done"] == [a.id]
    assert {f["id"]: f["error"] for f in out["failed"]} == {b.id: "stale_version", c.id: "not_batchable"}
    assert get(db, a.id or 0).status == RequestStatus.approved
    assert get(db, b.id or 0).status == RequestStatus.running and get(db, c.id or 0).status == RequestStatus.running


def test_every_state_change_is_audited(db: Database, org: Org) -> None:
    req = submit(db, org, make_template(db, org))
    act(db, org, "polonius", req.id or 0, "approve")
    act(db, org, "claudius", req.id or 0, "reject", opinion="不同意")
    with db.read() as s:
        rows = s.exec(select(AuditEntry.action).where(col(AuditEntry.action).startswith("workflow."))).all()
    assert {"workflow.submit", "workflow.approve", "workflow.terminate"} <= set(rows)


def test_a_draft_with_detail_rows_and_dates_is_submitted_as_saved(db: Database, org: Org) -> None:
    """Submitting a saved draft checks its stored values again: detail rows, date ranges and formulas
    as stored must pass as they did when saved (not be taken for a client's raw input and refused)."""
    fields = [
        {"key": "reason", "label": "事由", "type": "text", "required": True},
        {"key": "dates", "label": "日期", "type": "daterange", "required": True, "count": "calendar"},
        {
            "key": "items",
            "label": "明细",
            "type": "table",
            "required": True,
            "columns": [
                {"key": "name", "label": "品名", "type": "text", "required": True},
                {"key": "price", "label": "金额", "type": "money", "required": True, "total": True},
            ],
        },
        {"key": "total", "label": "合计", "type": "formula", "expr": "items.price", "result": "money"},
    ]
    tid = make_template(db, org, fields=fields)
    raw = {
        "reason": "采购",
        "dates": {"start": "2026-12-08", "end": "2026-12-09"},
        "items": [{"name": "打印纸", "price": 12_000}, {"name": "墨盒", "price": 30_000}],
    }
    with db.write() as s:
        draft = submission.create_request(s, org.actor("hamlet"), template_id=tid, values=raw)
        rid, version = draft.id or 0, draft.version
    with db.write() as s:
        sent = submission.submit_request(s, org.actor("hamlet"), rid, version=version)
        assert sent.status == RequestStatus.running
        assert sent.values["items"]["totals"] == {"price": 42_000} and sent.values["total"] == 42_000
        assert sent.amount_fen == 42_000 and sent.days == 2


def test_add_signer_after_me_makes_one_step_of_everyone_added(db: Database, org: Org) -> None:
    u = org.users
    req = submit(db, org, make_template(db, org))
    act(db, org, "polonius", req.id or 0, "add_signer", user_ids=[u["laertes"], u["ophelia"]], position="after")
    act(db, org, "polonius", req.id or 0, "approve")
    assert pending(db, req.id or 0) == sorted([u["laertes"], u["ophelia"]])  # together, in one step
    with db.read() as s:
        case = s.get(WfCase, get(db, req.id or 0).case_id)
        assert case is not None and len(case.route) == 3
    with pytest.raises(ValidationError):
        act(db, org, "laertes", req.id or 0, "add_signer", user_ids=[u["horatio"]], position="above")
