"""Travel standards (examples shipped and marked, edited by the finance office, audited) and the
差旅费报销 behaviour: lodging capped at nights × cap, allowances by days, totals, rows over the cap."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from banshi import travel
from banshi.builtin import ensure_builtin_templates
from banshi.models import FormTemplate, TravelStandard
from office.db import Database
from office.errors import ValidationError
from office.models import AuditEntry
from tests.banshi.people_world import as_user, set_offices
from tests.factories import Org


def _row(region: str, start: str, end: str, *, nights: int, lodging: int, tickets: int = 0) -> dict[str, object]:
    return {"region": region, "start": start, "end": end, "nights": nights, "lodging": lodging, "tickets": tickets}


def _prepare(db: Database, org: Org, rank: str, rows: list[dict[str, object]]) -> dict[str, object]:
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        t = s.exec(select(FormTemplate).where(FormTemplate.builtin == "expense")).first()
        assert t is not None
        return travel.ExpenseBehaviour().prepare(s, org.actor("hamlet"), t, {"rank": rank, "details": {"rows": rows}})


def test_allowances_and_capped_lodging(db: Database, org: Org) -> None:
    out = _prepare(
        db,
        org,
        "其他人员",
        [
            # 北京, 3 days, 2 nights at 1,200 元 against a cap of 2 × 500 元.
            _row("北京", "2026-03-02", "2026-03-04", nights=2, lodging=120_000, tickets=55_300),
            # 广东/广州 falls back to 广东; 1 night under its cap of 450 元.
            _row("广东/广州", "2026-03-05", "2026-03-06", nights=1, lodging=40_000),
            # Anywhere else: "*"; a day trip.
            _row("湖南/长沙", "2026-03-07", "2026-03-07", nights=0, lodging=0),
        ],
    )
    allowances = out["allowances"]
    assert isinstance(allowances, dict)
    first, second, third = allowances["rows"]
    assert (first["days"], first["lodging_cap"], first["lodging"], first["over_cap"]) == (3, 100_000, 100_000, True)
    assert first["over_by"] == 20_000
    assert (first["meal"], first["transport"]) == (3 * 10_000, 3 * 8_000)
    assert first["total"] == 55_300 + 100_000 + 30_000 + 24_000
    assert second["standard"]["region"] == "广东" and second["lodging"] == 40_000 and not second["over_cap"]
    assert third["standard"]["region"] == "*" and third["days"] == 1 and third["lodging"] == 0
    totals = allowances["totals"]
    assert totals["total"] == first["total"] + second["total"] + third["total"]
    assert totals["lodging"] == 140_000 and totals["meal"] == 60_000
    assert out["amount"] == totals["total"]
    assert allowances["over_cap_rows"] == [1]
    assert allowances["examples_used"] is True and "示例" in allowances["example_note"]


@pytest.mark.parametrize(
    ("rank", "row", "field"),
    [
        ("处级", _row("北京", "2026-03-02", "2026-03-04", nights=1, lodging=0), "rank"),
        ("其他人员", _row("北京", "2026-03-04", "2026-03-02", nights=1, lodging=0), "details"),
        ("其他人员", _row("北京", "2026-03-02", "2026-03-03", nights=3, lodging=0), "details"),
    ],
)
def test_bad_rows_refused_naming_the_field(
    db: Database, org: Org, rank: str, row: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        _prepare(db, org, rank, [row])
    assert exc.value.status_code == 422 and exc.value.extra["field"] == field


def test_examples_shipped_once_and_marked(db: Database, org: Org) -> None:
    with db.write() as s:
        assert travel.ensure_examples(s, org.agencies["A"]) is True
        assert travel.ensure_examples(s, org.agencies["A"]) is False
        rows = travel.standards(s, org.agencies["A"])
    assert rows and all(r.is_example for r in rows)
    assert rows[0].region == "*"


def test_finance_office_edits_standards_audited(client: TestClient, db: Database, org: Org) -> None:
    set_offices(db, org)
    with db.write() as s:
        travel.ensure_examples(s, org.agencies["A"])
        travel.ensure_examples(s, org.agencies["B"])
    staff, finance = as_user(client, "hamlet"), as_user(client, "laertes")
    got = staff.get("/api/banshi/travel-standards").json()  # everyone reads them (the form uses them)
    assert got["has_examples"] is True and "并非官方标准" in got["example_note"]
    items = [{**i, "is_example": False} if i["region"] == "*" else i for i in got["items"]]
    items = [i for i in items if i["region"] in ("*", "北京")]
    items[0] = {**items[0], "lodging_fen": 36_000}
    assert staff.put("/api/banshi/travel-standards", json={"items": items}).status_code == 403
    r = finance.put("/api/banshi/travel-standards", json={"items": [i for i in items if i["region"] != "*"]})
    assert r.status_code == 422 and r.json()["error"] == "default_required"
    r = finance.put("/api/banshi/travel-standards", json={"items": [*items, items[-1]]})
    assert r.status_code == 422 and r.json()["error"] == "duplicate"
    r = finance.put("/api/banshi/travel-standards", json={"items": [{**items[0], "meal_fen": "100"}]})
    assert r.status_code == 422
    r = finance.put("/api/banshi/travel-standards", json={"items": items})
    assert r.status_code == 200, r.text
    saved = {(i["region"], i["rank"]): i for i in r.json()["items"]}
    assert len(saved) == 6
    assert saved[("*", "部级")]["lodging_fen"] == 36_000 and saved[("*", "部级")]["is_example"] is False
    assert saved[("北京", "部级")]["is_example"] is True
    with db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "banshi.travel_standards.update")).one()
        other = s.exec(select(TravelStandard).where(TravelStandard.agency_id == org.agencies["B"])).all()
    assert entry.actor_id == org.users["laertes"] and entry.detail["rows"] == 6
    assert len(other) == 15  # another agency's table is untouched
