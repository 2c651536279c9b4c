"""``office demo`` seeds signing keys and seals: with the password and the PIN it prints, the demo
leader 签发 the 通知 waiting for them and the seal keeper 用印 it, through HTTP, without enrolling
a key (the seal keeper signs in with the authenticator secret it prints: 印章管理员 must use two-step
verification by default)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from esign import crypto
from esign.models import Credential, Seal, SealKind
from office.app import create_app
from office.cli import main
from office.config import load_settings
from office.models import User
from tests.conftest import PG_URL
from tests.factories import login

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="office demo writes the embedded SQLite of a data folder")
TITLE = "关于做好岁末年初安全防范工作的通知"


def _printed(out: str) -> tuple[str, str]:
    password = re.search(r"密码均为 (\S+?)）", out)
    pin = re.search(r"PIN 码.*均为 (\S+)", out)
    assert password and pin, out
    return password.group(1), pin.group(1)


def test_the_demo_leader_signs_off_and_the_seal_keeper_seals_with_the_printed_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OFFICE_ESIGN_ALG", raising=False)
    data = tmp_path / "demo"
    assert main(["demo", "--data", str(data), "--password", "demo-password-2026"]) == 0
    out = capsys.readouterr().out
    password, pin = _printed(out)
    secrets = dict(re.findall(r"^\s+(\S+)\s+验证器密钥 ([A-Z2-7]+)", out, re.M))
    assert password == "demo-password-2026"
    app = create_app(load_settings({}, data_dir=data, testing=True))
    with TestClient(app, base_url="http://testserver"):  # runs the lifespan (migrations, authorities)
        db = app.state.db
        with db.read() as s:
            names = {u.name: u.username for u in s.exec(select(User)).all()}
            creds = s.exec(select(Credential)).all()
            seals = s.exec(select(Seal)).all()
        # Keys at rest are sealed under the PIN (argon2id + AES-GCM), never in clear.
        assert len(creds) >= 6 and all(c.key_blob.startswith(b"TBKEY1") for c in creds)
        assert crypto.unseal_private_key(creds[0].key_blob, pin) and {s.kind for s in seals} >= {
            SealKind.official,
            SealKind.name,
        }
        clients: dict[str, TestClient] = {}

        def as_user(username: str) -> TestClient:
            if username not in clients:
                clients[username] = TestClient(app, base_url="http://testserver")
                login(clients[username], username, password, totp_secret=secrets.get(username, ""))
            return clients[username]

        leader = as_user("zhangwei")
        doc = next(d for d in _ok(leader.get("/api/docs?box=todo"))["items"] if d["title"] == TITLE)
        doc = _ok(leader.get(f"/api/docs/{doc['id']}"))
        wrong = leader.post(
            f"/api/docs/{doc['id']}/actions",
            json={"action": "approve", "version": doc["version"], "opinion": "同意", "pin": "000111"},
        )
        assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_pin"
        doc = _step(leader, doc, "机关领导签发", pin)
        assert doc["status"] == "signed"
        for _ in range(6):  # 复核, 编号, then 用印 by the agency's seal keeper
            step = doc["route"]["steps"][doc["route"]["current_step"]]
            who = next(t["assignee"] for t in step["tasks"] if t["state"] == "pending")
            c = as_user(names[who])
            doc = _ok(c.get(f"/api/docs/{doc['id']}"))
            if step["name"] == "编号":
                doc = _ok(c.post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
            doc = _step(c, doc, step["name"], pin)
            if step["name"] == "用印":
                break
        assert doc["status"] == "sealed" and doc["seal_method"] == "esign", doc
        sealed = clients[names[who]].get(f"/api/docs/{doc['id']}/pdf").content
        report = _ok(clients[names[who]].post("/api/esign/verify", files={"file": ("d.pdf", sealed)}))
        assert report["valid"] and report["signatures"][0]["seal_name"].endswith("公章"), report
        for c in clients.values():
            c.close()


def _step(c: TestClient, doc: dict[str, Any], name: str, pin: str) -> dict[str, Any]:
    extra = {"pin": pin} if name in ("机关领导签发", "用印") else {}
    return _ok(
        c.post(
            f"/api/docs/{doc['id']}/actions",
            json={"action": "approve", "version": doc["version"], "opinion": f"{name}：同意", **extra},
        )
    )


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()
