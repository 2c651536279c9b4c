"""Helpers for the esign service tests: enrol people, make seals, seal files, all through the real services."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from esign import credentials, seals, service
from esign.models import SealKind
from office.db import Database
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org

PIN = "246810"
SEAL_PIN = "135790"


def enrol(org: Org, username: str, pin: str = PIN) -> int:
    with org.db.write() as s:
        return credentials.enrol(s, org.actor(username), pin=pin).id  # type: ignore[return-value]


def make_seal(
    org: Org, *, keeper: str = "yorick", users: tuple[str, ...] = (), kind: SealKind = SealKind.official, **kw: Any
) -> int:
    with org.db.write() as s:
        seal = seals.create_seal(s, org.actor(keeper), kind=kind, seal_pin=SEAL_PIN, **kw)
        seal_id = seal.id
    if users:
        with org.db.write() as s:
            seals.set_users(
                s,
                org.actor(keeper),
                seal_id,
                user_ids=[org.users[u] for u in users],
                seal_pin=SEAL_PIN,
            )
    return seal_id  # type: ignore[return-value]


def seal_doc(
    org: Org,
    username: str,
    seal_id: int,
    doc: bytes | None = None,
    *,
    pin: str = PIN,
    reference: str = "粤府办〔2026〕1号",
) -> bytes:
    with org.db.write() as s:
        return service.seal_docx(
            s, org.actor(username), seal_id=seal_id, pin=pin, docx_bytes=doc or build_docx(), reference=reference
        )


def verify(db: Database, data: bytes) -> dict[str, Any]:
    with db.read() as s:
        return service.verify_docx(s, data)


def replace_part(docx: bytes, name: str, transform: Any) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            zf.writestr(info.filename, transform(data) if info.filename == name else data)
    return out.getvalue()


def codes(report: dict[str, Any], index: int = 0) -> set[str]:
    return {e["code"] for e in report["signatures"][index]["errors"]}


def writers_pass_while_deriving(monkeypatch: Any, db: Any) -> list[bool]:
    """Make every PIN derivation first check that another writer gets through meanwhile (True) or not
    (False after 5 s): signing must not hold the write lock while argon2id runs."""
    import threading

    from esign import crypto

    real, seen = crypto.unseal_private_key, []

    def derive_and_probe(blob: bytes, pin: str) -> bytes:
        done = threading.Event()

        def write() -> None:
            with db.write():
                done.set()

        threading.Thread(target=write, daemon=True).start()
        seen.append(done.wait(5))
        return real(blob, pin)

    monkeypatch.setattr(crypto, "unseal_private_key", derive_and_probe)
    return seen
