"""催办 and 督办: the pure reminder schedule, reminders firing on a clock the test controls, manual
reminders and escalation, meeting tasks arriving by event, the dashboard and its exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import select

from docs_flow import supervision, supervision_reminders
from docs_flow.incoming_models import SupervisionItem
from docs_flow.supervision import DEFAULT_SCHEDULE
from docs_flow.supervision_reminders import ItemState, due_reminders
from office import events
from office.actor import SYSTEM
from office.directory import service as directory
from tests.conftest import Recorder
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import ok
from tests.factories import Org, make_user

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHINA = ZoneInfo("Asia/Shanghai")


def test_due_reminders_is_a_pure_schedule() -> None:
    item = ItemState(1, deadline=T0 + timedelta(hours=100))
    assert due_reminders([item], T0, DEFAULT_SCHEDULE) == []
    at_70 = due_reminders([item], T0 + timedelta(hours=30), DEFAULT_SCHEDULE)
    assert [r.stage for r in at_70] == ["before:72"]
    sent = ItemState(1, item.deadline, reminders=("before:72",))
    assert due_reminders([sent], T0 + timedelta(hours=31), DEFAULT_SCHEDULE) == []
    # Only the nearest threshold crossed is sent (no burst of stale "72 hours" after a long pause).
    assert [r.stage for r in due_reminders([item], T0 + timedelta(hours=90), DEFAULT_SCHEDULE)] == ["before:24"]
    overdue = due_reminders([item], T0 + timedelta(hours=101), DEFAULT_SCHEDULE)
    assert [(r.stage, r.kind) for r in overdue] == [("overdue:0", "overdue")]
    later = due_reminders(
        [ItemState(1, item.deadline, reminders=("overdue:0",))], T0 + timedelta(hours=150), DEFAULT_SCHEDULE
    )
    assert [(r.stage, r.kind) for r in later] == [("overdue:2", "overdue"), ("escalate:1", "escalate")]
    done = ItemState(1, item.deadline, status="done")
    assert due_reminders([done], T0 + timedelta(hours=500), DEFAULT_SCHEDULE) == []
    custom = {**DEFAULT_SCHEDULE, "before_hours": [2], "escalate_after_hours": 0}
    assert due_reminders([item], T0 + timedelta(hours=90), custom) == []
    assert [r.kind for r in due_reminders([item], T0 + timedelta(hours=400), custom)] == ["overdue"]


def make_item(org: Org, *, hours: float, dept: str = "A1", title: str = "督办事项") -> int:
    with org.db.write() as s:
        row = supervision.track(
            s,
            org.actor("claudius"),
            agency_id=org.agencies["A"],
            source_kind="instruction",
            source_id=f"t-{title}-{hours}",
            title=title,
            owner_department_id=org.depts[dept],
            deadline=T0 + timedelta(hours=hours),
        )
        row.created_at = T0 - timedelta(hours=10)
        s.add(row)
        return row.id or 0


def test_reminders_fire_on_the_test_clock_once_per_stage(users: Clients, org: Org, recorder: Recorder) -> None:
    item_id = make_item(org, hours=48)
    assert supervision_reminders.remind_all(org.db, now=T0) == 1  # 48 h left: the 72-hour reminder
    notes = recorder.of("notify.supervision")
    assert len(notes) == 1 and notes[0].user_ids == (org.users["polonius"],)
    assert notes[0].payload["title"] == "催办：督办事项" and "还剩约 48 小时" in notes[0].payload["body"]
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=1)) == 0  # not twice
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=30)) == 1  # 18 h left
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=49)) == 1  # overdue
    recorder.clear()
    # 48 hours overdue: the overdue reminder of that day plus an escalation to the agency's leaders.
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=97)) == 2
    titles = [e.payload["title"] for e in recorder.of("notify.supervision")]
    assert titles == ["催办：督办事项", "督办升级（1 级）：督办事项"]
    assert org.users["claudius"] in recorder.of("notify.supervision")[1].user_ids
    with org.db.read() as s:
        row = s.get(SupervisionItem, item_id)
        assert row.escalation_level == 1  # type: ignore[union-attr]
        assert [h["action"] for h in row.history] == [
            "create",
            "remind",
            "remind",
            "remind",
            "remind",  # type: ignore[union-attr]
            "escalate",
        ]
        assert row.reminders == ["before:72", "before:24", "overdue:0", "overdue:2", "escalate:1"]  # type: ignore[union-attr]
    # Reminders arrive as 工作通知 messages through messaging's notify.* subscriber.
    from messaging.models import Message, MessageKind

    with org.db.read() as s:
        notices = s.exec(select(Message.body).where(Message.kind == MessageKind.notice)).all()
        assert any(b.startswith("督办升级（1 级）：督办事项") for b in notices)


def test_schedule_is_configurable_by_the_administrator(users: Clients, org: Org) -> None:
    r = users["gertrude"].put("/api/supervision/schedule", json={"before_hours": [4]})
    assert r.status_code == 403
    r = users["prospero"].put("/api/supervision/schedule", json={"before_hours": [0]})
    assert r.status_code == 422 and r.json()["error"] == "bad_schedule"
    got = ok(
        users["prospero"].put("/api/supervision/schedule", json={"before_hours": [4, 1], "escalate_after_hours": 0})
    )
    assert got["before_hours"] == [4, 1] and got["escalate_after_hours"] == 0
    make_item(org, hours=48)
    assert supervision_reminders.remind_all(org.db, now=T0) == 0  # 72-hour reminder no longer configured
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=45)) == 1
    assert supervision_reminders.remind_all(org.db, now=T0 + timedelta(hours=500)) == 1  # overdue, never escalated


def test_manual_reminder_escalation_and_completion(users: Clients, org: Org, recorder: Recorder) -> None:
    g = users["gertrude"]
    bad = [
        (
            {"title": "落实批示", "deadline": "2020-01-01T00:00:00+08:00", "owner_department_id": org.depts["A1"]},
            "deadline_past",
        ),
        (
            {"title": "落实批示", "deadline": "2099-01-01T00:00:00+08:00", "owner_department_id": 999999},
            "bad_department",
        ),
        (
            {"title": "落实批示", "deadline": "2099-01-01T00:00:00+08:00", "owner_department_id": org.depts["B1"]},
            "bad_department",
        ),
        ({"title": "落实批示", "deadline": "2099-01-01T00:00:00+08:00"}, "owner_required"),
        (
            {"title": " ", "deadline": "2099-01-01T00:00:00+08:00", "owner_department_id": org.depts["A1"]},
            "title_required",
        ),
    ]
    for payload, code in bad:
        r = g.post("/api/supervision/items", json=payload)
        assert r.status_code == 422 and r.json()["error"] == code, (payload, r.text)
    assert users["hamlet"].post("/api/supervision/items", json=bad[0][0]).status_code == 403
    item = g.post(
        "/api/supervision/items",
        json={
            "title": "落实省领导批示精神",
            "owner_department_id": org.depts["A2"],
            "deadline": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
        },
    )
    assert item.status_code == 201, item.text
    item_id = item.json()["id"]
    recorder.clear()
    ok(g.post(f"/api/supervision/items/{item_id}/remind", json={"message": "请于周五前反馈"}))
    note = recorder.of("notify.supervision")[-1]
    assert note.user_ids == (org.users["laertes"],) and note.payload["body"] == "请于周五前反馈"
    r = g.post(f"/api/supervision/items/{item_id}/escalate", json={"reason": ""})
    assert r.status_code == 422
    got = ok(g.post(f"/api/supervision/items/{item_id}/escalate", json={"reason": "多次催办未反馈"}))
    assert got["escalation_level"] == 1
    # The owning department's head sees and completes it; another department sees nothing.
    assert ok(users["polonius"].get("/api/supervision/items"))["total"] == 0
    assert users["polonius"].post(f"/api/supervision/items/{item_id}/complete", json={}).status_code == 404
    assert ok(users["laertes"].get("/api/supervision/items"))["total"] == 1
    recorder.clear()
    done = ok(users["laertes"].post(f"/api/supervision/items/{item_id}/complete", json={"reason": "已落实"}))
    assert done["status"] == "done" and not done["late"]
    # The owner's 工作台 hears of it (the 督办 source listens to supervision.item).
    completed = recorder.of("supervision.item")
    assert [e.payload["op"] for e in completed] == ["complete"] and org.users["laertes"] in completed[0].user_ids
    r = g.post(f"/api/supervision/items/{item_id}/remind", json={})
    assert r.status_code == 409 and r.json()["error"] == "item_done"


def test_meeting_tasks_arrive_by_event(users: Clients, org: Org) -> None:
    # The payloads meetings declares for meeting.task_created: a 责任单位 typed as a department's
    # name in the meeting's agency, a 责任人; the last one is malformed on purpose (unchecked).
    common = {"meeting_id": 7, "meeting_title": "局务会", "agency_id": org.agencies["A"], "source": "meetings"}
    with org.db.write() as s:
        events.publish_on_commit(
            s,
            "meeting.task_created",
            common
            | {
                "task_id": 31,
                "title": "会议议定：完善值班制度",
                "owner_id": None,
                "owner_unit": "秘书处",
                "due_date": "2099-06-30",
            },
        )
        events.publish_on_commit(
            s,
            "meeting.task_created",
            common
            | {
                "task_id": 32,
                "title": "个人任务",
                "owner_id": org.users["hamlet"],
                "owner_unit": "",
                "due_date": "2099-06-29",
            },
        )
    with org.db.write() as s, events.unchecked():
        events.publish_on_commit(s, "meeting.task_created", {"meeting_id": 7, "task_id": 33, "due_date": "明天"})
    items = ok(users["gertrude"].get("/api/supervision/items?source=meeting_task"))["items"]
    assert [(i["title"], i["owner_department"]) for i in items] == [
        ("个人任务", ""),
        ("会议议定：完善值班制度", "秘书处"),
    ]
    assert items[1]["deadline"].startswith("2099-06-30T15:59:59") and items[1]["link"] == "/meetings/7"
    assert ok(users["hamlet"].get("/api/supervision/items"))["total"] == 1  # his own task
    with org.db.write() as s:
        events.publish_on_commit(s, "meeting.task_completed", {"task_id": 31})
    assert ok(users["gertrude"].get("/api/supervision/items?status=done"))["total"] == 1


def test_dashboard_by_department_trend_and_exports(users: Clients, org: Org) -> None:
    now = datetime.now(UTC)
    # The trend counts by China day: the first item falls due at 18:00 yesterday (China time), so it
    # is overdue at the end of yesterday and not the day before, whatever the hour this runs.
    today = now.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday_evening = (today - timedelta(hours=6)).astimezone(UTC)
    with org.db.write() as s:
        for hours, dept, title in [
            (None, "A1", '=HYPERLINK("http://x")'),
            (10, "A1", "即将到期"),
            (500, "A1", "未到期"),
            (-5, "A2", "+逾期二"),
            (200, "A2", "已办结"),
        ]:
            deadline = yesterday_evening if hours is None else now + timedelta(hours=hours)
            row = supervision.track(
                s,
                org.actor("claudius"),
                agency_id=org.agencies["A"],
                source_kind="instruction",
                source_id=title,
                title=title,
                owner_department_id=org.depts[dept],
                deadline=deadline,
            )
            row.created_at = now - timedelta(days=3)
            if title == "已办结":
                supervision._complete(row, org.actor("laertes"))
            s.add(row)
    dash = ok(users["gertrude"].get("/api/supervision/dashboard"))
    by = {d["department"]: d for d in dash["departments"]}
    assert (by["综合处"]["open"], by["综合处"]["overdue"], by["综合处"]["due_soon"]) == (3, 1, 1)
    assert (by["秘书处"]["open"], by["秘书处"]["overdue"], by["秘书处"]["done_on_time"]) == (1, 1, 1)
    assert by["秘书处"]["avg_hours"] == 72.0
    assert dash["totals"]["overdue"] == 2 and dash["totals"]["done"] == 1
    assert len(dash["trend"]) == 14 and dash["trend"][-1]["overdue"] == 2 and dash["trend"][-3]["overdue"] == 0
    only = ok(users["gertrude"].get(f"/api/supervision/dashboard?department_id={org.depts['A2']}&status=overdue"))
    assert [d["department"] for d in only["departments"]] == ["秘书处"]
    assert users["gertrude"].get("/api/supervision/dashboard?status=late").status_code == 422
    assert users["gertrude"].get("/api/supervision/dashboard?from=yesterday").status_code == 422
    assert ok(users["polonius"].get("/api/supervision/dashboard"))["totals"]["open"] == 3  # his department only
    assert ok(users["othello"].get("/api/supervision/dashboard"))["departments"] == []

    r = users["gertrude"].get("/api/supervision/export?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "来源", "事项"] and len(rows) == 6
    titles = {row[2] for row in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in titles and "'+逾期二" in titles
    r = users["gertrude"].get("/api/supervision/export?format=xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = [c.value for c in ws["C"]]
    assert '\'=HYPERLINK("http://x")' in cells and not any(str(v).startswith("=") for v in cells if v)
    assert ws["C"][0].data_type == "s" and all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert users["gertrude"].get("/api/supervision/export?format=pdf").status_code == 422


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [i["id"] for i in items]


def test_incoming_deadline_item_reminds_the_current_handlers(users: Clients, org: Org, recorder: Recorder) -> None:
    from tests.docs_flow.test_incoming import act, get, register

    doc = register(users)
    for _ in range(3):
        doc = ok(act(users["gertrude"], doc, opinion="拟办"))
    deadline = datetime.now(UTC) + timedelta(hours=30)
    doc = ok(
        act(
            users["claudius"],
            get(users["claudius"], doc),
            opinion="请办理",
            lead_department_id=org.depts["A1"],
            co_department_ids=[org.depts["A2"]],
            deadline=deadline.isoformat(),
        )
    )
    recorder.clear()
    assert supervision_reminders.remind_all(org.db, now=deadline - timedelta(hours=20)) == 1
    note = recorder.of("notify.supervision")[-1]
    assert set(note.user_ids) == {org.users["polonius"], org.users["laertes"]}
    assert note.payload["link"] == f"/incoming/{doc['id']}"
    with org.db.read() as s:
        assert s.exec(select(SupervisionItem)).one().reminders == ["before:24"]


def test_the_supervision_office_sees_and_follows_up_every_item_of_its_agency(users: Clients, org: Org) -> None:
    """督查室 staff follow 督办 up: they see the agency's whole list (as its leaders and clerks do), remind,
    escalate and enter 领导批示; not another agency's items, and nobody else outside the owners."""
    with org.db.write() as s:
        office = directory.create_department(s, SYSTEM, name="督查室", parent_id=org.agencies["A"])
        other = directory.create_department(s, SYSTEM, name="督查室", parent_id=org.agencies["B"])
    make_user(org.db, "malvolio", "黄明", dept_id=office.id, title="科员")
    make_user(org.db, "sebastian", "林海", dept_id=other.id, title="科员")
    item_id = make_item(org, hours=24 * 400, dept="A2", title="落实省领导批示精神")
    leader = ok(users["claudius"].get("/api/supervision/items"))
    assert [i["id"] for i in leader["items"]] == [item_id]

    for who, seen in (("malvolio", 1), ("sebastian", 0), ("hamlet", 0)):
        assert ok(users[who].get("/api/supervision/items"))["total"] == seen, who
        assert ok(users[who].get("/api/supervision/dashboard"))["totals"]["open"] == seen, who
    export = users["malvolio"].get("/api/supervision/export?format=csv")
    assert export.status_code == 200 and "落实省领导批示精神" in export.content.decode("utf-8-sig")

    ok(users["malvolio"].post(f"/api/supervision/items/{item_id}/remind", json={"message": "请于周五前反馈"}))
    assert (
        ok(users["malvolio"].post(f"/api/supervision/items/{item_id}/escalate", json={"reason": "未反馈"}))[
            "escalation_level"
        ]
        == 1
    )
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    made = users["malvolio"].post(
        "/api/supervision/items",
        json={"title": "督查防汛准备", "owner_department_id": org.depts["A1"], "deadline": deadline},
    )
    assert made.status_code == 201, made.text
    # Outside the office nothing changes: 张伟 may not remind, the other agency's 督查室 finds nothing.
    assert users["hamlet"].post(f"/api/supervision/items/{item_id}/remind", json={}).status_code == 403
    assert users["sebastian"].post(f"/api/supervision/items/{item_id}/remind", json={}).status_code == 404
