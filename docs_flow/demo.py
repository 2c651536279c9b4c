"""Demo data for ``office demo``: a working day's 公文 in the first agency.

Without it a demo login opens empty 待办 boxes and nothing shows how 办文 flows. Seeded through the
same services a user goes through (so routes, 留痕, notices and audit entries are real):

* a 通知 still in draft (起草) with its drafter;
* a 请示 submitted and waiting at 处室负责人核稿 in the drafter's department;
* a 通知 that went through 核稿 and 办公室审核 and waits for the agency leader's 签发;
* a 收文 from the provincial government registered by the 收发员, waiting at 拟办.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from docs_flow import actions, incoming, incoming_handling, service
from docs_flow.models import OutgoingDocument
from docs_flow.schemas import DocumentCreate
from office.accounts import load_actor
from office.directory.service import users_with_role
from office.models import Department, DeptKind, Post, Role
from typeset.layout import DocType
from workflow import engine, tasks

_NOTICE: list[dict[str, Any]] = [
    {"kind": "paragraph", "text": "为切实做好岁末年初安全防范工作，保障人民群众生命财产安全，现就有关事项通知如下。"},
    {"kind": "heading", "level": 1, "text": "一、全面开展隐患排查"},
    {
        "kind": "paragraph",
        "text": "各单位要对办公场所、人员密集场所和重点部位开展一次全面排查，建立问题清单，明确整改时限。",
    },
    {"kind": "heading", "level": 1, "text": "二、严格落实值班制度"},
    {"kind": "paragraph", "text": "节假日期间实行领导带班和24小时值班制度，值班人员要坚守岗位，确保信息畅通。"},
    {"kind": "paragraph", "text": "请于12月20日前将排查情况书面报送办公室。"},
]
_REQUEST: list[dict[str, Any]] = [
    {"kind": "paragraph", "text": "为推进政务服务“一网通办”，提升机关办公效率，我处拟于2027年开展协同办公平台建设。"},
    {"kind": "heading", "level": 1, "text": "一、建设内容"},
    {"kind": "paragraph", "text": "主要包括电子公文流转、会议管理、电子印章和移动办公等功能模块。"},
    {"kind": "heading", "level": 1, "text": "二、经费需求"},
    {"kind": "table", "rows": [["项目", "金额（万元）"], ["软件开发", "120"], ["安全测评", "30"]]},
    {"kind": "paragraph", "text": "妥否，请批示。"},
]


def seed(session: Session) -> None:
    agency = session.exec(select(Department).where(Department.kind == DeptKind.agency).order_by(Department.id)).first()  # type: ignore[arg-type]
    if agency is None:
        return
    drafter_id = _drafter(session, agency.id)  # type: ignore[arg-type]
    if drafter_id is None:
        return
    drafter = load_actor(session, drafter_id)
    everyone = ["各处室", "各直属单位"]
    _draft(session, drafter, "通知", "关于做好年度工作总结报送工作的通知", _NOTICE, everyone)
    request = _draft(
        session, drafter, "请示", "关于申请2027年度协同办公平台建设经费的请示", _REQUEST, ["省人民政府办公厅"]
    )
    _forward(session, drafter, request.id, stop_at=None)  # submitted: waits at 核稿
    notice = _draft(session, drafter, "通知", "关于做好岁末年初安全防范工作的通知", _NOTICE, everyone)
    _forward(session, drafter, notice.id, stop_at="机关领导签发")
    clerks = incoming.handlers(session, agency.id)  # type: ignore[arg-type]
    if clerks:
        incoming_handling.check_register_manual(
            session,
            load_actor(session, clerks[0]),
            title="关于报送2026年度工作总结和2027年度工作计划的通知",
            source_agency_name="省人民政府办公厅",
            original_number="省府办〔2026〕58号",
            doc_type="通知",
            urgency="加急",
            body_text="请各单位于12月25日前将年度工作总结和下一年度工作计划报送省政府办公厅。",
        )


def _drafter(session: Session, agency_id: int) -> int | None:
    """A 科员 (holding no other role) whose department has a head, who then does the 核稿."""
    others = {uid for role in Role if role != Role.staff for uid in users_with_role(session, role, agency_id=agency_id)}
    for uid in users_with_role(session, Role.staff, agency_id=agency_id):
        if uid in others:
            continue
        dept = session.exec(
            select(Post.department_id).where(Post.user_id == uid, Post.is_primary == True)  # noqa: E712
        ).first()
        if dept is not None and users_with_role(session, Role.dept_head, department_id=dept):
            return uid
    return None


def _draft(
    session: Session, actor: Any, doc_type: str, title: str, body: list[dict[str, Any]], recipients: list[str]
) -> Any:
    return service.check_create_document(
        session, actor, DocumentCreate(doc_type=DocType(doc_type), title=title, body=body, main_recipients=recipients)
    )


def _forward(session: Session, drafter: Any, doc_id: int, *, stop_at: str | None) -> None:
    """Submit, then approve step by step until the current step is ``stop_at`` (None: just submit)."""
    doc = session.get(OutgoingDocument, doc_id)
    assert doc is not None
    doc = actions.check_act(session, drafter, doc_id, action="submit", version=doc.version, opinion="请审核")
    for _ in range(20 if stop_at else 0):  # a route has at most a dozen steps; never loop for ever
        case = engine.get_case(session, doc.case_id)  # type: ignore[arg-type]
        if case.current_step is None or case.route[case.current_step]["name"] == stop_at:
            return
        assignees = tasks.current_assignees(session, case)
        if not assignees:
            return
        step = case.route[case.current_step]["name"]
        doc = actions.check_act(
            session,
            load_actor(session, assignees[0]),
            doc_id,
            action="approve",
            version=doc.version,
            opinion=f"{step}：同意",
        )
