"""加签 with several people is one engine transition: before or after the approver they form ONE step
together, the route history has one 加签 entry, and "with" adds them all beside the approver."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from banshi import actions, submission
from banshi.models import ApprovalRequest
from office.db import Database
from tests.banshi.svc_helpers import make_template
from tests.factories import Org
from workflow import tasks
from workflow.models import WfCase, WfHistory


def submit(db: Database, org: Org, tid: int) -> int:
    with db.write() as s:
        req = submission.create_request(
            s, org.actor("hamlet"), template_id=tid, values={"reason": "购买打印纸"}, submit=True
        )
        return req.id or 0


def act(db: Database, org: Org, who: str, rid: int, action: str, **kw: Any) -> None:
    with db.write() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        actions.act(s, org.actor(who), rid, action, version=row.version, **kw)


def state(db: Database, rid: int) -> tuple[list[int], int, list[str]]:
    """(pending assignees, route length, history actions)."""
    with db.read() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        case = s.get(WfCase, row.case_id)
        assert case is not None
        history = s.exec(select(WfHistory.action).where(WfHistory.case_id == case.id).order_by(WfHistory.id)).all()
        return tasks.current_assignees(s, case), len(case.route), list(history)


@pytest.mark.parametrize("position", ["before", "after", "with"])
def test_two_people_added_in_one_call_are_one_transition(db: Database, org: Org, position: str) -> None:
    u = org.users
    rid = submit(db, org, make_template(db, org))
    two = sorted([u["laertes"], u["ophelia"]])
    act(db, org, "polonius", rid, "add_signer", user_ids=two, position=position, opinion="请一并审核")
    pending, steps, history = state(db, rid)
    assert history.count("add_signer") == 1
    if position == "with":
        assert steps == 2 and pending == sorted([*two, u["polonius"]])
        return
    assert steps == 3  # one step added for both
    if position == "before":
        assert pending == two  # both at once, polonius waits for them
        act(db, org, "laertes", rid, "approve")
        assert state(db, rid)[0] == [u["ophelia"]]
        act(db, org, "ophelia", rid, "approve")
        assert state(db, rid)[0] == [u["polonius"]]
    else:
        act(db, org, "polonius", rid, "approve")
        assert state(db, rid)[0] == two
