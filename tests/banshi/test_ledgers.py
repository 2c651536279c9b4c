"""The ledgers: per department and month, requests applied and approved per form and the amounts
approved; leave per person; the xlsx export (opened with openpyxl: user text never a formula)."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlmodel import select
from starlette.testclient import TestClient

from banshi import ledgers
from banshi.builtin import ensure_builtin_templates
from banshi.models import ApprovalRequest, FormTemplate, RequestStatus
from office.db import Database
from office.models import AuditEntry
from tests.banshi.people_world import as_user, set_offices
from tests.factories import Org

UTC = dt.UTC


def _request(
    org: Org,
    t: FormTemplate,
    user: str,
    dept: str,
    *,
    submitted: dt.datetime,
    finished: dt.datetime | None = None,
    status: RequestStatus = RequestStatus.running,
    amount: int | None = None,
    values: dict[str, object] | None = None,
    days: float | None = None,
) -> ApprovalRequest:
    assert t.id and t.published_version_id
    return ApprovalRequest(agency_id=org.agencies["A"], template_id=t.id, version_id=t.published_version_id,
                           title=t.name, applicant_id=org.users[user], applicant_dept_id=org.depts[dept],
                           values=values or {}, status=status, amount_fen=amount, days=days,
                           submitted_at=submitted, finished_at=finished)  # fmt: skip


def _world(db: Database, org: Org) -> None:
    set_offices(db, org)
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        by = {t.builtin: t for t in s.exec(select(FormTemplate).where(FormTemplate.agency_id == org.agencies["A"]))}
        by["purchase"].name = "=1+1"  # an administrator's name for a form, exported as text
        s.add(by["purchase"])
        oct_ = dt.datetime(2026, 10, 12, 2, tzinfo=UTC)
        s.add_all(
            [
                _request(org, by["purchase"], "hamlet", "A1", submitted=oct_, finished=oct_, amount=1_234_567,
                         status=RequestStatus.approved),
                _request(org, by["purchase"], "ophelia", "A1", submitted=oct_, amount=9_900_000),  # not approved
                _request(org, by["expense"], "horatio", "A2", submitted=oct_, finished=oct_, amount=50_000,
                         status=RequestStatus.approved),
                _request(org, by["leave"], "hamlet", "A1", submitted=oct_, finished=oct_, days=4,
                         status=RequestStatus.approved, values={"kind": "年休假"}),
                # 30 September 17:00 UTC is 1 October 01:00 in China: October's.
                _request(org, by["leave"], "ophelia", "A1", submitted=dt.datetime(2026, 9, 30, 17, tzinfo=UTC),
                         finished=dt.datetime(2026, 9, 30, 17, tzinfo=UTC), days=1.5, status=RequestStatus.approved,
                         values={"kind": "病假"}),
                # September in China: not counted.
                _request(org, by["leave"], "ophelia", "A1", submitted=dt.datetime(2026, 9, 30, 15, tzinfo=UTC),
                         finished=dt.datetime(2026, 9, 30, 15, tzinfo=UTC), days=2, status=RequestStatus.approved,
                         values={"kind": "事假"}),
            ]
        )  # fmt: skip


def test_ledger_counts_per_department_and_month(client: TestClient, db: Database, org: Org) -> None:
    _world(db, org)
    office = as_user(client, "laertes")
    r = office.get("/api/banshi/ledger", params={"month": "2026-10"})
    assert r.status_code == 200, r.text
    rows = {(i["department"], i["template"]): i for i in r.json()["items"]}
    assert rows[("综合处", "=1+1")] == {
        **rows[("综合处", "=1+1")],
        "applied": 2,
        "approved": 1,
        "approved_fen": 1_234_567,
    }
    assert rows[("秘书处", "差旅费报销")]["approved_fen"] == 50_000
    assert rows[("综合处", "请假")]["applied"] == 2
    assert r.json()["totals"]["approved_fen"] == 1_284_567
    leave = {(p["name"], p["kind"]): p["days"] for p in r.json()["leave"]}
    assert leave == {("张伟", "年休假"): 4, ("李娜", "病假"): 1.5}
    one = office.get("/api/banshi/ledger", params={"month": "2026-10", "department_id": org.depts["A2"]}).json()
    assert {i["department"] for i in one["items"]} == {"秘书处"}
    for bad in ("2026-13", "2026-1", "20２６-10", "2026-10-01"):
        assert office.get("/api/banshi/ledger", params={"month": bad}).status_code == 422, bad
    assert as_user(client, "hamlet").get("/api/banshi/ledger", params={"month": "2026-10"}).status_code == 403
    assert as_user(client, "othello").get("/api/banshi/ledger").status_code == 403


def test_xlsx_export_has_no_formula_from_user_text(client: TestClient, db: Database, org: Org) -> None:
    _world(db, org)
    r = as_user(client, "horatio").get("/api/banshi/ledger.xlsx", params={"month": "2026-10"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'=1+1" in texts and "=1+1" not in texts
    sheet = wb["办事台账"]
    amounts = {r[2]: r[5] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert amounts["'=1+1"] == 12345.67
    assert ("2026-10", "张伟", "综合处", "年休假", 4) in set(wb["请假"].iter_rows(min_row=2, values_only=True))
    with db.read() as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "banshi.ledger.export")).one()


def test_month_bounds_are_china_time() -> None:
    start, end = ledgers.month_bounds("2026-12")
    assert start == dt.datetime(2026, 11, 30, 16, tzinfo=UTC) and end == dt.datetime(2026, 12, 31, 16, tzinfo=UTC)
