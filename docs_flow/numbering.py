"""发文字号: per agency, per 机关代字 and year, gapless and unique.

Every number handed out is a ``DocNumber`` row: assigned to a document, reserved (预留) for later,
or void (作废, with a reason). Numbers are never reused, so the sequence 1..N is complete and each
void is explained in the audit log.

Concurrency: the counter row is read ``FOR UPDATE`` inside the serialised write transaction
(``Database.write``: a process lock on SQLite, an advisory lock on PostgreSQL), and the unique
constraint on (agency, code, year, seq) is the last line of defence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, ValidationError
from office.models import Department, Role
from docs_flow.models import DocNumber, DocNumberCounter, NumberState, OutgoingDocument

CHINA = ZoneInfo("Asia/Shanghai")


def current_year() -> int:
    return datetime.now(CHINA).year


def agency_codes(session: Session, agency_id: int) -> list[str]:
    """代字 usable by an agency: its own and those of its departments (e.g. 粤府办, 粤府办函)."""
    rows = session.exec(select(Department.code).where(Department.agency_id == agency_id,
                                                      col(Department.code).is_not(None))
                        .order_by(Department.id)).all()  # type: ignore[arg-type]
    return list(dict.fromkeys(c for c in rows if c))


def allocate(session: Session, actor: Actor, *, agency_id: int, code: str, year: int,
             state: NumberState = NumberState.assigned, document_id: int | None = None,
             reason: str = "", validate_code: bool = True) -> DocNumber:
    """The next number for (agency, code, year). Call inside a write transaction.

    ``validate_code=False`` is for internal series that are not 机关代字 (e.g. the 收文编号 series "收")."""
    if validate_code and code not in agency_codes(session, agency_id):
        raise ValidationError(f"机关代字“{code}”不属于本机关", code="bad_code")
    if not 2000 <= year <= 2100:
        raise ValidationError("年份无效", code="bad_year")
    counter = session.exec(select(DocNumberCounter).where(
        DocNumberCounter.agency_id == agency_id, DocNumberCounter.code == code, DocNumberCounter.year == year)
        .with_for_update()).first()
    if counter is None:
        counter = DocNumberCounter(agency_id=agency_id, code=code, year=year, last_seq=0)
    counter.last_seq += 1
    session.add(counter)
    row = DocNumber(agency_id=agency_id, code=code, year=year, seq=counter.last_seq, state=state,
                    document_id=document_id, reason=reason.strip()[:200], created_by=actor.user_id)
    session.add(row)
    session.flush()
    audit.record(session, actor, f"docs.number.{state.value}", target_type="doc_number", target_id=row.id,
                 detail={"number": row.text, "document_id": document_id, "reason": row.reason})
    return row


def check_reserve(session: Session, actor: Actor, *, code: str, year: int | None, reason: str) -> DocNumber:
    """预留 a number for a document that will come later (e.g. a leader's instruction)."""
    policy.require(actor, "document.number.manage")
    if not reason.strip():
        raise ValidationError("预留文号需要说明用途", code="reason_required")
    return allocate(session, actor, agency_id=_agency(actor), code=code, year=year or current_year(),
                    state=NumberState.reserved, reason=reason)


def check_void(session: Session, actor: Actor, number_id: int, *, reason: str) -> DocNumber:
    """作废 a reserved number, or an assigned one whose document has not been sealed yet."""
    policy.require(actor, "document.number.manage")
    row = session.get(DocNumber, number_id)
    if row is None or row.agency_id != actor.agency_id:
        raise NotFound()
    if not reason.strip():
        raise ValidationError("作废文号必须说明理由", code="reason_required")
    if row.state == NumberState.void:
        raise InvalidTransition("该文号已作废", code="already_void")
    if row.document_id is not None:
        _release(session, row)
    row.state, row.voided_by, row.voided_at = NumberState.void, actor.user_id, utcnow()
    row.void_reason = reason.strip()[:200]
    session.add(row)
    audit.record(session, actor, "docs.number.void", target_type="doc_number", target_id=row.id,
                 detail={"number": row.text, "reason": row.void_reason, "document_id": row.document_id})
    return row


def _release(session: Session, row: DocNumber) -> None:
    """Detach a voided number from its document, which must not carry the seal yet."""
    doc = session.get(OutgoingDocument, row.document_id)
    if doc is None or doc.number_id != row.id:
        return
    if doc.seal_record:
        raise InvalidTransition("公文已用印，文号不能作废", code="already_sealed")
    doc.number, doc.number_id, doc.version = "", None, doc.version + 1
    session.add(doc)


def take_reserved(session: Session, actor: Actor, number_id: int, *, agency_id: int, code: str,
                  document_id: int) -> DocNumber:
    row = session.get(DocNumber, number_id)
    if row is None or row.agency_id != agency_id:
        raise NotFound("预留文号不存在", code="number_not_found")
    if row.state != NumberState.reserved:
        raise InvalidTransition("该文号不是预留状态", code="not_reserved")
    if row.code != code:
        raise ValidationError("预留文号的机关代字与本文不一致", code="bad_code")
    row.state, row.document_id = NumberState.assigned, document_id
    session.add(row)
    audit.record(session, actor, "docs.number.assigned", target_type="doc_number", target_id=row.id,
                 detail={"number": row.text, "document_id": document_id, "from_reserved": True})
    return row


def list_numbers(session: Session, actor: Actor, *, code: str = "", year: int | None = None,
                 limit: int = 200) -> list[DocNumber]:
    policy.require(actor, "document.number.manage")
    stmt = select(DocNumber).where(DocNumber.agency_id == _agency(actor))
    if code:
        stmt = stmt.where(DocNumber.code == code)
    if year:
        stmt = stmt.where(DocNumber.year == year)
    return list(session.exec(stmt.order_by(col(DocNumber.id).desc()).limit(min(max(limit, 1), 1000))).all())


def number_public(row: DocNumber) -> dict[str, Any]:
    return {"id": row.id, "text": row.text, "code": row.code, "year": row.year, "seq": row.seq,
            "state": row.state.value, "document_id": row.document_id, "reason": row.reason,
            "void_reason": row.void_reason, "created_at": row.created_at.isoformat()}


def _agency(actor: Actor) -> int:
    if actor.agency_id is None:
        raise ValidationError("您没有所属机关", code="no_agency")
    return actor.agency_id


@policy.rule("document.number.manage")
def _can_manage_numbers(actor: Actor, _resource: Any = None) -> bool:
    return actor.has(Role.clerk) or actor.has(Role.admin)
