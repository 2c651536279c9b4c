"""A task's summary: totals over the units that submitted, per unit and per group, the previous
period's total and the change; its xlsx export, where 敏感 items need a session opened with the
second factor and come out watermarked, and every export is audited."""

from __future__ import annotations

import io
from typing import Any

import pyotp
import pytest
from openpyxl import load_workbook
from sqlalchemy import event, update
from sqlmodel import col, select
from starlette.testclient import TestClient

from office.errors import NotFound, ValidationError
from office.models import AuditEntry
from tests.factories import PASSWORD, Org, login, new_client
from tests.tianbao import report_world as rw
from tianbao import summary, tasks
from tianbao.models import CurrentValue


def _world(org: Org, *, sensitive: bool = False) -> tuple[rw.World, int]:
    w = rw.build(org, sensitive=sensitive)
    for unit, pop, gdp in (("U1", 10, 100_000), ("U2", 6, 50_000)):
        rw.store(w, unit, "POP", "2026Q3", pop)
        rw.store(w, unit, "GDP", "2026Q3", gdp)
    task_id = rw.issue(w, "polonius", ["POP", "GDP", "NOTE"], ["U1", "U2"])
    return w, task_id


def _summary(w: rw.World, task_id: int, who: str = "polonius", **kw: Any) -> dict[str, Any]:
    with w.org.db.read() as s:
        task = tasks.get_task_for_collector(s, w.actor(who), task_id)
        return summary.summary(s, task, **kw)


def _item(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for i in data["items"] if i["code"] == code)


def test_totals_count_submitted_units_and_compare_with_the_previous_period(org: Org) -> None:
    w, task_id = _world(org)
    why = {"POP": "新数", "GDP": "新数"}
    rw.store(w, "U2", "POP", "2026Q4", 99)  # in the registry already, but 基层二所 has not submitted this task
    rw.fill_and_submit(w, task_id, "U1", {"POP": 13, "GDP": "200000", "NOTE": "说明"}, why)
    data = _summary(w, task_id)
    assert data["counts"]["submitted"] == 1 and data["counts"]["filling"] + data["counts"]["not_started"] == 1
    pop = _item(data, "POP")
    assert [i["code"] for i in data["items"]] == ["POP", "GDP"]  # numeric items only
    assert pop["total"] == 13 and pop["count"] == 1  # the unit still filling is not counted
    assert pop["previous_period"] == "2026Q3" and pop["previous_total"] == 16  # both units' last quarter
    rw.fill_and_submit(w, task_id, "U2", {"POP": 7, "GDP": "50000"}, why)
    data = _summary(w, task_id)
    pop, gdp = _item(data, "POP"), _item(data, "GDP")
    assert pop["total"] == 20 and pop["count"] == 2 and pop["change_pct"] == 25.0  # 16 -> 20
    assert gdp["total"] == 250_000 and gdp["previous_total"] == 150_000 and gdp["change_pct"] == 66.67
    units = {u["unit_name"]: u for u in data["units"]}
    assert units["基层一所"]["values"][str(w.items["POP"].id)] == 13
    assert units["基层二所"]["values"][str(w.items["GDP"].id)] == 50_000
    assert [(g["name"], g["total"], g["count"]) for g in pop["groups"]] == [("省政府办公厅", 20, 2)]
    by_depth = _summary(w, task_id, level="depth")
    assert [(g["name"], g["total"]) for g in _item(by_depth, "POP")["groups"]] == [("第 2 级", 20)]
    no_compare = _summary(w, task_id, compare=False)
    assert "previous_total" not in _item(no_compare, "POP")


def test_the_previous_period_is_summed_in_sql_and_only_numbers_count(org: Org) -> None:
    """Over 2,000 units the previous period was 100,000 rows parsed one by one in Python; now it
    comes back as one row per item (SUM and COUNT of the values that are JSON numbers), and the
    period's own values come back as numbers made in SQL."""
    w, task_id = _world(org)
    rw.fill_and_submit(w, task_id, "U1", {"POP": 13, "GDP": "200000"}, {"POP": "新数", "GDP": "新数"})
    with org.db.write() as s:  # a value that is not a number (stored before the item was numeric, say)
        s.execute(
            update(CurrentValue)
            .where(col(CurrentValue.unit_id) == w.units["U2"], col(CurrentValue.item_id) == w.items["POP"].id)
            .values(value="十万")
        )
    sent: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, params: Any, *_rest: Any) -> None:
        sent.append((statement, params))

    with org.db.read() as s:
        task = tasks.get_task_for_collector(s, w.actor("polonius"), task_id)
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", keep)
        try:
            data = summary.summary(s, task)
        finally:
            event.remove(conn, "before_cursor_execute", keep)
        reads = [(q, p) for q, p in sent if "FROM tb_value_current" in q]
        assert len(reads) == 2, reads
        summed = [(q, p) for q, p in reads if "GROUP BY" in q]
        assert len(summed) == 1, reads
        rows = conn.exec_driver_sql(*summed[0]).all()
        assert len(rows) == 2  # POP and GDP: one row each, whatever the number of units
    pop, gdp = _item(data, "POP"), _item(data, "GDP")
    assert pop["previous_total"] == 10 and pop["total"] == 13  # 基层二所's "十万" is not a number
    assert gdp["previous_total"] == 150_000 and gdp["total"] == 200_000
    assert data["units"][0]["values"][str(w.items["POP"].id)] == 13


def test_only_the_collecting_department_reads_the_summary(org: Org) -> None:
    w, task_id = _world(org)
    with pytest.raises(NotFound):
        _summary(w, task_id, who="filler1")
    with pytest.raises(ValidationError):
        _summary(w, task_id, level="bogus")
    assert _summary(w, task_id, who="ophelia")["task"]["id"] == task_id  # a member of 综合处


def _enrol(client: TestClient, username: str) -> str:
    login(client, username)
    secret: str = client.post("/api/me/2fa/setup").json()["secret"]
    assert client.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    return secret


def _exports(org: Org, task_id: int) -> list[AuditEntry]:
    with org.db.read() as s:
        return list(
            s.exec(
                select(AuditEntry).where(
                    AuditEntry.action == "tianbao.summary.export", AuditEntry.target_id == str(task_id)
                )
            )
        )


def test_sensitive_export_needs_a_second_factor_login_and_is_watermarked_and_audited(
    client: TestClient, app: Any, org: Org
) -> None:
    w, task_id = _world(org, sensitive=True)  # GDP is 敏感
    rw.fill_and_submit(w, task_id, "U1", {"POP": 13, "GDP": "200000"}, {"POP": "新", "GDP": "新"})
    url = f"/api/tianbao/tasks/{task_id}/summary.xlsx"
    login(client, "polonius")
    r = client.get(url)
    assert r.status_code == 403 and r.json()["error"] == "needs_2fa"  # no TOTP at all
    secret = _enrol(client, "polonius")
    r = client.get(url)  # TOTP on now, but this session was opened with the password alone
    assert r.status_code == 403 and r.json()["error"] == "needs_2fa"
    assert _exports(org, task_id) == []
    assert client.get(f"/api/tianbao/tasks/{task_id}/summary").status_code == 200  # reading on screen is not exporting

    second = new_client(app)
    assert second.post("/api/auth/login", json={"username": "polonius", "password": PASSWORD}).json() == {
        "totp_required": True
    }
    second.headers["x-csrf-token"] = second.cookies.get("tb_csrf") or ""
    assert second.post("/api/auth/totp", json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    r = second.get(url)
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["汇总"]
    assert "水印" in ws["A2"].value and "王强" in ws["A2"].value  # the exporter, by name
    assert "王强" in ws.oddHeader.center.text and "王强" in ws.oddFooter.center.text
    assert "水印" in wb["分单位"]["A1"].value
    entries = _exports(org, task_id)
    assert len(entries) == 1 and entries[0].detail["sensitive"] is True and entries[0].actor_name == "王强"


def test_an_export_without_sensitive_items_needs_no_second_factor(client: TestClient, org: Org) -> None:
    w, task_id = _world(org)
    rw.fill_and_submit(w, task_id, "U1", {"POP": 13, "GDP": "200000"}, {"POP": "新", "GDP": "新"})
    login(client, "polonius")
    r = client.get(f"/api/tianbao/tasks/{task_id}/summary.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content))["汇总"]
    assert ws["A2"].value == "编码" and ws["E3"].value == 13  # no 水印 row; 合计 of 常住人口
    assert len(_exports(org, task_id)) == 1
    login(client, "othello")  # another agency
    assert client.get(f"/api/tianbao/tasks/{task_id}/summary.xlsx").status_code == 404


def test_summary_text_in_the_export_is_never_a_formula(org: Org) -> None:
    data = {
        "task": {"title": '=HYPERLINK("http://x")', "period": "2026Q4"},
        "items": [
            {
                "item_id": 1,
                "code": "@A",
                "name": "+1",
                "unit_label": "-1",
                "type": "number",
                "period": "2026Q4",
                "total": 1,
                "count": 1,
                "groups": [{"name": "=x", "total": 1, "count": 1}],
            }
        ],
        "units": [{"unit_name": "=cmd", "agency_name": "＝x", "status": "submitted", "values": {"1": 1}}],
    }
    wb = load_workbook(io.BytesIO(summary.to_xlsx(data, watermark="=水印")))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
