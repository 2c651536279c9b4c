"""Nobody reviews their own draft: a 处室负责人's 发文 goes to the next reviewer, never back to him."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from docs_flow.models import OutgoingDocument
from office.db import utcnow
from office.models import Role
from tests.docs_flow.conftest import BODY, Clients, act
from tests.factories import Org, make_user
from workflow import engine, tasks


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code < 300, r.text
    return r.json()  # type: ignore[no-any-return]


def head_drafts(users: Clients, doc_type: str = "通知") -> dict[str, Any]:
    doc = ok(
        users["polonius"].post(
            "/api/docs",
            json={"doc_type": doc_type, "title": "关于规范公文格式的通知", "body": BODY, "main_recipients": ["各处室"]},
        )
    )
    return ok(act(users["polonius"], doc, "submit"))


def pending(org: Org, doc: dict[str, Any]) -> list[int]:
    with org.db.read() as s:
        case = engine.get_case(s, s.get(OutgoingDocument, doc["id"]).case_id or 0)  # type: ignore[union-attr]
        return tasks.current_assignees(s, case)


def test_head_draft_skips_his_own_review_to_the_next_reviewer(users: Clients, org: Org) -> None:
    doc = head_drafts(users)
    steps = doc["route"]["steps"]
    assert [s["state"] for s in steps[:2]] == ["skipped", "current"]  # 核稿 by himself skipped; 办公室审核 now
    skip = next(h for h in doc["route"]["history"] if h["action"] == "skip")
    assert skip["step"] == "处室负责人核稿" and skip["detail"] == {"reason": "drafter_is_reviewer"}
    assert pending(org, doc) == [org.users["laertes"]]
    assert "approve" not in doc["allowed_actions"]
    r = act(users["polonius"], doc, "approve")
    assert r.status_code == 403 and r.json()["error"] == "not_current_actor"
    # The generic route has no 办公室审核: the leader who signs is the first to review.
    letter = head_drafts(users, "函")
    assert letter["route"]["steps"][1]["state"] == "current" and pending(org, letter) == [org.users["claudius"]]


def test_another_head_of_the_department_reviews_and_the_drafter_cannot_be_handed_it(users: Clients, org: Org) -> None:
    deputy_head = make_user(
        org.db, "rosalind", "高洁", dept_id=org.depts["A1"], title="副处长", roles={Role.staff, Role.dept_head}
    )
    doc = head_drafts(users)
    assert doc["route"]["steps"][0]["state"] == "current" and pending(org, doc) == [deputy_head]
    r = act(users["polonius"], doc, "approve")
    assert r.status_code == 403 and r.json()["error"] == "not_current_actor"
    r = act(users["rosalind"], doc, "transfer", user_id=org.users["polonius"], reason="请王处长把关")
    assert r.status_code == 422  # nor may the 核稿 be handed to him
    assert r.json().items() >= {"error": "own_draft", "message": "不能交给拟稿人审核自己起草的文稿"}.items()
    assert pending(org, doc) == [deputy_head]
    # Nor through a 委托: the reviewer away, her deputy the drafter himself.
    now = utcnow()
    ok(
        users["rosalind"].post(
            "/api/docs/delegations",
            json={
                "deputy_id": org.users["polonius"],
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=2)).isoformat(),
                "reason": "休假",
            },
        )
    )
    doc = ok(users["polonius"].get(f"/api/docs/{doc['id']}"))
    assert "approve" not in doc["allowed_actions"] and "edit" not in doc["allowed_actions"]
    r = act(users["polonius"], doc, "approve", opinion="同意")
    assert (
        r.status_code == 403
        and r.json().items() >= {"error": "own_draft", "message": "拟稿人不能审核自己起草的文稿"}.items()
    )
    assert pending(org, doc) == [deputy_head]
    doc = ok(act(users["rosalind"], ok(users["rosalind"].get(f"/api/docs/{doc['id']}")), "approve"))
    assert pending(org, doc) == [org.users["laertes"]]
