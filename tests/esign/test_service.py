"""The esign service functions docs_flow calls, on a real database (keys, PINs, seals, log, verification)."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import func, select

from esign import authority, credentials, crypto, seal_image, seals, service, tlog
from esign.models import Credential, LogLeaf, Seal, SealKind, SealStatus, SealUse, SignatureRecord
from office.config import ConfigError
from office.db import Database
from office.errors import (
    Conflict,
    InvalidTransition,
    Locked,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMedia,
    ValidationError,
)
from tests.esign.svc import PIN, SEAL_PIN, codes, enrol, make_seal, replace_part, seal_doc, verify
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_sign_text_binds_exact_bytes_with_timestamp_and_log_receipt(org: Org) -> None:
    enrol(org, "claudius")
    opinion = "同意印发。\n文件摘要：3f2a…".encode()
    with org.db.write() as s:
        record = service.sign_text(s, org.actor("claudius"), pin=PIN, data=opinion, purpose="签发 粤府办〔2026〕7号")
        rec_id, sig_der = record.id, record.signature_der
        receipt = service.receipt(s, record)
    with org.db.read() as s:
        log_key = authority.find(s, authority.AuthorityKind.log)
        assert log_key is not None
        assert tlog.verify_receipt(receipt, sig_der, log_key.public_key)
        assert not tlog.verify_receipt(receipt, sig_der + b"x", log_key.public_key)
        good = service.verify_text(s, signature_der=sig_der, data=opinion)
        changed = service.verify_text(s, signature_der=sig_der, data="不同意。".encode())
    assert good["valid"], good
    sig = good["signatures"][0]
    assert sig["signer"] == "赵刚" and sig["organization"] == "省政府办公厅" and sig["time_trusted"]
    assert sig["log"]["included"] and sig["log"]["leaf_index"] == receipt["leaf_index"]
    assert not changed["valid"] and "text_modified" in codes(changed)
    assert rec_id is not None


def test_private_keys_never_stored_in_clear(org: Org, settings) -> None:  # type: ignore[no-untyped-def]
    enrol(org, "hamlet")
    with org.db.write() as s:
        cred = s.exec(select(Credential)).one()
        private = crypto.unseal_private_key(cred.key_blob, PIN)
        keys = authority.keys_for(s)
        root_key = authority.unwrap(authority.root(s, keys), keys.master)
    db_bytes = b"".join(p.read_bytes() for p in Path(settings.data_dir).glob("office.db*"))
    assert private not in db_bytes and root_key not in db_bytes
    key_file = Path(settings.data_dir) / authority.MASTER_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Blobs are bound to the master key: another key cannot unwrap them.
    with org.db.read() as s:
        root = authority.find(s, authority.AuthorityKind.root)
        assert root is not None
        with pytest.raises(crypto.KeyBlobInvalid):
            authority.unwrap(root, os.urandom(32))


def test_master_key_file_permissions_and_setting(tmp_path: Path) -> None:
    key = authority.master_key(tmp_path)
    assert authority.master_key(tmp_path) == key
    os.chmod(tmp_path / authority.MASTER_KEY_FILE, 0o644)
    authority._master_cache.clear()
    with pytest.raises(ConfigError):
        authority.master_key(tmp_path)
    assert authority.master_key(tmp_path, "ab" * 32) == bytes.fromhex("ab" * 32)
    with pytest.raises(ConfigError):
        authority.master_key(tmp_path, "short")


def test_enrolment_rules(org: Org) -> None:
    with org.db.write() as s, pytest.raises(ValidationError):
        credentials.enrol(s, org.actor("hamlet"), pin="123")
    with org.db.write() as s, pytest.raises(ValidationError):
        credentials.enrol(s, org.actor("hamlet"), pin="111111")
    enrol(org, "hamlet")
    with org.db.write() as s, pytest.raises(Conflict):
        credentials.enrol(s, org.actor("hamlet"), pin="987654")


def test_wrong_pin_is_counted_then_locks_and_nothing_is_signed(org: Org) -> None:
    enrol(org, "claudius")
    log_size = _size(org.db)
    for left in (4, 3, 2):
        with org.db.write() as s, pytest.raises(crypto.WrongPin) as err:
            service.sign_text(s, org.actor("claudius"), pin="000000x", data=b"ok", purpose="签发")
        assert err.value.extra["attempts_left"] == left
    with org.db.write() as s:  # a correct PIN resets the count
        service.sign_text(s, org.actor("claudius"), pin=PIN, data=b"ok", purpose="签发")
    with org.db.read() as s:
        assert s.exec(select(Credential)).one().failed_attempts == 0
    assert _size(org.db) == log_size + 1
    for _ in range(4):
        with org.db.write() as s, pytest.raises(crypto.WrongPin):
            service.sign_text(s, org.actor("claudius"), pin="999999x", data=b"ok", purpose="签发")
    with org.db.write() as s, pytest.raises(Locked):
        service.sign_text(s, org.actor("claudius"), pin="999999x", data=b"ok", purpose="签发")
    with org.db.write() as s, pytest.raises(Locked):  # even the right PIN now
        service.sign_text(s, org.actor("claudius"), pin=PIN, data=b"ok", purpose="签发")
    assert _count(org.db, SignatureRecord) == 1 and _size(org.db) == log_size + 1
    # Forgotten PIN / locked key: revoke and re-enrol.
    with org.db.write() as s:
        credentials.revoke(s, org.actor("claudius"), reason="key_compromise")
    enrol(org, "claudius", pin="864200")
    with org.db.write() as s:
        service.sign_text(s, org.actor("claudius"), pin="864200", data=b"ok", purpose="签发")


def _size(db: Database) -> int:
    with db.read() as s:
        return tlog.size(s)


def test_wrong_pin_rolls_back_callers_work(org: Org) -> None:
    from office import audit

    enrol(org, "claudius")
    with org.db.read() as s:
        before = s.exec(select(func.count()).select_from(audit.AuditEntry)).one()
    with org.db.write() as s, pytest.raises(crypto.WrongPin):
        audit.record(s, org.actor("claudius"), "docs.something_half_done")
        service.sign_text(s, org.actor("claudius"), pin="wrongpin", data=b"x", purpose="签发")
    with org.db.read() as s:
        actions = s.exec(select(audit.AuditEntry.action).order_by(audit.AuditEntry.seq)).all()[before:]
    assert actions == ["esign.wrong_pin"]  # the caller's entry was rolled back, the failure kept


def test_pin_change(org: Org) -> None:
    enrol(org, "hamlet")
    with org.db.write() as s:
        credentials.change_pin(s, org.actor("hamlet"), old_pin=PIN, new_pin="975310")
    with org.db.write() as s, pytest.raises(crypto.WrongPin):
        service.sign_text(s, org.actor("hamlet"), pin=PIN, data=b"x", purpose="签发")
    with org.db.write() as s:
        service.sign_text(s, org.actor("hamlet"), pin="975310", data=b"x", purpose="签发")
    with org.db.write() as s, pytest.raises(crypto.WrongPin):
        credentials.change_pin(s, org.actor("hamlet"), old_pin=PIN, new_pin="111222")


def test_admin_cannot_sign_for_others(org: Org) -> None:
    enrol(org, "hamlet")
    with org.db.write() as s, pytest.raises(Conflict) as err:  # the admin has no key; hamlet's PIN is useless to him
        service.sign_text(s, org.actor("prospero"), pin=PIN, data=b"x", purpose="签发")
    assert err.value.code == "not_enrolled"
    enrol(org, "prospero", pin="555777")
    with org.db.write() as s:
        hamlet_key = credentials.unlock_key(s, org.actor("hamlet"), pin=PIN)
        with pytest.raises(NotFound):
            service.sign_text_with_key(s, org.actor("prospero"), key=hamlet_key, data=b"x", purpose="签发")
    with org.db.write() as s:
        record = service.sign_text(s, org.actor("prospero"), pin="555777", data=b"x", purpose="签发")
        assert record.user_id == org.users["prospero"]
    # The admin may revoke someone's credential (forgotten PIN) but a staff member may not.
    with org.db.write() as s, pytest.raises(PermissionDenied):
        credentials.revoke(s, org.actor("hamlet"), user_id=org.users["prospero"])
    with org.db.write() as s:
        credentials.revoke(s, org.actor("prospero"), user_id=org.users["hamlet"])
    with org.db.write() as s, pytest.raises(Conflict):
        service.sign_text(s, org.actor("hamlet"), pin=PIN, data=b"x", purpose="签发")


def test_seal_lifecycle_permissions_and_register(org: Org) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    enrol(org, "hamlet")
    with org.db.write() as s, pytest.raises(PermissionDenied):
        seals.create_seal(s, org.actor("hamlet"), kind=SealKind.official, seal_pin=SEAL_PIN)
    seal_id = make_seal(org)
    # Not authorised yet: claudius cannot see or use it (404, existence hidden); keeper can.
    with pytest.raises(NotFound):
        seal_doc(org, "claudius", seal_id)
    with org.db.write() as s, pytest.raises(crypto.WrongPin):
        seals.set_users(s, org.actor("yorick"), seal_id, user_ids=[org.users["claudius"]], seal_pin="000000a")
    with org.db.write() as s, pytest.raises(ValidationError):  # other agency
        seals.set_users(s, org.actor("yorick"), seal_id, user_ids=[org.users["othello"]], seal_pin=SEAL_PIN)
    with org.db.write() as s:
        seals.set_users(s, org.actor("yorick"), seal_id, user_ids=[org.users["claudius"]], seal_pin=SEAL_PIN)
    sealed = seal_doc(org, "claudius", seal_id, reference="粤府办〔2026〕9号")
    report = verify(org.db, sealed)
    assert report["valid"], report
    sig = report["signatures"][0]
    assert sig["signer"] == "赵刚" and sig["seal_name"] == "省政府办公厅公章"
    assert sig["seal_revocation"] == {"checked": True, "revoked": False, "revoked_at": None, "reason": None}
    with pytest.raises(NotFound):
        seal_doc(org, "hamlet", seal_id)
    with org.db.write() as s, pytest.raises(NotFound):  # only the keeper manages or reads the register
        seals.uses(s, org.actor("claudius"), seal_id)
    with org.db.write() as s:
        uses = seals.uses(s, org.actor("yorick"), seal_id)
    assert [(u["user_name"], u["reference"]) for u in uses] == [("赵刚", "粤府办〔2026〕9号")]
    assert uses[0]["sealed_sha256"] == __import__("hashlib").sha256(sealed).hexdigest()

    with org.db.write() as s:
        seals.set_status(s, org.actor("yorick"), seal_id, status=SealStatus.suspended)
    with pytest.raises(InvalidTransition) as err:
        seal_doc(org, "claudius", seal_id)
    assert err.value.code == "seal_suspended"
    with org.db.write() as s:
        seals.set_status(s, org.actor("yorick"), seal_id, status=SealStatus.active)
    seal_doc(org, "claudius", seal_id)
    with org.db.write() as s:
        seals.set_status(s, org.actor("yorick"), seal_id, status=SealStatus.revoked, reason="印章停用")
    with pytest.raises(InvalidTransition) as err:
        seal_doc(org, "claudius", seal_id)
    assert err.value.code == "seal_revoked"
    with org.db.write() as s, pytest.raises(InvalidTransition):
        seals.set_status(s, org.actor("yorick"), seal_id, status=SealStatus.active)
    # Sealed before the revocation: still valid, and the report shows the later revocation.
    after = verify(org.db, sealed)
    assert after["valid"], after
    rev = after["signatures"][0]["seal_revocation"]
    assert rev["checked"] and not rev["revoked"] and rev["revoked_at"] is not None
    assert _count(org.db, SealUse) == 2


def test_reenrolled_user_needs_keeper_reconfirmation(org: Org) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    with org.db.write() as s:
        credentials.revoke(s, org.actor("claudius"))
    enrol(org, "claudius")
    with pytest.raises(Conflict) as err:
        seal_doc(org, "claudius", seal_id)
    assert err.value.code == "seal_needs_refresh"
    with org.db.write() as s:
        seals.set_users(s, org.actor("yorick"), seal_id, user_ids=[org.users["claudius"]], seal_pin=SEAL_PIN)
    assert verify(org.db, seal_doc(org, "claudius", seal_id))["valid"]


def test_seal_needs_an_enrolled_user(org: Org) -> None:
    with org.db.write() as s, pytest.raises(Conflict) as err:
        seals.create_seal(s, org.actor("yorick"), kind=SealKind.official, seal_pin=SEAL_PIN)
    assert err.value.code == "no_signers"


def test_name_seal_with_uploaded_image_and_department_seal(org: Org) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    png = seal_image.square_name_seal_png("赵刚", size_px=120)
    seal_id = make_seal(org, kind=SealKind.name, holder_user_id=org.users["claudius"], image_png=png)
    with org.db.read() as s:
        seal = s.get(Seal, seal_id)
        assert seal is not None and seal.image_png == png and seal.width_mm == 20
    sealed = seal_doc(org, "claudius", seal_id)  # the holder is authorised
    assert verify(org.db, sealed)["signatures"][0]["seal_name"] == "赵刚"
    with org.db.write() as s, pytest.raises(UnsupportedMedia):
        seals.create_seal(s, org.actor("yorick"), kind=SealKind.official, seal_pin=SEAL_PIN, image_png=b"GIF89a...")
    with org.db.write() as s, pytest.raises(ValidationError):  # department of another agency
        seals.create_seal(
            s, org.actor("yorick"), kind=SealKind.department, seal_pin=SEAL_PIN, department_id=org.depts["B1"]
        )
    dept_seal = make_seal(org, kind=SealKind.department, department_id=org.depts["A2"])
    assert verify(org.db, seal_doc(org, "yorick", dept_seal))["signatures"][0]["seal_name"] == "秘书处公章"


def test_sign_docx_and_modification_names_the_part(org: Org) -> None:
    enrol(org, "hamlet")
    with org.db.write() as s:
        signed = service.sign_docx(s, org.actor("hamlet"), pin=PIN, docx_bytes=build_docx(), reference="内部材料")
    assert verify(org.db, signed)["valid"]
    tampered = replace_part(signed, "word/document.xml", lambda x: x.replace("年终工作".encode(), "年中工作".encode()))
    report = verify(org.db, tampered)
    assert not report["valid"]
    assert report["signatures"][0]["changed_parts"] == [{"part": "word/document.xml", "label": "正文"}]
    assert "document_modified" in codes(report)


def test_signature_before_revocation_stays_valid(org: Org) -> None:
    enrol(org, "hamlet")
    with org.db.write() as s:
        signed = service.sign_docx(s, org.actor("hamlet"), pin=PIN, docx_bytes=build_docx(), reference="材料")
    with org.db.write() as s:
        credentials.revoke(s, org.actor("hamlet"), reason="key_compromise")
    report = verify(org.db, signed)
    assert report["valid"], report
    rev = report["signatures"][0]["signer_revocation"]
    assert rev["checked"] and not rev["revoked"] and rev["reason"] == "key_compromise"


def test_bad_files_raise_and_store_nothing(org: Org) -> None:
    enrol(org, "yorick")
    seal_id = make_seal(org)
    size = _size(org.db)
    with pytest.raises(UnsupportedMedia):
        seal_doc(org, "yorick", seal_id, b"this is not a word file")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<x/>")
        zf.writestr("word/document.xml", b"\0" * 150_000_000)
    with pytest.raises(PayloadTooLarge):
        seal_doc(org, "yorick", seal_id, out.getvalue())
    with pytest.raises(ValidationError):
        seal_doc(org, "yorick", seal_id, reference=" ")
    assert _size(org.db) == size and _count(org.db, SealUse) == 0
    with org.db.read() as s, pytest.raises(UnsupportedMedia):
        service.verify_docx(s, b"%PDF-1.7")


def test_forged_or_malformed_signature_parts_are_reported(org: Org) -> None:
    enrol(org, "yorick")
    sealed = seal_doc(org, "yorick", make_seal(org))
    part = "tongban/signatures/sig1.der"
    flipped = replace_part(sealed, part, lambda d: d[:-40] + bytes([d[-40] ^ 1]) + d[-39:])
    garbage = replace_part(sealed, part, lambda d: b"\x30\x03\x02\x01\x01")
    plain = verify(org.db, build_docx())
    for doc in (flipped, garbage):
        report = verify(org.db, doc)
        assert not report["valid"] and report["signatures"][0]["errors"], report
    assert not plain["valid"] and plain["errors"][0]["code"] == "no_signatures"


def test_log_is_append_only_and_verify_finds_the_first_tampered_leaf(org: Org) -> None:
    enrol(org, "claudius")
    for i in range(6):
        with org.db.write() as s:
            service.sign_text(s, org.actor("claudius"), pin=PIN, data=f"意见{i}".encode(), purpose="签发")
    with org.db.read() as s:
        report = tlog.verify_log(s)
        assert report.ok and report.checked == tlog.size(s) == 7  # enrolment + 6 signatures
    for stmt in (
        "UPDATE esign_log_leaf SET kind = 'x' WHERE idx = 3",
        "DELETE FROM esign_log_leaf WHERE idx = 6",
        "UPDATE esign_log_node SET hash = x'00' WHERE level = 1",
    ):
        with pytest.raises(DatabaseError), org.db.write() as s:
            s.exec(text(stmt))  # type: ignore[call-overload]
    with org.db.write() as s:
        drop = (
            "DROP TRIGGER esign_log_leaf_no_update"
            if org.db.is_sqlite
            else "DROP TRIGGER esign_log_leaf_append_only ON esign_log_leaf"
        )
        s.exec(text(drop))  # type: ignore[call-overload]
        s.exec(text("UPDATE esign_log_leaf SET data = :d WHERE idx = 4"), params={"d": b"forged"})  # type: ignore[call-overload]
    with org.db.read() as s:
        bad = tlog.verify_log(s)
    assert not bad.ok and bad.first_bad_index == 4


def test_log_consistency_and_inclusion_proofs(org: Org) -> None:
    from esign import merkle

    enrol(org, "claudius")
    with org.db.read() as s:
        old = tlog.signed_head(s)
    for i in range(5):
        with org.db.write() as s:
            service.sign_text(s, org.actor("claudius"), pin=PIN, data=bytes([i]), purpose="签发")
    with org.db.read() as s:
        new = tlog.signed_head(s)
        cons = tlog.consistency(s, old["tree_size"])
        inc = tlog.inclusion(s, 3, 5)
        leaf = s.get(LogLeaf, 3)
    assert merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
        [bytes.fromhex(p) for p in cons["proof"]],
    )
    assert leaf is not None and inc["leaf_hash"] == merkle.leaf_hash(leaf.data).hex()
    assert merkle.verify_inclusion(
        3, 5, merkle.leaf_hash(leaf.data), [bytes.fromhex(p) for p in inc["proof"]], bytes.fromhex(inc["root_hash"])
    )


def test_stale_crls_are_resigned(org: Org) -> None:
    from datetime import timedelta

    from esign.models import Crl
    from office.db import utcnow

    enrol(org, "hamlet")
    old = utcnow() - timedelta(days=2)
    with org.db.write() as s:
        for crl in s.exec(select(Crl)).all():
            crl.this_update = old
            s.add(crl)
    with org.db.write() as s:
        authority.refresh_stale_crls(s, authority.keys_for(s))
    with org.db.read() as s:
        assert all(c.this_update > old + timedelta(days=1) for c in s.exec(select(Crl)).all())
