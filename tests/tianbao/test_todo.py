"""数据填报 on the 工作台: the filler's returns to fill (未开始, 填报中, 已退回) and the reviewer's returns to
review, as the 待填报 tab decides them; nothing once the task is withdrawn."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import Org
from tests.tianbao.task_world import P, as_user, build, issued, ret_of, task_of
from tianbao import tasks


def _mine(client: TestClient, name: str) -> list[tuple[str, str]]:
    body = as_user(client, name).get("/api/todo?kind=tianbao").json()
    return [(i["key"], i["action"]) for i in body["items"]]


def _count(client: TestClient, name: str) -> int:
    kinds = as_user(client, name).get("/api/todo/summary").json()["kinds"]
    return next(k["count"] for k in kinds if k["kind"] == "tianbao")


def test_the_workbench_lists_what_waits_for_the_filler_then_the_reviewer(client: TestClient, org: Org) -> None:
    w = build(org)
    tid = issued(w)
    rid = f"tianbao:{ret_of(w, tid, 'U1').id}"
    assert _mine(client, "filler1") == [(rid, "填报")] and _count(client, "filler1") == 1
    assert _mine(client, "head1") == [] and _count(client, "head1") == 0
    f1 = as_user(client, "filler1")
    url = f"{P}/returns/{ret_of(w, tid, 'U1').id}"
    v = f1.get(url).json()["return"]["version"]
    v = f1.put(url, json={"version": v, "values": {str(w.item_id("POP")): 3}}).json()["return"]["version"]
    f1.post(url + "/to-review", json={"version": v})
    assert _mine(client, "filler1") == [] and _count(client, "filler1") == 0
    assert _mine(client, "head1") == [(rid, "审核")] and _count(client, "head1") == 1
    assert _mine(client, "filler2") == [(f"tianbao:{ret_of(w, tid, 'U2').id}", "填报")]
    with org.db.write() as s:
        tasks.withdraw(s, w.actor("polonius"), tid, task_of(w, tid).version, "重复采集")
    assert _mine(client, "head1") == [] and _mine(client, "filler2") == []
    assert "tianbao.return" in next(
        k["events"]
        for k in as_user(client, "filler1").get("/api/todo/summary").json()["kinds"]
        if k["kind"] == "tianbao"
    )
