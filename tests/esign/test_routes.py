"""电子印章 through HTTP: enrolment, PIN errors, seals, 用印, public CA/CRL/log/verification, restart."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from cryptography import x509
from starlette.testclient import TestClient

from esign import authority, crypto, merkle
from office.app import create_app
from office.config import Settings
from tests.esign.svc import PIN, SEAL_PIN, enrol, make_seal, replace_part, seal_doc, writers_pass_while_deriving
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org, login, new_client

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _apply(client: TestClient, seal_id: int, doc: bytes, pin: str = PIN) -> object:
    return client.post(
        f"/api/esign/seals/{seal_id}/apply",
        data={"pin": pin, "reference": "粤府办〔2026〕3号"},
        files={"file": ("通知.docx", doc, DOCX)},
    )


def test_enrol_pin_errors_and_lockout_over_http(client: TestClient, org: Org) -> None:
    login(client, "claudius")
    assert client.get("/api/esign/me").json()["enrolled"] is False
    r = client.post("/api/esign/enrol", json={"pin": "12"})
    assert r.status_code == 422 and r.json()["error"] == "bad_pin_format"
    r = client.post("/api/esign/enrol", json={"pin": PIN})
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    assert client.post("/api/esign/enrol", json={"pin": PIN}).status_code == 409
    r = client.post("/api/esign/sign-text", json={"pin": PIN, "text": "同意", "purpose": "签发"})
    assert r.status_code == 201, r.text
    sig_id = r.json()["id"]
    assert client.post(f"/api/esign/signatures/{sig_id}/verify", json={"text": "同意"}).json()["valid"]
    assert not client.post(f"/api/esign/signatures/{sig_id}/verify", json={"text": "不同意"}).json()["valid"]
    r = client.post("/api/esign/pin", json={"old_pin": PIN, "new_pin": "975310"})
    assert r.status_code == 200
    for left in (4, 3, 2, 1):
        r = client.post("/api/esign/sign-text", json={"pin": PIN, "text": "同意", "purpose": "签发"})
        assert r.status_code == 403 and r.json()["error"] == "wrong_pin" and r.json()["attempts_left"] == left
    r = client.post("/api/esign/sign-text", json={"pin": PIN, "text": "同意", "purpose": "签发"})
    assert r.status_code == 423 and r.json()["error"] == "key_locked"
    assert client.get("/api/esign/me").json()["status"] == "locked"
    # Another user cannot read claudius's signature record.
    other = new_client(client.app)
    login(other, "hamlet")
    assert other.get(f"/api/esign/signatures/{sig_id}").status_code == 404
    assert other.post(f"/api/esign/admin/users/{org.users['claudius']}/revoke", json={}).status_code == 403
    admin = new_client(client.app)
    login(admin, "prospero")
    r = admin.post(f"/api/esign/admin/users/{org.users['claudius']}/revoke", json={"reason": "key_compromise"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert client.post("/api/esign/enrol", json={"pin": "864200"}).status_code == 201


def test_seal_management_apply_and_public_verification(client: TestClient, org: Org) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    enrol(org, "hamlet")
    login(client, "hamlet")
    assert client.post("/api/esign/seals", data={"kind": "official", "seal_pin": SEAL_PIN}).status_code == 403
    assert client.get("/api/esign/seals/preview?kind=official").status_code == 403
    keeper = new_client(client.app)
    login(keeper, "yorick")
    r = keeper.get("/api/esign/seals/preview?kind=official&seal_type=合同专用章")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    r = keeper.post("/api/esign/seals", data={"kind": "official", "seal_pin": SEAL_PIN, "seal_type": "公章"})
    assert r.status_code == 201, r.text
    seal = r.json()
    assert seal["display_name"] == "省政府办公厅公章" and seal["can_manage"]
    sid = seal["id"]
    assert _apply(client, sid, build_docx()).status_code == 404  # hamlet is not authorised
    r = keeper.put(f"/api/esign/seals/{sid}/users", json={"user_ids": [org.users["claudius"]], "seal_pin": "bad-pin"})
    assert r.status_code == 403 and r.json()["error"] == "wrong_pin"
    r = keeper.put(f"/api/esign/seals/{sid}/users", json={"user_ids": [org.users["claudius"]], "seal_pin": SEAL_PIN})
    assert r.status_code == 200 and {u["name"] for u in r.json()["users"]} == {"赵刚", "周敏"}

    leader = new_client(client.app)
    login(leader, "claudius")
    assert [s["id"] for s in leader.get("/api/esign/seals").json()["items"]] == [sid]
    assert leader.get(f"/api/esign/seals/{sid}/image").content.startswith(b"\x89PNG")
    assert leader.get(f"/api/esign/seals/{sid}/uses").status_code == 403
    r = _apply(leader, sid, build_docx(), pin="000000a")
    assert r.status_code == 403 and r.json()["error"] == "wrong_pin"
    r = _apply(leader, sid, build_docx())
    assert r.status_code == 200 and r.headers["content-type"] == DOCX, r.text
    sealed = r.content
    uses = keeper.get(f"/api/esign/seals/{sid}/uses").json()["items"]
    assert [(u["user_name"], u["reference"]) for u in uses] == [("赵刚", "粤府办〔2026〕3号")]

    anonymous = new_client(client.app)  # recipients outside the system verify without logging in
    report = anonymous.post("/api/esign/verify", files={"file": ("x.docx", sealed, DOCX)}).json()
    assert report["valid"], report
    sig = report["signatures"][0]
    assert (sig["signer"], sig["seal_name"], sig["time_trusted"]) == ("赵刚", "省政府办公厅公章", True)
    assert sig["log"]["included"]
    tampered = replace_part(sealed, "word/document.xml", lambda x: x.replace("通知".encode(), "通报".encode()))
    bad = anonymous.post("/api/esign/verify", files={"file": ("x.docx", tampered, DOCX)}).json()
    assert not bad["valid"] and bad["signatures"][0]["changed_parts"][0]["label"] == "正文"

    assert keeper.post(f"/api/esign/seals/{sid}/suspend").json()["status"] == "suspended"
    assert _apply(leader, sid, build_docx()).json()["error"] == "seal_suspended"
    assert keeper.post(f"/api/esign/seals/{sid}/resume").json()["status"] == "active"
    assert keeper.post(f"/api/esign/seals/{sid}/revoke", json={}).status_code == 422
    r = keeper.post(f"/api/esign/seals/{sid}/revoke", json={"reason": "印章遗失"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = _apply(leader, sid, build_docx())
    assert r.status_code == 409 and r.json()["error"] == "seal_revoked"
    # The seal certificate is on the published CRL; the earlier file is still valid.
    crl = x509.load_der_x509_crl(anonymous.get(f"/api/esign/ca/{org.agencies['A']}/crl").content)
    assert crl.get_revoked_certificate_by_serial_number(int(seal["serial"])) is not None
    again = anonymous.post("/api/esign/verify", files={"file": ("x.docx", sealed, DOCX)}).json()
    assert again["valid"] and again["signatures"][0]["seal_revocation"]["revoked_at"]


def test_verify_bad_uploads(client: TestClient, org: Org) -> None:
    r = client.post("/api/esign/verify", files={"file": ("x.docx", b"hello", DOCX)})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_file"
    r = client.post("/api/esign/verify", data={"x": "1"})
    assert r.status_code == 422
    big = b"PK" + b"\0" * (20 * 1024 * 1024 + 10)
    r = client.post("/api/esign/verify", files={"file": ("x.docx", big, DOCX)})
    assert r.status_code == 413
    r = client.post("/api/esign/verify", files={"file": ("x.docx", build_docx(), DOCX)})
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["errors"][0]["code"] == "no_signatures"
    login(client, "hamlet")
    enrol(org, "hamlet")
    r = client.post(
        "/api/esign/sign-docx", data={"pin": PIN, "reference": "材料"}, files={"file": ("x.docx", b"not a zip", DOCX)}
    )
    assert r.status_code == 415


def test_public_chain_crl_and_log_endpoints(client: TestClient, org: Org) -> None:
    enrol(org, "claudius")
    anonymous = new_client(client.app)
    chain = x509.load_pem_x509_certificates(anonymous.get("/api/esign/ca/chain.pem").content)
    subjects = [c.subject.rfc4514_string() for c in chain]
    assert any("通办电子印章根证书" in s for s in subjects) and any("省政府办公厅签发CA" in s for s in subjects)
    assert x509.load_der_x509_crl(anonymous.get("/api/esign/ca/root/crl").content).is_signature_valid(
        chain[0].public_key()
    )  # type: ignore[arg-type]
    assert b"BEGIN X509 CRL" in anonymous.get(f"/api/esign/ca/{org.agencies['A']}/crl?format=pem").content
    assert anonymous.get(f"/api/esign/ca/{org.agencies['B']}/crl").status_code == 404
    login(client, "claudius")
    receipts = []
    for i in range(3):
        r = client.post("/api/esign/sign-text", json={"pin": PIN, "text": f"意见{i}", "purpose": "签发"})
        receipts.append(r.json())
    sth = anonymous.get("/api/esign/log/sth").json()
    head = merkle.SignedTreeHead.from_dict(sth)
    assert merkle.verify_tree_head(head, bytes.fromhex(sth["public_key"])) and head.tree_size == 4
    last = receipts[-1]
    proof = anonymous.get(f"/api/esign/log/proof?leaf_index={last['receipt']['leaf_index']}&tree_size=4").json()
    leaf = merkle.leaf_hash(base64.b64decode(last["signature"]))
    assert merkle.verify_inclusion(
        proof["leaf_index"], 4, leaf, [bytes.fromhex(p) for p in proof["proof"]], head.root_hash
    )
    first = receipts[0]["receipt"]["sth"]
    cons = anonymous.get(f"/api/esign/log/consistency?first={first['tree_size']}&second=4").json()
    assert merkle.verify_consistency(
        first["tree_size"],
        4,
        bytes.fromhex(first["root_hash"]),
        head.root_hash,
        [bytes.fromhex(p) for p in cons["proof"]],
    )
    assert anonymous.get("/api/esign/log/proof?leaf_index=9&tree_size=4").status_code == 422
    assert anonymous.get("/api/esign/log/consistency?first=5&second=4").status_code == 422


def test_restart_keeps_ca_keys_log_and_verification(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c1:
        from tests.factories import make_org

        org = make_org(c1.app.state.db)  # type: ignore[attr-defined]
        enrol(org, "yorick")
        sealed = seal_doc(org, "yorick", make_seal(org))
        chain = c1.get("/api/esign/ca/chain.pem").content
        sth = c1.get("/api/esign/log/sth").json()
    authority._master_cache.clear()  # read the key file again, as a new process would
    with TestClient(create_app(settings)) as c2:
        assert c2.get("/api/esign/ca/chain.pem").content == chain
        assert c2.get("/api/esign/log/sth").json()["root_hash"] == sth["root_hash"]
        report = c2.post("/api/esign/verify", files={"file": ("x.docx", sealed, DOCX)}).json()
        assert report["valid"] and report["signatures"][0]["log"]["included"]
        login(c2, "yorick")
        r = c2.post("/api/esign/sign-text", json={"pin": PIN, "text": "重启后", "purpose": "签发"})
        assert r.status_code == 201
        assert r.json()["receipt"]["leaf_index"] == sth["tree_size"]


def test_sm2_deployment_end_to_end(settings: Settings) -> None:
    with TestClient(create_app(replace(settings, esign_alg=crypto.ALG_SM2))) as client:
        from tests.factories import make_org

        org = make_org(client.app.state.db)  # type: ignore[attr-defined]
        enrol(org, "yorick")
        login(client, "yorick")
        assert client.get("/api/esign/me").json()["alg"] == crypto.ALG_SM2
        sealed = seal_doc(org, "yorick", make_seal(org))
        report = client.post("/api/esign/verify", files={"file": ("x.docx", sealed, DOCX)}).json()
    assert report["valid"], report
    assert report["signatures"][0]["alg"] == crypto.ALG_SM2
    with pytest.raises(Exception):  # noqa: B017 - whatever deployment_alg raises, it must refuse RSA
        authority.deployment_alg("RSA")


def test_esign_page_module_is_served_and_parses(client: TestClient, tmp_path: object) -> None:
    import subprocess
    from pathlib import Path

    from tests.conftest import require_tool

    r = client.get("/static/js/pages/esign.js")
    assert r.status_code == 200
    source = r.text
    assert "export async function render(root, ctx)" in source and "export function askPin(" in source
    assert "innerHTML" not in source and "style=" not in source  # strict CSP, textContent only
    node = require_tool("node")
    module = Path(str(tmp_path)) / "esign.mjs"
    module.write_text(source)
    subprocess.run([node, "--check", str(module)], check=True)


def test_the_pin_is_worked_through_while_other_writers_go_on(
    client: TestClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deriving a key from its PIN takes 0.1-0.3 s; it happens before the write transaction, so a
    chat message or any other write is never held up by someone signing (office.web before_write)."""
    enrol(org, "yorick")
    enrol(org, "claudius")
    sid = make_seal(org, users=("claudius",))
    free = writers_pass_while_deriving(monkeypatch, org.db)
    login(client, "claudius")
    r = client.post("/api/esign/sign-text", json={"pin": PIN, "text": "同意", "purpose": "签发"})
    assert r.status_code == 201, r.text
    r = _apply(client, sid, build_docx())
    assert r.status_code == 200, r.text
    assert free == [True, True]  # once per signing, never inside the transaction
    r = client.post("/api/esign/sign-text", json={"pin": "000000x", "text": "同意", "purpose": "签发"})
    assert r.status_code == 403 and r.json()["attempts_left"] == 4  # a wrong PIN is still counted
    assert free[2] is True and len(free) == 4  # tried ahead, then again (and counted) in the transaction
