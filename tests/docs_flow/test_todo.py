"""办文's 待办 sources on the 工作台 (docs_flow/todo.py): each person sees their own steps, 传阅 and due
督办 items, nothing of anyone else's and nothing across agencies; 已办 and 我发起的 beside them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from docs_flow import actions, circulation, incoming_handling, service, supervision
from docs_flow.schemas import DocumentCreate
from docs_flow.todo import DocumentSteps, IncomingSteps, SupervisionDue
from office.db import utcnow
from tests.docs_flow.conftest import BODY
from tests.factories import Org, login
from workflow import engine, tasks

EVERYONE = (
    "hamlet",
    "ophelia",
    "polonius",
    "horatio",
    "laertes",
    "claudius",
    "gertrude",
    "othello",
    "iago",
    "desdemona",
)


def keys(s: Session, org: Org, source: Any, username: str, box: str = "todo") -> list[str]:
    items = source.items(s, org.actor(username), box=box, now=utcnow(), limit=50)
    return [i.key for i in items]


def who_has(org: Org, source: Any) -> dict[str, int]:
    """username -> count, for everyone with a 待办 of this kind (count and list agree)."""
    out = {}
    with org.db.read() as s:
        for name in EVERYONE:
            n = source.count(s, org.actor(name), now=utcnow())
            assert n == len(keys(s, org, source, name)), name
            if n:
                out[name] = n
    return out


def submitted(org: Org, title: str = "关于测试工作台的通知", **sheet: Any) -> int:
    with org.db.write() as s:
        doc = service.check_create_document(
            s,
            org.actor("hamlet"),
            DocumentCreate(doc_type="通知", title=title, body=BODY, main_recipients=["各处室"], **sheet),
        )
        actions.check_act(s, org.actor("hamlet"), doc.id or 0, action="submit", version=doc.version, opinion="请审核")
        return doc.id or 0


def test_a_document_step_is_on_its_assignees_list_only_and_moves_on(client: TestClient, org: Org) -> None:
    doc_id = submitted(org, urgency="特急")
    source = DocumentSteps()
    assert who_has(org, source) == {"polonius": 1}  # 处室负责人核稿 in the drafter's department
    with org.db.read() as s:
        (entry,) = source.items(s, org.actor("polonius"), box="todo", now=utcnow(), limit=10)
        assert entry.link == f"#/docs/{doc_id}" and entry.urgent and "处室负责人核稿" in entry.detail
        assert entry.deadline is not None  # the step's time limit
        assert keys(s, org, source, "hamlet", "mine") == [str(doc_id)]
        assert keys(s, org, source, "polonius", "mine") == [] and keys(s, org, source, "polonius", "done") == []
    with org.db.write() as s:
        doc = service.access_document(s, org.actor("polonius"), doc_id)
        actions.check_act(s, org.actor("polonius"), doc_id, action="approve", version=doc.version, opinion="同意")
        case = engine.get_case(s, doc.case_id or 0)
        nxt = tasks.current_assignees(s, case)
    after = who_has(org, source)
    assert nxt and "polonius" not in after and set(after) == {n for n in EVERYONE if org.users[n] in nxt}
    with org.db.read() as s:
        assert keys(s, org, source, "polonius", "done") == [str(doc_id)]
        # Agency B sees nothing of it, in any box.
        for name in ("othello", "iago", "desdemona"):
            assert all(keys(s, org, source, name, box) == [] for box in ("todo", "done", "mine"))


def test_incoming_steps_and_circulation_reach_only_their_people(client: TestClient, org: Org) -> None:
    deadline = utcnow() + timedelta(hours=10)
    with org.db.write() as s:
        doc = incoming_handling.check_register_manual(
            s,
            org.actor("gertrude"),
            title="关于报送年度总结的通知",
            source_agency_name="省人民政府办公厅",
            urgency="加急",
            deadline=deadline,
        )
        holders = tasks.current_assignees(s, engine.get_case(s, doc.case_id or 0))
    source = IncomingSteps()
    assert holders == [org.users["gertrude"]]  # the registrar, at 登记
    assert set(who_has(org, source)) == {n for n in EVERYONE if org.users[n] in holders}
    with org.db.read() as s:
        (entry,) = source.items(s, org.actor("gertrude"), box="todo", now=utcnow(), limit=10)
        assert entry.link == f"#/incoming/{doc.id}" and entry.urgent and entry.deadline is not None
        assert entry.deadline <= deadline
        assert keys(s, org, source, "gertrude", "mine") == [f"step:{doc.id}"]
    with org.db.write() as s:
        circulation.check_start(
            s,
            org.actor("gertrude"),
            doc.id or 0,
            user_ids=[org.users["ophelia"], org.users["horatio"]],
            mode="sequential",
        )
    with org.db.read() as s:
        assert keys(s, org, source, "ophelia") == [f"read:{doc.id}"]  # she holds it now
        assert keys(s, org, source, "horatio") == []  # his turn comes after hers
        assert all(keys(s, org, source, n) == [] for n in ("othello", "iago", "desdemona"))


def test_supervision_items_due_go_to_their_owners(client: TestClient, org: Org) -> None:
    now = utcnow()
    with org.db.write() as s:
        clerk = org.actor("gertrude")
        soon = supervision.check_create(
            s, clerk, title="报送安全检查情况", deadline=now + timedelta(hours=20), owner_department_id=org.depts["A1"]
        )
        supervision.check_create(
            s, clerk, title="明年的事", deadline=now + timedelta(days=30), owner_department_id=org.depts["A1"]
        )
        mine = supervision.check_create(
            s, clerk, title="给刘洋的事", deadline=now + timedelta(hours=5), owner_user_id=org.users["horatio"]
        )
    source = SupervisionDue()
    # The head of 综合处 for the department's item, 刘洋 for his own; not yet the one due next month,
    # and not the clerk who entered them, the leader, or anyone in agency B.
    assert who_has(org, source) == {"polonius": 1, "horatio": 1}
    with org.db.read() as s:
        (entry,) = source.items(s, org.actor("polonius"), box="todo", now=now, limit=10)
        assert entry.key == str(soon.id) and entry.link == "#/incoming/supervision" and entry.deadline is not None
        assert sorted(keys(s, org, source, "gertrude", "mine")) == sorted(
            str(i) for i in (soon.id, mine.id, soon.id + 1)
        )
    with org.db.write() as s:
        supervision.check_complete(s, org.actor("horatio"), mine.id or 0)
    assert who_has(org, source) == {"polonius": 1}
    with org.db.read() as s:
        assert keys(s, org, source, "horatio", "done") == [str(mine.id)]
        assert source.count(s, org.actor("polonius"), now=now + timedelta(days=31)) == 2  # both overdue by then


def test_http_workbench_for_a_leader_waiting_to_sign(client: TestClient, org: Org) -> None:
    doc_id = submitted(org)
    login(client, "polonius")
    body = client.get("/api/todo").json()
    assert body["total"] == 1 and body["items"][0]["link"] == f"#/docs/{doc_id}"
    assert {k["kind"]: k["count"] for k in body["kinds"]}["docs"] == 1
    login(client, "iago")
    assert client.get("/api/todo").json()["total"] == 0
