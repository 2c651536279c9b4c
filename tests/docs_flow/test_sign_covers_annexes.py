"""The 签发 signature covers the attachments: a bound attachment's title and content and the bytes of
every listed file are inside what the leader signed, in the 附件说明's order. A change made behind the
API after 签发 (straight in the database) stops 用印 exactly as a change of the body does, and the
signature no longer verifies; a record signed in the earlier form (title and body only) still verifies."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from sqlmodel import select

from docs_flow import body as body_mod
from docs_flow import signoff
from docs_flow.models import DocAttachment, OutgoingDocument
from esign import service as esign_service
from office.models import AuditEntry
from tests.docs_flow.conftest import Clients, act
from tests.docs_flow.test_routes import advance, create, get, ok
from tests.esign.svc import PIN
from tests.factories import Org


def _at_seal(users: Clients, org: Org) -> dict[str, Any]:
    """A 通知 with a bound attachment and a listed file, signed off and numbered, waiting at 用印."""
    doc = create(users, org)
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/annexes",
        json={
            "version": doc["version"],
            "title": "工作任务清单",
            "blocks": [{"kind": "paragraph", "text": "任务一。"}],
        },
    )
    assert r.status_code == 201, r.text
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/attachments",
        files={"file": ("报送表.xlsx", b"xlsx bytes" * 10)},
        data={"version": str(get(users, "hamlet", doc)["version"])},
    )
    assert r.status_code == 201, r.text
    return advance(users, get(users, "hamlet", doc), "用印")


def _tamper(org: Org, doc_id: int, what: str) -> None:
    with org.db.write() as s:
        doc = s.get(OutgoingDocument, doc_id)
        assert doc is not None
        rows = s.exec(select(DocAttachment).where(DocAttachment.document_id == doc_id)).all()
        bound = next(r for r in rows if r.bound)
        listed = next(r for r in rows if not r.bound)
        if what == "body":
            doc.body = [*doc.body[:-1], {"kind": "paragraph", "text": "此段在签发后被改动。"}]
            s.add(doc)
        elif what == "annex_blocks":
            bound.blocks = [{"kind": "paragraph", "text": "任务二。"}]
            s.add(bound)
        elif what == "annex_title":
            bound.title = "另一份清单"
            s.add(bound)
        elif what == "file_bytes":  # the bytes replaced, the recorded size and sha256 left as they were
            listed.data = b"XLSX BYTES" * 10
            s.add(listed)
        elif what == "order":
            doc.attachments = list(reversed(doc.attachments))
            s.add(doc)


@pytest.mark.parametrize("what", ["body", "annex_blocks", "annex_title", "file_bytes", "order"])
def test_a_change_after_sign_off_stops_the_seal_and_fails_verification(users: Clients, org: Org, what: str) -> None:
    doc = _at_seal(users, org)
    with org.db.read() as s:
        signed = s.get(OutgoingDocument, doc["id"])
        assert signed is not None and signed.sign_record["signers"][0]["form"] == signoff.FORM
        assert all(item["report"]["valid"] for item in signoff.verify(s, signed))
    _tamper(org, doc["id"], what)

    r = act(users["yorick"], get(users, "yorick", doc), "approve", opinion="用印", pin=PIN)
    assert r.status_code == 409 and r.json()["error"] == "changed_since_sign_off", r.text[:300]
    assert "与签发时不一致" in r.json()["message"]
    with org.db.read() as s:
        stored = s.get(OutgoingDocument, doc["id"])
        assert stored is not None and stored.seal_record == {} and stored.status.value == "signed"
        (item,) = signoff.verify(s, stored)
        codes = {e["code"] for sig in item["report"]["signatures"] for e in sig["errors"]}
        assert not item["report"]["valid"] and "text_modified" in codes
        assert not s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_use")).first()


def test_a_record_signed_over_title_and_body_only_still_verifies(users: Clients, org: Org) -> None:
    """A document signed before attachments were covered: its entry names no form (form 1)."""
    doc = _at_seal(users, org)
    with org.db.write() as s:
        stored = s.get(OutgoingDocument, doc["id"])
        assert stored is not None
        old = body_mod.canonical(stored.title, stored.body)
        signed = esign_service.sign_text(s, org.actor("claudius"), pin=PIN, data=old, purpose="签发")
        entry = {k: v for k, v in stored.sign_record["signers"][0].items() if k not in ("form", "content_sha256")}
        entry["signature"] = {"id": signed.id, "leaf_index": signed.leaf_index, "data_hash": signed.data_hash}
        stored.sign_record = {"signers": [entry]}
        s.add(stored)
    with org.db.read() as s:
        stored = s.get(OutgoingDocument, doc["id"])
        assert stored is not None
        (item,) = signoff.verify(s, stored)
        assert item["form"] == 1 and item["report"]["valid"], item
        signoff.check_unchanged(s, stored)  # no refusal: the old form's content is unchanged
    _tamper(org, doc["id"], "body")
    with org.db.read() as s:
        stored = s.get(OutgoingDocument, doc["id"])
        assert stored is not None and not signoff.verify(s, stored)[0]["report"]["valid"]
    r = act(users["yorick"], get(users, "yorick", doc), "approve", opinion="用印", pin=PIN)
    assert r.status_code == 409 and r.json()["error"] == "changed_since_sign_off"


def test_an_unchanged_document_is_sealed_and_its_package_verifies_the_sign_off(users: Clients, org: Org) -> None:
    """The archive package holds each 签发 signature with the exact text it covers: attachments included."""
    doc = _at_seal(users, org)
    doc = ok(act(users["yorick"], get(users, "yorick", doc), "approve", opinion="用印", pin=PIN))
    assert doc["status"] == "sealed"
    doc = advance(users, doc, "end")
    packages = ok(users["gertrude"].get("/api/archive?kind=outgoing"))["items"]
    package = next(p for p in packages if p["doc_id"] == doc["id"])
    data = users["gertrude"].get(f"/api/archive/{package['id']}/download").content
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        (entry,) = json.loads(z.read("signatures.json"))["sign_off"]
    signed = json.loads(entry["content"])
    assert entry["form"] == signoff.FORM and [a["name"] for a in signed["attachments"]] == ["工作任务清单", "报送表"]
    assert signed["attachments"][0]["blocks"] == [{"kind": "paragraph", "text": "任务一。"}]
    assert signed["attachments"][1]["sha256"] == hashlib.sha256(b"xlsx bytes" * 10).hexdigest()
    with org.db.read() as s:
        der = base64.b64decode(entry["signature"])
        assert esign_service.verify_text(s, signature_der=der, data=entry["content"].encode())["valid"]
        changed = entry["content"].replace("任务一。", "任务二。").encode()
        assert not esign_service.verify_text(s, signature_der=der, data=changed)["valid"]
