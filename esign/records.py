"""What every signature made by the service leaves behind, and the inputs every one takes.

A signature gets a time-stamp from the internal TSA (:func:`timestamp_fn`), an entry in the
transparency log and a :class:`esign.models.SignatureRecord` (:func:`record_signature`);
``esign.service`` (text signatures) and ``esign.sealing`` (files) both go through here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from esign import authority, tlog, tsa
from esign.credentials import UnlockedKey
from esign.models import SignatureKind, SignatureRecord
from office.errors import ValidationError


def text_arg(value: str, name: str, limit: int = 200) -> str:
    """A signature's purpose or a seal's reference (the document number): stripped, 1..limit chars."""
    value = value.strip()
    if not value or len(value) > limit:
        raise ValidationError(
            f"{name}不能为空且不超过 {limit} 字", code=f"bad_{'reference' if 'reference' in name else 'purpose'}"
        )
    return value


def timestamp_fn(session: Session, keys: authority.Keys, now: datetime) -> Callable[[bytes], bytes]:
    """The internal TSA as a function: digest -> RFC 3161 token at ``now``."""
    row = authority.tsa(session, keys)
    private = authority.unwrap(row, keys.master)
    return lambda digest: tsa.issue_token(private, row.certificate, digest, now)  # type: ignore[arg-type]


def record_signature(
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
    """The transparency-log entry (leaf = the DER signature) and the stored record, for every kind."""
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
