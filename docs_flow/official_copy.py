"""用印 makes the official record: the Word file and its fixed-layout copies (版式 PDF and OFD), all sealed.

At 用印 the signed, numbered document is laid out once with its 印发日期 settled, converted by
LibreOffice into the official PDF, and the seal position is measured on the rendered pages
(``typeset.convert``, ``typeset.pdf_measure``). The Word file gets the seal picture and signature
(``esign.seal_docx``), the PDF a PAdES signature with the seal as its appearance
(``esign.seal_pdf``), and the OFD (GB/T 33190, written from the same PDF pages by ``typeset.ofd``) a
GB/T 38540 seal in its signature structure (``esign.seal_ofd``). The sealed files are stored once by
their SHA-256 and every later reader gets those bytes (``docs_flow.output.official_file`` /
``official_pdf`` / ``official_ofd``).

Converting and measuring take 0.3 s or more and may wait for a free converter, so the 用印 route
prepares the copy before it takes the write lock (``ahead``); inside the transaction the prepared
copy is used when the document is still the one it was made from (same version and 印发日期),
else it is made again there. Without LibreOffice the step is refused (503) rather than sealing a
record without its official copy. A seal whose key is SM2 cannot sign a PDF (no PDF validator
knows SM2): then only the Word file is sealed and the record says why the PDF is missing.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from docs_flow import service, typesetting
from docs_flow.models import DocAttachment, OutgoingDocument
from esign import service as esign_service
from office.actor import Actor
from office.errors import OfficeError
from typeset import convert, joint, ofd, paginate, pdf_measure
from workflow import engine, tasks

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
ORDER = "命令（令）"


@dataclass(frozen=True)
class PreparedCopy:
    """The Word file as it will be sealed, its PDF and where the seal goes on it."""

    key: tuple[int, int, date, float]  # document id, version, 印发日期, seal diameter
    docx: bytes
    pdf: bytes
    placement: pdf_measure.SealPlacement
    # 联合行文 (typeset.joint): every issuer's seal place on the pages and its anchor in the Word file
    # (paragraph index, centre in twips), issuing order; the lead's is the first.
    joint: tuple[joint.JointSeal, ...] = ()
    anchors: tuple[tuple[int, int], ...] = ()

    @property
    def seal_page(self) -> int:
        return self.joint[0].page if self.joint else self.placement.page

    @property
    def seal_rect(self) -> tuple[float, float, float, float]:
        return self.joint[0].rect if self.joint else self.placement.rect


_AHEAD: ContextVar[PreparedCopy | None] = ContextVar("official_copy_ahead", default=None)


def settle_issue_date(document: OutgoingDocument) -> date:
    """The 印发日期 goes into the 版记 of the file that is sealed, so it is settled at 用印."""
    if document.issued_date is None:
        document.issued_date = datetime.now(CHINA).date()
    return document.issued_date


def prepare(document: OutgoingDocument, diameter_mm: float, annexes: Sequence[DocAttachment] = ()) -> PreparedCopy:
    """Lay out, convert, measure and adjust until the page rules hold (``typeset.paginate``; slow, no
    database writes): the Word file is the one the PDF was rendered from. ``document.issued_date`` set;
    ``annexes``: the bound attachments (``service.bound_attachments``), laid out before the 版记."""
    fmt = typesetting.render_format(document)
    doc = typesetting.layout_document(document, annexes)
    laid = paginate.lay_out(doc, fmt, convert.docx_to_pdf, seal_mm=diameter_mm)
    docx, pdf = laid.docx, laid.pdf
    signature_text, date_text = pdf_measure.seal_anchor_texts(docx)
    placement = pdf_measure.seal_placement(  # a 令 takes the 签发人's 签名章 on his name, not a 公章
        pdf, date_text=date_text, signature_text=signature_text, diameter_mm=diameter_mm, name_seal=fmt == "order"
    )
    key = (document.id or 0, document.version, document.issued_date or date.min, float(diameter_mm))
    return _joint_places(document, PreparedCopy(key, docx, pdf, placement), date_text, diameter_mm)


def _joint_places(document: OutgoingDocument, copy: PreparedCopy, date_text: str, diameter_mm: float) -> PreparedCopy:
    """联合行文: where each issuer's seal goes, measured on the same pages, and its place in the Word file."""
    if not document.joint_issuers:
        return copy
    names = [document.issuing_agency_name, *(j["name"] for j in document.joint_issuers)]
    spots = joint.placements(copy.pdf, joint.name_rows(names, date_text), date_text, diameter_mm)
    anchors = joint.word_anchors(copy.docx, names, date_text)
    return replace(copy, joint=tuple(spots), anchors=tuple(anchors))


def joint_record(document: OutgoingDocument, record: dict[str, Any], copy: PreparedCopy) -> dict[str, Any]:
    """The lead's seal record of a 联合行文: every issuer's seal place (page, centre) and Word anchor, kept
    for the co-issuers' seals (``docs_flow.joint_seal``), and the seals applied so far: the lead's."""
    if not document.joint_issuers:
        return record
    keys = ("by_id", "by", "at", "seal_id", "seal_name", "sealed_sha256", "official_pdf", "official_ofd")
    lead = {"agency_id": document.agency_id, "agency": document.issuing_agency_name, **{k: record.get(k) for k in keys}}
    spots = [[s.page, *s.centre] for s in copy.joint]
    return {**record, "joint": {"spots": spots, "anchors": [list(a) for a in copy.anchors], "seals": [lead]}}


@contextmanager
def _use(copy: PreparedCopy) -> Iterator[None]:
    token = _AHEAD.set(copy)
    try:
        yield
    finally:
        _AHEAD.reset(token)


def ahead(session: Session, actor: Actor, doc_id: int, pick_seal: Any) -> Any:
    """``before_write`` for the 用印 step: the prepared copy, held for the write transaction (or None
    when this is not a 用印 the actor can do now; the transaction then decides and refuses)."""
    document = session.get(OutgoingDocument, doc_id)
    if document is None or not document.case_id or not document.signed_hash or not document.number:
        return None
    if document.joint_issuers and document.seal_record:  # 联合行文, the lead sealed: nothing to lay out again
        return None
    case = engine.get_case(session, document.case_id)
    task = tasks.my_task(session, case, actor)
    if task is None or case.route[task.step_index].get("tag") != "seal":
        return None
    try:
        seal = pick_seal(session, actor, document)
        annexes = service.bound_attachments(session, document)  # read before the date is set on the copy
        settle_issue_date(document)  # on the read session's copy only: nothing is written here
        return _use(prepare(document, seal.width_mm, annexes))
    except OfficeError:  # no seal, no converter...: the transaction meets it again and answers
        return None


def prepared_for(document: OutgoingDocument, diameter_mm: float, annexes: Sequence[DocAttachment] = ()) -> PreparedCopy:
    """Inside the 用印 transaction: the copy made ahead if it still fits the document, else a new one (an
    attachment's change moves the document's version too)."""
    copy = _AHEAD.get()
    key = (document.id or 0, document.version, settle_issue_date(document), float(diameter_mm))
    if copy is not None and copy.key == key:
        return copy
    return prepare(document, diameter_mm, annexes)


def seal_pdf(
    session: Session,
    actor: Actor,
    document: OutgoingDocument,
    copy: PreparedCopy,
    *,
    seal_id: int,
    pin: str,
    reference: str,
    authorisation: esign_service.Issued,
) -> dict[str, Any]:
    """Seal the official PDF and store it; the record's fields (or why there is no PDF)."""
    try:
        sealed = esign_service.seal_pdf(
            session,
            actor,
            seal_id=seal_id,
            pin=pin,
            pdf_bytes=copy.pdf,
            page=copy.seal_page,
            rect=copy.seal_rect,
            reference=reference,
            authorisation=authorisation,
        )
    except OfficeError as exc:
        if exc.code != "pdf_alg_unsupported":
            raise
        return {"official_pdf": None, "official_pdf_missing": exc.message}
    return {
        "official_pdf": store(session, sealed, ".pdf"),
        "seal_page": copy.seal_page + 1,
        "seal_covers": list(copy.placement.covers),
    }


def seal_ofd(
    session: Session,
    actor: Actor,
    document: OutgoingDocument,
    copy: PreparedCopy,
    *,
    seal_id: int,
    pin: str,
    reference: str,
    authorisation: esign_service.Issued,
) -> dict[str, Any]:
    """The OFD official copy: the same pages as the PDF (``typeset.ofd``), sealed at the same measured
    place (``esign.seal_ofd``; SM2 keys sign it too), stored like the PDF. Pages PDFium cannot read
    leave the record without an OFD and say why; a refused seal (PIN, authorisation) still fails."""
    try:
        package = ofd.pdf_to_ofd(copy.pdf, title=document.title)
    except OfficeError as exc:
        return {"official_ofd": None, "official_ofd_missing": f"未能生成 OFD 版式文件：{exc.message}"}
    sealed = esign_service.seal_ofd(
        session,
        actor,
        seal_id=seal_id,
        pin=pin,
        ofd_bytes=package,
        page=copy.seal_page,
        rect=copy.seal_rect,
        reference=reference,
        authorisation=authorisation,
    )
    return {"official_ofd": store(session, sealed, ".ofd")}


def _sealed_dir(session: Session) -> Path:
    return Path(session.info["db"].settings.data_dir) / "sealed"


def store(session: Session, data: bytes, suffix: str) -> str:
    """Write a sealed file by content hash, durably, before the transaction that records it commits."""
    digest = hashlib.sha256(data).hexdigest()
    folder = _sealed_dir(session)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return digest


def load(session: Session, digest: str | None, suffix: str) -> bytes | None:
    """A stored sealed file, checked against its hash."""
    if not digest:
        return None
    path = _sealed_dir(session) / f"{digest}{suffix}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        # The record says the file was sealed and stored: its absence is a fault of the data folder
        # (a restore without its files, a deleted file), never a reason to hand out something else.
        log.error("sealed file missing: %s", path.name)
        raise OfficeError("盖章文件缺失，请联系管理员从备份恢复", code="sealed_file_missing") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise OfficeError("盖章文件校验失败，请联系管理员", code="sealed_file_corrupt")
    return data
