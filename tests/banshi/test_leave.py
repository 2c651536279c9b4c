"""Leave: entitlement by years of service (《职工带薪年休假条例》第三条), the forfeiting cases (第四条),
days counted by the working calendar (国庆 2026 with its 调休 Saturday), refusal of annual leave
beyond the balance, the ledger written on approval, and the personnel office's audited adjustments."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from banshi import leave
from banshi import leave_rules as rules
from banshi.builtin import ensure_builtin_templates
from banshi.models import ApprovalRequest, FormTemplate, LeaveEntry, RequestStatus
from office.db import Database
from office.errors import ValidationError
from office.models import AuditEntry
from office.workcal import WorkCalendar, load_calendar
from tests.banshi.people_world import as_user, set_offices, set_work_start
from tests.factories import Org

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    ("work_start", "days"),
    [
        ("2026-01-01", 0),  # not a year yet
        ("2025-01-02", 4),  # a year on 2 January: 5 × 364/365 for the rest of the year, whole days
        ("2025-01-01", 5),  # 1 year by 1 January
        ("2016-01-02", 9),  # 10 years on 2 January: 5 + 5 × 364/365
        ("2016-01-01", 10),
        ("2006-01-02", 14),
        ("2006-01-01", 15),
        ("1990-06-30", 15),
        ("2026-07-01", 0),
        ("2027-01-01", 0),  # starts after the year
    ],
)
def test_entitlement_by_years_of_service(work_start: str, days: int) -> None:
    assert rules.entitlement(D(work_start), 2026) == days


def test_no_work_start_no_entitlement() -> None:
    assert rules.entitlement(None, 2026) == 0
    assert rules.years_completed(D("2000-02-29"), D("2001-02-28")) == 0
    assert rules.years_completed(D("2000-02-29"), D("2001-03-01")) == 1


def test_years_of_service_count_to_the_day_when_the_tenth_year_falls_mid_year(
    client: TestClient, db: Database, org: Org
) -> None:
    """Work started 1 July 2016: 10 years on 1 July 2026. The year's entitlement is 5 + 5 × 184/365 →
    7 (the extra days prorated from the anniversary); 累计工作年限 count to the day, so the summary
    says 9 years before 1 July and 10 from it, not 9 all year (counted from 1 January)."""
    start = D("2016-07-01")
    assert rules.entitlement(start, 2026) == 7
    before = leave.summarise([], start, 2026, today=D("2026-03-15"))
    after = leave.summarise([], start, 2026, today=D("2026-12-07"))
    assert (before["years_of_service"], after["years_of_service"]) == (9, 10)
    assert before["annual"]["entitled"] == after["annual"]["entitled"] == 7
    assert after["crossing"] == {"on": "2026-07-01", "years": 10, "extra": 5, "remaining": 184, "days": 2}
    assert leave.summarise([], start, 2027, today=D("2026-12-07"))["years_of_service"] == 10  # at its 1 January
    assert leave.summarise([], start, 2027, today=D("2026-12-07"))["crossing"] is None
    # Over HTTP, a past year counts to its 31 December: 2025 for work started 1 July 2015.
    set_work_start(db, org.users["hamlet"], "2015-07-01")
    b = as_user(client, "hamlet").get("/api/banshi/leave/balance", params={"year": 2025}).json()
    assert (b["years_of_service"], b["service_counted_to"], b["annual"]["entitled"]) == (10, "2025-12-31", 7)
    assert b["crossing"]["on"] == "2025-07-01" and b["crossing"]["days"] == 2


def test_forfeits_of_article_4() -> None:
    none = rules.YearUse()
    assert rules.forfeits(none, none, years=5, entitled=5) == []
    # (一) 寒暑假 longer than the annual leave
    assert rules.forfeits(rules.YearUse(school_vacation=6), none, years=5, entitled=5)
    assert rules.forfeits(rules.YearUse(school_vacation=5), none, years=5, entitled=5) == []
    # (二) 事假 20 days and more
    assert rules.forfeits(rules.YearUse(personal=20), none, years=5, entitled=5)
    assert rules.forfeits(rules.YearUse(personal=19.5), none, years=5, entitled=5) == []
    # (三)(四)(五) 病假 2 / 3 / 4 months by years of service
    for years, limit in ((1, 60), (9, 60), (10, 90), (19, 90), (20, 120), (35, 120)):
        assert rules.forfeits(rules.YearUse(sick=limit), none, years=years, entitled=5), years
        assert rules.forfeits(rules.YearUse(sick=limit - 1), none, years=years, entitled=5) == [], years
    # Leave taken last year, then 事假 or 病假 reached the limit that year: this year's is forfeited.
    assert rules.forfeits(none, rules.YearUse(annual=3, personal=20), years=5, entitled=5)
    assert rules.forfeits(none, rules.YearUse(annual=0, personal=20), years=5, entitled=5) == []


def test_workdays_across_national_day_2026(db: Database) -> None:
    with db.read() as s:
        cal = load_calendar(s, D("2026-09-01"), D("2026-10-31"))
    # 28–30 September, 8–9 October and Saturday 10 October (调休上班); 1–7 October are holidays.
    assert rules.count_days(cal, D("2026-09-28"), D("2026-10-10"), mode="workdays") == {2026: 6}
    assert rules.count_days(cal, D("2026-09-28"), D("2026-10-10"), mode="calendar") == {2026: 13}
    # Sunday 20 September is a working day (调休); half days off the ends.
    assert rules.count_days(cal, D("2026-09-19"), D("2026-09-21"), mode="workdays") == {2026: 2}
    assert rules.count_days(cal, D("2026-09-28"), D("2026-09-29"), mode="workdays", start_half="pm") == {2026: 1.5}
    assert rules.count_days(cal, D("2026-10-01"), D("2026-10-07"), mode="workdays") == {}


def test_leave_over_new_year_counts_in_both_years() -> None:
    weekdays = WorkCalendar({})  # no holidays marked: Monday to Friday
    assert rules.count_days(weekdays, D("2026-12-30"), D("2027-01-05"), mode="workdays") == {2026: 2, 2027: 3}
    assert rules.count_days(weekdays, D("2026-12-31"), D("2027-01-01"), mode="calendar", start_half="pm") == {
        2026: 0.5,
        2027: 1,
    }


def _annual(start: str, end: str, kind: str = "年休假") -> dict[str, object]:
    return {"kind": kind, "dates": {"start": start, "end": end}, "reason": "探亲"}


def _approve(db: Database, org: Org, values: dict[str, object], user: str = "hamlet") -> int:
    """A leave request approved through the behaviour (the service's final approval calls it)."""
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        template = s.exec(select(FormTemplate).where(FormTemplate.agency_id == org.agencies["A"],
                                                     FormTemplate.builtin == "leave")).one()  # fmt: skip
        assert template.id and template.published_version_id
        values = {**values, **leave.LeaveBehaviour().prepare(s, org.actor(user), template, dict(values))}
        r = ApprovalRequest(agency_id=org.agencies["A"], template_id=template.id,
                            version_id=template.published_version_id, title="请假", serial="202609280001",
                            applicant_id=org.users[user], values=values, status=RequestStatus.running)  # fmt: skip
        s.add(r)
        s.flush()
        leave.LeaveBehaviour().approved(s, r)
        r.status = RequestStatus.approved
        s.add(r)
        assert r.id is not None
        return r.id


def test_annual_leave_beyond_balance_refused(db: Database, org: Org) -> None:
    set_work_start(db, org.users["hamlet"], "2020-03-01")  # 6 years: 5 days
    with pytest.raises(ValidationError) as exc:
        _approve(db, org, _annual("2026-09-28", "2026-10-10"))  # 6 working days
    assert exc.value.status_code == 422
    assert exc.value.extra["field"] == "dates"
    assert exc.value.code == "annual_balance"
    assert "5 天" in exc.value.message
    with db.read() as s:
        assert s.exec(select(LeaveEntry)).all() == []  # nothing written
    _approve(db, org, _annual("2026-09-28", "2026-10-08"))  # 4 working days across the holiday
    with db.read() as s:
        info = leave.balance(s, org.users["hamlet"], 2026)["annual"]
        entries = s.exec(select(LeaveEntry).order_by(LeaveEntry.id)).all()  # type: ignore[arg-type]
    assert (info["entitled"], info["used"], info["remaining"]) == (5, 4, 1)
    assert [(e.kind, e.days, e.request_id is None) for e in entries] == [("annual", 5, True), ("annual", -4, False)]
    with pytest.raises(ValidationError):
        _approve(db, org, _annual("2026-11-02", "2026-11-03"))  # 2 days, 1 left
    _approve(db, org, _annual("2026-11-02", "2026-11-03", kind="事假"))  # no balance for 事假
    with db.read() as s:
        kinds = {k["kind"]: k["used"] for k in leave.balance(s, org.users["hamlet"], 2026)["kinds"]}
    assert kinds["annual"] == 4 and kinds["personal"] == 2


def test_pending_requests_count_against_the_balance(db: Database, org: Org) -> None:
    set_work_start(db, org.users["hamlet"], "2020-03-01")
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        t = s.exec(select(FormTemplate).where(FormTemplate.builtin == "leave")).first()
        assert t and t.id and t.published_version_id
        s.add(ApprovalRequest(agency_id=org.agencies["A"], template_id=t.id, version_id=t.published_version_id,
                              title="请假", applicant_id=org.users["hamlet"], status=RequestStatus.running,
                              values=_annual("2026-09-28", "2026-09-30")))  # fmt: skip
    with db.read() as s, pytest.raises(ValidationError) as exc:
        leave.LeaveBehaviour().prepare(s, org.actor("hamlet"), t, _annual("2026-11-02", "2026-11-04"))
    assert "可休 2 天" in exc.value.message


def test_forfeited_year_refuses_annual_leave(db: Database, org: Org) -> None:
    set_work_start(db, org.users["hamlet"], "2020-03-01")
    with db.write() as s:
        s.add(LeaveEntry(user_id=org.users["hamlet"], year=2026, kind="personal", days=-20, reason="纸质事假",
                         by_id=org.users["horatio"]))  # fmt: skip
    with db.read() as s:
        info = leave.balance(s, org.users["hamlet"], 2026)["annual"]
    assert info["remaining"] == 0 and "事假" in info["forfeited"][0]
    with pytest.raises(ValidationError) as exc:
        _approve(db, org, _annual("2026-11-02", "2026-11-02"))
    assert exc.value.code == "annual_forfeited"


def test_calendar_kinds_count_every_day(db: Database, org: Org) -> None:
    with db.read() as s:
        t = FormTemplate(agency_id=0, code="leave", name="请假")
        out = leave.LeaveBehaviour().prepare(s, org.actor("ophelia"), t, _annual("2026-09-28", "2026-10-10", "探亲假"))
    assert out["dates"]["days"] == 13


def test_personnel_office_adjusts_with_reason_audited(client: TestClient, db: Database, org: Org) -> None:
    set_offices(db, org)
    set_work_start(db, org.users["hamlet"], "2020-03-01")
    hamlet_id = org.users["hamlet"]
    url = f"/api/banshi/leave/people/{hamlet_id}"
    body = {"year": 2026, "kind": "annual", "days": 2, "reason": "上年度结转（经批准）"}
    staff, office, foreign = as_user(client, "ophelia"), as_user(client, "horatio"), as_user(client, "othello")
    assert staff.post(url, json=body).status_code == 403
    # Outside the personnel office a person of the agency, of another agency or none at all answer alike.
    assert staff.post("/api/banshi/leave/people/987654", json=body).status_code == 403
    assert foreign.post(url, json=body).status_code == 403
    r = office.post(url, json={**body, "reason": "  "})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    for days in (0.3, 0, 367, "NaN", "inf"):
        assert office.post(url, json={**body, "days": days}).status_code == 422, days
    own = office.post(f"/api/banshi/leave/people/{org.users['horatio']}", json=body)
    assert own.status_code == 403 and own.json()["error"] == "own_record"  # not one's own balance
    r = office.post(url, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["balance"]["annual"]["remaining"] == 7
    assert [e["part"] for e in r.json()["entries"]] == ["grant", "adjust"]
    with db.read() as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "banshi.leave.adjust")).one()
    assert audit.actor_id == org.users["horatio"] and audit.detail["reason"] == "上年度结转（经批准）"
    assert audit.detail["days"] == 2 and audit.target_id == str(hamlet_id)
    # The person sees their own history and balance; a colleague does not.
    me = as_user(client, "hamlet")
    assert me.get(url, params={"year": 2026}).json()["balance"]["annual"]["remaining"] == 7
    assert me.get("/api/banshi/leave/balance", params={"year": 2026}).json()["annual"]["remaining"] == 7
    assert staff.get(url).status_code == 403
    assert staff.get("/api/banshi/leave/people").status_code == 403
    listing = office.get("/api/banshi/leave/people", params={"year": 2026}).json()["items"]
    assert {p["name"] for p in listing} >= {"张伟", "李娜"} and "郑军" not in {p["name"] for p in listing}


def test_personnel_record_set_by_the_office(client: TestClient, db: Database, org: Org) -> None:
    set_offices(db, org)
    url = f"/api/banshi/personnel/{org.users['hamlet']}"
    office = as_user(client, "horatio")
    assert as_user(client, "hamlet").put(url, json={"work_start": "1990-01-01"}).status_code == 403
    mine = office.put(f"/api/banshi/personnel/{org.users['horatio']}", json={"work_start": "1990-01-01"})
    assert mine.status_code == 403 and mine.json()["error"] == "own_record"
    r = office.put(url, json={"work_start": "2099-01-01"})
    assert r.status_code == 422 and r.json()["field"] == "work_start"
    assert office.put(url, json={"work_start": "2016-01-01"}, params={"year": 2026}).status_code == 200
    # The year's grant written now stays until the date is corrected, then a correcting entry follows.
    with db.write() as s:
        leave.ensure_grant(s, org.users["hamlet"], 2026)
    r = office.put(url, json={"work_start": "2006-01-01"}, params={"year": 2026})
    assert r.json()["balance"]["annual"]["entitled"] == 15
    assert [e["days"] for e in r.json()["entries"]] == [10, 5]
    with db.read() as s:
        actions = s.exec(select(AuditEntry.action).where(AuditEntry.action == "banshi.personnel.update")).all()
    assert len(actions) == 2
