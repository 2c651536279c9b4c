"""The proof of an approved request: the system signs a canonical record of it and of its route
history, the signature goes into the transparency log, and anyone of the agency can check a printed
copy against it (the QR on the print view opens ``#/banshi/verify?serial=..&digest=..``).

Canonical record (:func:`canonical`): UTF-8 JSON with sorted keys and no spaces of the request's
identity, applicant, template version and values, and of every route history entry (who did what at
which step, when, with which opinion). Only what never changes after approval is in it — ids and the
names the history stored, not a person's or template's current name — so the same request always
gives the same bytes, and a value or history entry changed afterwards no longer matches the signature.

Signed by the system (``esign.service.sign_as_system``: no person's PIN exists at the moment an
approval ends), kept in ``bs_request.proof``.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, select

from banshi.models import ApprovalRequest
from esign import service as esign_service
from office.actor import Actor
from office.errors import ValidationError
from office.models import User
from office.timefmt import iso
from workflow.models import WfHistory

FORMAT = "tongban.banshi.request/1"
MAX_SERIAL = 20


def _t(value: datetime | None) -> str | None:
    """Whole seconds in UTC: the same text however the database hands the time back."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _history(session: Session, request: ApprovalRequest) -> list[WfHistory]:
    if request.case_id is None:
        return []
    return list(
        session.exec(select(WfHistory).where(WfHistory.case_id == request.case_id).order_by(col(WfHistory.id))).all()
    )


def canonical(session: Session, request: ApprovalRequest) -> bytes:
    """The bytes the system signs for ``request`` (see the module docstring)."""
    record = {
        "format": FORMAT,
        "id": request.id,
        "serial": request.serial,
        "title": request.title,
        "agency_id": request.agency_id,
        "template_id": request.template_id,
        "version_id": request.version_id,
        "applicant_id": request.applicant_id,
        "applicant_dept_id": request.applicant_dept_id,
        "values": request.values,
        "submitted_at": _t(request.submitted_at),
        "history": [
            {
                "at": _t(h.at),
                "actor_id": h.actor_id,
                "actor_name": h.actor_name,
                "on_behalf_of_id": h.on_behalf_of_id,
                "action": h.action,
                "step_index": h.step_index,
                "step_name": h.step_name,
                "round": h.round,
                "opinion": h.opinion,
            }
            for h in _history(session, request)
        ],
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign_request(session: Session, request: ApprovalRequest) -> dict[str, Any]:
    """Sign the approved request (in the final approval's transaction, ``banshi.transitions``) and keep
    the record in ``request.proof``: ``{alg, purpose, digest, signature, signed_at, leaf_index}``."""
    record = esign_service.sign_as_system(session, canonical(session, request), f"办事审批 {request.serial}")
    request.proof = record
    session.add(request)
    return record


def verify(session: Session, actor: Actor, serial: str, digest: str) -> dict[str, Any]:
    """Check a printed copy: the request of ``serial`` in the actor's agency, its proof, the digest
    printed on it, the system's signature and the log entry. ``valid`` False says why in ``reason``;
    a serial of another agency reads as unknown."""
    serial, digest = serial.strip(), digest.strip().lower()
    if not serial or len(serial) > MAX_SERIAL:
        raise ValidationError("请输入审批编号", code="serial_required", field="serial")
    if len(digest) > 64:
        raise ValidationError("核验码格式不正确", code="bad_digest", field="digest")
    request = session.exec(
        select(ApprovalRequest).where(ApprovalRequest.serial == serial, ApprovalRequest.agency_id == actor.agency_id)
    ).first()
    if request is None or not request.proof:
        return {"valid": False, "serial": serial, "reason": "未找到该审批编号的已批准申请"}
    history = _history(session, request)
    applicant = session.get(User, request.applicant_id)
    report: dict[str, Any] = {
        "serial": request.serial,
        "title": request.title,
        "applicant": applicant.name if applicant else "",
        "approved_at": iso(request.finished_at),
        "steps": [
            {"name": h.step_name, "by": h.actor_name, "at": iso(h.at), "opinion": h.opinion}
            for h in history
            if h.action == "approve"
        ],
        "log_index": request.proof.get("leaf_index"),
        "digest": request.proof.get("digest"),
    }
    reason = esign_service.verify_system(session, canonical(session, request), request.proof)
    if not reason and digest and digest != request.proof.get("digest"):
        reason = "核验码与该申请的记录不符：打印件可能不是这份申请的"
    return report | {"valid": not reason, "reason": reason}


def verify_url(base_url: str, request: ApprovalRequest) -> str:
    """What the QR on the print view encodes: the verification page with serial and digest filled in."""
    query = urlencode({"serial": request.serial, "digest": request.proof.get("digest", "")})
    return f"{base_url.rstrip('/')}/#/banshi/verify?{query}"


def qr_svg(url: str) -> bytes:
    """A QR code of ``url`` as SVG (crisp at any print size)."""
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
