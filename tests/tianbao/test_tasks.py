"""Collection tasks: drafting (only active items the collector may read, units within the scope, the
default filler and reviewer), issuing (one return per unit in one transaction, the events), who may
do what, version conflicts, withdrawal (open returns stop) and closing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlmodel import func, select
from starlette.testclient import TestClient

from office.actor import SYSTEM
from office.audit import query as audit_query
from office.db import utcnow
from tests.conftest import Recorder
from tests.factories import Org
from tests.tianbao.task_world import (
    P,
    World,
    as_user,
    build,
    error_of,
    fill,
    issued,
    refused,
    ret_of,
    task_data,
    task_of,
)
from tianbao import items, scopes, tasks
from tianbao.models import CollectTask, ReturnStatus, TaskStatus, UnitReturn


def _json(w: World, **kw: Any) -> dict[str, Any]:
    data = task_data(w, **kw)
    data["deadline"] = data["deadline"].isoformat()
    return data


def test_a_draft_is_edited_then_issued_to_one_return_per_unit(client: TestClient, org: Org, recorder: Recorder) -> None:
    w = build(org)
    pol = as_user(client, "polonius")
    r = pol.post(P + "/tasks", json=_json(w))
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "draft" and task["collector_dept_id"] == org.depts["A1"]
    u = org.users
    assert [(x["unit_id"], x["filler_id"], x["reviewer_id"]) for x in task["units"]] == [
        (w.units["U1"], u["filler1"], u["head1"]),  # the unit's clerk fills, its head reviews
        (w.units["U2"], u["filler2"], u["head2"]),
    ]
    tid = task["id"]
    r = pol.put(f"{P}/tasks/{tid}", json={"version": task["version"], "title": "四季度数据", "remind_hours": 48})
    assert r.status_code == 200, r.text
    refused(pol.put(f"{P}/tasks/{tid}", json={"version": task["version"], "title": "旧版本"}), 409)
    assert pol.get(f"{P}/tasks/{tid}").json()["title"] == "四季度数据"
    version = r.json()["version"]
    with org.db.read() as s:
        assert s.exec(select(func.count()).select_from(UnitReturn)).one() == 0  # a draft has no returns yet
    r = pol.post(f"{P}/tasks/{tid}/issue", json={"version": version})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "issued"
    rets = [ret_of(w, tid, unit) for unit in ("U1", "U2")]
    assert [(x.status, x.filler_id, x.reviewer_id) for x in rets] == [
        (ReturnStatus.not_started, u["filler1"], u["head1"]),
        (ReturnStatus.not_started, u["filler2"], u["head2"]),
    ]
    refused(pol.post(f"{P}/tasks/{tid}/issue", json={"version": r.json()["version"]}), 409, "invalid_transition")
    refused(pol.put(f"{P}/tasks/{tid}", json={"version": r.json()["version"], "title": "x"}), 409, "invalid_transition")
    by_type: dict[str, list[Any]] = {}
    for e in recorder.events:
        by_type.setdefault(e.type, []).append(e)
    assert {(e.payload["return_id"], e.user_ids) for e in by_type["tianbao.return"]} == {
        (rets[0].id, tuple(sorted((u["filler1"], u["head1"])))),
        (rets[1].id, tuple(sorted((u["filler2"], u["head2"])))),
    }
    assert [e.payload["op"] for e in by_type["tianbao.task"]] == ["issue"]
    assert set(by_type["tianbao.task"][0].user_ids) >= {u["polonius"], u["hamlet"], u["gertrude"]}
    assert by_type["notify.tianbao"][0].payload["user_ids"] == sorted([u["filler1"], u["filler2"]])
    with org.db.read() as s:
        actions = [e.action for e in audit_query(s, target_type="tb_task")]
    assert {"tianbao.task.create", "tianbao.task.update", "tianbao.task.issue"} <= set(actions)


def test_who_may_draft_read_and_issue(client: TestClient, org: Org) -> None:
    w = build(org)
    body = _json(w)
    refused(as_user(client, "hamlet").post(P + "/tasks", json=body), 403)  # a member, neither head nor clerk
    refused(as_user(client, "othello").post(P + "/tasks", json={**body, "collector_dept_id": org.depts["A1"]}), 403)
    ger = as_user(client, "gertrude")  # the department's clerk may
    task = ger.post(P + "/tasks", json=body).json()
    tid = task["id"]
    ham = as_user(client, "hamlet")
    assert ham.get(f"{P}/tasks/{tid}").status_code == 200  # members see their department's tasks
    assert ham.get(f"{P}/tasks/{tid}/board").status_code == 200
    refused(ham.post(f"{P}/tasks/{tid}/issue", json={"version": task["version"]}), 403)
    for name in ("horatio", "othello", "filler1"):  # another department, another agency, a receiving unit
        missing = refused(as_user(client, name).get(f"{P}/tasks/{tid}"), 404)
        assert missing == error_of(as_user(client, name).get(f"{P}/tasks/987654"))
        refused(as_user(client, name).post(f"{P}/tasks/{tid}/issue", json={"version": task["version"]}), 404)
    r = as_user(client, "prospero").post(f"{P}/tasks/{tid}/issue", json={"version": task["version"]})
    assert r.status_code == 200, r.text  # the agency's administrator may
    assert [t["id"] for t in ham.get(P + "/tasks").json()["items"]] == [tid]
    assert as_user(client, "horatio").get(P + "/tasks").json()["items"] == []


def test_a_draft_takes_only_active_readable_items_a_future_deadline_and_units_in_scope(
    client: TestClient, org: Org
) -> None:
    w = build(org)
    pol = as_user(client, "polonius")
    past = _json(w)
    past["deadline"] = (utcnow() - dt.timedelta(hours=1)).isoformat()
    refused(pol.post(P + "/tasks", json=past), 422, "bad_deadline")
    with org.db.write() as s:
        proposed = items.propose_item(
            s,
            org.actor("polonius"),
            {"code": "NEW", "name": "新指标", "owner_dept_id": org.depts["A1"], "spec": {"type": "number"}},
        )
        proposed_id = proposed.id
    body = _json(w)
    body["items"].append({"item_id": proposed_id})
    refused(pol.post(P + "/tasks", json=body), 422, "item_unusable")  # not approved by its owner yet
    body = _json(w)
    body["items"].append(dict(body["items"][0]))
    refused(pol.post(P + "/tasks", json=body), 422, "duplicate_item")
    refused(pol.post(P + "/tasks", json=_json(w, units=("U1", "B1"))), 422, "unit_out_of_scope")  # agency B
    with org.db.write() as s:
        assert s.exec(select(func.count()).select_from(CollectTask)).one() == 0  # nothing was made
        b_admin = dataclasses.replace(SYSTEM, agency_id=org.agencies["B"])  # B's administrator consents
        scopes.set_grants(s, b_admin, [(org.agencies["A"], org.agencies["B"])])
    r = pol.post(P + "/tasks", json=_json(w, units=("U1", "B1")))
    assert r.status_code == 201, r.text
    b1 = r.json()["units"][1]
    # B1 has no clerk: any staff member fills; its head reviews
    assert (b1["filler_id"], b1["reviewer_id"]) == (org.users["othello"], org.users["iago"])


def test_fillers_and_reviewers_named_by_the_collector(client: TestClient, org: Org) -> None:
    w = build(org)
    pol, u = as_user(client, "polonius"), org.users
    body = _json(w, units=("U1",))
    body["units"] = [{"unit_id": w.units["U1"], "filler_id": u["staff1"]}]
    task = pol.post(P + "/tasks", json=body).json()
    assert (task["units"][0]["filler_id"], task["units"][0]["reviewer_id"]) == (u["staff1"], u["head1"])
    body["units"] = [{"unit_id": w.units["U1"], "filler_id": u["filler2"]}]  # not a member of the unit
    refused(pol.post(P + "/tasks", json=body), 422, "bad_filler_id")
    body["units"] = [{"unit_id": w.units["U1"], "filler_id": u["head1"], "reviewer_id": u["head1"]}]
    refused(pol.post(P + "/tasks", json=body), 422, "same_person")
    body["units"] = [{"unit_id": w.units["U1"], "filler_id": u["head1"]}]  # the head fills: nobody else reviews
    refused(pol.post(P + "/tasks", json=body), 422, "no_reviewer")


def test_withdrawal_needs_a_reason_and_stops_the_open_returns(client: TestClient, org: Org, recorder: Recorder) -> None:
    w = build(org)
    tid = issued(w)
    fill(w, tid, "U2", {"POP": 10})  # U2 has submitted; U1 is filling
    f1 = as_user(client, "filler1")
    r1 = f1.get(f"{P}/returns/{ret_of(w, tid, 'U1').id}").json()["return"]
    pol = as_user(client, "polonius")
    version = task_of(w, tid).version
    refused(pol.post(f"{P}/tasks/{tid}/withdraw", json={"version": version, "reason": " "}), 422, "reason_required")
    refused(as_user(client, "hamlet").post(f"{P}/tasks/{tid}/withdraw", json={"version": version, "reason": "x"}), 403)
    refused(pol.post(f"{P}/tasks/{tid}/withdraw", json={"version": version - 1, "reason": "口径有误"}), 409, "conflict")
    r = pol.post(f"{P}/tasks/{tid}/withdraw", json={"version": version, "reason": "口径有误"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["withdraw_reason"]) == ("withdrawn", "口径有误")
    assert ret_of(w, tid, "U1").status == ReturnStatus.withdrawn
    assert ret_of(w, tid, "U2").status == ReturnStatus.submitted  # already sent up: it stays
    refused(
        f1.put(f"{P}/returns/{r1['id']}", json={"version": ret_of(w, tid, "U1").version, "values": {}}),
        409,
        "invalid_transition",
    )
    notices = [e for e in recorder.events if e.type == "notify.tianbao" and "撤回" in e.payload["title"]]
    assert notices and set(notices[0].payload["user_ids"]) == {org.users["filler1"], org.users["head1"]}
    refused(pol.post(f"{P}/tasks/{tid}/close", json={"version": r.json()["version"]}), 409, "invalid_transition")


def test_a_closed_task_takes_no_more_submissions(org: Org) -> None:
    w = build(org)
    tid = issued(w)
    from tianbao import returns

    with w.db.write() as s:
        r = s.get(UnitReturn, ret_of(w, tid, "U1").id)
        assert r is not None
        returns.save_values(s, w.actor("filler1"), r, {str(w.item_id("POP")): 5}, {}, r.version)
        returns.to_review(s, w.actor("filler1"), r, r.version)
    with w.db.write() as s:
        t = tasks.close(s, w.actor("polonius"), tid, task_of(w, tid).version)
        assert t.status == TaskStatus.closed
    import pytest

    from office.errors import InvalidTransition

    with pytest.raises(InvalidTransition), w.db.write() as s:
        r = s.get(UnitReturn, ret_of(w, tid, "U1").id)
        assert r is not None
        returns.submit(s, w.actor("head1"), r, r.version)
    assert ret_of(w, tid, "U1").status == ReturnStatus.in_review
