"""Reminders and 催报: the schedule as a pure function, the background job on a clock the test controls
(one reminder before the deadline, one automatic 催报 a day after it, none to units that submitted),
and the collector's 催报 to chosen units."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from tests.conftest import Recorder
from tests.factories import Org
from tests.tianbao.task_world import P, as_user, build, fill, issued, refused, ret_of, task_of
from tianbao import reminders
from tianbao.reminders import due

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def test_due_is_a_pure_schedule() -> None:
    deadline = T0 + 48 * H
    assert due(deadline, 24, None, T0) is None  # 48 h left: not yet
    assert due(deadline, 24, None, T0 + 25 * H) == "before"  # 23 h left
    assert due(deadline, 24, T0 + 25 * H, T0 + 30 * H) is None  # sent already
    assert due(deadline, 0, None, T0 + 47 * H) is None  # no reminder asked for
    assert due(deadline, 24, T0 + 25 * H, T0 + 49 * H) == "overdue"  # the first 催报 after the deadline
    assert due(deadline, 24, T0 + 49 * H, T0 + 60 * H) is None  # one a day
    assert due(deadline, 24, T0 + 49 * H, T0 + 73 * H) == "overdue"
    assert due(deadline, 24, None, T0 + 100 * H) == "overdue"


def test_the_job_reminds_once_before_and_urges_daily_after(org: Org, recorder: Recorder) -> None:
    w = build(org)
    tid = issued(w)
    fill(w, tid, "U2", {"POP": 1})  # U2 submitted: never reminded
    deadline = task_of(w, tid).deadline
    u1 = ret_of(w, tid, "U1").id
    assert reminders.remind_all(org.db, now=deadline - 30 * H) == 0
    assert reminders.remind_all(org.db, now=deadline - 23 * H) == 1
    notices = [e for e in recorder.events if e.type == "notify.tianbao" and "提醒" in e.payload["title"]]
    assert notices[0].payload["user_ids"] == sorted([org.users["filler1"], org.users["head1"]])
    assert notices[0].payload["link"] == f"/tianbao/returns/{u1}"
    assert reminders.remind_all(org.db, now=deadline - 22 * H) == 0  # not twice
    assert ret_of(w, tid, "U1").urged_count == 0
    assert reminders.remind_all(org.db, now=deadline + H) == 1  # the automatic 催报
    assert ret_of(w, tid, "U1").urged_count == 1
    assert reminders.remind_all(org.db, now=deadline + 5 * H) == 0
    assert reminders.remind_all(org.db, now=deadline + 25 * H) == 1  # a day later
    assert ret_of(w, tid, "U1").urged_count == 2
    assert ret_of(w, tid, "U2").urged_count == 0 and ret_of(w, tid, "U2").reminded_at is None
    urged = [e for e in recorder.events if e.type == "notify.tianbao" and e.payload["title"].startswith("催报")]
    assert len(urged) == 2


def test_a_withdrawn_task_is_not_reminded(org: Org) -> None:
    w = build(org)
    tid = issued(w)
    from tianbao import tasks

    with org.db.write() as s:
        tasks.withdraw(s, w.actor("polonius"), tid, task_of(w, tid).version, "重复采集")
    assert reminders.remind_all(org.db, now=task_of(w, tid).deadline + H) == 0


def test_the_collector_urges_chosen_units(client: TestClient, org: Org, recorder: Recorder) -> None:
    w = build(org)
    tid = issued(w)
    fill(w, tid, "U2", {"POP": 1})
    u1, u2 = ret_of(w, tid, "U1").id, ret_of(w, tid, "U2").id
    pol = as_user(client, "polonius")
    refused(pol.post(f"{P}/tasks/{tid}/urge", json={"return_ids": [u2]}), 422, "already_submitted")
    refused(pol.post(f"{P}/tasks/{tid}/urge", json={"return_ids": [987654]}), 422, "unknown_return")
    refused(as_user(client, "hamlet").post(f"{P}/tasks/{tid}/urge", json={"return_ids": [u1]}), 403)
    refused(as_user(client, "filler1").post(f"{P}/tasks/{tid}/urge", json={"return_ids": [u1]}), 404)
    r = pol.post(f"{P}/tasks/{tid}/urge", json={"return_ids": [u1], "message": "今天下班前报送"})
    assert r.status_code == 200, r.text and r.json() == {"urged": [u1]}
    assert ret_of(w, tid, "U1").urged_count == 1
    notice = [e for e in recorder.events if e.type == "notify.tianbao" and e.payload["title"].startswith("催报")][0]
    assert notice.payload["body"] == "今天下班前报送"
    assert set(notice.payload["user_ids"]) == {org.users["filler1"], org.users["head1"]}
    b = pol.get(f"{P}/tasks/{tid}/board").json()
    assert {u["return_id"]: u["urged_count"] for u in b["units"]} == {u1: 1, u2: 0}
