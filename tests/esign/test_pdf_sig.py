"""用印 on the official copy (PDF): a real 通知 rendered by LibreOffice, measured, sealed through
``esign.service.seal_pdf`` on a real database, then checked by three independent verifiers:
poppler's ``pdfsig`` (NSS, the project's root CA as the only trust anchor), pyHanko's validator,
and ``office verify`` (server and offline). Tampered copies must fail."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as a_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from sqlmodel import func, select

from esign import authority, crypto, pdf_sig, rfc3161, service
from esign.models import AuthorityKind, SealUse
from esign.verify import offline_trust
from office.audit import AuditEntry
from office.errors import NotFound, UnsupportedMedia, ValidationError
from tests.esign.svc import PIN, enrol, make_seal
from tests.factories import Org
from tests.typeset.official import OfficialPdf, notice_pdf, official_pool  # noqa: F401 - fixtures
from typeset import pdf_measure

REFERENCE = "粤府办〔2026〕12号"


def _seal(org: Org, copy: OfficialPdf, seal_id: int, user: str = "claudius", **kw: object) -> bytes:
    placement = pdf_measure.seal_placement(copy.pdf, date_text=copy.date_text, signature_text=copy.signature_text)
    args = {"page": placement.page, "rect": placement.rect, "reference": REFERENCE, "pin": PIN, **kw}
    with org.db.write() as s:
        return service.seal_pdf(s, org.actor(user), seal_id=seal_id, pdf_bytes=copy.pdf, **args)  # type: ignore[arg-type]


def _root(org: Org) -> bytes:
    with org.db.read() as s:
        row = authority.find(s, AuthorityKind.root)
        assert row is not None and row.certificate is not None
        return row.certificate


def _pdfsig(pdf: bytes, root: bytes, tmp_path: Path) -> str:
    """pdfsig's report with an NSS database that trusts only our root CA."""
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        if os.environ.get("CI") == "true":
            pytest.fail("pdfsig / certutil missing under CI=true: install poppler-utils, libnss3-tools")
        pytest.skip("pdfsig / certutil (poppler-utils, libnss3-tools) not installed")
    nss = tmp_path / "nss"
    if not nss.exists():
        nss.mkdir()
        (tmp_path / "root.der").write_bytes(root)
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
        subprocess.run(
            [
                "certutil",
                "-A",
                "-d",
                f"sql:{nss}",
                "-n",
                "tongban-root",
                "-t",
                "CT,C,C",
                "-i",
                str(tmp_path / "root.der"),
            ],
            check=True,
            capture_output=True,
        )
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True, check=False
    ).stdout  # pdfsig exits 0 for a digest mismatch too: read its report


def _pyhanko(pdf: bytes, root: bytes, index: int = 0) -> object:
    """pyHanko's own validator, trusting only our root, using only what the file carries (offline):
    the file's ``index``-th signature."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    sig = reader.embedded_regular_signatures[index]
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    at = pdf_sig._timestamp_time(sig.signer_info)
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {
            "trust_roots": [a_x509.Certificate.load(root)],
            "allow_fetching": False,
            "revocation_mode": "require",
            "moment": at,
        }
    )
    return validate_pdf_signature(sig, signer_validation_context=context, ts_validation_context=context)


def _tamper_text(pdf: bytes) -> bytes:
    """Flip one byte inside the signed range (in the first page's content stream)."""
    data = bytearray(pdf)
    at = data.index(b"stream", 200) + 40
    data[at] ^= 0x01
    return bytes(data)


def _append_update(pdf: bytes) -> bytes:
    """A later incremental update that changes the document (a new annotation on page 1)."""
    from pyhanko.pdf_utils import generic

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (100, 100, 120, 120)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("已作废"),
            }
        )
    )
    page[generic.NameObject("/Annots")] = generic.ArrayObject([annot])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_sealed_official_copy_verifies_everywhere_and_tampering_fails(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811
    tmp_path: Path,
) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    sealed = _seal(org, notice_pdf, seal_id)
    root = _root(org)

    # office verify, server mode: signer, seal, reference, trusted time, log entry.
    with org.db.read() as s:
        report = service.verify_file(s, sealed)
    assert report["valid"] and report["format"] == "pdf", report
    sig = report["signatures"][0]
    assert sig["signer"] == "赵刚" and sig["seal_name"] == "省政府办公厅公章" and sig["reference"] == REFERENCE
    assert sig["time_trusted"] and sig["log"]["included"] and sig["alg"] == crypto.ALG_ECDSA
    assert sig["signer_revocation"]["checked"] and not sig["signer_revocation"]["revoked"]
    assert sig["seal_revocation"]["checked"]
    # 用印登记 names the PDF and both hashes, like a Word seal.
    with org.db.read() as s:
        use = s.exec(select(SealUse)).one()
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_use")).one()
    assert use.reference == REFERENCE and use.sealed_sha256 == __import__("hashlib").sha256(sealed).hexdigest()
    assert entry.detail["format"] == "pdf"

    # Offline: the exported chain alone, no CRL files: the CRLs travel inside the PDF.
    with org.db.read() as s:
        chain = service.chain_pem(s)
    offline = service.verify_file(None, sealed, trust=offline_trust(chain))
    assert offline["valid"], offline
    assert offline["signatures"][0]["signer_revocation"]["checked"]  # from the embedded CRL
    assert not offline["signatures"][0]["log"]["checked"]

    # pdfsig (poppler + NSS) and pyHanko's validator, each on its own.
    out = _pdfsig(sealed, root, tmp_path)
    assert "Signature Validation: Signature is Valid." in out and "Certificate is Trusted." in out, out
    assert "Signer Certificate Common Name: 赵刚" in out and "ETSI.CAdES.detached" in out
    assert "Total document signed" in out  # the DSS is inside the signed revision
    status = _pyhanko(sealed, root)
    assert status.bottom_line and status.timestamp_validity.trusted, status.pretty_print_details()  # type: ignore[attr-defined]

    # A byte changed inside the signed range: all three say no.
    changed = _tamper_text(sealed)
    assert "Digest Mismatch" in _pdfsig(changed, root, tmp_path)
    assert not _pyhanko(changed, root).bottom_line  # type: ignore[attr-defined]
    with org.db.read() as s:
        bad = service.verify_file(s, changed)
    assert not bad["valid"] and "document_modified" in {e["code"] for e in bad["signatures"][0]["errors"]}

    # A later incremental update: the signed revision is intact, but the file is not what was sealed.
    appended = _append_update(sealed)
    with org.db.read() as s:
        later = service.verify_file(s, appended)
    assert not later["valid"] and "modified_after_seal" in {e["code"] for e in later["signatures"][0]["errors"]}
    assert "Not total document signed" in _pdfsig(appended, root, tmp_path)

    # Another CA's trust store does not accept it.
    other = service.verify_file(None, sealed, trust=offline_trust(_other_root_pem()))
    assert not other["valid"] and "untrusted_chain" in {e["code"] for e in other["signatures"][0]["errors"]}


def _other_root_pem() -> bytes:
    from esign import ca

    return ca.chain_pem([ca.create_root_ca("外部根证书", "外部机构").certificate])


def test_seal_pdf_shares_the_checks_of_seal_docx(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    enrol(org, "hamlet")
    seal_id = make_seal(org, users=("claudius",))
    with pytest.raises(NotFound):  # not an authorised user of the seal
        _seal(org, notice_pdf, seal_id, user="hamlet")
    placement = pdf_measure.seal_placement(notice_pdf.pdf, date_text=notice_pdf.date_text)
    x0, y0, x1, y1 = placement.rect
    with pytest.raises(ValidationError) as err:  # the picture must keep the seal's real size
        _seal(org, notice_pdf, seal_id, rect=(x0, y0, x1 + 20, y1 + 20))
    assert err.value.code == "bad_seal_rect"
    with pytest.raises(ValidationError) as err:
        _seal(org, notice_pdf, seal_id, page=99)
    assert err.value.code == "bad_seal_page"
    with pytest.raises(UnsupportedMedia), org.db.write() as s:
        service.seal_pdf(
            s,
            org.actor("claudius"),
            seal_id=seal_id,
            pin=PIN,
            pdf_bytes=b"PK\x03\x04 not a pdf",
            page=0,
            rect=placement.rect,
            reference=REFERENCE,
        )
    with org.db.read() as s:
        assert s.exec(select(func.count()).select_from(SealUse)).one() == 0


def test_sm2_keys_are_refused_before_the_pin_is_tried(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(org.db, "settings", replace(org.db.settings, esign_alg=crypto.ALG_SM2))
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    with pytest.raises(ValidationError) as err:
        _seal(org, notice_pdf, seal_id, pin="wrong-pin-000")
    assert err.value.code == "pdf_alg_unsupported" and "SM2" in err.value.message
    with org.db.read() as s:
        from esign.models import Credential

        cred = s.exec(select(Credential).where(Credential.user_id == org.users["claudius"])).one()
        assert cred.failed_attempts == 0 and cred.alg == crypto.ALG_SM2


def test_rfc3161_token_from_the_internal_tsa(org: Org) -> None:
    from asn1crypto import cms

    with org.db.write() as s:
        keys = authority.keys_for(s)
        row = authority.tsa(s, keys)
        key, cert = authority.unwrap(row, keys.master), row.certificate
    assert cert is not None
    now = __import__("office.db", fromlist=["utcnow"]).utcnow()
    token = cms.ContentInfo.load(
        rfc3161.issue_token(key, cert, message_digest=crypto.sha256(b"x"), hash_alg="sha256", now=now, nonce=42)
    )
    tst = token["content"]["encap_content_info"]["content"].parsed
    assert tst["nonce"].native == 42 and tst["message_imprint"]["hashed_message"].native == crypto.sha256(b"x")
    assert abs(tst["gen_time"].native - now) < timedelta(seconds=1)
    signer = token["content"]["signer_infos"][0]
    public = crypto.public_key_of(crypto.ALG_ECDSA, key)
    assert crypto.verify(crypto.ALG_ECDSA, public, signer["signed_attrs"].untag().dump(), signer["signature"].native)
    with pytest.raises(ValidationError):
        rfc3161.issue_token(key, cert, message_digest=b"short", hash_alg="sha256", now=now)


def test_office_verify_and_the_web_page_take_a_pdf(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811 - the fixture imported above
    client,
    settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # type: ignore[no-untyped-def]
    from office.cli import main
    from tests.conftest import PG_URL
    from tests.factories import new_client

    enrol(org, "yorick")
    enrol(org, "claudius")
    sealed = _seal(org, notice_pdf, make_seal(org, users=("claudius",)))
    anonymous = new_client(client.app)
    r = anonymous.post("/api/esign/verify", files={"file": ("通知.pdf", sealed, "application/pdf")})
    assert r.status_code == 200 and r.json()["valid"] and r.json()["signatures"][0]["reference"] == REFERENCE
    r = anonymous.post("/api/esign/verify", files={"file": ("通知.pdf", _tamper_text(sealed), "application/pdf")})
    assert r.status_code == 200 and not r.json()["valid"]
    r = anonymous.post("/api/esign/verify", files={"file": ("x.pdf", b"%PDF-1.7\nnot really", "application/pdf")})
    assert r.status_code == 415 and r.json()["error"] in ("not_pdf", "corrupt_file")
    r = anonymous.post("/api/esign/verify", files={"file": ("x.pdf", notice_pdf.pdf, "application/pdf")})
    assert r.status_code == 200 and r.json()["errors"][0]["code"] == "no_signatures"
    if PG_URL:
        return  # the CLI reads the data folder's embedded SQLite database
    path = tmp_path / "通知.pdf"
    path.write_bytes(sealed)
    assert main(["verify", str(path), "--data", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "验证结论：有效" in out and f"文件标识（随签章签署）：{REFERENCE}" in out and "公开日志：已记入第" in out
    path.write_bytes(_tamper_text(sealed))
    assert main(["verify", str(path), "--json", "--data", str(settings.data_dir)]) == 1
    assert json.loads(capsys.readouterr().out)["valid"] is False
