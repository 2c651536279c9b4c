"""What the 签发 signature covers, and the check that the document is still what the leader signed.

The signed content is versioned by ``form`` in each signer's entry of ``sign_record``:

- form 1 (records made before attachments were signed; no ``form`` key): title and body
  (``docs_flow.body.canonical``, its SHA-256 is ``body_hash``);
- form 2: title, body and, in the 附件说明's order, each attachment's name and bound flag, with a
  bound attachment's title and blocks and an unbound one's file SHA-256 (of the stored bytes, not
  of the ``sha256`` column, so replaced bytes show).

A record verifies with the form it names, so documents signed before form 2 keep verifying. 用印
(``docs_flow.actions``) refuses a document whose content no longer matches its signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sqlmodel import Session, select

from docs_flow import body as body_mod
from docs_flow.models import DocAttachment, OutgoingDocument
from esign import service as esign_service
from esign.models import SignatureRecord
from office.errors import InvalidTransition

FORM = 2  # the form new signatures are made over
CONTENT_CODES = {"text_modified", "bad_signature"}  # what says the content is not what was signed


def canonical(session: Session, document: OutgoingDocument, form: int = FORM) -> bytes:
    """The exact bytes a 签发 signature of ``form`` covers."""
    if form == 1:
        return body_mod.canonical(document.title, document.body)
    if form != 2:
        raise ValueError(f"unknown sign-off form {form}")
    content = {"title": document.title, "body": document.body, "attachments": attachment_entries(session, document)}
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def attachment_entries(session: Session, document: OutgoingDocument) -> list[dict[str, Any]]:
    """The 附件说明 as signed: one entry per line, in order."""
    rows = {r.id: r for r in session.exec(select(DocAttachment).where(DocAttachment.document_id == document.id)).all()}
    out: list[dict[str, Any]] = []
    for item in document.attachments:
        row = rows.get(item.get("file_id"))
        entry: dict[str, Any] = {"name": item.get("name", ""), "bound": bool(row and row.bound)}
        if row is not None and row.bound:
            entry.update(title=row.title, blocks=row.blocks)
        else:  # a listed file is signed by its bytes; a line without a file by its name alone
            entry["sha256"] = hashlib.sha256(row.data).hexdigest() if row is not None else None
        out.append(entry)
    return out


def record_fields(session: Session, document: OutgoingDocument) -> dict[str, Any]:
    """What a new signer's entry says about the content signed (with ``canonical(session, document)``)."""
    return {"form": FORM, "content_sha256": hashlib.sha256(canonical(session, document)).hexdigest()}


def verify(session: Session, document: OutgoingDocument) -> list[dict[str, Any]]:
    """Each 签发 signature verified against the document's content now, in the form it was made over:
    ``[{"signer", "form", "report"}]`` (``report`` from ``esign.service.verify_text``)."""
    out = []
    for signer in document.sign_record.get("signers", []):
        form = int(signer.get("form", 1))
        sig_id = (signer.get("signature") or {}).get("id")
        record = session.get(SignatureRecord, sig_id) if sig_id else None
        if record is None:
            report = {
                "valid": False,
                "signatures": [],
                "errors": [{"code": "no_signature", "message": "签名记录不存在"}],
            }
        else:
            report = esign_service.verify_text(
                session, signature_der=record.signature_der, data=canonical(session, document, form)
            )
        out.append({"signer": signer.get("signer", ""), "form": form, "report": report})
    return out


def archive_entries(session: Session, document: OutgoingDocument) -> list[dict[str, Any]]:
    """For the archive package: each 签发 signature (DER, base64) with the exact text it covers, so the
    package verifies on its own (SHA-256 or SM3 of ``content`` as UTF-8 is the signature's data hash)."""
    out = []
    for signer in document.sign_record.get("signers", []):
        form = int(signer.get("form", 1))
        sig_id = (signer.get("signature") or {}).get("id")
        record = session.get(SignatureRecord, sig_id) if sig_id else None
        out.append(
            {
                "signer": signer.get("signer", ""),
                "form": form,
                "content": canonical(session, document, form).decode(),
                "signature": base64.b64encode(record.signature_der).decode() if record is not None else None,
            }
        )
    return out


def check_unchanged(session: Session, document: OutgoingDocument) -> None:
    """Refuse (409 ``changed_since_sign_off``) a document whose title, body or attachments differ from
    what was signed at 签发: the recorded hashes and the signatures themselves are both checked."""
    if body_mod.body_hash(document.title, document.body) != document.signed_hash:
        raise _changed()
    for signer in document.sign_record.get("signers", []):
        form = int(signer.get("form", 1))
        expected = signer.get("content_sha256") if form >= 2 else signer.get("hash")
        if hashlib.sha256(canonical(session, document, form)).hexdigest() != expected:
            raise _changed()
    for item in verify(session, document):
        codes = {e["code"] for s in item["report"]["signatures"] for e in s["errors"]}
        codes |= {e["code"] for e in item["report"]["errors"]}
        if codes & (CONTENT_CODES | {"no_signature"}):
            raise _changed()


def _changed() -> InvalidTransition:
    return InvalidTransition(
        "公文内容（标题、正文或附件）与签发时不一致，不能用印：请退回签发前的步骤重新签发",
        code="changed_since_sign_off",
    )
