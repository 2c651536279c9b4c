"""The archive package of a sealed 发文 holds the sealed Word file, or archiving fails: a stored file that
is missing or no longer matches the hash recorded at 用印 never turns into a package without it (or with
a fresh, unsealed rendering in its place)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlmodel import select

from docs_flow import archive, official_copy, service
from docs_flow.incoming_models import ArchivePackage
from docs_flow.models import OutgoingDocument
from docs_flow.schemas import DocumentCreate
from office.errors import OfficeError
from tests.docs_flow.conftest import BODY
from tests.factories import Org
from typeset.layout import DocType

SEALED = b"PK\x03\x04 the bytes sealed at yong yin"


def _archive(org: Org, doc_id: int) -> ArchivePackage:
    with org.db.write() as s:
        doc = s.get(OutgoingDocument, doc_id)
        assert doc is not None
        return archive.archive_outgoing(s, org.actor("hamlet"), doc)


def test_the_package_holds_the_sealed_word_file_or_archiving_fails(org: Org) -> None:
    with org.db.write() as s:
        data = DocumentCreate(doc_type=DocType.tongzhi, title="关于归档测试的通知", body=BODY)
        doc = service.check_create_document(s, org.actor("hamlet"), data)
        digest = official_copy.store(s, SEALED, ".docx")
        doc.seal_record = {"sealed_sha256": digest}
        doc_id = doc.id or 0
    stored = org.db.settings.data_dir / "sealed" / f"{digest}.docx"

    stored.write_bytes(SEALED + b" changed")  # no longer what was sealed
    with pytest.raises(OfficeError) as refused:
        _archive(org, doc_id)
    assert refused.value.code == "sealed_file_corrupt"
    stored.unlink()  # gone from the data folder
    with pytest.raises(OfficeError) as refused:
        _archive(org, doc_id)
    assert refused.value.code == "sealed_file_missing"
    with org.db.read() as s:
        assert s.exec(select(ArchivePackage)).all() == []  # nothing archived without it

    stored.write_bytes(SEALED)
    package = _archive(org, doc_id)
    with zipfile.ZipFile(io.BytesIO(package.data)) as z:
        assert z.read("document.docx") == SEALED
    assert {f["name"] for f in package.manifest["files"]} >= {"document.docx", "metadata.json", "history.json"}
