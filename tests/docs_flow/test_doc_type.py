"""One ``DocType`` (``typeset.layout``) for 发文 and for layout. The API speaks its Chinese values and
``doc_outgoing.doc_type`` stores its member names, exactly as when docs_flow had an enum of its own:
neither changed when the two enums became one."""

from __future__ import annotations

from sqlalchemy import text

from docs_flow.models import OutgoingDocument
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import create, get
from tests.factories import Org
from typeset.layout import DocType

# The names migration 0004 created the column with (a PostgreSQL enum type, a string on SQLite).
STORED_NAMES = (
    "jueyi jueding mingling gongbao gonggao tonggao yijian tongzhi tongbao baogao qingshi pifu yian han jiyao"
)


def test_the_column_holds_the_member_names_the_migration_made() -> None:
    assert OutgoingDocument.__table__.c.doc_type.type.enums == STORED_NAMES.split()  # type: ignore[attr-defined]


def test_an_order_is_answered_by_its_value_and_stored_by_its_name(users: Clients, org: Org) -> None:
    doc = create(users, org, doc_type="命令（令）", title="广东省人民政府令")
    assert doc["doc_type"] == get(users, "hamlet", doc)["doc_type"] == "命令（令）"
    with org.db.read() as s:
        stored = s.exec(text("SELECT doc_type FROM doc_outgoing WHERE id = :id").bindparams(id=doc["id"])).one()[0]  # type: ignore[call-overload]
        assert stored == "mingling"
        assert s.get(OutgoingDocument, doc["id"]).doc_type is DocType.mingling  # type: ignore[union-attr]
    meta = users["hamlet"].get("/api/docs/meta")  # the 文种 the drafting form offers
    assert meta.status_code == 200
    assert meta.json()["doc_types"] == [
        "决议",
        "决定",
        "命令（令）",
        *"公报 公告 通告 意见 通知 通报 报告 请示 批复 议案 函 纪要".split(),
    ]
