"""Field-level visibility by step follows the template step a task came from (``origin``): the levels
of a 连续多级主管 step (keys ``lv_1``, ``lv_2``) and a step added by 加签 (``add1``) see what the
template gives ``lv``; a later step does not."""

from __future__ import annotations

from typing import Any

from banshi import actions, listing, submission
from banshi.models import ApprovalRequest
from office.db import Database
from office.directory import service as directory
from office.models import Role
from tests.banshi.svc_helpers import make_template, users
from tests.factories import SYSTEM, Org, make_user

FIELDS = [
    {"key": "reason", "label": "事由", "type": "text", "required": True},
    {"key": "illness", "label": "病情", "type": "text", "required": False, "visible_to": {"steps": ["lv"]}},
]
ROUTE = {
    "branches": [],
    "default": {
        "steps": [
            {"key": "lv", "name": "主管审批", "mode": "any", "approvers": {"kind": "heads", "levels": 2}, "cc": []},
            {"key": "end", "name": "分管领导审批", "mode": "any", "approvers": users(0), "cc": []},
        ]
    },
    "cc": {"submit": [], "end": []},
}


def test_every_level_of_a_heads_step_and_its_加签_see_the_steps_fields(db: Database, org: Org) -> None:
    u = org.users
    with db.write() as s:  # 综合处 > 文电科: the applicant's head, then polonius above
        unit = directory.create_department(s, SYSTEM, name="文电科", parent_id=org.depts["A1"]).id
    u["kezhang"] = make_user(db, "kezhang", "钱科", dept_id=unit, title="科长", roles={Role.staff, Role.dept_head})
    u["keyuan"] = make_user(db, "keyuan", "孙员", dept_id=unit)
    route: dict[str, Any] = {**ROUTE, "default": {"steps": [ROUTE["default"]["steps"][0], {**ROUTE["default"]["steps"][1], "approvers": users(u["claudius"])}]}}  # fmt: skip
    tid = make_template(db, org, fields=FIELDS, route=route, name="请假")
    with db.write() as s:
        rid = (
            submission.create_request(
                s, org.actor("keyuan"), template_id=tid, values={"reason": "看病", "illness": "流感"}, submit=True
            ).id
            or 0
        )

    def act(who: str, action: str, **kw: Any) -> None:
        with db.write() as s:
            row = s.get(ApprovalRequest, rid)
            assert row is not None
            actions.act(s, org.actor(who), rid, action, version=row.version, **kw)

    def seen(who: str) -> set[str]:
        with db.read() as s:
            row = s.get(ApprovalRequest, rid)
            assert row is not None
            return set(listing.request_detail(s, org.actor(who), row)["values"])

    assert seen("kezhang") == {"reason", "illness"}  # step lv_1
    act("kezhang", "add_signer", user_ids=[u["ophelia"]], position="after")
    act("kezhang", "approve")
    assert seen("ophelia") == {"reason", "illness"}  # step add1, added at lv_1
    act("ophelia", "approve")
    assert seen("polonius") == {"reason", "illness"}  # step lv_2
    act("polonius", "approve")
    assert seen("claudius") == {"reason"}  # step end
