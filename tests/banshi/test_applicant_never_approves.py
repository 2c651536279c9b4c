"""The applicant never approves their own request (the 办事 ``KindSpec``): 转交 and 加签 to them are
refused, and the engine's messages call them 申请人, not 拟稿人."""

from __future__ import annotations

from typing import Any

import pytest

from banshi import actions, submission
from banshi.models import ApprovalRequest
from office.db import Database
from office.errors import ValidationError
from tests.banshi.svc_helpers import make_template, step
from tests.conftest import Recorder
from tests.factories import Org
from workflow import tasks
from workflow.models import WfCase


def submit(db: Database, org: Org, tid: int) -> ApprovalRequest:
    with db.write() as s:
        return submission.create_request(
            s, org.actor("hamlet"), template_id=tid, values={"reason": "购买打印纸"}, submit=True
        )


def act(db: Database, org: Org, who: str, rid: int, action: str, **kw: Any) -> ApprovalRequest:
    with db.write() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        return actions.act(s, org.actor(who), rid, action, version=row.version, **kw)


@pytest.mark.parametrize(
    "action,kw",
    [
        ("transfer", {}),
        ("add_signer", {"position": "with"}),
        ("add_signer", {"position": "after"}),
    ],
)
def test_no_task_is_handed_to_the_applicant(db: Database, org: Org, action: str, kw: dict[str, Any]) -> None:
    req = submit(db, org, make_template(db, org))
    applicant = org.users["hamlet"]
    people = {"user_id": applicant} if action == "transfer" else {"user_ids": [applicant]}
    with pytest.raises(ValidationError) as e:
        act(db, org, "polonius", req.id or 0, action, **people, **kw)
    assert e.value.code == "own_draft" and e.value.message == "不能交给申请人审核自己的申请"


def test_a_return_to_the_applicant_says_申请人(db: Database, org: Org, recorder: Recorder) -> None:
    req = submit(db, org, make_template(db, org))
    act(db, org, "polonius", req.id or 0, "return", opinion="请补充用途", target="draft")
    bodies = [e.payload["body"] for e in recorder.of("notify.banshi") if org.users["hamlet"] in e.payload["user_ids"]]
    assert "王强 退回至“申请人”" in bodies
    assert not any("拟稿人" in b for b in bodies)


def test_a_step_naming_the_applicant_goes_on_without_them(db: Database, org: Org) -> None:
    """Even where the template keeps the applicant in the route (skip_applicant off), the engine leaves
    them out: a step of only them is skipped, a step of them and others waits for the others."""
    u = org.users
    route = {
        "branches": [],
        "default": {
            "steps": [
                step("s1", "本人确认", u["hamlet"]),
                step("s2", "部门负责人审批", u["hamlet"], u["polonius"]),
            ]
        },
        "cc": {"submit": [], "end": []},
    }
    req = submit(db, org, make_template(db, org, route=route, options={"skip_applicant": False}))
    with db.read() as s:
        case = s.get(WfCase, req.case_id)
        assert case is not None
        assert tasks.current_assignees(s, case) == [u["polonius"]]
