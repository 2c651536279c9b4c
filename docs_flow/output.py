"""Between the 办文 workflow and the layers below it: GB/T 9704 layout, Word output, conformance
checks and Word import (``typeset``), and electronic seals (``esign``).

One sealed record: at 用印 the document is rendered once, sealed, and the sealed bytes are stored by
their SHA-256 (``docs_flow.official_copy``), with the official PDF. From then on every reader gets
those bytes (``official_file``):
the Word download, the archive package, the copies delivered to other agencies' 收文. Nothing
renders a sealed document again. The 印发日期 is settled at 用印 so the sealed file carries it. The layout
itself (fields, layout model, Word rendering) is ``docs_flow.typesetting``.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from docs_flow import body as body_mod
from docs_flow import official_copy, service, signoff, typesetting
from docs_flow.models import OutgoingDocument
from esign import service as esign_service
from esign.models import SealKind
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, ValidationError
from office.models import Post
from office.timefmt import iso
from typeset.conformance import check_docx
from typeset.docx_import import import_draft
from typeset.render import date_paragraph_index, signature_paragraph_index


def check(data: bytes) -> Any:
    """Conformance report for a rendered .docx."""
    return check_docx(data)


def import_docx(data: bytes) -> dict[str, Any]:
    """Title, 主送 and body blocks (in our JSON shape) from an uploaded .docx draft."""
    if not data.startswith(b"PK"):
        raise ValidationError("不是有效的 Word（.docx）文件", code="not_docx")
    draft = import_draft(data)
    return {"title": draft.title, "main_recipients": draft.main_recipients, "body": body_mod.from_objects(draft.body)}


# Sign-off and seal hooks ----------------------------------------------------------------------------


def on_sign_off(session: Session, actor: Actor, document: OutgoingDocument, pin: str | None) -> dict[str, Any]:
    """签发: the leader signs exactly the approved text (``document.body_hash``, version
    ``body_version_no``) and its attachments (``docs_flow.signoff``, form recorded in the entry) with
    their personal key, unlocked by their PIN (``esign.service.sign_text``).

    Raises ``pin_required`` without a PIN, esign's ``not_enrolled`` when the leader has no signing
    key yet, ``WrongPin``/``key_locked`` on a bad PIN (then the caller's transaction is rolled back
    and only the attempt is counted).
    """
    if not pin:
        raise ValidationError("签发需要输入您的签名密码（PIN）", code="pin_required")
    signed = esign_service.sign_text(
        session, actor, pin=pin, data=signoff.canonical(session, document), purpose=f"签发：{document.title}"[:200]
    )
    return {
        **signoff.record_fields(session, document),
        "hash": document.body_hash,
        "version_no": document.body_version_no,
        "signer_id": actor.user_id,
        "signer": actor.name,
        "post_title": _post_title(session, actor.user_id),
        "at": iso(utcnow()),
        "method": "esign",
        "signature": {"id": signed.id, "leaf_index": signed.leaf_index, "data_hash": signed.data_hash},
    }


def _post_title(session: Session, user_id: int) -> str:
    """The signer's job title (primary post first), printed beside the 签名章 on a 令."""
    post = session.exec(
        select(Post)
        .where(Post.user_id == user_id, Post.title != "")
        .order_by(col(Post.is_primary).desc(), col(Post.rank))
    ).first()
    return post.title if post else ""


def pick_seal(session: Session, actor: Actor, document: OutgoingDocument, agency_id: int | None = None) -> Any:
    """The seal 用印 applies: the agency's 公章 (``agency_id``: a co-issuer's, 联合行文), or for a 令 the
    签发人's 签名章 (§10.2)."""
    agency_id = agency_id or document.agency_id
    usable = [s for s in esign_service.usable_seals(session, actor) if s.agency_id == agency_id]
    if document.doc_type.value == official_copy.ORDER:
        seals = [s for s in usable if s.kind == SealKind.name and s.holder_user_id == document.signed_by_id]
        if not seals:
            raise InvalidTransition(
                f"命令须加盖签发人（{document.signer_name}）的签名章：请印章管理员创建签名章并授权您使用",
                code="no_name_seal",
            )
        return seals[0]
    seals = [s for s in usable if s.kind == SealKind.official]
    if not seals:
        raise InvalidTransition("本机关没有您可使用的电子公章：请印章管理员创建公章并授权您使用", code="no_usable_seal")
    return next((s for s in seals if s.seal_type == "公章"), seals[0])


def seal_document(session: Session, actor: Actor, document: OutgoingDocument, pin: str | None) -> dict[str, Any]:
    """用印: seal the Word file and its official PDF with the actor's own key on the agency's seal
    (``docs_flow.official_copy``), store both and return the seal record."""
    if not pin:
        raise ValidationError("用印需要输入您的签名密码（PIN）", code="pin_required")
    seal = pick_seal(session, actor, document)
    copy = official_copy.prepared_for(document, seal.width_mm, service.bound_attachments(session, document))
    data = copy.docx
    order = document.doc_type.value == official_copy.ORDER
    anchor = signature_paragraph_index(data) if order else date_paragraph_index(data)
    centre = None
    if copy.anchors:  # 联合行文: the lead's seal on the lead's name, in the row of names
        anchor, centre = copy.anchors[0]
    reference = document.number or document.title[:100]
    # A 公文's 用印 needs no 用印申请 even on a seal that requires one: its 签发 (checked by the
    # caller, docs_flow.actions: signed_hash and number) is the leader's authority for this very text.
    issued = esign_service.Issued(f"签发 {reference}")
    sealed = esign_service.seal_docx(
        session,
        actor,
        seal_id=seal.id,
        pin=pin,
        docx_bytes=data,
        anchor_paragraph=anchor,
        anchor_centre_twips=centre,
        reference=reference,
        authorisation=issued,
    )
    digest = official_copy.store(session, sealed, ".docx")
    pdf = official_copy.seal_pdf(
        session, actor, document, copy, seal_id=seal.id, pin=pin, reference=reference, authorisation=issued
    )
    pdf |= official_copy.seal_ofd(
        session, actor, document, copy, seal_id=seal.id, pin=pin, reference=reference, authorisation=issued
    )
    record = {
        "conformance": check(data).to_dict(),
        "hash": document.signed_hash,
        "version_no": document.signed_version_no,
        "by_id": actor.user_id,
        "by": actor.name,
        "at": iso(utcnow()),
        "method": "esign",
        "seal_id": seal.id,
        "seal_name": seal.name + seal.seal_type,
        "sealed_sha256": digest,
        **pdf,
    }
    return official_copy.joint_record(document, record, copy)  # 联合行文: the places of the other seals


def official_file(session: Session, document: OutgoingDocument) -> bytes:
    """The document's Word file as every reader gets it: the sealed bytes once 用印 is done, else the
    current layout (a document on a route without 用印, or not yet sealed)."""
    return sealed_file(session, document) or typesetting.render(document, service.bound_attachments(session, document))


def sealed_file(session: Session, document: OutgoingDocument) -> bytes | None:
    """The sealed Word file recorded at 用印, if any (what entitled readers download from then on)."""
    return official_copy.load(session, document.seal_record.get("sealed_sha256"), ".docx")


def official_pdf(session: Session, document: OutgoingDocument) -> bytes | None:
    """The sealed official copy (版式 PDF) recorded at 用印, if any."""
    return official_copy.load(session, document.seal_record.get("official_pdf"), ".pdf")


def official_ofd(session: Session, document: OutgoingDocument) -> bytes | None:
    """The sealed official copy as OFD (GB/T 33190) recorded at 用印, if any."""
    return official_copy.load(session, document.seal_record.get("official_ofd"), ".ofd")
