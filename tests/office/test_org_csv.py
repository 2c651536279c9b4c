"""CSV import/export of the organisation: idempotent, all-or-nothing, GBK detected, injection-safe."""

from __future__ import annotations

import csv
import io

from starlette.testclient import TestClient

from office.directory.csvio import neutralise
from tests.factories import Org, login

GOOD = (
    "机关,部门,姓名,用户名,职务,角色,电话,办公室,邮箱,工号,兼职\n"
    "省交通厅,办公室,李明,liming,主任,处室负责人,020-1,1号楼,,T1,\n"
    "省交通厅,办公室,王芳,wangfang,科员,科员,020-2,1号楼,,T2,规划处/综合科:兼职联络员\n"
    "省交通厅,规划处/综合科,赵磊,zhaolei,科长,文书/收发员;科员,020-3,2号楼,,T3,\n"
)


def _import(client: TestClient, data: bytes, dry: bool = False):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/admin/org/import" + ("?dry_run=1" if dry else ""), content=data, headers={"content-type": "text/csv"}
    )


def test_import_is_idempotent_and_builds_tree(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = _import(client, GOOD.encode())
    assert r.status_code == 200, r.text
    assert r.json()["created_users"] == 3 and r.json()["created_departments"] == 4
    again = _import(client, GOOD.encode()).json()
    assert again["created_users"] == 0 and again["updated_users"] == 0 and again["unchanged_users"] == 3
    assert again["created_departments"] == 0
    card = client.get("/api/directory/search", params={"q": "wangfang"}).json()["items"][0]
    assert {p["title"] for p in card["posts"]} == {"科员", "兼职联络员"}


def test_gbk_file_is_detected(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = _import(client, GOOD.encode("gbk"))
    assert r.status_code == 200 and r.json()["created_users"] == 3


def test_bad_rows_reported_by_line_and_nothing_imported(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    bad = GOOD + "省交通厅,办公室,,nobody,科员,科员,,,,,\n" + "省交通厅,办公室,钱七,liming,科员,魔法师,,,,,\n"
    r = _import(client, bad.encode())
    assert r.status_code == 422
    lines = {e["line"] for e in r.json()["errors"]}
    assert lines == {5, 6}
    assert client.get("/api/directory/search", params={"q": "liming"}).json()["items"] == []


def test_wrong_columns_and_encoding(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = _import(client, "名字,电话\n张三,1\n".encode())
    assert r.status_code == 422 and r.json()["error"] == "bad_columns"
    r = _import(client, b"\xff\xfe\x00garbage\x81\x30")
    assert r.status_code == 422
    assert _import(client, b"").status_code == 422


def test_dry_run_changes_nothing(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = _import(client, GOOD.encode(), dry=True)
    assert r.status_code == 200 and r.json()["dry_run"] is True and r.json()["created_users"] == 3
    assert client.get("/api/directory/search", params={"q": "liming"}).json()["items"] == []


def test_export_roundtrip_and_formula_neutralised(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    client.patch(f"/api/admin/users/{org.users['hamlet']}", json={"office": '=HYPERLINK("http://x")'})
    r = client.get("/api/admin/org/export")
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    text = r.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    again = _import(client, r.content)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["created_users"] == 0 and body["created_departments"] == 0


def test_export_neutralises_full_width_and_control_formula_leads(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    leads = {
        "hamlet": "＝1+1",
        "ophelia": "＋86 20 1234",
        "horatio": "－2+3",
        "othello": "＠SUM(1)",
        "iago": "﹦1+1",
        "laertes": "=1+1",
        "yorick": "@SUM(1)",
    }
    for user, office in leads.items():
        r = client.patch(f"/api/admin/users/{org.users[user]}", json={"office": office})
        assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(client.get("/api/admin/org/export").content.decode("utf-8-sig"))))
    offices = {row[3]: row[7] for row in rows[1:]}
    assert {user: offices[user] for user in leads} == {user: "'" + office for user, office in leads.items()}
    assert offices["polonius"] == ""  # ordinary cells are left alone
    # Stored text is trimmed, so leading tab and CR reach the export only through import; the rule:
    for cell in ("\t=1+1", "\r=1+1", "＝1+1", "﹫x", "-1"):
        assert neutralise(cell) == "'" + cell
    for cell in ("", "张三", "x=1", "（一）", "㈠"):
        assert neutralise(cell) == cell
