"""Adapter between the 办文 workflow and the layers built elsewhere: the Word renderer, the
conformance checker, the .docx importer (all pure, in ``docs_flow``) and electronic seals (``esign``).

Every layer is imported lazily, so the workflow runs before they land; a missing layer raises
``FeatureUnavailable`` (503) with a message saying what is missing, except the sign-off and seal
hooks, which fall back to recording the approved hash.

Interfaces this module expects (the lead wires the final calls at merge):

* ``docs_flow.layout``: dataclass ``OfficialDocument(doc_type, issuer_name, title, body, number,
  copy_number, classification, urgency, signers, main_recipients, attachments, signature_name, date,
  note, cc, printer, print_date)`` and blocks ``Heading(level, text, numbered)``, ``Paragraph(text)``,
  ``ListItem(text)``, ``Table(rows)``. Built by :func:`layout_document`, passing only the fields
  the dataclass declares.
* ``docs_flow.render.render_docx(doc: OfficialDocument, fmt="standard"|"letter"|"minutes") -> bytes``.
* ``docs_flow.conformance.check_docx(data: bytes) -> report``.
* ``docs_flow.docx_import.import_body(data: bytes) -> list[block]`` (block objects or dicts).
* ``esign.service.sign_document(session, actor, *, data: bytes, pin: str, purpose: str,
  target_type: str, target_id: int) -> dict`` -- signs the canonical body bytes at 签发 with the
  signer's PIN-unlocked key; returns a JSON-able record (e.g. signature id, algorithm, cert serial).
* ``esign.service.seal_docx(session, actor, *, agency_id: int, docx: bytes, pin: str,
  target_type: str, target_id: int) -> dict`` -- applies the agency's seal at 用印; returns a
  JSON-able record (seal id, signature id, sealed-file sha256, ...).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
from types import ModuleType
from typing import Any

from sqlmodel import Session

from office.actor import Actor
from office.db import utcnow
from office.errors import OfficeError, ValidationError
from docs_flow import body as body_mod
from docs_flow.models import OutgoingDocument


class FeatureUnavailable(OfficeError):
    """A layer this action needs is not installed yet (503)."""

    status_code = 503
    code = "feature_unavailable"
    default_message = "该功能尚未启用"


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def _require(module: str, attr: str, what: str) -> Any:
    mod = _optional(module)
    fn = getattr(mod, attr, None) if mod is not None else None
    if fn is None:
        raise FeatureUnavailable(f"{what}模块尚未安装（缺少 {module}.{attr}），请联系管理员", code="feature_unavailable",
                                 feature=f"{module}.{attr}")
    return fn


# Word output ---------------------------------------------------------------------------------------


def document_fields(document: OutgoingDocument) -> dict[str, Any]:
    """The GB/T 9704 elements of a document as plain values (what the renderer lays out)."""
    attachments = [a.get("name", "") for a in document.attachments]
    return {
        "doc_type": document.doc_type.value, "title": document.title, "number": document.number,
        "copy_no": document.copy_no, "secrecy": document.secrecy.value,
        "secrecy_period": document.secrecy_period, "urgency": document.urgency.value,
        "issuer": document.issuing_agency_name, "signer": document.signer_name,
        "main_recipients": list(document.main_recipients), "cc_recipients": list(document.cc_recipients),
        "body": [dict(b) for b in document.body], "attachments": attachments,
        "attachment_note": attachments, "note": document.note,
        "written_date": document.written_date, "issuing_agency": document.issuing_agency_name,
        "issued_date": document.issued_date, "sealed": bool(document.seal_record),
    }


def layout_document(document: OutgoingDocument) -> Any:
    """A ``docs_flow.layout.OfficialDocument`` for the renderer."""
    layout = _optional("docs_flow.layout")
    if layout is None or not hasattr(layout, "OfficialDocument"):
        raise FeatureUnavailable("公文排版模块（docs_flow.layout）尚未安装，暂不能生成 Word 文件")
    f = document_fields(document)
    upward = document.doc_type.value in ("请示", "报告")
    values = {
        "doc_type": f["doc_type"], "issuer_name": f["issuer"], "title": f["title"],
        "body": [_layout_block(layout, b) for b in document.body], "number": f["number"] or None,
        "copy_number": f["copy_no"] or None, "classification": f["secrecy"] or None, "urgency": f["urgency"] or None,
        "signers": [s for s in f["signer"].split("、") if s] if upward else [],
        "main_recipients": f["main_recipients"], "attachments": f["attachments"], "signature_name": f["issuer"],
        "date": f["written_date"], "note": f["note"] or None, "cc": f["cc_recipients"],
        "printer": f["issuing_agency"] or None, "print_date": f["issued_date"],
    }
    return _construct(layout.OfficialDocument, values)


def _layout_block(layout: ModuleType, block: dict[str, Any]) -> Any:
    kind = block["kind"]
    if kind == "heading":  # authors type their own 一、（一） markers: nothing is renumbered
        return _construct(layout.Heading, {"level": block["level"], "text": block["text"], "numbered": False})
    if kind == "table":
        return _construct(layout.Table, {"rows": tuple(tuple(r) for r in block["rows"])})
    return _construct(layout.ListItem if kind == "list_item" else layout.Paragraph, {"text": block["text"]})


def _construct(cls: Any, values: dict[str, Any]) -> Any:
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in names}
    return cls(**values)


def render_format(document: OutgoingDocument) -> str:
    """GB/T 9704 版式: 纪要格式 for 纪要, 信函格式 for 函, else 文件格式."""
    return {"纪要": "minutes", "函": "letter"}.get(document.doc_type.value, "standard")


def render(document: OutgoingDocument) -> bytes:
    """The document as a GB/T 9704 .docx, via ``docs_flow.render.render_docx``."""
    render_docx = _require("docs_flow.render", "render_docx", "Word 排版")
    return bytes(render_docx(layout_document(document), fmt=render_format(document)))


def check(data: bytes) -> Any:
    """Conformance report for a rendered .docx."""
    return _require("docs_flow.conformance", "check_docx", "格式检查")(data)


def import_docx(data: bytes) -> list[dict[str, Any]]:
    """Body blocks from an uploaded .docx, normalised to our JSON shape."""
    if not data.startswith(b"PK"):
        raise ValidationError("不是有效的 Word（.docx）文件", code="not_docx")
    import_body = _require("docs_flow.docx_import", "import_body", "Word 导入")
    return body_mod.from_objects(import_body(data))


# Sign-off and seal hooks ----------------------------------------------------------------------------


def esign_available(function: str) -> bool:
    mod = _optional("esign.service")
    return mod is not None and callable(getattr(mod, function, None))


def on_sign_off(session: Session, actor: Actor, document: OutgoingDocument, pin: str | None) -> dict[str, Any]:
    """签发 hook: the leader approves exactly ``document.body_hash`` (version ``body_version_no``).

    With ``esign.service.sign_document`` present, the canonical body is signed with the leader's key
    (the PIN unlocks it); otherwise only the approval hash is recorded. Returns the sign record.
    """
    record: dict[str, Any] = {"hash": document.body_hash, "version_no": document.body_version_no,
                              "signer_id": actor.user_id, "signer": actor.name, "at": utcnow().isoformat(),
                              "method": "hash"}
    if esign_available("sign_document"):
        if not pin:
            raise ValidationError("签发需要输入签名密码（PIN）", code="pin_required")
        sign_document = _require("esign.service", "sign_document", "电子签名")
        record["signature"] = sign_document(session, actor, data=canonical_bytes(document), pin=pin,
                                            purpose="sign_off", target_type="document", target_id=document.id)
        record["method"] = "esign"
    return record


def seal_document(session: Session, actor: Actor, document: OutgoingDocument, pin: str | None) -> dict[str, Any]:
    """用印 hook: apply the agency's electronic seal to the rendered signed text.

    With ``esign.service.seal_docx`` present the .docx is rendered and sealed (the seal keeper's PIN
    unlocks the key); otherwise the hash of the signed body is recorded as sealed-by-whom-and-when.
    """
    record: dict[str, Any] = {"hash": document.signed_hash, "version_no": document.signed_version_no,
                              "by_id": actor.user_id, "by": actor.name, "at": utcnow().isoformat(),
                              "method": "hash"}
    if esign_available("seal_docx"):
        if not pin:
            raise ValidationError("用印需要输入印章密码（PIN）", code="pin_required")
        data = render(document)
        seal_docx = _require("esign.service", "seal_docx", "电子印章")
        record["seal"] = seal_docx(session, actor, agency_id=document.agency_id, docx=data, pin=pin,
                                   target_type="document", target_id=document.id)
        record["docx_sha256"] = hashlib.sha256(data).hexdigest()
        record["method"] = "esign"
    return record


def canonical_bytes(document: OutgoingDocument) -> bytes:
    """The bytes whose SHA-256 is ``body_hash``: what 签发 approves and a signature covers."""
    return body_mod.canonical(document.title, document.body)
