"""``office verify`` (server and offline) and ``office esign log verify`` / ``ca export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from esign import ca, credentials
from office.cli import main
from office.config import Settings
from tests.conftest import PG_URL
from tests.esign.svc import enrol, make_seal, replace_part, seal_doc
from tests.factories import Org

# The CLI commands read the embedded database of a data folder (``--data``).
pytestmark = pytest.mark.skipif(bool(PG_URL), reason="CLI data-folder commands exercise the embedded SQLite default")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def sealed(org: Org, tmp_path: Path) -> Path:
    enrol(org, "yorick")
    path = tmp_path / "通知.docx"
    path.write_bytes(seal_doc(org, "yorick", make_seal(org)))
    return path


def test_verify_valid_tampered_and_not_word(
    sealed: Path, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(settings.data_dir)]
    code, out, _ = _run(capsys, "verify", str(sealed), *data)
    assert code == 0 and "验证结论：有效" in out and "省政府办公厅公章" in out and "公开日志：已记入第" in out
    code, out, _ = _run(capsys, "verify", str(sealed), "--json", *data)
    report = json.loads(out)
    assert code == 0 and report["valid"] and report["signatures"][0]["signer"] == "周敏"
    bad = tmp_path / "bad.docx"
    bad.write_bytes(
        replace_part(sealed.read_bytes(), "word/document.xml", lambda x: x.replace("通知".encode(), "通报".encode()))
    )
    code, out, _ = _run(capsys, "verify", str(bad), *data)
    assert code == 1 and "验证结论：无效" in out and "正文（word/document.xml）" in out
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"plain text")
    code, _, err = _run(capsys, "verify", str(junk), *data)
    assert code == 2 and "只能验证 Word（.docx）、PDF 或 OFD" in err
    code, _, err = _run(capsys, "verify", str(tmp_path / "missing.docx"), *data)
    assert code == 2


def test_offline_verify_with_exported_chain_and_crl(
    org: Org, sealed: Path, settings: Settings, tmp_path: Path, client, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    chain = tmp_path / "chain.pem"
    code, out, _ = _run(capsys, "esign", "ca", "export", "-o", str(chain), "--data", str(settings.data_dir))
    assert code == 0 and chain.read_bytes().count(b"BEGIN CERTIFICATE") == 3  # root, agency CA, TSA
    code, out, _ = _run(capsys, "verify", str(sealed), "--chain", str(chain))
    assert code == 0 and "公开日志：离线验证，未查询" in out and "未能检查吊销状态" in out
    with org.db.write() as s:
        credentials.revoke(s, org.actor("yorick"), reason="key_compromise")
    crl = tmp_path / "agency.crl"
    crl.write_bytes(client.get(f"/api/esign/ca/{org.agencies['A']}/crl").content)
    code, out, _ = _run(capsys, "verify", str(sealed), "--chain", str(chain), "--crl", str(crl), "--json")
    sig = json.loads(out)["signatures"][0]
    assert code == 0 and sig["signer_revocation"]["checked"] and sig["signer_revocation"]["revoked_at"]
    code, out, _ = _run(capsys, "verify", str(sealed), "--chain", str(chain), "--crl", str(crl))
    assert "签章时有效（其后于" in out
    foreign = tmp_path / "foreign.pem"
    foreign.write_bytes(ca.chain_pem([ca.create_root_ca("别的根证书", "别处").certificate]))
    code, out, _ = _run(capsys, "verify", str(sealed), "--chain", str(foreign))
    assert code == 1 and "无法验证到受信任的根证书" in out


def test_log_verify_detects_tampering(
    org: Org, sealed: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(settings.data_dir)]
    code, out, _ = _run(capsys, "esign", "log", "verify", *data)
    assert code == 0 and "公开日志完整：共 3 条" in out  # enrolment, seal created, seal used
    code, out, _ = _run(capsys, "esign", "log", "sth", *data)
    assert json.loads(out)["tree_size"] == 3
    with org.db.write() as s:
        s.exec(text("DROP TRIGGER esign_log_leaf_no_update"))  # type: ignore[call-overload]
        s.exec(text("UPDATE esign_log_leaf SET data = :d WHERE idx = 1"), params={"d": b"{}"})  # type: ignore[call-overload]
    code, _, err = _run(capsys, "esign", "log", "verify", *data)
    assert code == 1 and "第 1 条" in err
