"""A unit's return: opening (prefill kept once), saving (values cleaned by the item's spec, a changed
prefilled value needs a reason), the transitions and who may take each, version conflicts, values
reaching the registry at submission with their history, the burden figures, and a return sent back
by the collector with comments on cells, fixed and submitted again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from office.db import utcnow
from tests.conftest import Recorder
from tests.factories import Org
from tests.tianbao.task_world import P, World, as_user, build, error_of, fill, issued, refused, ret_of, set_deadline
from tianbao import values
from tianbao.models import DataItem, ReturnStatus, ValueOrigin


def _url(w: World, tid: int, unit: str = "U1") -> str:
    return f"{P}/returns/{ret_of(w, tid, unit).id}"


def _items(form: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {i["id"]: i for s in form["sections"] for i in s["items"]}


def _put(w: World, **kw: tuple[str, Any]) -> None:
    """Values 基层一所 reported before (as the owner department would have stored them)."""
    with w.db.write() as s:
        for code, (period, value) in kw.items():
            item = s.get(DataItem, w.item_id(code))
            assert item is not None
            row = (item, period, value, ValueOrigin.owner, "")
            values.store(s, unit_id=w.units["U1"], rows=[row], task_id=None, return_id=None, author_id=None)


def test_fill_review_submit_accept_and_the_values_reach_the_registry(
    client: TestClient, org: Org, recorder: Recorder
) -> None:
    w = build(org)
    _put(w, POP=("2026", 120.5), NOTE=("2026Q4", "旧说明"))
    tid = issued(w, codes=("POP", "GDP", "NOTE", "STAFF"))
    f1, h1, pol = (as_user(client, n) for n in ("filler1", "head1", "polonius"))
    url = _url(w, tid)
    form = pol.get(url).json()  # the collector looks: it does not open it
    assert form["return"]["status"] == "not_started" and form["return"]["opened_at"] is None
    form = f1.get(url).json()
    assert form["return"]["status"] == "filling" and form["return"]["opened_at"]
    pop, gdp, note, staff = (w.item_id(c) for c in ("POP", "GDP", "NOTE", "STAFF"))
    shown = _items(form)
    assert shown[pop]["value"] == 120.5 and shown[pop]["prefill"]["source"] == "registry"
    assert shown[staff]["value"] == 3 and shown[staff]["prefill"]["source"] == "computed"  # 基层一所's three staff
    assert shown[gdp]["value"] is None and shown[gdp]["prefill"] is None
    assert shown[pop]["required"] and form["progress"] == {"filled": 3, "required_filled": 1, "required": 1, "total": 4}
    assert form["actions"] == ["save", "to-review"]
    opened = ret_of(w, tid, "U1")
    f1.get(url)  # opening again changes nothing
    assert ret_of(w, tid, "U1").opened_at == opened.opened_at and ret_of(w, tid, "U1").version == opened.version

    v = form["return"]["version"]
    refused(f1.put(url, json={"version": v, "values": {str(gdp): "很多"}}), 422)
    refused(f1.put(url, json={"version": v, "values": {"999999": 1}}), 422, "unknown_item")
    r = f1.put(
        url, json={"version": v, "values": {str(gdp): 3500.25, str(note): "新说明"}, "reasons": {str(note): "情况有变"}}
    )
    assert r.status_code == 200, r.text
    refused(f1.put(url, json={"version": v, "values": {str(gdp): 1}}), 409, "conflict")  # the old version
    v = r.json()["return"]["version"]
    refused(h1.post(url + "/to-review", json={"version": v}), 403)  # only the filler passes it on
    refused(f1.post(url + "/submit", json={"version": v}), 403)  # only the reviewer submits
    refused(f1.post(url + "/to-review", json={"version": v - 1}), 409, "conflict")
    r = f1.post(url + "/to-review", json={"version": v})
    assert r.json()["return"]["status"] == "in_review"
    refused(f1.put(url, json={"version": r.json()["return"]["version"], "values": {}}), 409, "invalid_transition")
    assert h1.get(url).json()["actions"] == ["save", "send-back", "submit"]
    r = h1.post(url + "/submit", json={"version": r.json()["return"]["version"]})
    assert r.status_code == 200, r.text
    ret = r.json()["return"]
    assert ret["status"] == "submitted" and ret["submitted_at"]
    # burden: POP and STAFF sent as prefilled, GDP typed, NOTE (a prefilled value changed) typed
    assert (ret["items_total"], ret["prefilled_count"], ret["typed_count"]) == (4, 2, 2)
    with w.db.read() as s:
        now = values.current(s, w.units["U1"], [(pop, "2026"), (gdp, "2026Q4"), (note, "2026Q4"), (staff, "2026")])
        assert {k[0]: (c.value, c.origin) for k, c in now.items()} == {
            pop: (120.5, "owner"),  # unchanged: not stored again
            gdp: (3500.25, "typed"),
            note: ("新说明", "corrected"),
            staff: (3, "computed"),
        }
        assert len(values.history(s, pop, w.units["U1"], "2026")) == 1
        hist = values.history(s, note, w.units["U1"], "2026Q4")
        assert [(h.value, h.reason, h.task_id) for h in hist] == [("新说明", "情况有变", tid), ("旧说明", "", None)]
        assert hist[0].previous_id == hist[1].id and hist[0].author_id == org.users["filler1"]
    refused(f1.post(url + "/accept", json={"version": ret["version"]}), 403)
    refused(as_user(client, "hamlet").post(url + "/accept", json={"version": ret["version"]}), 403)  # a member only
    r = pol.post(url + "/accept", json={"version": ret["version"]})
    assert r.json()["return"]["status"] == "accepted" and r.json()["return"]["accepted_at"]
    statuses = [
        e.payload["status"]
        for e in recorder.events
        if e.type == "tianbao.return" and e.payload["return_id"] == ret["id"]
    ]
    assert statuses == ["not_started", "filling", "in_review", "submitted", "accepted"]
    board_people = next(e for e in recorder.events if e.type == "tianbao.return" and e.payload["status"] == "accepted")
    assert {org.users[n] for n in ("polonius", "hamlet", "filler1", "head1")} <= set(board_people.user_ids)
    assert org.users["filler2"] not in board_people.user_ids


def test_a_changed_prefilled_value_needs_a_reason(client: TestClient, org: Org) -> None:
    w = build(org)
    _put(w, POP=("2026", 120.5))
    tid = issued(w)
    f1, pop = as_user(client, "filler1"), str(w.item_id("POP"))
    url = _url(w, tid)
    v = f1.get(url).json()["return"]["version"]
    body = refused(f1.put(url, json={"version": v, "values": {pop: 130}}), 422, "reason_required")
    assert body["field"] == pop and "常住人口" in body["message"]
    refused(f1.put(url, json={"version": v, "values": {pop: None}}), 422, "reason_required")  # clearing is a change
    refused(f1.put(url, json={"version": v, "values": {pop: 130}, "reasons": {pop: "  "}}), 422, "reason_required")
    too_long = {"version": v, "values": {pop: 130}, "reasons": {pop: "长" * 201}}
    refused(f1.put(url, json=too_long), 422, "reason_too_long")
    assert ret_of(w, tid, "U1").draft == {} and ret_of(w, tid, "U1").version == v  # nothing kept
    r = f1.put(url, json={"version": v, "values": {pop: 130}, "reasons": {pop: "按普查数更正"}}).json()
    assert _items(r)[int(pop)]["reason"] == "按普查数更正"
    r = f1.put(url, json={"version": r["return"]["version"], "values": {pop: 131}}).json()  # the reason stands
    assert _items(r)[int(pop)]["reason"] == "按普查数更正"
    r = f1.put(url, json={"version": r["return"]["version"], "values": {pop: 120.5}}).json()  # back as prefilled
    assert _items(r)[int(pop)]["reason"] == "" and ret_of(w, tid, "U1").reasons == {}


def test_required_items_the_reviewer_sending_back_and_strangers(
    client: TestClient, org: Org, recorder: Recorder
) -> None:
    w = build(org)
    tid = issued(w)
    f1, h1 = as_user(client, "filler1"), as_user(client, "head1")
    url = _url(w, tid)
    for name in ("filler2", "horatio", "othello", "staff1"):  # not this return's people, not the collector
        assert refused(as_user(client, name).get(url), 404) == error_of(
            as_user(client, name).get(f"{P}/returns/987654")
        )
    v = f1.get(url).json()["return"]["version"]
    missing = refused(f1.post(url + "/to-review", json={"version": v}), 422, "required_missing")
    assert missing["field"] == str(w.item_id("POP"))
    refused(as_user(client, "polonius").put(url, json={"version": v, "values": {}}), 403)  # the collector does not fill
    v = f1.put(url, json={"version": v, "values": {str(w.item_id("POP")): 99}}).json()["return"]["version"]
    v = f1.post(url + "/to-review", json={"version": v}).json()["return"]["version"]
    r = h1.put(url, json={"version": v, "values": {str(w.item_id("GDP")): 12}})  # the reviewer may correct
    assert r.status_code == 200, r.text
    v = r.json()["return"]["version"]
    refused(h1.post(url + "/send-back", json={"version": v, "comment": ""}), 422, "comment_required")
    refused(f1.post(url + "/send-back", json={"version": v, "comment": "x"}), 403)
    r = h1.post(url + "/send-back", json={"version": v, "comment": "GDP 请核实"})
    assert r.json()["return"]["status"] == "filling"
    notice = [e for e in recorder.events if e.type == "notify.tianbao" and "退回修改" in e.payload["title"]]
    assert notice[0].payload["user_ids"] == [org.users["filler1"]] and notice[0].payload["body"] == "GDP 请核实"


def test_returned_with_comments_then_resubmitted_keeps_the_rounds_comments(client: TestClient, org: Org) -> None:
    w = build(org)
    tid = issued(w)
    f1, h1, pol = (as_user(client, n) for n in ("filler1", "head1", "polonius"))
    url, pop, gdp = _url(w, tid), w.item_id("POP"), w.item_id("GDP")

    def through(vals: dict[str, Any]) -> dict[str, Any]:
        v = f1.get(url).json()["return"]["version"]
        v = f1.put(url, json={"version": v, "values": {str(k): x for k, x in vals.items()}}).json()["return"]["version"]
        v = f1.post(url + "/to-review", json={"version": v}).json()["return"]["version"]
        return h1.post(url + "/submit", json={"version": v}).json()["return"]  # type: ignore[no-any-return]

    ret = through({pop: 100, gdp: 5})
    refused(pol.post(url + "/return", json={"version": ret["version"], "comments": []}), 422, "comments_required")
    bad = [{"item_id": 987654, "text": "?"}]
    refused(pol.post(url + "/return", json={"version": ret["version"], "comments": bad}), 422, "unknown_item")
    refused(
        h1.post(url + "/return", json={"version": ret["version"], "comments": [{"item_id": gdp, "text": "x"}]}), 403
    )
    comments = [{"item_id": gdp, "text": "GDP 偏低，请核实"}, {"item_id": pop, "row": 0, "column": "x", "text": "口径"}]
    r = pol.post(url + "/return", json={"version": ret["version"], "comments": comments})
    assert r.json()["return"]["status"] == "returned" and r.json()["return"]["returned_count"] == 1
    form = f1.get(url).json()
    assert [(c["text"], c["round"], c["current"]) for c in _items(form)[gdp]["comments"]] == [
        ("GDP 偏低，请核实", 1, True)
    ]
    assert form["actions"] == ["save", "to-review"]
    ret = through({gdp: 6})  # fixed and submitted again
    assert ret["status"] == "submitted"
    form = pol.get(url).json()
    assert [(c["text"], c["round"]) for c in _items(form)[gdp]["comments"]] == [("GDP 偏低，请核实", 1)]
    with w.db.read() as s:
        assert [h.value for h in values.history(s, gdp, w.units["U1"], "2026Q4")] == [6, 5]
    r = pol.post(url + "/return", json={"version": ret["version"], "comments": [{"item_id": gdp, "text": "仍不对"}]})
    got = [(c["text"], c["round"], c["current"]) for c in _items(r.json())[gdp]["comments"]]
    assert got == [("GDP 偏低，请核实", 1, False), ("仍不对", 2, True)]


def test_late_is_the_deadline_passed_before_submission(client: TestClient, org: Org) -> None:
    w = build(org)
    tid = issued(w)
    fill(w, tid, "U2", {"POP": 1})
    set_deadline(w, tid, utcnow() - dt.timedelta(hours=1))
    f1 = as_user(client, "filler1")
    assert f1.get(_url(w, tid)).json()["return"]["late"] is True
    assert [i["late"] for i in f1.get(P + "/returns").json()["items"]] == [True]
    assert as_user(client, "filler2").get(_url(w, tid, "U2")).json()["return"]["late"] is False
    # a late unit may still submit while the task is open
    v = f1.get(_url(w, tid)).json()["return"]["version"]
    v = f1.put(_url(w, tid), json={"version": v, "values": {str(w.item_id("POP")): 2}}).json()["return"]["version"]
    assert f1.post(_url(w, tid) + "/to-review", json={"version": v}).status_code == 200
    assert ret_of(w, tid, "U1").status == ReturnStatus.in_review


def test_the_unit_lists(client: TestClient, org: Org) -> None:
    w = build(org)
    tid = issued(w)
    f1, h1 = as_user(client, "filler1"), as_user(client, "head1")
    assert [i["id"] for i in f1.get(P + "/returns").json()["items"]] == [ret_of(w, tid, "U1").id]
    assert h1.get(P + "/returns").json()["items"] == []  # nothing to review yet
    refused(f1.get(P + "/returns?box=nope"), 422, "bad_box")
    url = _url(w, tid)
    v = f1.get(url).json()["return"]["version"]
    v = f1.put(url, json={"version": v, "values": {str(w.item_id("POP")): 2}}).json()["return"]["version"]
    f1.post(url + "/to-review", json={"version": v})
    assert f1.get(P + "/returns").json()["items"] == []
    assert [i["role"] for i in f1.get(P + "/returns?box=done").json()["items"]] == ["filler"]
    assert [i["role"] for i in h1.get(P + "/returns").json()["items"]] == ["reviewer"]
