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

Where they live: text signatures and the reads here; the file seals and signatures in
``esign.sealing`` (re-exported here); what every signature leaves (TSA token, log entry, record) in
``esign.records``; verification in ``esign.verify``.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from esign import authority, crypto, docx_sig, records, seals, tlog
from esign import seal as seal_mod
from esign.authorisations import Issued
from esign.credentials import UnlockedKey, unlock_key
from esign.models import AuthorityKind, Seal, SealStatus, SignatureKind, SignatureRecord
from esign.sealing import seal_docx, seal_ofd, seal_pdf, sign_docx
from esign.verify import report_dict, verify_docx, verify_file, verify_ofd, verify_pdf, verify_text
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import NotFound, ValidationError

#: ``TBS_Sign.extDatas`` OID carrying the UTF-8 purpose of a text signature.
OID_PURPOSE = "1.3.6.1.4.1.61234.1.3.3"
MAX_TEXT = 5 * 1024 * 1024

__all__ = [
    "Issued",
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
    purpose = records.text_arg(purpose, "签名用途")
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
    token = records.timestamp_fn(session, keys, now)(crypto.sha256(signature))
    sig_der = seal_mod.encode_signature(
        tbs=tbs, cert=key.certificate, alg=key.alg, signature=signature, timestamp=token
    )
    record = records.record_signature(
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


# --- the system's own signature ------------------------------------------------------------------

#: Prefix of what the system signs, so these signatures can never be taken for a tree head
#: (``esign.merkle``: ``TBSTH1``...) though both are made with the log key.
SYSTEM_SIG_DOMAIN = b"TONGBAN-SYSTEM-SIG1\n"


def _system_message(purpose: str, digest_hex: str) -> bytes:
    return SYSTEM_SIG_DOMAIN + purpose.encode() + b"\n" + bytes.fromhex(digest_hex)


def sign_as_system(session: Session, data: bytes, purpose: str) -> dict[str, Any]:
    """The system's signature over ``data``, for records no person signs at that moment (an approval
    that ended): no PIN exists there, so the transparency log's key signs (the key whose public half
    is published with every signed tree head) and the signature is appended to the log.

    Returns the record to keep: ``{alg, purpose, digest (SHA-256 hex of data), signature (hex),
    signed_at, leaf_index}``. :func:`verify_system` checks it against the data later."""
    if not data or len(data) > MAX_TEXT:
        raise ValidationError("签名内容为空或过大", code="bad_data")
    purpose = records.text_arg(purpose, "签名用途")
    keys = authority.keys_for(session)
    key_row = authority.log_key(session, keys)
    digest = crypto.sha256(data).hex()
    signature = crypto.sign(key_row.alg, authority.unwrap(key_row, keys.master), _system_message(purpose, digest))
    payload = {
        "alg": key_row.alg,
        "purpose": purpose,
        "digest": digest,
        "signature": signature.hex(),
        "signed_at": utcnow().isoformat(),
    }
    index = tlog.append(session, keys, "system.signature", tlog.event_bytes("system.signature", payload))
    return payload | {"leaf_index": index}


def verify_system(session: Session, data: bytes, record: dict[str, Any]) -> str:
    """Check a record from :func:`sign_as_system` against ``data``: "" when valid, else why not (Chinese)."""
    try:
        payload = {k: record[k] for k in ("alg", "purpose", "digest", "signature", "signed_at")}
        signature = bytes.fromhex(str(record["signature"]))
        index = int(record["leaf_index"])
    except (KeyError, TypeError, ValueError):
        return "签名记录不完整"
    if crypto.sha256(data).hex() != payload["digest"]:
        return "内容与签名时不一致（摘要不符）"
    key_row = authority.find(session, AuthorityKind.log)
    if key_row is None or key_row.alg != payload["alg"]:
        return "找不到系统签名密钥"
    if not crypto.verify(
        key_row.alg, key_row.public_key, _system_message(str(payload["purpose"]), payload["digest"]), signature
    ):
        return "系统签名无效"
    if tlog.find_leaf(session, tlog.event_bytes("system.signature", payload)) != index:
        return "公开日志中没有这条签名记录"
    return ""
