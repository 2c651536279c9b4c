"""归档: a finished document becomes an immutable package.

The package is a zip holding the sealed official copy (版式 PDF) and the sealed Word file it was made
from (the exact bytes sealed at 用印, with their signature and seal records), the
metadata as JSON, the route history, the attachments, and ``manifest.json`` listing every file
with its SHA-256. The zip's own SHA-256 is stored with it, so ``verify`` detects any change. Nothing
edits a package; an administrator may destroy (销毁) one only after its retention period, with a
reason that goes to the audit log (the row, hash and manifest stay as the destruction record).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from docs_flow import body as body_mod
from docs_flow import output, signoff, typesetting, visibility
from docs_flow.incoming_models import ArchivePackage
from docs_flow.models import DocAttachment, OutgoingDocument
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, ValidationError
from office.timefmt import iso
from workflow import route_view
from workflow.models import WfCase

CHINA = ZoneInfo("Asia/Shanghai")
PERMANENT = "永久"
# 保管期限 by document type (after 《机关文件材料归档范围和文书档案保管期限规定》: 永久, 定期30年, 定期10年).
RETENTION_YEARS: dict[str, int | None] = {
    "决议": None,
    "决定": None,
    "命令（令）": None,
    "公报": None,
    "公告": None,
    "通告": None,
    "议案": None,
    "请示": None,
    "批复": None,
    "意见": 30,
    "通知": 30,
    "通报": 30,
    "报告": 30,
    "纪要": 30,
    "函": 10,
}
DEFAULT_YEARS = 30
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def retention_for(doc_type: str) -> tuple[str, int | None]:
    years = RETENTION_YEARS.get(doc_type, DEFAULT_YEARS)
    return (PERMANENT, None) if years is None else (f"{years}年", years)


def build_package(files: list[tuple[str, bytes]], *, created: datetime) -> tuple[bytes, dict[str, Any]]:
    """A zip of ``files`` plus ``manifest.json`` (name, size, SHA-256 of each). Pure: bytes in, bytes out."""
    manifest = {
        "format": "tongban-archive/1",
        "created_at": iso(created),
        "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files],
    }
    stamp = created.astimezone(CHINA).timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in [*files, ("manifest.json", as_json(manifest))]:
            z.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buf.getvalue(), manifest


def verify_package(data: bytes, expected_sha256: str) -> dict[str, Any]:
    """Check the zip's hash and every file against the manifest inside it."""
    problems: list[str] = []
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        problems.append("package_hash")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = json.loads(z.read("manifest.json"))
            for f in manifest["files"]:
                if hashlib.sha256(z.read(f["name"])).hexdigest() != f["sha256"]:
                    problems.append(f["name"])
    except (zipfile.BadZipFile, KeyError, ValueError):
        problems.append("unreadable")
    return {"ok": not problems, "problems": problems}


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def route_history(session: Session, case_id: int | None) -> list[dict[str, Any]]:
    case = session.get(WfCase, case_id) if case_id else None
    return route_view.route_picture(session, case)["history"] if case else []


def archive_outgoing(session: Session, actor: Actor, doc: OutgoingDocument) -> ArchivePackage:
    """Package a finished 发文: Word file, signatures, metadata, route history, attachments."""
    # The legal record holds the exact bytes that were sealed (``official_file``), not a new rendering.
    files: list[tuple[str, bytes]] = [("document.docx", output.official_file(session, doc))]
    pdf = output.official_pdf(session, doc)
    if pdf is not None:  # the official copy (版式), sealed; the Word file above is its source
        files.insert(0, ("document.pdf", pdf))
    ofd = output.official_ofd(session, doc)
    if ofd is not None:  # the same pages as OFD (GB/T 33190), with its own seal
        files.insert(1 if pdf is not None else 0, ("document.ofd", ofd))
    meta = {
        **typesetting.document_fields(doc),
        "kind": "outgoing",
        "id": doc.id,
        "status": doc.status.value,
        "body_hash": doc.body_hash,
        "body_text": body_mod.flatten(doc.title, doc.body),
    }
    files += [
        ("metadata.json", as_json(meta)),
        (
            "signatures.json",
            as_json(
                {
                    "signed_hash": doc.signed_hash,
                    "signer": doc.signer_name,
                    "sign_record": doc.sign_record,
                    "seal_record": doc.seal_record,
                    "sign_off": signoff.archive_entries(session, doc),  # what each 签发 signature covers
                }
            ),
        ),
        ("history.json", as_json(route_history(session, doc.case_id))),
    ]
    for a in session.exec(
        select(DocAttachment).where(DocAttachment.document_id == doc.id).order_by(col(DocAttachment.id))
    ).all():
        files.append((f"attachments/{a.id}_{a.name}", a.data))
    return store_package(
        session,
        actor,
        "outgoing",
        doc.id or 0,
        agency_id=doc.agency_id,
        title=doc.title,
        number=doc.number,
        doc_type=doc.doc_type.value,
        files=files,
    )


def store_package(
    session: Session,
    actor: Actor,
    kind: str,
    doc_id: int,
    *,
    agency_id: int,
    title: str,
    number: str,
    doc_type: str,
    files: list[tuple[str, bytes]],
) -> ArchivePackage:
    existing = session.exec(
        select(ArchivePackage).where(ArchivePackage.doc_kind == kind, ArchivePackage.doc_id == doc_id)
    ).first()
    if existing is not None:
        raise InvalidTransition("该文件已归档", code="already_archived")
    now = utcnow()
    data, manifest = build_package(files, created=now)
    label, years = retention_for(doc_type)
    today = now.astimezone(CHINA).date()
    until = date(today.year + years, 12, 31) if years else None
    row = ArchivePackage(
        doc_kind=kind,
        doc_id=doc_id,
        agency_id=agency_id,
        title=title[:200],
        number=number,
        doc_type=doc_type,
        retention=label,
        retain_until=until,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        manifest=manifest,
        data=data,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "archive.create",
        target_type=kind,
        target_id=doc_id,
        detail={"archive_id": row.id, "sha256": row.sha256, "files": len(files), "retention": label},
    )
    return row


# Reading and destruction ------------------------------------------------------------------------------


def _visible(actor: Actor) -> Any:
    return or_(
        and_(
            col(ArchivePackage.doc_kind) == "outgoing",
            col(ArchivePackage.doc_id).in_(visibility.visible_ids(actor, "outgoing")),
        ),
        and_(
            col(ArchivePackage.doc_kind) == "incoming",
            col(ArchivePackage.doc_id).in_(visibility.visible_ids(actor, "incoming")),
        ),
    )


def access_package(session: Session, actor: Actor, archive_id: int) -> ArchivePackage:
    row = session.get(ArchivePackage, archive_id)
    if row is None:
        raise NotFound()
    if actor.is_admin and row.agency_id == actor.agency_id:
        return row
    if (
        session.exec(
            select(func.count()).select_from(ArchivePackage).where(ArchivePackage.id == archive_id, _visible(actor))
        ).one()
        == 0
    ):
        raise NotFound()
    return row


def list_packages(
    session: Session,
    actor: Actor,
    *,
    kind: str = "",
    q: str = "",
    year: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    policy.require(actor, "document.use")
    visible = _visible(actor)
    if actor.is_admin:  # the administrator who may destroy packages sees the agency's whole archive
        visible = or_(visible, col(ArchivePackage.agency_id) == actor.agency_id)
    cond: list[Any] = [visible]
    if kind:
        cond.append(ArchivePackage.doc_kind == kind[:20])
    if q:
        like = "%" + q.strip()[:50].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cond.append(
            or_(col(ArchivePackage.title).like(like, escape="\\"), col(ArchivePackage.number).like(like, escape="\\"))
        )
    if year:
        cond.append(func.extract("year", col(ArchivePackage.created_at)) == year)
    where = and_(*cond)
    total = session.exec(select(func.count()).select_from(ArchivePackage).where(where)).one()
    rows = session.exec(
        select(ArchivePackage)
        .where(where)
        .order_by(col(ArchivePackage.id).desc())
        .offset(max(offset, 0))
        .limit(min(max(limit, 1), 200))
    ).all()
    return {"total": total, "items": [package_public(r) for r in rows]}


def package_public(r: ArchivePackage) -> dict[str, Any]:
    return {
        "id": r.id,
        "doc_kind": r.doc_kind,
        "doc_id": r.doc_id,
        "title": r.title,
        "number": r.number,
        "doc_type": r.doc_type,
        "retention": r.retention,
        "retain_until": r.retain_until.isoformat() if r.retain_until else None,
        "size": r.size,
        "sha256": r.sha256,
        "manifest": r.manifest,
        "created_at": iso(r.created_at),
        "destroyed": r.destroyed_at is not None,
        "destroyed_at": iso(r.destroyed_at),
        "destroy_reason": r.destroy_reason,
    }


def download(session: Session, actor: Actor, archive_id: int) -> ArchivePackage:
    row = access_package(session, actor, archive_id)
    if row.destroyed_at is not None:
        raise InvalidTransition("档案已按期销毁", code="destroyed")
    audit.record(
        session, actor, "archive.download", target_type="archive", target_id=archive_id, detail={"sha256": row.sha256}
    )
    return row


def verify(session: Session, actor: Actor, archive_id: int) -> dict[str, Any]:
    row = access_package(session, actor, archive_id)
    if row.destroyed_at is not None:
        return {"ok": False, "problems": ["destroyed"]}
    return verify_package(row.data, row.sha256)


def check_destroy(
    session: Session, actor: Actor, archive_id: int, *, reason: str, today: date | None = None
) -> ArchivePackage:
    """销毁: an administrator, after the retention period, with a reason; the bytes go, the record stays."""
    policy.require(actor, "archive.destroy")
    row = access_package(session, actor, archive_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("销毁档案必须说明理由", code="reason_required", field="reason")
    if row.destroyed_at is not None:
        raise InvalidTransition("档案已销毁", code="destroyed")
    if row.retain_until is None:
        raise InvalidTransition("永久保管的档案不能销毁", code="permanent")
    today = today or utcnow().astimezone(CHINA).date()
    if today <= row.retain_until:
        raise InvalidTransition(
            f"保管期限至 {row.retain_until.isoformat()}，期满前不能销毁",
            code="retention_not_expired",
            retain_until=row.retain_until.isoformat(),
        )
    row.data, row.destroyed_at, row.destroyed_by, row.destroy_reason = b"", utcnow(), actor.user_id, reason[:500]
    session.add(row)
    audit.record(
        session,
        actor,
        "archive.destroy",
        target_type="archive",
        target_id=archive_id,
        detail={"doc_kind": row.doc_kind, "doc_id": row.doc_id, "sha256": row.sha256, "reason": reason[:200]},
    )
    return row
