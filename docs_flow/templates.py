"""Route templates for 发文: per agency and document type, edited by an administrator.

A step's ``tag`` says what the step means for a document (the engine ignores it):
``review`` 核稿/审核, ``countersign`` 会签, ``sign_off`` 签发, ``recheck`` 复核, ``number`` 编号,
``seal`` 用印, ``distribute`` 核发/分发, ``archive`` 归档, or "" for anything else.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from docs_flow.models import RouteTemplate
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError
from office.models import Department, DeptKind
from office.timefmt import iso
from typeset.layout import DocType
from workflow.steps import check_route_people, validate_route

GENERIC = "*"
TAGS = ("", "review", "countersign", "sign_off", "recheck", "number", "seal", "distribute", "archive")
OFFICE_NAMES = ("办公室", "办公厅", "秘书处", "秘书一处")


def _office_department(session: Session, agency_id: int) -> int | None:
    """The agency's 办公室 (reviews drafts and rechecks before printing), found by name."""
    depts = session.exec(
        select(Department).where(Department.agency_id == agency_id, Department.kind == DeptKind.department)
    ).all()
    for name in OFFICE_NAMES:
        for d in depts:
            if d.name == name:
                return d.id
    return None


def default_steps(session: Session, agency_id: int, *, full: bool, sealed: bool = True) -> list[dict[str, Any]]:
    """The default 通知 route (``full``) or the shorter generic one for other types; ``sealed=False``
    leaves out 用印 (纪要 carry no seal, GB/T 9704 §10.3)."""
    office = _office_department(session, agency_id)
    office_actor: dict[str, Any] = (
        {"kind": "role", "role": "dept_head", "department_id": office}
        if office
        else {"kind": "role", "role": "clerk", "department_id": None}
    )
    clerk: dict[str, Any] = {"kind": "role", "role": "clerk", "department_id": None}
    review: dict[str, Any] = {
        "key": "review",
        "name": "处室负责人核稿",
        "tag": "review",
        "actor": {"kind": "drafter_head"},
        "can_edit": True,
        "deadline_hours": 24,
    }
    sign: dict[str, Any] = {
        "key": "sign_off",
        "name": "机关领导签发",
        "tag": "sign_off",
        "actor": {"kind": "role", "role": "leader", "department_id": None},
        "deadline_hours": 48,
    }
    tail: list[dict[str, Any]] = [
        {"key": "number", "name": "编号", "tag": "number", "actor": clerk, "deadline_hours": 8},
        {
            "key": "seal",
            "name": "用印",
            "tag": "seal",
            "actor": {"kind": "role", "role": "seal_keeper", "department_id": None},
            "deadline_hours": 8,
        },
        {"key": "distribute", "name": "核发/分发", "tag": "distribute", "actor": clerk, "deadline_hours": 24},
        {"key": "archive", "name": "归档", "tag": "archive", "actor": clerk},
    ]
    if not sealed:
        tail = [s for s in tail if s["tag"] != "seal"]
    if not full:
        return [review, sign, *tail]
    return [
        review,
        {
            "key": "office_review",
            "name": "办公室审核",
            "tag": "review",
            "actor": office_actor,
            "can_edit": True,
            "deadline_hours": 24,
        },
        {
            "key": "countersign",
            "name": "会签",
            "tag": "countersign",
            "mode": "all",
            "deadline_hours": 48,
            "actor": {"kind": "context_departments", "role": "dept_head", "key": "countersign_department_ids"},
        },
        sign,
        {"key": "recheck", "name": "复核", "tag": "recheck", "actor": office_actor, "deadline_hours": 8},
        *tail,
    ]


def ensure_default_templates(session: Session, agency_id: int) -> list[RouteTemplate]:
    """Seed the agency's 通知, 纪要 and generic templates where missing (idempotent)."""
    made = []
    for doc_type, name, full in (
        (DocType.tongzhi.value, "通知发文流程", True),
        (GENERIC, "通用发文流程", False),
        (DocType.jiyao.value, "纪要发文流程", False),
    ):
        exists = session.exec(
            select(RouteTemplate).where(RouteTemplate.agency_id == agency_id, RouteTemplate.doc_type == doc_type)
        ).first()
        if exists is None:
            row = RouteTemplate(
                agency_id=agency_id,
                doc_type=doc_type,
                name=name,
                steps=validate_route(
                    default_steps(session, agency_id, full=full, sealed=doc_type != DocType.jiyao.value)
                ),
            )
            session.add(row)
            made.append(row)
    session.flush()
    return made


def template_for(session: Session, agency_id: int, doc_type: DocType) -> RouteTemplate:
    ensure_default_templates(session, agency_id)
    rows = session.exec(
        select(RouteTemplate).where(
            RouteTemplate.agency_id == agency_id, col(RouteTemplate.doc_type).in_([doc_type.value, GENERIC])
        )
    ).all()
    exact = [r for r in rows if r.doc_type == doc_type.value]
    return (exact or list(rows))[0]


def list_templates(session: Session, actor: Actor) -> list[RouteTemplate]:
    policy.require(actor, "document.template.manage")
    agency_id = _agency(actor)
    ensure_default_templates(session, agency_id)
    return list(
        session.exec(
            select(RouteTemplate).where(RouteTemplate.agency_id == agency_id).order_by(RouteTemplate.doc_type)
        ).all()
    )


def check_save_template(
    session: Session, actor: Actor, *, doc_type: str, name: str, steps: list[dict[str, Any]]
) -> RouteTemplate:
    """Validate then store the agency's template for ``doc_type`` ("*" = generic). Documents already
    routing keep their snapshot."""
    policy.require(actor, "document.template.manage")
    agency_id = _agency(actor)
    if doc_type != GENERIC and doc_type not in {d.value for d in DocType}:
        raise ValidationError("文种无效", code="bad_doc_type")
    cleaned = validate_document_route(session, agency_id, steps, doc_type=doc_type)
    name = (name or "").strip()[:100] or f"{doc_type}发文流程"
    row = session.exec(
        select(RouteTemplate).where(RouteTemplate.agency_id == agency_id, RouteTemplate.doc_type == doc_type)
    ).first()
    if row is None:
        row = RouteTemplate(agency_id=agency_id, doc_type=doc_type, name=name, steps=cleaned, revision=0)
    row.name, row.steps, row.revision = name, cleaned, row.revision + 1
    row.updated_by, row.updated_at = actor.user_id, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "docs.template.save",
        target_type="route_template",
        target_id=row.id,
        detail={"doc_type": doc_type, "revision": row.revision, "steps": [s["key"] for s in cleaned]},
    )
    return row


def validate_document_route(
    session: Session, agency_id: int, steps: Any, *, doc_type: str = GENERIC
) -> list[dict[str, Any]]:
    """Engine checks (non-empty, reachable, valid actors) plus 发文 rules: one 签发 step, and 编号 and
    用印 after it (the seal goes on the signed, numbered text); no 用印 for 纪要, which carry no seal."""
    cleaned = validate_route(steps)
    for s in cleaned:
        if s.get("tag", "") not in TAGS:
            raise ValidationError(f"步骤“{s['name']}”的类型无效", code="bad_step")
        s["tag"] = s.get("tag", "")
    tags = [s["tag"] for s in cleaned]
    if tags.count("sign_off") != 1:
        raise ValidationError("发文流程必须有且只有一个“签发”步骤", code="sign_off_required")
    sign = tags.index("sign_off")
    for tag, label in (("number", "编号"), ("seal", "用印")):
        if tag in tags and tags.index(tag) < sign:
            raise ValidationError(f"“{label}”必须在“签发”之后", code="bad_order")
    if "seal" in tags and doc_type == DocType.jiyao.value:
        raise ValidationError("纪要不加盖印章，流程中不能有“用印”步骤", code="minutes_not_sealed")
    if "seal" in tags and ("number" not in tags or tags.index("number") > tags.index("seal")):
        raise ValidationError("“用印”之前必须有“编号”步骤", code="bad_order")
    check_route_people(session, agency_id, cleaned)
    return cleaned


def template_public(row: RouteTemplate) -> dict[str, Any]:
    return {
        "id": row.id,
        "doc_type": row.doc_type,
        "name": row.name,
        "steps": row.steps,
        "revision": row.revision,
        "updated_at": iso(row.updated_at),
    }


def _agency(actor: Actor) -> int:
    if actor.agency_id is None:
        raise ValidationError("您没有所属机关", code="no_agency")
    return actor.agency_id
