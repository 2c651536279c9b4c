"""分发 (distribution in): an outgoing document reaches its 主送/抄送 agencies' 收文 inboxes.

When the outgoing route completes its 核发/分发 step (or finishes without one), ``distribute`` runs in
the same transaction: every 主送 and 抄送 name is matched against the agencies in the directory (by
name or 机关代字, or "#<id>"); a matched agency gets an incoming record with the sealed Word
file, the attachments and the signature/seal records, waiting for 签收. Unmatched names are outside
Tongban and are listed as "external" (to be sent on paper). Each addressee has a receipt (回执) the
sender sees: delivered -> signed -> handled, or returned (with the reason).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from docs_flow import body as body_mod
from docs_flow import incoming, output, service
from docs_flow.incoming_models import DistributionReceipt, IncomingDocument
from docs_flow.models import DocAttachment, OutgoingDocument
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.jsonin import is_digits
from office.models import Department, DeptKind
from office.timefmt import iso

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RECEIPT_LABELS = {
    "delivered": "已送达",
    "signed": "已签收",
    "handled": "已办结",
    "returned": "已退回",
    "external": "系统外（需线下送达）",
}


def match_agency(session: Session, name: str) -> Department | None:
    """The agency a 主送/抄送 entry names: exact name, 机关代字, or "#<id>"."""
    name = name.strip()
    agencies = session.exec(select(Department).where(Department.kind == DeptKind.agency)).all()
    if name.startswith("#") and is_digits(name[1:]):
        return next((a for a in agencies if a.id == int(name[1:])), None)
    return next((a for a in agencies if a.name == name), None) or next((a for a in agencies if a.code == name), None)


def _addressees(session: Session, entry: str) -> list[str]:
    """The addressees one 主送/抄送 entry names: itself when it is an agency or a single name, else
    each part between 顿号 ("省财政厅、省教育厅" as typed keeps its punctuation in the file)."""
    parts = [p.strip() for p in entry.split("、") if p.strip()]
    if len(parts) <= 1 or match_agency(session, entry) is not None:
        return [entry]
    return parts


def already_distributed(session: Session, doc: OutgoingDocument) -> bool:
    return (
        session.exec(select(DistributionReceipt.id).where(DistributionReceipt.outgoing_id == doc.id)).first()
        is not None
    )


def distribute(session: Session, actor: Actor, doc: OutgoingDocument) -> list[DistributionReceipt]:
    """Deliver ``doc`` to every addressee once (idempotent). Call inside the write transaction that
    completed the 分发 step."""
    if already_distributed(session, doc):
        return []
    names = [
        (n, role)
        for entries, role in ((doc.main_recipients, "main"), (doc.cc_recipients, "cc"))
        for entry in entries
        for n in _addressees(session, entry)
    ]
    files: list[tuple[str, str, str, bytes]] | None = None
    receipts = []
    seen: set[int] = set()
    for name, role in names:
        agency = match_agency(session, name)
        if agency is not None and agency.id in seen:
            continue  # the same agency named twice (by name and by code): one copy
        receipt = DistributionReceipt(outgoing_id=doc.id or 0, recipient_name=name[:100], role=role)
        if agency is None:
            receipt.status = "external"
        else:
            seen.add(agency.id or 0)
            files = files if files is not None else _files(session, doc)
            rec = incoming.deliver_internal(
                session,
                agency_id=agency.id or 0,
                title=doc.title,
                source_agency_id=doc.agency_id,
                source_agency_name=doc.issuing_agency_name,
                source_document_id=doc.id or 0,
                original_number=doc.number,
                doc_type=doc.doc_type.value,
                urgency=doc.urgency.value,
                secrecy=doc.secrecy.value,
                body_text="\n".join(body_mod.flatten("", doc.body).splitlines()[1:]),
                files=files,
            )
            receipt.recipient_agency_id, receipt.incoming_id = agency.id, rec.id
        session.add(receipt)
        receipts.append(receipt)
    session.flush()
    audit.record(
        session,
        actor,
        "docs.distribute",
        target_type="document",
        target_id=doc.id,
        detail={
            "delivered": [r.recipient_name for r in receipts if r.incoming_id],
            "external": [r.recipient_name for r in receipts if r.status == "external"],
        },
    )
    events.publish_on_commit(
        session,
        "docs.distributed",
        {
            "document_id": doc.id,
            "receipts": [
                {"name": r.recipient_name, "incoming_id": r.incoming_id, "status": r.status} for r in receipts
            ],
        },
        user_ids=[doc.drafter_id],
    )
    return receipts


def _files(session: Session, doc: OutgoingDocument) -> list[tuple[str, str, str, bytes]]:
    """The Word file (as rendered and sealed), the attachments, and the signature/seal records."""
    stem = (doc.number or doc.title)[:80]
    # The receiving agency gets the sealed bytes themselves, so its copy verifies as the sender's does.
    out: list[tuple[str, str, str, bytes]] = [("main", f"{stem}.docx", DOCX_TYPE, output.official_file(session, doc))]
    pdf = output.official_pdf(session, doc)
    if pdf is not None:
        out.insert(0, ("main", f"{stem}.pdf", "application/pdf", pdf))
    ofd = output.official_ofd(session, doc)
    if ofd is not None:
        out.insert(1 if pdf is not None else 0, ("main", f"{stem}.ofd", "application/ofd", ofd))
    for a in session.exec(select(DocAttachment).where(DocAttachment.document_id == doc.id)).all():
        out.append(("attachment", a.name, a.content_type, a.data))
    sigs = {
        "body_hash": doc.body_hash,
        "signed_hash": doc.signed_hash,
        "sign_record": doc.sign_record,
        "seal_record": doc.seal_record,
        "number": doc.number,
    }
    out.append(
        (
            "signature",
            "signatures.json",
            "application/json",
            json.dumps(sigs, ensure_ascii=False, indent=2, default=str).encode(),
        )
    )
    return out


def on_incoming_change(session: Session, doc: IncomingDocument, status: str) -> None:
    """Move the sender's receipt for this copy along (signed / handled / returned) and tell the drafter."""
    if doc.source_document_id is None:
        return
    receipt = session.exec(select(DistributionReceipt).where(DistributionReceipt.incoming_id == doc.id)).first()
    if receipt is None:
        return
    now = utcnow()
    receipt.status = status
    if status == "signed":
        receipt.signed_at = now
    elif status in ("handled", "returned"):
        receipt.handled_at = now
        receipt.note = doc.return_reason if status == "returned" else "；".join(r["text"][:100] for r in doc.results)
    session.add(receipt)
    sender = session.get(OutgoingDocument, doc.source_document_id)
    if sender is not None and status in ("returned", "handled"):
        agency = session.get(Department, doc.agency_id)
        where = agency.name if agency else "收文机关"
        title = f"{'退回' if status == 'returned' else '已办结'}：{sender.title}"
        body = f"{where}：{doc.return_reason}" if status == "returned" else f"{where} 已办结"
        incoming.notify(session, [sender.drafter_id], title, body, f"/docs/{sender.id}")


def receipts(session: Session, actor: Actor, doc_id: int) -> dict[str, Any]:
    """回执: per addressee, delivered / signed / handled / returned, for a reader of the sent document."""
    service.access_document(session, actor, doc_id)
    rows = session.exec(
        select(DistributionReceipt)
        .where(DistributionReceipt.outgoing_id == doc_id)
        .order_by(col(DistributionReceipt.id))
    ).all()
    return {
        "items": [
            {
                "recipient": r.recipient_name,
                "role": r.role,
                "agency_id": r.recipient_agency_id,
                "status": r.status,
                "status_label": RECEIPT_LABELS.get(r.status, r.status),
                "note": r.note,
                "delivered_at": iso(r.delivered_at),
                "signed_at": iso(r.signed_at),
                "handled_at": iso(r.handled_at),
            }
            for r in rows
        ]
    }
