"""The data item registry (一数一源): only the owner department defines or changes an item; a code is
taken once; a proposed item is usable by no task until the owner approves it; who reads an item is
its level (公开 every agency, 内部/敏感 the owner agency and the agencies it lists); values are
checked by 办事's form engine against the item's spec."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from office.audit import AuditEntry
from office.db import Database
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from tests.conftest import Recorder
from tests.factories import Org, login
from tests.tianbao.registry_helpers import NUMBER, define, put
from tianbao import items
from tianbao.models import DataItem, ItemStatus


def count(db: Database) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(DataItem)).one()


def readable_codes(db: Database, org: Org, username: str) -> set[str]:
    with db.read() as s:
        rows = s.exec(select(DataItem.code).where(items.readable_cond(org.actor(username)))).all()
    return set(rows)


# Defining: the owner department only ----------------------------------------------------------------


def test_the_owner_departments_head_or_clerk_defines_it(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001", name="辖区常住人口", unit_label="万人", cycle="year", level="public")
    assert item.status == ItemStatus.active
    assert item.owner_dept_id == org.depts["A1"] and item.owner_agency_id == org.agencies["A"]
    assert item.spec["type"] == "number" and item.spec["max"] == 100000
    define(db, org, "A01.002", by="gertrude")  # a clerk with a post in 综合处
    with db.read() as s:
        logged = s.exec(select(AuditEntry.action).where(AuditEntry.target_type == "tb_item")).all()
    assert logged == ["tianbao.item_create", "tianbao.item_create"]


@pytest.mark.parametrize("username", ["laertes", "hamlet", "iago", "prospero", "claudius"])
def test_nobody_else_defines_it(db: Database, org: Org, username: str) -> None:
    """Another department's head, a plain member of the owner department, another agency's head, the
    administrator and a leader: none is the 数源部门."""
    with pytest.raises(PermissionDenied):
        define(db, org, "A01.001", by=username)
    assert count(db) == 0


def test_a_code_is_taken_once(db: Database, org: Org) -> None:
    """一数一源: the same code again is refused, whoever asks and in whatever case."""
    first = define(db, org, "A01.001", name="辖区常住人口")
    for by, dept, code in (("polonius", "A1", "A01.001"), ("iago", "B1", "a01.001"), ("laertes", "A2", " A01.001")):
        with pytest.raises(ValidationError) as e:
            define(db, org, code, by=by, dept=dept)
        assert e.value.code == "code_taken" and e.value.extra["item_id"] == first.id
        assert "辖区常住人口" in e.value.message
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.propose_item(
            s,
            org.actor("laertes"),
            {"code": "A01.001", "name": "常住人口", "owner_dept_id": org.depts["A1"], "spec": NUMBER},
        )
    assert e.value.code == "code_taken"
    assert count(db) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"code": "含空格 的编码"}, "bad_code"),
        ({"name": ""}, "required"),
        ({"spec": {"type": "person"}}, "bad_spec"),  # not a registry type
        ({"spec": {"type": "number", "min": 5, "max": 1}}, "bad_spec"),
        ({"spec": {"type": "select", "options": []}}, "bad_spec"),
        ({"cycle": "week"}, "bad_item"),
        ({"level": "secret"}, "bad_item"),
        ({"reader_agency_ids": [999999]}, "bad_item"),
        ({"source": "nowhere.count"}, "bad_source"),
        ({"colour": "red"}, "bad_item"),
    ],
)
def test_bad_definitions_are_422_and_store_nothing(
    db: Database, org: Org, change: dict[str, object], code: str
) -> None:
    data = {"code": "A01.001", "name": "人口", "owner_dept_id": org.depts["A1"], "spec": NUMBER, **change}
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.create_item(s, org.actor("polonius"), data)
    assert e.value.code == code
    assert count(db) == 0


def test_only_the_owner_changes_it(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001", name="人口", level="internal")
    item_id = item.id or 0
    with db.write() as s, pytest.raises(PermissionDenied):  # same agency, reads it, is not the owner
        items.update_item(s, org.actor("laertes"), item_id, {"name": "改名"}, 1)
    with db.write() as s, pytest.raises(NotFound):  # another agency cannot read an internal item
        items.update_item(s, org.actor("iago"), item_id, {"name": "改名"}, 1)
    with db.write() as s:
        changed = items.update_item(s, org.actor("polonius"), item_id, {"name": "常住人口", "level": "public"}, 1)
        assert (changed.name, changed.level.value, changed.version) == ("常住人口", "public", 2)
    with db.write() as s, pytest.raises(Conflict):  # a stale version
        items.update_item(s, org.actor("polonius"), item_id, {"name": "再改"}, 1)
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.update_item(s, org.actor("polonius"), item_id, {"code": "A01.999"}, 2)
    assert e.value.code == "code_fixed"
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.update_item(s, org.actor("polonius"), item_id, {"owner_dept_id": org.depts["A2"]}, 2)
    assert e.value.code == "owner_fixed"
    with db.read() as s:
        stored = s.get(DataItem, item_id)
        assert stored is not None and (stored.name, stored.code, stored.version) == ("常住人口", "A01.001", 2)
        logged = s.exec(select(AuditEntry.action).where(AuditEntry.target_type == "tb_item")).all()
    assert logged == ["tianbao.item_create", "tianbao.item_update"]


def test_cycle_and_type_are_fixed_once_values_are_stored(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001", cycle="year")
    with db.write() as s:  # no value yet: may change
        item = items.update_item(s, org.actor("polonius"), item.id or 0, {"cycle": "quarter"}, 1)
    put(db, item, org.agencies["A"], "2026Q3", 5)
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.update_item(s, org.actor("polonius"), item.id or 0, {"cycle": "year"}, 2)
    assert e.value.code == "cycle_fixed"
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.update_item(s, org.actor("polonius"), item.id or 0, {"spec": {"type": "text"}}, 2)
    assert e.value.code == "type_fixed"
    with db.write() as s:  # its limits may change
        items.update_item(s, org.actor("polonius"), item.id or 0, {"spec": {"type": "number", "max": 10}}, 2)


def test_retire_and_reactivate_only(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001")
    with db.write() as s:
        item = items.update_item(s, org.actor("polonius"), item.id or 0, {"status": "retired"}, 1)
    assert item.status == ItemStatus.retired
    with db.write() as s, pytest.raises(InvalidTransition):
        items.update_item(s, org.actor("polonius"), item.id or 0, {"status": "proposed"}, 2)


# Proposals (采集需求审核) ------------------------------------------------------------------------------


def propose(db: Database, org: Org, code: str = "A02.001", by: str = "laertes") -> DataItem:
    data = {"code": code, "name": "重点项目个数", "owner_dept_id": org.depts["A1"], "spec": NUMBER, "cycle": "quarter"}
    with db.write() as s:
        return items.propose_item(s, org.actor(by), data)


def test_a_proposal_is_usable_only_after_the_owner_approves_it(db: Database, org: Org) -> None:
    item = propose(db, org)
    assert item.status == ItemStatus.proposed
    assert (item.proposed_by, item.proposed_by_dept_id) == (org.users["laertes"], org.depts["A2"])
    with db.read() as s, pytest.raises(ValidationError) as e:
        items.usable_items(s, org.actor("laertes"), [item.id or 0])
    assert e.value.code == "item_unusable" and "尚未经数源部门审核同意" in e.value.message
    with db.write() as s, pytest.raises(PermissionDenied):  # the proposer does not approve its own demand
        items.review_item(s, org.actor("laertes"), item.id or 0, True, "", 1)
    with db.write() as s:
        approved = items.review_item(s, org.actor("polonius"), item.id or 0, True, "同意", 1)
    assert approved.status == ItemStatus.active and approved.reviewed_by == org.users["polonius"]
    with db.read() as s:
        assert list(items.usable_items(s, org.actor("laertes"), [item.id or 0])) == [item.id]
    with db.write() as s, pytest.raises(InvalidTransition):  # settled
        items.review_item(s, org.actor("polonius"), item.id or 0, False, "不要了", 2)


def test_the_owner_hears_of_a_proposal_and_the_proposer_of_the_decision(
    db: Database, org: Org, recorder: Recorder
) -> None:
    item = propose(db, org)
    notices = recorder.of("notify.tianbao")
    a1 = {org.users[u] for u in ("hamlet", "ophelia", "polonius", "claudius", "gertrude", "yorick", "prospero")}
    assert len(notices) == 1 and set(notices[0].payload["user_ids"]) == a1  # 综合处's members
    assert "重点项目个数" in notices[0].payload["title"] and notices[0].payload["link"] == "/tianbao/items"
    recorder.clear()
    with db.write() as s:
        items.review_item(s, org.actor("polonius"), item.id or 0, False, "与A01.003重复", 1)
    [decision] = recorder.of("notify.tianbao")
    assert decision.payload["user_ids"] == [org.users["laertes"]] and "与A01.003重复" in decision.payload["body"]


def test_a_rejection_needs_a_reason_and_stays_unusable(db: Database, org: Org) -> None:
    item = propose(db, org)
    with db.write() as s, pytest.raises(ValidationError) as e:
        items.review_item(s, org.actor("polonius"), item.id or 0, False, "  ", 1)
    assert e.value.code == "note_required"
    with db.write() as s:
        items.review_item(s, org.actor("polonius"), item.id or 0, False, "与A01.003重复", 1)
    with db.read() as s, pytest.raises(ValidationError) as e:
        items.usable_items(s, org.actor("laertes"), [item.id or 0])
    assert "未通过数源部门审核" in e.value.message


def test_only_collectors_propose(db: Database, org: Org) -> None:
    with pytest.raises(PermissionDenied):
        propose(db, org, by="hamlet")  # a plain member
    assert count(db) == 0


def test_retired_and_unreadable_items_are_unusable(db: Database, org: Org) -> None:
    retired = define(db, org, "A01.001")
    with db.write() as s:
        items.update_item(s, org.actor("polonius"), retired.id or 0, {"status": "retired"}, 1)
    internal = define(db, org, "A01.002", level="internal")
    with db.read() as s:
        with pytest.raises(ValidationError, match="已停用"):
            items.usable_items(s, org.actor("polonius"), [retired.id or 0])
        with pytest.raises(ValidationError, match="不存在或无权使用"):  # agency B may not read it
            items.usable_items(s, org.actor("iago"), [internal.id or 0])


# Reading by level ---------------------------------------------------------------------------------


def test_read_rule_per_level_across_agencies(db: Database, org: Org) -> None:
    b = org.agencies["B"]
    define(db, org, "PUB", level="public")
    define(db, org, "INT", level="internal")
    define(db, org, "INT.B", level="internal", reader_agency_ids=[b])
    define(db, org, "SEN", level="sensitive")
    define(db, org, "SEN.B", level="sensitive", reader_agency_ids=[b])
    every = {"PUB", "INT", "INT.B", "SEN", "SEN.B"}
    assert readable_codes(db, org, "hamlet") == every  # the owner agency, any department
    assert readable_codes(db, org, "horatio") == every
    assert readable_codes(db, org, "othello") == {"PUB", "INT.B", "SEN.B"}  # agency B


def test_the_reader_list_matches_whole_ids(db: Database, org: Org) -> None:
    """Agency B (id b) is not a reader of a list holding b*10+b or 10+b: the list is matched by whole ids."""
    b = org.agencies["B"]
    item = define(db, org, "INT", level="internal")
    for readers, expected in (
        ([b * 10 + b], False),
        ([10 + b, 100 + b], False),
        ([7, b, 9], True),
        ([b], True),
        ([b, 99], True),
        ([99, b], True),
    ):
        with db.write() as s:
            s.execute(update(DataItem).where(col(DataItem.id) == item.id).values(reader_agency_ids=readers))
        assert ("INT" in readable_codes(db, org, "othello")) is expected, readers


def test_proposals_are_seen_by_the_owner_agency_and_the_proposer_only(db: Database, org: Org) -> None:
    item = propose(db, org, by="iago")  # agency B proposes an item for A's 综合处
    with db.write() as s:
        s.execute(update(DataItem).where(col(DataItem.id) == item.id).values(level="public"))
    assert "A02.001" in readable_codes(db, org, "polonius")
    assert "A02.001" in readable_codes(db, org, "othello")  # B's 办公室 proposed it
    with db.write() as s:  # a proposal from A2 is not for agency B's eyes even when public
        s.execute(update(DataItem).where(col(DataItem.id) == item.id).values(proposed_by_dept_id=org.depts["A2"]))
    assert "A02.001" not in readable_codes(db, org, "othello")


def test_get_readable_hides_like_a_missing_item(db: Database, org: Org) -> None:
    item = define(db, org, "INT", level="internal")
    with db.read() as s:
        assert items.get_readable(s, org.actor("hamlet"), item.id or 0).code == "INT"
        with pytest.raises(NotFound) as hidden:
            items.get_readable(s, org.actor("othello"), item.id or 0)
        with pytest.raises(NotFound) as missing:
            items.get_readable(s, org.actor("othello"), 999999)
    assert hidden.value.to_dict() == missing.value.to_dict()


def test_list_filters_and_pages(db: Database, org: Org) -> None:
    for n in range(3):
        define(db, org, f"A01.00{n}", name=f"人口{n}", level="public")
    define(db, org, "B01.001", name="财政收入", by="iago", dept="B1", level="public")
    with db.read() as s:
        out = items.list_items(s, org.actor("othello"), q="人口", size=2)
        assert out["total"] == 3 and [i["code"] for i in out["items"]] == ["A01.000", "A01.001"]
        assert out["items"][0]["owner_dept_name"] == "综合处" and out["items"][0]["owner_agency_name"] == "省政府办公厅"
        mine = items.list_items(s, org.actor("othello"), mine=True)
        assert [i["code"] for i in mine["items"]] == ["B01.001"]
        assert items.list_items(s, org.actor("othello"), q="%")["total"] == 0  # LIKE wildcards are literal


# Values through the form engine -------------------------------------------------------------------------------


def test_clean_value_uses_the_items_spec(db: Database, org: Org) -> None:
    number = define(db, org, "N", name="常住人口", spec={"type": "number", "min": 0, "max": 1000, "decimals": 1})
    money = define(db, org, "M", name="财政收入", spec={"type": "money"})
    choice = define(db, org, "S", name="类别", spec={"type": "select", "options": ["甲", "乙"]})
    table = define(
        db,
        org,
        "T",
        name="重点项目清单",
        spec={
            "type": "table",
            "columns": [
                {"key": "name", "label": "项目名称", "type": "text", "required": True},
                {"key": "invest", "label": "总投资", "type": "number", "total": True},
            ],
        },
    )
    actor = org.actor("othello")
    with db.read() as s:
        assert items.clean_value(s, actor, number, "12.5") == 12.5
        assert items.clean_value(s, actor, number, "") is None  # blank: not this function's business
        assert items.clean_value(s, actor, money, 123456) == 123456  # 分, as 办事 stores money
        assert items.clean_value(s, actor, choice, "乙") == "乙"
        rows = [{"name": "港珠澳", "invest": 3}, {"name": "深中通道", "invest": 4}]
        assert items.clean_value(s, actor, table, rows) == {"rows": rows, "totals": {"invest": 7}}
        with pytest.raises(ValidationError) as e:
            items.clean_value(s, actor, number, 1001)
        assert e.value.extra["field"] == str(number.id) and "常住人口" in e.value.message
        with pytest.raises(ValidationError) as e:
            items.clean_value(s, actor, choice, "丙")
        assert e.value.extra["field"] == str(choice.id)
        with pytest.raises(ValidationError) as e:
            items.clean_value(s, actor, table, [{"name": "港珠澳", "invest": 1}, {"name": "", "invest": 2}])
        assert (e.value.extra["field"], e.value.extra["row"], e.value.extra["column"]) == (str(table.id), 1, "name")
        half = [{"name": "", "invest": 2}]  # a draft may leave a row's required cell for later
        assert items.clean_value(s, actor, table, half, partial=True) == {
            "rows": [{"invest": 2}],
            "totals": {"invest": 2},
        }


# Over HTTP ----------------------------------------------------------------------------------------------


def test_items_over_http(client: TestClient, db: Database, org: Org) -> None:
    body = {
        "code": "A01.001",
        "name": "辖区常住人口",
        "unit_label": "万人",
        "owner_dept_id": org.depts["A1"],
        "spec": NUMBER,
        "cycle": "year",
        "level": "public",
    }
    login(client, "laertes")  # not the owner
    r = client.post("/api/tianbao/items", json=body)
    assert r.status_code == 403 and count(db) == 0
    login(client, "polonius")
    r = client.post("/api/tianbao/items", json=body)
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["owner_dept_name"], item["level_name"], item["status"]) == ("综合处", "公开", "active")
    r = client.post("/api/tianbao/items", json=body | {"name": "常住人口（重复）"})
    assert r.status_code == 422 and r.json()["error"] == "code_taken" and r.json()["field"] == "code"
    r = client.put(f"/api/tianbao/items/{item['id']}", json={"definition": "年末常住人口", "version": 1})
    assert r.status_code == 200 and r.json()["definition"] == "年末常住人口" and r.json()["version"] == 2
    assert client.put(f"/api/tianbao/items/{item['id']}", json={"name": "x", "version": 1}).status_code == 409
    login(client, "laertes")
    proposal = body | {"code": "A02.001", "name": "重点项目个数", "level": "internal"}
    r = client.post("/api/tianbao/items/propose", json=proposal)
    assert r.status_code == 201 and r.json()["status"] == "proposed" and r.json()["proposed_by_name"] == "陈静"
    pid = r.json()["id"]
    assert client.post(f"/api/tianbao/items/{pid}/review", json={"approve": True, "version": 1}).status_code == 403
    login(client, "othello")  # agency B: sees the public item, not A's proposal
    codes = [i["code"] for i in client.get("/api/tianbao/items").json()["items"]]
    assert codes == ["A01.001"]
    assert client.get(f"/api/tianbao/items/{pid}").status_code == 404
    login(client, "polonius")
    assert client.get("/api/tianbao/items", params={"status": "proposed"}).json()["total"] == 1
    r = client.post(f"/api/tianbao/items/{pid}/review", json={"approve": True, "note": "同意", "version": 1})
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["reviewed_by_name"] == "王强"
    assert client.get("/api/tianbao/items", params={"owner": "mine"}).json()["total"] == 2
    assert client.get("/api/tianbao/items", params={"status": "nope"}).status_code == 422
    assert "directory.staff_count" in [s["key"] for s in client.get("/api/tianbao/sources").json()["items"]]
