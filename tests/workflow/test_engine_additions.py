"""What 办事 asks of the route engine: 加签 before or after the actor, 催办, and 终止/撤回 as 拒绝/撤销."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from office import events
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from office.models import AuditEntry
from tests.conftest import Recorder
from tests.factories import Org
from workflow import case_kinds, delegation, engine, route_view, tasks
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask

KIND = "test_approval"
case_kinds.register_kind(
    KIND,
    case_kinds.KindSpec(
        event_prefix="form",
        notify_type="notify.form",
        source="tests",
        describe=lambda _s, c: (f"申请{c.subject_id}", f"/forms/{c.subject_id}"),
    ),
)


@pytest.fixture(autouse=True)
def _made_up_kind_events() -> Iterator[None]:
    with events.unchecked():
        yield


def new_case(org: Org, mode: str = "any") -> int:
    """horatio (秘书处) applies: 处室负责人 laertes, then hamlet and ophelia (``mode``), then claudius."""
    with org.db.write() as s:
        case = engine.create_case(
            s,
            org.actor("horatio"),
            kind=KIND,
            subject_id=3,
            agency_id=org.agencies["A"],
            route=[
                {"key": "head", "name": "处室负责人审批", "actor": {"kind": "drafter_head"}},
                {
                    "key": "pair",
                    "name": "综合处审核",
                    "mode": mode,
                    "allow_add_signer": True,
                    "actor": {"kind": "user", "user_ids": [org.users["hamlet"], org.users["ophelia"]]},
                },
                {"key": "leader", "name": "领导审批", "actor": {"kind": "user", "user_ids": [org.users["claudius"]]}},
            ],
        )
        case_id = case.id or 0
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    return case_id


def do(org: Org, username: str, fn: Any, case_id: int, **kw: Any) -> Any:
    with org.db.write() as s:
        return fn(s, org.actor(username), engine.get_case(s, case_id), **kw)


def pending(org: Org, case_id: int) -> list[int]:
    with org.db.read() as s:
        return tasks.current_assignees(s, engine.get_case(s, case_id))


def ids(org: Org, *names: str) -> list[int]:
    return sorted(org.users[n] for n in names)


def keys(org: Org, case_id: int) -> list[str]:
    with org.db.read() as s:
        return [st["key"] for st in engine.get_case(s, case_id).route]


# 加签 ----------------------------------------------------------------------------------------------


def test_add_signer_after_inserts_a_step_after_the_current_one(org: Org) -> None:
    case_id = new_case(org)
    t = do(org, "ophelia", engine.add_signer, case_id, user_ids=[org.users["gertrude"]], position="after")
    assert t.new_assignees == []  # nobody new acts yet: the added step comes after this one
    assert keys(org, case_id) == ["head", "pair", "add1", "leader"]
    assert pending(org, case_id) == ids(org, "hamlet", "ophelia")
    do(org, "ophelia", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "gertrude")
    do(org, "gertrude", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "claudius")
    with org.db.read() as s:
        added = engine.get_case(s, case_id).route[2]
        assert added["name"] == "李娜加签" and added["mode"] == "all" and added["origin"] == "pair"
        h = s.exec(select(WfHistory).where(WfHistory.case_id == case_id, WfHistory.action == "add_signer")).one()
        assert h.detail["position"] == "after" and h.detail["user_ids"] == [org.users["gertrude"]]


def test_add_signer_before_pauses_the_step_until_the_added_people_approve(org: Org) -> None:
    case_id = new_case(org)
    added = ids(org, "gertrude", "yorick")
    do(org, "ophelia", engine.add_signer, case_id, user_ids=added, position="before", reason="请先核对")
    assert keys(org, case_id) == ["head", "add1", "pair", "leader"]
    assert pending(org, case_id) == added
    with pytest.raises(PermissionDenied):  # her task waits for the people she added
        do(org, "ophelia", engine.approve, case_id)
    do(org, "gertrude", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "yorick")  # everyone added must approve
    do(org, "yorick", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "hamlet", "ophelia")  # the step's tasks are back
    do(org, "ophelia", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "claudius")
    assert do(org, "claudius", engine.approve, case_id).finished
    with org.db.read() as s:
        case = engine.get_case(s, case_id)
        assert "resume" not in case.route[2]
        picture = route_view.route_picture(s, case)
        assert [st["state"] for st in picture["steps"]] == ["done"] * 4
        head_tasks = s.exec(select(WfTask).where(WfTask.case_id == case_id, WfTask.step_key == "head")).all()
        assert [t.step_index for t in head_tasks] == [0]  # tasks before the insertion keep their index
        pair = s.exec(select(WfTask).where(WfTask.case_id == case_id, WfTask.step_key == "pair")).all()
        assert {t.step_index for t in pair} == {2}  # the paused ones moved with their step


def test_add_signer_before_in_a_countersign_step_keeps_approvals_already_given(org: Org) -> None:
    case_id = new_case(org, mode="all")
    do(org, "hamlet", engine.approve, case_id)
    do(org, "ophelia", engine.add_signer, case_id, user_id=org.users["gertrude"], position="before")
    do(org, "gertrude", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "ophelia")  # hamlet is not asked again
    do(org, "ophelia", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "claudius")


def test_a_step_paused_before_a_return_is_asked_anew(org: Org) -> None:
    case_id = new_case(org, mode="all")
    do(org, "hamlet", engine.approve, case_id)
    do(org, "ophelia", engine.add_signer, case_id, user_id=org.users["gertrude"], position="before")
    do(org, "gertrude", engine.return_to, case_id, target="head", reason="请处长再看")
    do(org, "laertes", engine.approve, case_id)
    assert pending(org, case_id) == ids(org, "gertrude")
    do(org, "gertrude", engine.approve, case_id)
    # A new round: hamlet's approval of the earlier round does not count, so both are asked.
    assert pending(org, case_id) == ids(org, "hamlet", "ophelia")


def test_add_signer_with_keeps_the_step_and_refuses_bad_requests(org: Org) -> None:
    case_id = new_case(org)
    with org.db.read() as s:
        before = engine.get_case(s, case_id).version
    for kw, code in (
        ({"user_id": org.users["gertrude"], "position": "beside"}, "bad_position"),
        ({"user_ids": []}, "bad_user"),
        ({"user_id": org.users["ophelia"]}, "self_signer"),
        ({"user_id": org.users["iago"], "position": "after"}, "other_agency"),
        ({"user_id": org.users["hamlet"]}, "already_assigned"),
        ({"user_ids": list(range(1000, 1021))}, "too_many_signers"),
    ):
        with pytest.raises(ValidationError) as exc:
            do(org, "ophelia", engine.add_signer, case_id, **kw)
        assert exc.value.code == code, kw
    with pytest.raises(Conflict):
        do(org, "ophelia", engine.add_signer, case_id, user_id=org.users["gertrude"], expected_version=before - 1)
    with org.db.read() as s:
        case = engine.get_case(s, case_id)
        assert case.version == before and [st["key"] for st in case.route] == ["head", "pair", "leader"]
    do(org, "ophelia", engine.add_signer, case_id, user_id=org.users["gertrude"])
    assert pending(org, case_id) == ids(org, "gertrude", "hamlet", "ophelia")
    do(org, "hamlet", engine.approve, case_id)  # "any": one of the step's people, but the added one must too
    assert pending(org, case_id) == ids(org, "gertrude")


# 催办 ----------------------------------------------------------------------------------------------


def test_urge_reminds_the_pending_people_and_their_deputies_once_per_ten_minutes(org: Org, recorder: Recorder) -> None:
    case_id = new_case(org)
    now = utcnow()
    with org.db.write() as s:
        delegation.set_delegation(
            s,
            org.actor("hamlet"),
            deputy_id=org.users["polonius"],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    with org.db.read() as s:
        version = engine.get_case(s, case_id).version
    with pytest.raises(PermissionDenied):  # only the applicant urges
        do(org, "laertes", engine.urge, case_id)
    recorder.clear()
    t = do(org, "horatio", engine.urge, case_id, message="明天出发，请尽快")
    assert t.notified == ids(org, "hamlet", "ophelia")
    [notice] = recorder.of("notify.form")
    assert set(notice.user_ids) == set(ids(org, "hamlet", "ophelia", "polonius"))
    assert notice.payload["title"] == "催办：申请3" and "明天出发" in notice.payload["body"]
    with pytest.raises(ValidationError) as exc:
        do(org, "horatio", engine.urge, case_id)
    assert exc.value.code == "urged_recently"
    with org.db.write() as s:
        assert engine.get_case(s, case_id).version == version  # the route did not move
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "workflow.urge")).one()
        h = s.exec(select(WfHistory).where(WfHistory.case_id == case_id, WfHistory.action == "urge")).one()
        h.at = utcnow() - timedelta(minutes=11)
        s.add(h)
    do(org, "horatio", engine.urge, case_id)  # ten minutes later it may urge again


def test_urge_only_while_running(org: Org) -> None:
    case_id = new_case(org)
    do(org, "ophelia", engine.approve, case_id)
    do(org, "claudius", engine.approve, case_id)
    with pytest.raises(InvalidTransition):
        do(org, "horatio", engine.urge, case_id)


# 拒绝 and 撤销 ---------------------------------------------------------------------------------------


def test_terminate_serves_as_reject(org: Org, recorder: Recorder) -> None:
    case_id = new_case(org)
    with org.db.read() as s:
        version = engine.get_case(s, case_id).version
    with pytest.raises(ValidationError):
        do(org, "ophelia", engine.terminate, case_id, reason=" ")
    with pytest.raises(Conflict):
        do(org, "ophelia", engine.terminate, case_id, reason="不符合规定", expected_version=version - 1)
    with pytest.raises(PermissionDenied):  # only an approver of the current step rejects
        do(org, "horatio", engine.terminate, case_id, reason="x")
    recorder.clear()
    t = do(org, "ophelia", engine.terminate, case_id, reason="不符合规定", expected_version=version)
    assert t.action == "terminate" and sorted(t.removed_assignees) == ids(org, "hamlet")
    with org.db.read() as s:
        case = s.get(WfCase, case_id)
        assert case is not None and case.state == CaseState.finished and case.finished_at is not None
        states = s.exec(select(WfTask.state).where(WfTask.case_id == case_id, WfTask.step_key == "pair")).all()
        assert sorted(states) == sorted([TaskState.returned, TaskState.cancelled])
    assert [e.payload["op"] for e in recorder.of("form.case")] == ["terminate"]
    for user, fn, kw in (("horatio", engine.withdraw, {}), ("horatio", engine.urge, {})):
        with pytest.raises(InvalidTransition):
            do(org, user, fn, case_id, **kw)


def test_withdraw_serves_as_cancel_until_someone_acts(org: Org) -> None:
    with org.db.write() as s:
        case = engine.create_case(
            s,
            org.actor("horatio"),
            kind=KIND,
            subject_id=4,
            agency_id=org.agencies["A"],
            route=[{"key": "head", "name": "处室负责人审批", "actor": {"kind": "drafter_head"}}],
        )
        case_id = case.id or 0
    do(org, "horatio", engine.submit, case_id)
    do(org, "horatio", engine.withdraw, case_id, reason="不去了")
    with org.db.read() as s:
        assert engine.get_case(s, case_id).state == CaseState.withdrawn
        assert pending(org, case_id) == []
    case_id = new_case(org)  # laertes has approved: too late
    with pytest.raises(InvalidTransition) as exc:
        do(org, "horatio", engine.withdraw, case_id)
    assert exc.value.code == "already_acted"
