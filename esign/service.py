"""The e-seal service other packages call: sign text, sign or seal a Word file, verify.

All functions take a ``session`` from ``office.db.Database.write()`` (they append to the
transparency log and need the master key through it) and the acting user, and raise
``office.errors`` subclasses. What each signature gets:

- a GB/T 38540 ``SES_Signature`` made with the **actor's own** key, unsealed with their PIN for
  this call only (``esign.credentials``; nobody can sign for someone else);
- a time-stamp token from the internal TSA over the signature value (trusted signing time, so
  a signature made before a later revocation stays valid);
- an entry in the transparency log (leaf data = the DER signature) and a receipt: the signed
  tree head after the append plus the inclusion proof (:func:`receipt`).

Wrong PIN: raises ``esign.crypto.WrongPin`` (403 ``wrong_pin``, ``attempts_left``), then
``Locked`` (423 ``key_locked``) at the limit. As documented in ``esign.credentials``, the
caller's transaction has then been rolled back and only the failure count committed.

Entry points for docs_flow (签发 and 用印):

- :func:`sign_text` — personal signature over exact bytes (the opinion + document text the
  leader saw); keep ``record.id`` and check later with :func:`verify_text`;
- :func:`seal_docx` — 用印: visible seal over the 署名/成文日期 + embedded signature, 用印登记;
  docs_flow checks that the actor may 用印 *this document*; this checks the actor may use *this seal*;
- :func:`seal_pdf` — the same 用印 on the official copy (PDF from ``typeset.convert``, seal
  rectangle from ``typeset.pdf_measure``): PAdES signature with the seal picture, verifiable offline;
- :func:`seal_ofd` — the same 用印 on the OFD official copy (``typeset.ofd``): GB/T 38540 seal in the
  OFD signature structure, SM2/SM3 for SM2 keys;
- :func:`sign_docx` — personal signature embedded in a Word file, no seal picture;
- :func:`verify_docx`, :func:`verify_pdf`, :func:`verify_file` (either, by content) — the verification
  report (also used by the HTTP endpoint and the CLI);
- :func:`usable_seals` — the seals the actor may apply (for a picker).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from esign import authority, ca, crypto, docx_sig, ofd_sig, pdf_sig, seals, tlog, tsa
from esign import seal as seal_mod
from esign.credentials import UnlockedKey, active_credential, unlock_key
from esign.models import AuthorityKind, Seal, SealStatus, SealUse, SignatureKind, SignatureRecord
from esign.verify import report_dict, verify_docx, verify_file, verify_ofd, verify_pdf, verify_text
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, NotFound, ValidationError

#: ``TBS_Sign.extDatas`` OID carrying the UTF-8 purpose of a text signature.
OID_PURPOSE = "1.3.6.1.4.1.61234.1.3.3"
MAX_TEXT = 5 * 1024 * 1024
MM = 72 / 25.4  # PDF points per millimetre

__all__ = [
    "receipt",
    "report_dict",
    "seal_docx",
    "seal_ofd",
    "seal_pdf",
    "sign_docx",
    "sign_text",
    "sign_text_with_key",
    "unlock_key",
    "usable_seals",
    "verify_docx",
    "verify_file",
    "verify_ofd",
    "verify_pdf",
    "verify_text",
]


def _text_arg(value: str, name: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise ValidationError(
            f"{name}不能为空且不超过 {limit} 字", code=f"bad_{'reference' if 'reference' in name else 'purpose'}"
        )
    return value


def _timestamp_fn(session: Session, keys: authority.Keys, now: datetime) -> Callable[[bytes], bytes]:
    row = authority.tsa(session, keys)
    private = authority.unwrap(row, keys.master)
    return lambda digest: tsa.issue_token(private, row.certificate, digest, now)  # type: ignore[arg-type]


def _record(
    session: Session,
    keys: authority.Keys,
    key: UnlockedKey,
    *,
    kind: SignatureKind,
    sig_der: bytes,
    purpose: str,
    data_hash: str,
    now: datetime,
    seal_id: int | None = None,
) -> SignatureRecord:
    index = tlog.append(session, keys, f"signature.{kind.value}", sig_der)
    record = SignatureRecord(
        kind=kind,
        user_id=key.user_id,
        credential_id=key.credential_id,
        seal_id=seal_id,
        purpose=purpose,
        alg=key.alg,
        data_hash=data_hash,
        signature_der=sig_der,
        signed_at=now,
        timestamp_at=now,
        leaf_index=index,
    )
    session.add(record)
    session.flush()
    return record


def sign_text(session: Session, actor: Actor, *, pin: str, data: bytes, purpose: str) -> SignatureRecord:
    """签发: the actor's personal signature over exactly ``data`` (e.g. the opinion text plus a hash of the
    document version the leader read, encoded by the caller).

    ``purpose`` (<= 200 chars, e.g. "签发 粤府办〔2026〕12号") is signed too. Returns the stored
    :class:`SignatureRecord` (``signature_der`` = DER ``SES_Signature`` with TSA token;
    ``leaf_index`` = log entry); get the log receipt with :func:`receipt`. Raises Conflict
    ``not_enrolled``, WrongPin, Locked ``key_locked``, ValidationError for empty/oversized input.
    """
    key = unlock_key(session, actor, pin=pin)
    return sign_text_with_key(session, actor, key=key, data=data, purpose=purpose)


def sign_text_with_key(
    session: Session, actor: Actor, *, key: UnlockedKey, data: bytes, purpose: str
) -> SignatureRecord:
    """:func:`sign_text` with a key already unlocked by :func:`esign.credentials.unlock_key` in this request
    (several signatures for one PIN entry, e.g. 批量签发). The key must be the actor's own."""
    if key.user_id != actor.user_id:
        raise NotFound("签名密钥不属于当前用户", code="not_own_key")
    if not data or len(data) > MAX_TEXT:
        raise ValidationError("签名内容为空或过大", code="bad_data")
    purpose = _text_arg(purpose, "签名用途")
    keys = authority.keys_for(session)
    now = utcnow()
    hash_name = crypto.DIGEST_OF[key.alg]
    ext = {OID_PURPOSE: purpose.encode(), docx_sig.OID_CHAIN: docx_sig.CertChain(key.chain).dump()}
    tbs = seal_mod.build_tbs_sign(
        seal_der=None,
        time_info=now,
        data_hash=crypto.digest(hash_name, data),
        property_info=f"tongban-text/1;hash={hash_name};bytes={len(data)}",
        ext_datas=ext,
    )
    signature = key.signer.sign(tbs)
    token = _timestamp_fn(session, keys, now)(crypto.sha256(signature))
    sig_der = seal_mod.encode_signature(
        tbs=tbs, cert=key.certificate, alg=key.alg, signature=signature, timestamp=token
    )
    record = _record(
        session,
        keys,
        key,
        kind=SignatureKind.text,
        sig_der=sig_der,
        purpose=purpose,
        data_hash=crypto.digest(hash_name, data).hex(),
        now=now,
    )
    audit.record(
        session,
        actor,
        "esign.sign_text",
        target_type="esign_signature",
        target_id=record.id,
        detail={"purpose": purpose, "leaf_index": record.leaf_index},
    )
    return record


def seal_docx(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    docx_bytes: bytes,
    anchor_paragraph: int | None = None,
    reference: str,
) -> bytes:
    """用印: apply seal ``seal_id`` to a Word file and return the sealed file.

    The actor must be an authorised user of the seal (its agency's seal keeper, or listed by the
    keeper) — NotFound otherwise; the seal must be active (InvalidTransition ``seal_suspended`` /
    ``seal_revoked`` / ``seal_expired``); ``pin`` is the actor's **personal** signing PIN. The
    visible seal goes over the 成文日期 paragraph (or ``anchor_paragraph``), then one signature
    covers the whole package. Records 用印登记 (seal, user, time, ``reference`` (<= 200 chars,
    e.g. the document number), SHA-256 of input and output) and a log entry. Bad files raise
    UnsupportedMedia (415) / PayloadTooLarge (413); nothing is stored then.
    """
    reference, seal, key = _seal_key(session, actor, seal_id=seal_id, pin=pin, reference=reference)
    sealed, sig_der, now = _apply(
        session, key, docx_bytes, seal=seal, anchor_paragraph=anchor_paragraph, reference=reference
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=sig_der,
        now=now,
        reference=reference,
        received=docx_bytes,
        sealed=sealed,
        fmt="docx",
    )
    return sealed


def seal_pdf(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    pdf_bytes: bytes,
    page: int,
    rect: tuple[float, float, float, float],
    reference: str,
) -> bytes:
    """用印 on the official copy (版式 PDF): the seal picture at ``rect`` on ``page`` and a PAdES signature.

    ``page`` is 0-based; ``rect`` = (x0, y0, x1, y1) in PDF points, origin bottom-left, as measured
    by ``typeset.pdf_measure.seal_placement`` (its size must be the seal's own, ±1 mm). Same
    authorisation, PIN, 用印登记, log entry and audit as :func:`seal_docx` (the log leaf and the
    stored ``signature_der`` are the PDF's CMS signature). The file gets the internal TSA's RFC 3161
    time-stamp, the certificate chain and the CRLs, so it verifies offline (pdfsig, pyHanko,
    ``office verify``). Raises ValidationError ``pdf_alg_unsupported`` for SM2 keys (PDF
    validators know no SM2; use the Word/OFD copy), ``bad_seal_rect`` / ``bad_seal_page``, and
    UnsupportedMedia for a file that is not a readable PDF.
    """
    reference, seal, key = _seal_key(
        session,
        actor,
        seal_id=seal_id,
        pin=pin,
        reference=reference,
        check=lambda cred_alg: pdf_sig.check_alg(cred_alg),
    )
    _check_seal_size(seal, rect)
    keys = authority.keys_for(session)
    tsa_row = authority.tsa(session, keys)
    now = utcnow()
    info = seal_mod.parse_seal(seal.seal_der)
    issuer = authority.agency_ca(session, keys, key.agency_id)
    root = authority.root(session, keys)
    crls = [der for der in (authority.crl_der(session, root), authority.crl_der(session, issuer)) if der]
    sealed, cms_der = pdf_sig.sign_pdf(
        pdf_bytes,
        cert=key.certificate,
        chain=key.chain,
        alg=key.alg,
        sign_fn=key.signer.sign,
        tsa_key=authority.unwrap(tsa_row, keys.master),
        tsa_cert=tsa_row.certificate,  # type: ignore[arg-type]
        trust_roots=[root.certificate],
        crls=crls,
        page=page,
        rect=rect,
        seal_png=info.picture if info.picture_type.upper() == "PNG" else None,
        seal_der=seal.seal_der,
        reference=reference,
        signer_name=ca.subject_text(key.certificate),
        now=now,
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=cms_der,
        now=now,
        reference=reference,
        received=pdf_bytes,
        sealed=sealed,
        fmt="pdf",
    )
    return sealed


def seal_ofd(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    ofd_bytes: bytes,
    page: int,
    rect: tuple[float, float, float, float],
    reference: str,
) -> bytes:
    """用印 on the OFD official copy: ``page`` (0-based) and ``rect`` exactly as for :func:`seal_pdf`
    (PDF points, y up: the same measured placement, since the OFD holds the same pages); the seal
    goes into the OFD's ``Signatures.xml`` with its StampAnnot there (``esign.ofd_sig``). Signed
    with the actor's key in its own algorithm (SM2/SM3 or ECDSA P-256). Same authorisation, PIN,
    用印登记, log entry and audit as :func:`seal_docx`. Raises ``bad_seal_rect`` / ``bad_seal_page``
    and UnsupportedMedia for a file that is not an OFD."""
    reference, seal, key = _seal_key(session, actor, seal_id=seal_id, pin=pin, reference=reference)
    _check_seal_size(seal, rect)
    page_list = ofd_sig.pages(ofd_sig.read_package(ofd_bytes))
    if not 0 <= page < len(page_list):
        raise ValidationError("盖章页码超出文件页数", code="bad_seal_page")
    x0, y0, x1, y1 = (float(v) for v in rect)
    height_mm = page_list[page][2]
    boundary = (x0 / MM, height_mm - y1 / MM, (x1 - x0) / MM, (y1 - y0) / MM)  # OFD: mm, origin top-left
    keys = authority.keys_for(session)
    now = utcnow()
    sealed, sig_der = ofd_sig.sign_ofd(
        ofd_bytes,
        cert=key.certificate,
        chain=key.chain,
        alg=key.alg,
        sign_fn=key.signer.sign,
        timestamp_fn=_timestamp_fn(session, keys, now),
        seal_der=seal.seal_der,
        page=page,
        boundary_mm=boundary,
        reference=reference,
        now=now,
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=sig_der,
        now=now,
        reference=reference,
        received=ofd_bytes,
        sealed=sealed,
        fmt="ofd",
    )
    return sealed


def _seal_key(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    reference: str,
    check: Callable[[str], None] | None = None,
) -> tuple[str, Seal, UnlockedKey]:
    """The checks every 用印 makes, in this order: reference, the seal (usable by the actor), the
    format's own rule on the key algorithm (``check``, before the PIN costs an attempt), the PIN,
    and that the actor's current certificate is on the seal's list."""
    reference = _text_arg(reference, "文件标识 reference")
    seal = seals.check_usable(session, actor, seal_id)
    if check is not None:
        check(active_credential(session, actor).alg)
    key = unlock_key(session, actor, pin=pin)
    info = seal_mod.parse_seal(seal.seal_der)
    if not info.lists_cert(key.certificate):
        raise Conflict("您的签名证书尚未登记到该印章，请印章管理员重新确认授权", code="seal_needs_refresh")
    return reference, seal, key


def _check_seal_size(seal: Seal, rect: tuple[float, float, float, float]) -> None:
    """A seal is shown at its real size: the rectangle must match the seal picture (±1 mm)."""
    try:
        width, height = (float(rect[2]) - float(rect[0])) / MM, (float(rect[3]) - float(rect[1])) / MM
    except (TypeError, ValueError, IndexError):
        raise ValidationError("盖章位置格式不正确", code="bad_seal_rect") from None
    if abs(width - seal.width_mm) > 1 or abs(height - seal.height_mm) > 1:
        raise ValidationError(
            f"盖章区域须与印章实际尺寸一致（{seal.width_mm}×{seal.height_mm} 毫米）", code="bad_seal_rect"
        )


def _register_use(
    session: Session,
    actor: Actor,
    key: UnlockedKey,
    seal: Seal,
    *,
    sig_der: bytes,
    now: datetime,
    reference: str,
    received: bytes,
    sealed: bytes,
    fmt: str,
) -> SealUse:
    """用印登记 + log entry + audit + the keepers' event, for every format."""
    keys = authority.keys_for(session)
    record = _record(
        session,
        keys,
        key,
        kind=SignatureKind.seal,
        sig_der=sig_der,
        purpose=reference,
        data_hash=hashlib.sha256(sealed).hexdigest(),
        now=now,
        seal_id=seal.id,
    )
    use = SealUse(
        seal_id=seal.id,
        user_id=actor.user_id,
        at=now,
        reference=reference,
        document_sha256=hashlib.sha256(received).hexdigest(),
        sealed_sha256=record.data_hash,
        signature_id=record.id,
        leaf_index=record.leaf_index,
    )
    session.add(use)
    session.flush()
    audit.record(
        session,
        actor,
        "esign.seal_use",
        target_type="esign_seal",
        target_id=seal.id,
        detail={
            "reference": reference,
            "signature_id": record.id,
            "leaf_index": record.leaf_index,
            "sealed_sha256": record.data_hash,
            "format": fmt,
        },
    )
    events.publish_on_commit(
        session,
        "esign.seal",
        {"op": "used", "seal_id": seal.id, "use_id": use.id},
        user_ids=seals.keeper_ids(session, seal.agency_id),
    )
    return use


def sign_docx(session: Session, actor: Actor, *, pin: str, docx_bytes: bytes, reference: str) -> bytes:
    """Personal signature embedded in a Word file (no seal picture); returns the signed file.

    Same checks, receipt and errors as :func:`seal_docx` minus the seal.
    """
    reference = _text_arg(reference, "文件标识 reference")
    key = unlock_key(session, actor, pin=pin)
    signed, sig_der, now = _apply(session, key, docx_bytes, seal=None, anchor_paragraph=None, reference=reference)
    keys = authority.keys_for(session)
    record = _record(
        session,
        keys,
        key,
        kind=SignatureKind.docx,
        sig_der=sig_der,
        purpose=reference,
        data_hash=hashlib.sha256(signed).hexdigest(),
        now=now,
    )
    audit.record(
        session,
        actor,
        "esign.sign_docx",
        target_type="esign_signature",
        target_id=record.id,
        detail={"reference": reference, "leaf_index": record.leaf_index},
    )
    return signed


def _apply(
    session: Session,
    key: UnlockedKey,
    docx_bytes: bytes,
    *,
    seal: Seal | None,
    anchor_paragraph: int | None,
    reference: str = "",
) -> tuple[bytes, bytes, datetime]:
    keys = authority.keys_for(session)
    now = utcnow()
    out = docx_sig.apply_signature(
        docx_bytes,
        signer=key.certificate,
        alg=key.alg,
        sign_fn=key.signer.sign,
        timestamp_fn=_timestamp_fn(session, keys, now),
        seal=seal.seal_der if seal else None,
        anchor_paragraph=anchor_paragraph,
        chain=key.chain,
        now=now,
        reference=reference,
    )
    parts = docx_sig.read_package(out)
    last = docx_sig.signature_numbers(parts)[-1]
    return out, parts[f"tongban/signatures/sig{last}.der"], now


def receipt(session: Session, record: SignatureRecord) -> dict[str, Any]:
    """Log receipt of a signature: the inclusion proof against the latest signed tree head, plus the
    head itself and the log public key, checkable offline with ``esign.tlog.verify_receipt``."""
    proof = tlog.inclusion(session, record.leaf_index)
    return {
        "signature_id": record.id,
        "leaf_index": record.leaf_index,
        "proof": proof["proof"],
        "leaf_hash": proof["leaf_hash"],
        "sth": tlog.signed_head(session),
    }


def get_signature(session: Session, actor: Actor, signature_id: int) -> SignatureRecord:
    """One of the actor's own signature records (NotFound for others')."""
    record = session.get(SignatureRecord, signature_id)
    if record is None or record.user_id != actor.user_id:
        raise NotFound("签名记录不存在", code="signature_not_found")
    return record


def usable_seals(session: Session, actor: Actor) -> list[Seal]:
    """Active seals the actor may apply now (for docs_flow's 用印 picker)."""
    return [s for s in seals.list_seals(session, actor) if s.status == SealStatus.active]


def chain_pem(session: Session) -> bytes:
    """Root, agency CAs and TSA certificate as PEM: what an offline verifier needs."""
    from esign import ca

    return ca.chain_pem(authority.chain_certs(session))


def crl(session: Session, agency_id: int | None) -> bytes:
    """The current DER CRL of the root (``None``) or of an agency's issuing CA."""
    row = authority.find(session, AuthorityKind.agency if agency_id else AuthorityKind.root, agency_id)
    der = authority.crl_der(session, row) if row else None
    if der is None:
        raise NotFound("该机关尚未建立签发 CA", code="crl_not_found")
    return der


def recent_signatures(session: Session, actor: Actor, *, limit: int = 20) -> list[SignatureRecord]:
    return list(
        session.exec(
            select(SignatureRecord)
            .where(SignatureRecord.user_id == actor.user_id)
            .order_by(col(SignatureRecord.id).desc())
            .limit(limit)
        ).all()
    )
