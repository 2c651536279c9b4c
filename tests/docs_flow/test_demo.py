"""``office demo`` gives 办文 a working day: each role of the first agency finds something waiting."""

from __future__ import annotations

from sqlmodel import select

from docs_flow import demo
from docs_flow.incoming_models import IncomingDocument
from docs_flow.models import OutgoingDocument
from office import demo as office_demo
from office.db import Database
from office.models import User
from workflow import engine, worklist


def test_demo_documents_wait_for_the_head_the_leader_and_the_clerk(db: Database) -> None:
    with db.write() as s:
        office_demo.seed(s, password="demo-password-2026")
    with db.write() as s:
        demo.seed(s)
    with db.read() as s:
        ids = {u.username: u.id for u in s.exec(select(User)).all()}
        docs = {d.title: d for d in s.exec(select(OutgoingDocument)).all()}
        assert sorted(d.status.value for d in docs.values()) == ["draft", "routing", "routing"]
        assert {d.drafter_id for d in docs.values()} == {ids["zhaoxia"]}  # the 科员 shown on the demo screen
        request = docs["关于申请2027年度协同办公平台建设经费的请示"]
        notice = docs["关于做好岁末年初安全防范工作的通知"]
        assert request.case_id in worklist.pending_case_ids(s, ids["hanhaoran"], kind="outgoing_document")  # 核稿
        leader_todo = worklist.pending_case_ids(s, ids["zhangwei"], kind="outgoing_document")
        assert notice.case_id in leader_todo and request.case_id not in leader_todo  # 签发
        case = engine.get_case(s, notice.case_id)  # type: ignore[arg-type]
        assert case.route[case.current_step]["name"] == "机关领导签发"  # type: ignore[index]
        received = s.exec(select(IncomingDocument)).one()
        assert received.created_by == ids["tianqiang"] and received.source_agency_name == "省人民政府办公厅"
        assert received.case_id in worklist.pending_case_ids(s, ids["tianqiang"], kind="incoming_document")
