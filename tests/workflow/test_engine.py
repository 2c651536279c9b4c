"""The generic route engine, driven directly on a non-document case kind (an approval form)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, func, select

from office import events
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from office.models import AuditEntry
from tests.conftest import Recorder
from tests.factories import Org
from workflow import case_kinds, delegation, engine, route_view, tasks, versioning, worklist
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask
from workflow.steps import validate_route

KIND = "test_form"
case_kinds.register_kind(
    KIND,
    case_kinds.KindSpec(
        event_prefix="form",
        notify_type="notify.form",
        source="tests",
        describe=lambda _s, c: (f"表单{c.subject_id}", f"/forms/{c.subject_id}"),
    ),
)


@pytest.fixture(autouse=True)
def _made_up_kind_events() -> Iterator[None]:
    """The made-up case kind publishes ``form.*`` and ``notify.form`` events, declared nowhere."""
    with events.unchecked():
        yield


def route(org: Org) -> list[dict[str, Any]]:
    return [
        {"key": "head", "name": "处室负责人审核", "actor": {"kind": "drafter_head"}},
        {
            "key": "countersign",
            "name": "会签",
            "mode": "all",
            "actor": {"kind": "context_departments", "role": "dept_head", "key": "depts"},
        },
        {
            "key": "pair",
            "name": "两人任一审核",
            "actor": {"kind": "user", "user_ids": [org.users["hamlet"], org.users["ophelia"]]},
        },
        {"key": "leader", "name": "领导审批", "actor": {"kind": "role", "role": "leader", "department_id": None}},
    ]


def new_case(org: Org, depts: list[str] = ()) -> int:  # type: ignore[assignment]
    with org.db.write() as s:
        case = engine.create_case(
            s,
            org.actor("horatio"),
            kind=KIND,
            subject_id=7,
            agency_id=org.agencies["A"],
            route=route(org),
            context={"depts": [org.depts[d] for d in depts]},
        )
        return case.id or 0


def do(org: Org, username: str, fn: Any, case_id: int, **kw: Any) -> case_kinds.Transition:
    with org.db.write() as s:
        return fn(s, org.actor(username), engine.get_case(s, case_id), **kw)  # type: ignore[no-any-return]


def snapshot(org: Org, case_id: int) -> tuple[Any, ...]:
    with org.db.read() as s:
        case = engine.get_case(s, case_id)
        tasks = s.exec(select(WfTask.id, WfTask.state).where(WfTask.case_id == case_id)).all()
        hist = s.exec(select(func.count()).select_from(WfHistory).where(WfHistory.case_id == case_id)).one()
        audit = s.exec(select(func.count()).select_from(AuditEntry)).one()
        return case.state, case.current_step, case.version, tuple(tasks), hist, audit


def pending(org: Org, case_id: int) -> list[int]:
    with org.db.read() as s:
        return tasks.current_assignees(s, engine.get_case(s, case_id))


def test_full_route_records_history_audit_and_notifies_next_actors(org: Org, recorder: Recorder) -> None:
    case_id = new_case(org, ["A1", "A2"])
    t = do(org, "horatio", engine.submit, case_id)
    assert t.entered_step and t.entered_step["key"] == "head"
    assert pending(org, case_id) == [org.users["laertes"]]  # horatio is in A2: laertes heads it
    notify = recorder.of("notify.form")[-1]
    assert notify.user_ids == (org.users["laertes"],)
    assert notify.payload["link"] == "/forms/7" and notify.payload["source"] == "tests"
    assert recorder.of("form.task")[-1].payload["op"] == "add"

    do(org, "laertes", engine.approve, case_id, opinion="同意")
    assert pending(org, case_id) == sorted([org.users["polonius"], org.users["laertes"]])  # 会签: both heads
    do(org, "polonius", engine.approve, case_id, opinion="综合处无意见")
    assert pending(org, case_id) == [org.users["laertes"]]  # "all": still waiting for laertes
    do(org, "laertes", engine.approve, case_id, opinion="秘书处同意")
    assert pending(org, case_id) == sorted([org.users["hamlet"], org.users["ophelia"]])
    recorder.clear()
    do(org, "ophelia", engine.approve, case_id, opinion="可")
    assert pending(org, case_id) == [org.users["claudius"]]  # "any": hamlet's task cancelled
    removed = [e for e in recorder.of("form.task") if e.payload["op"] == "remove"]
    assert removed and removed[0].user_ids == (org.users["hamlet"],)
    t = do(org, "claudius", engine.approve, case_id, opinion="同意")
    assert t.finished
    with org.db.read() as s:
        case = engine.get_case(s, case_id)
        assert case.state == CaseState.finished and case.current_step is None
        actions = [
            h.action for h in s.exec(select(WfHistory).where(WfHistory.case_id == case_id).order_by(WfHistory.id)).all()
        ]  # type: ignore[arg-type]
        assert actions == ["create", "submit", "approve", "approve", "approve", "approve", "approve", "finish"]
        audited = s.exec(select(AuditEntry.action).where(AuditEntry.target_type == KIND)).all()
        assert audited.count("workflow.approve") == 5 and "workflow.submit" in audited
        picture = route_view.route_picture(s, case)
        assert [st["state"] for st in picture["steps"]] == ["done"] * 4
        pair = picture["steps"][2]["tasks"]
        assert {(x["assignee"], x["state"], x["opinion"]) for x in pair} == {
            ("李娜", "approved", "可"),
            ("张伟", "cancelled", ""),
        }


def test_countersign_step_without_departments_is_skipped(org: Org) -> None:
    case_id = new_case(org, [])
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    assert pending(org, case_id) == sorted([org.users["hamlet"], org.users["ophelia"]])
    with org.db.read() as s:
        assert "skip" in s.exec(select(WfHistory.action).where(WfHistory.case_id == case_id)).all()


def test_illegal_transitions_change_nothing(org: Org) -> None:
    case_id = new_case(org)
    before = snapshot(org, case_id)
    with pytest.raises(InvalidTransition):  # not submitted yet
        do(org, "laertes", engine.approve, case_id)
    with pytest.raises(PermissionDenied):  # only the initiator submits
        do(org, "hamlet", engine.submit, case_id)
    assert snapshot(org, case_id) == before
    do(org, "horatio", engine.submit, case_id)
    before = snapshot(org, case_id)
    with pytest.raises(PermissionDenied, match="不是当前步骤的办理人"):
        do(org, "polonius", engine.approve, case_id)
    with pytest.raises(InvalidTransition):  # already running
        do(org, "horatio", engine.submit, case_id)
    with pytest.raises(Conflict):  # stale version
        do(org, "laertes", engine.approve, case_id, expected_version=before[2] - 1)
    assert snapshot(org, case_id) == before
    do(org, "laertes", engine.approve, case_id, expected_version=before[2])
    for name in ("hamlet", "claudius"):
        do(org, name, engine.approve, case_id)
    finished = snapshot(org, case_id)
    assert finished[0] == CaseState.finished
    for user, fn, kw in (
        ("claudius", engine.approve, {}),
        ("horatio", engine.withdraw, {}),
        ("claudius", engine.return_to, {"target": "draft", "reason": "x"}),
    ):
        with pytest.raises(InvalidTransition):
            do(org, user, fn, case_id, **kw)
    assert snapshot(org, case_id) == finished


def test_concurrent_actions_on_one_case_only_one_wins(org: Org) -> None:
    """Two people quoting the same version: the first succeeds, the second gets Conflict."""
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    version = snapshot(org, case_id)[2]
    do(org, "hamlet", engine.approve, case_id, expected_version=version)
    with pytest.raises(Conflict):
        do(org, "ophelia", engine.approve, case_id, expected_version=version)


def test_bump_is_compare_and_set_on_the_row(org: Org) -> None:
    """Even a writer that loaded the case before another committed cannot move the version twice."""
    case_id = new_case(org)
    with org.db.write() as s:
        stale = engine.get_case(s, case_id)
        s.expunge(stale)
    do(org, "horatio", engine.submit, case_id)
    with pytest.raises(Conflict), org.db.write() as s:
        s.add(stale)
        versioning.bump(s, stale, engine.STALE)


def test_return_to_named_step_and_to_drafter(org: Org) -> None:
    case_id = new_case(org, ["A1"])
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    do(org, "polonius", engine.approve, case_id)
    before = snapshot(org, case_id)
    with pytest.raises(ValidationError, match="理由"):
        do(org, "hamlet", engine.return_to, case_id, target="head", reason=" ")
    with pytest.raises(ValidationError):  # the leader step has not run: not a return target
        do(org, "hamlet", engine.return_to, case_id, target="leader", reason="x")
    assert snapshot(org, case_id) == before
    with org.db.read() as s:
        assert [k for k, _ in tasks.return_targets(s, engine.get_case(s, case_id))] == ["draft", "head", "countersign"]
    t = do(org, "hamlet", engine.return_to, case_id, target="head", reason="请补充依据")
    assert t.entered_step and t.entered_step["key"] == "head"
    assert pending(org, case_id) == [org.users["laertes"]]
    do(org, "laertes", engine.return_to, case_id, target="draft", reason="重写")
    with org.db.read() as s:
        case = engine.get_case(s, case_id)
        assert case.state == CaseState.draft and case.current_step is None
        assert tasks.allowed_actions(s, case, org.actor("horatio")) == ["submit"]
    do(org, "horatio", engine.submit, case_id)  # resubmitting starts at the first step again
    assert pending(org, case_id) == [org.users["laertes"]]


def test_withdraw_only_before_the_next_person_acts(org: Org) -> None:
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    with pytest.raises(PermissionDenied):
        do(org, "laertes", engine.withdraw, case_id)
    do(org, "horatio", engine.withdraw, case_id)
    with org.db.read() as s:
        assert engine.get_case(s, case_id).state == CaseState.withdrawn
        assert (
            s.exec(
                select(func.count())
                .select_from(WfTask)
                .where(WfTask.case_id == case_id, WfTask.state == TaskState.pending)
            ).one()
            == 0
        )
    with pytest.raises(InvalidTransition):  # acting on a withdrawn case
        do(org, "laertes", engine.approve, case_id)
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    before = snapshot(org, case_id)
    with pytest.raises(InvalidTransition, match="已经办理"):
        do(org, "horatio", engine.withdraw, case_id)
    assert snapshot(org, case_id) == before


def test_transfer_hands_the_task_to_a_colleague_of_the_same_agency(org: Org) -> None:
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    with pytest.raises(ValidationError, match="本机关"):
        do(org, "laertes", engine.transfer, case_id, to_user_id=org.users["iago"])
    do(org, "laertes", engine.transfer, case_id, to_user_id=org.users["polonius"], reason="请王处长代为审核")
    assert pending(org, case_id) == [org.users["polonius"]]
    with pytest.raises(PermissionDenied):
        do(org, "laertes", engine.approve, case_id)
    do(org, "polonius", engine.approve, case_id)
    assert pending(org, case_id) == sorted([org.users["hamlet"], org.users["ophelia"]])


def test_leader_adds_a_countersigner_who_must_also_approve(org: Org) -> None:
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    do(org, "laertes", engine.approve, case_id)
    with pytest.raises(PermissionDenied, match="机关领导"):  # hamlet is not a leader
        do(org, "hamlet", engine.add_signer, case_id, user_id=org.users["gertrude"])
    do(org, "ophelia", engine.approve, case_id)
    do(org, "claudius", engine.add_signer, case_id, user_id=org.users["polonius"], reason="请综合处把关")
    assert pending(org, case_id) == sorted([org.users["claudius"], org.users["polonius"]])
    t = do(org, "claudius", engine.approve, case_id, opinion="同意")
    assert not t.finished and pending(org, case_id) == [org.users["polonius"]]
    assert do(org, "polonius", engine.approve, case_id).finished


def test_deputy_acts_during_delegation_period_only(org: Org) -> None:
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    with pytest.raises(PermissionDenied):
        do(org, "polonius", engine.approve, case_id)
    now = utcnow()
    with org.db.write() as s:
        with pytest.raises(ValidationError):
            delegation.set_delegation(
                s, org.actor("laertes"), deputy_id=org.users["laertes"], starts_at=now, ends_at=now + timedelta(days=1)
            )
        delegation.set_delegation(
            s,
            org.actor("laertes"),
            deputy_id=org.users["polonius"],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=2),
            reason="出差",
        )
    with org.db.read() as s:
        assert worklist.pending_case_ids(s, org.users["polonius"], kind=KIND) == [case_id]
        case = engine.get_case(s, case_id)
        assert "approve" in tasks.allowed_actions(s, case, org.actor("polonius"))
    t = do(org, "polonius", engine.approve, case_id, opinion="代为同意")
    assert t.on_behalf_of == org.users["laertes"]
    with org.db.read() as s:
        h = s.exec(select(WfHistory).where(WfHistory.case_id == case_id, WfHistory.action == "approve")).one()
        assert h.actor_id == org.users["polonius"] and h.on_behalf_of_id == org.users["laertes"]
        task = s.exec(select(WfTask).where(WfTask.case_id == case_id, WfTask.step_key == "head")).one()
        assert task.assignee_id == org.users["laertes"] and task.acted_by_id == org.users["polonius"]


def test_expired_delegation_grants_nothing(org: Org) -> None:
    case_id = new_case(org)
    do(org, "horatio", engine.submit, case_id)
    now = utcnow()
    with org.db.write() as s:
        delegation.set_delegation(
            s,
            org.actor("laertes"),
            deputy_id=org.users["polonius"],
            starts_at=now - timedelta(days=3),
            ends_at=now - timedelta(days=1),
        )
    with pytest.raises(PermissionDenied):
        do(org, "polonius", engine.approve, case_id)


@pytest.mark.parametrize(
    "steps, code",
    [
        ([], "route_empty"),
        (
            [
                {"key": "a", "name": "A", "actor": {"kind": "drafter"}, "next": "c"},
                {"key": "b", "name": "孤立步骤", "actor": {"kind": "drafter"}},
                {"key": "c", "name": "C", "actor": {"kind": "drafter"}},
            ],
            "unreachable_step",
        ),
        (
            [
                {"key": "a", "name": "A", "actor": {"kind": "drafter"}},
                {"key": "b", "name": "B", "actor": {"kind": "drafter"}, "next": "a"},
            ],
            "route_cycle",
        ),
        ([{"key": "a", "name": "A", "actor": {"kind": "drafter"}, "next": "zz"}], "unknown_step"),
        ([{"key": "a", "name": "A", "actor": {"kind": "nobody"}}], "bad_actor"),
        ([{"key": "a", "name": "A", "actor": {"kind": "role", "role": "pope"}}], "bad_actor"),
        ([{"key": "a", "name": "A", "actor": {"kind": "drafter"}, "mode": "most"}], "bad_step"),
        (
            [
                {"key": "a", "name": "A", "actor": {"kind": "drafter"}},
                {"key": "a", "name": "B", "actor": {"kind": "drafter"}},
            ],
            "duplicate_step_key",
        ),
    ],
)
def test_invalid_routes_are_refused(steps: list[dict[str, Any]], code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_route(steps)
    assert exc.value.code == code
    assert exc.value.message


def test_case_keeps_its_route_snapshot(org: Org) -> None:
    original = route(org)
    case_id = new_case(org)
    original[0]["name"] = "改过的名字"
    with org.db.read() as s:
        assert s.get(WfCase, case_id).route[0]["name"] == "处室负责人审核"  # type: ignore[union-attr]


def test_step_with_nobody_to_act_refuses_to_advance(org: Org, db: Any) -> None:
    with org.db.write() as s:
        case = engine.create_case(
            s,
            org.actor("othello"),
            kind=KIND,
            subject_id=1,
            agency_id=org.agencies["B"],
            route=[
                {"key": "clerk", "name": "文书办理", "actor": {"kind": "role", "role": "clerk", "department_id": None}}
            ],
        )
        case_id = case.id or 0
    with pytest.raises(ValidationError, match="找不到办理人"):
        do(org, "othello", engine.submit, case_id)
    with Session(db.engine) as s:
        assert s.get(WfCase, case_id).state == CaseState.draft  # type: ignore[union-attr]


def test_route_picture_names_the_planned_people_of_a_step_not_yet_reached(org: Org) -> None:
    case_id = new_case(org, ["A1"])
    do(org, "horatio", engine.submit, case_id)
    with org.db.read() as s:
        steps = route_view.route_picture(s, engine.get_case(s, case_id))["steps"]
    assert steps[0]["state"] == "current" and steps[0]["planned"] == []
    assert steps[2]["state"] == "upcoming" and not steps[2]["tasks"]
    assert sorted(steps[2]["planned"]) == sorted(["张伟", "李娜"])  # the fixed user_ids, by name
    assert steps[3]["planned"] == []  # a role step: who acts is known only when it is reached
