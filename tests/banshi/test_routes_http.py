"""The 办事 HTTP API through TestClient: every endpoint once as it is meant to be used, and bad input
answered with a 4xx carrying ``error`` and ``message`` that changes nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select
from starlette.testclient import TestClient

from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestFile
from office.db import Database
from tests.banshi.svc_helpers import make_template, step, two_steps
from tests.factories import Org, login, new_client

P = "/api/banshi"


def as_user(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def refused(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] and body["message"], body
    if code:
        assert body["error"] == code, body
    return body  # type: ignore[no-any-return]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def snapshot(db: Database, rid: int) -> tuple[Any, ...]:
    with db.read() as s:
        r = s.get(ApprovalRequest, rid)
        assert r is not None
        return (r.status, r.version, dict(r.values))


def test_templates_preview_and_a_request_along_its_route(client: TestClient, db: Database, org: Org) -> None:
    u = org.users
    tid = make_template(db, org, route=two_steps(org, submit=[u["gertrude"]]))
    ham, pol, cla, ger = (as_user(client, n) for n in ("hamlet", "polonius", "claudius", "gertrude"))
    groups = ham.get(P + "/templates").json()["groups"]
    assert [i["id"] for g in groups for i in g["items"]] == [tid]
    form = ham.get(f"{P}/templates/{tid}").json()
    assert [f["key"] for f in form["version"]["fields"]] == ["reason", "amount"]
    refused(ham.get(f"{P}/templates/987654"), 404)

    pre = ham.post(P + "/preview", json={"template_id": tid, "values": {"reason": "买纸", "amount": 500}}).json()
    assert [(s["key"], [p["name"] for p in s["people"]]) for s in pre["route"]] == [("s1", ["王强"]), ("s2", ["赵刚"])]
    assert [c["name"] for c in pre["cc"]] == ["孙丽"]
    assert refused(ham.post(P + "/preview", json={"template_id": tid, "values": {}}), 422)["field"] == "reason"

    before = count(db, ApprovalRequest)
    assert (
        refused(ham.post(P + "/requests", json={"template_id": tid, "values": {"amount": 1}, "submit": True}), 422)[
            "field"
        ]
        == "reason"
    )
    refused(
        ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": "x"}, "colour": "red"}),
        422,
        "invalid_field",
    )
    assert count(db, ApprovalRequest) == before

    r = ham.post(
        P + "/requests", json={"template_id": tid, "values": {"reason": "买纸", "amount": 500}, "submit": True}
    )
    assert r.status_code == 201, r.text
    answer = r.json()  # the request as the lists show it; its page is one GET away
    rid = answer["id"]
    assert answer["status"] == "running" and answer["serial"] and answer["version"] >= 1
    assert answer["template"]["id"] == tid and answer["applicant"]["name"] and answer["current_step"]
    assert "actions" not in answer and "route" not in answer
    req = ham.get(f"{P}/requests/{rid}").json()
    assert req["actions"] == ["withdraw", "urge"] and req["version"] == answer["version"]
    assert [c["name"] for c in req["cc"]] == ["孙丽"]

    view = pol.get(f"{P}/requests/{rid}").json()
    assert view["actions"][:2] == ["approve", "reject"] and {"return", "transfer", "add_signer"} <= set(view["actions"])
    assert view["return_targets"] == [{"key": "draft", "name": "申请人"}]
    assert view["route"]["steps"][0]["state"] == "current"

    stale = snapshot(db, rid)
    refused(pol.post(f"{P}/requests/{rid}/approve", json={"version": req["version"] + 5}), 409, "stale_version")
    refused(
        pol.post(f"{P}/requests/{rid}/reject", json={"version": req["version"], "opinion": " "}), 422, "reason_required"
    )
    refused(
        pol.post(f"{P}/requests/{rid}/return", json={"version": req["version"], "opinion": "改", "target": "s9"}), 422
    )
    refused(pol.post(f"{P}/requests/{rid}/transfer", json={"version": req["version"]}), 422, "user_required")
    refused(pol.post(f"{P}/requests/{rid}/add_signer", json={"version": req["version"], "position": "above"}), 422)
    refused(cla.post(f"{P}/requests/{rid}/approve", json={"version": req["version"]}), 404)  # not his yet
    refused(ham.post(f"{P}/requests/{rid}/approve", json={"version": req["version"]}), 403)
    assert snapshot(db, rid) == stale

    after = pol.post(f"{P}/requests/{rid}/approve", json={"version": req["version"], "opinion": "同意"}).json()
    assert after["route"]["steps"][1]["state"] == "current"
    done = cla.post(f"{P}/requests/{rid}/approve", json={"version": after["version"]}).json()
    assert done["status"] == "approved" and done["actions"] == []
    refused(cla.post(f"{P}/requests/{rid}/approve", json={"version": done["version"]}), 409, "not_running")

    # The boxes, the counts, and 抄送 read when opened.
    assert [i["id"] for i in ham.get(P + "/requests", params={"box": "mine"}).json()["items"]] == [rid]
    assert [i["id"] for i in pol.get(P + "/requests", params={"box": "done"}).json()["items"]] == [rid]
    cc = ger.get(P + "/requests", params={"box": "cc"}).json()
    assert [i["id"] for i in cc["items"]] == [rid] and cc["counts"]["cc_unread"] == 1
    ger.get(f"{P}/requests/{rid}")
    assert ger.get(P + "/requests", params={"box": "cc"}).json()["counts"]["cc_unread"] == 0


def test_list_filters_and_pages(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org)
    ham = as_user(client, "hamlet")
    ids = [
        ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": f"第{i}次"}, "submit": True}).json()[
            "id"
        ]
        for i in range(5)
    ]
    first = ham.get(P + "/requests", params={"box": "mine", "limit": 2}).json()
    assert [i["id"] for i in first["items"]] == ids[:-3:-1] and first["next_cursor"] == str(ids[-2])
    second = ham.get(P + "/requests", params={"box": "mine", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in second["items"]] == [ids[2], ids[1]]
    third = ham.get(P + "/requests", params={"box": "mine", "limit": 2, "cursor": second["next_cursor"]}).json()
    assert [i["id"] for i in third["items"]] == [ids[0]] and third["next_cursor"] is None
    serial = next(i["serial"] for i in first["items"] if i["id"] == ids[-1])
    assert [i["id"] for i in ham.get(P + "/requests", params={"box": "mine", "q": serial}).json()["items"]] == [ids[-1]]
    assert ham.get(P + "/requests", params={"box": "mine", "status": "approved"}).json()["items"] == []
    assert len(ham.get(P + "/requests", params={"box": "mine", "template_id": tid}).json()["items"]) == 5
    item = first["items"][0]
    assert item["template"] == {"id": tid, "name": "采购申请"} and item["applicant"]["department"] == "综合处"
    assert item["current_step"] == "部门负责人审批" and item["status_label"] == "审批中"
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    dated = {"box": "mine", "date_from": today.isoformat(), "date_to": today.isoformat()}
    assert len(ham.get(P + "/requests", params=dated).json()["items"]) == 5
    assert ham.get(P + "/requests", params={"box": "mine", "date_to": yesterday}).json()["items"] == []
    assert ham.get(P + "/requests", params={"box": "mine", "q": "%"}).json()["items"] == []  # no wildcard
    for bad in ({"box": "all"}, {"status": "done"}, {"cursor": "x"}, {"date_from": "2026-13-01"}, {"limit": 0}):
        refused(ham.get(P + "/requests", params={"box": "mine", **bad}), 422)


def test_drafts_saved_changed_and_submitted(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org)
    ham, oph = as_user(client, "hamlet"), as_user(client, "ophelia")
    draft = ham.post(
        P + "/requests", json={"template_id": tid, "values": {"reason": "草稿"}, "client_id": "c-1"}
    ).json()
    assert draft["status"] == "draft" and draft["serial"] == ""
    assert ham.get(f"{P}/requests/{draft['id']}").json()["actions"] == ["save", "submit"]
    again = ham.post(
        P + "/requests", json={"template_id": tid, "values": {"reason": "草稿"}, "client_id": "c-1"}
    ).json()
    assert again["id"] == draft["id"]
    rid = draft["id"]
    before = snapshot(db, rid)
    refused(ham.put(f"{P}/requests/{rid}", json={"version": draft["version"], "values": {"reason": 5}}), 422)
    refused(ham.put(f"{P}/requests/{rid}", json={"version": draft["version"] - 1, "values": {"reason": "x"}}), 409)
    refused(oph.put(f"{P}/requests/{rid}", json={"version": draft["version"], "values": {"reason": "x"}}), 404)
    assert snapshot(db, rid) == before
    saved = ham.put(
        f"{P}/requests/{rid}", json={"version": draft["version"], "values": {"reason": "改过", "amount": 9}}
    ).json()
    assert saved["values"] == {"reason": "改过", "amount": 9} and saved["version"] == draft["version"] + 1
    refused(ham.post(f"{P}/requests/{rid}/submit", json={"version": draft["version"]}), 409)
    sent = ham.post(f"{P}/requests/{rid}/submit", json={"version": saved["version"]}).json()
    assert sent["status"] == "running" and sent["serial"]
    refused(ham.post(f"{P}/requests/{rid}/submit", json={"version": sent["version"]}), 409, "not_editable")


def test_withdraw_urge_and_batch(client: TestClient, db: Database, org: Org) -> None:
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    tid = make_template(db, org, route=route, options={"batch": True})
    ham, pol = as_user(client, "hamlet"), as_user(client, "polonius")
    a, b = (
        ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": n}, "submit": True}).json()
        for n in "ab"
    )
    urged = ham.post(f"{P}/requests/{a['id']}/urge", json={"version": a["version"]})
    assert urged.status_code == 200, urged.text
    refused(ham.post(f"{P}/requests/{a['id']}/urge", json={"version": a["version"]}), 422, "urged_recently")
    refused(pol.post(f"{P}/requests/{a['id']}/urge", json={"version": a["version"]}), 403)
    gone = ham.post(f"{P}/requests/{b['id']}/withdraw", json={"version": b["version"]}).json()
    assert gone["status"] == "withdrawn"
    out = pol.post(
        P + "/requests/batch-approve",
        json={"items": [{"id": a["id"], "version": a["version"]}, {"id": b["id"], "version": gone["version"]}]},
    ).json()
    assert out["done"] == [a["id"]] and [f["error"] for f in out["failed"]] == ["not_running"]
    refused(pol.post(P + "/requests/batch-approve", json={"items": []}), 422)


def test_files_upload_attach_and_read(client: TestClient, db: Database, org: Org) -> None:
    fields = [
        {"key": "reason", "label": "事由", "type": "text", "required": True},
        {"key": "invoices", "label": "发票", "type": "attachment", "required": False, "max_files": 5},
    ]
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    tid = make_template(db, org, fields=fields, route=route)
    ham, pol, oph = as_user(client, "hamlet"), as_user(client, "polonius"), as_user(client, "ophelia")
    up = ham.post(P + "/files", params={"name": "发票.pdf"}, content=b"%PDF-1.4 invoice")
    assert up.status_code == 201, up.text
    fid = up.json()["id"]
    theirs = oph.post(P + "/files", params={"name": "x.pdf"}, content=b"x").json()["id"]
    before = count(db, RequestFile)
    refused(ham.post(P + "/files", content=b"data"), 422, "name_required")
    refused(ham.post(P + "/files", params={"name": "空.txt"}, content=b""), 422, "empty_file")
    assert count(db, RequestFile) == before
    refused(pol.get(f"{P}/files/{fid}"), 404)  # not attached yet: the uploader's only
    assert ham.get(f"{P}/files/{fid}").content == b"%PDF-1.4 invoice"
    requests_before = count(db, ApprovalRequest)
    refused(
        ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": "报销", "invoices": [theirs]}}), 422
    )
    assert count(db, ApprovalRequest) == requests_before
    req = ham.post(
        P + "/requests", json={"template_id": tid, "values": {"reason": "报销", "invoices": [fid]}, "submit": True}
    ).json()
    assert [f["id"] for f in ham.get(f"{P}/requests/{req['id']}").json()["files"]] == [fid]
    assert pol.get(f"{P}/files/{fid}").content == b"%PDF-1.4 invoice"  # the approver reads it now
    refused(oph.get(f"{P}/files/{fid}"), 404)
    note = pol.post(P + "/files", params={"name": "意见.txt"}, content="同意报销".encode()).json()["id"]
    pol.post(f"{P}/requests/{req['id']}/approve", json={"version": req["version"], "file_ids": [note]})
    assert ham.get(f"{P}/files/{note}").content == "同意报销".encode()


def test_designer_over_http(client: TestClient, db: Database, org: Org) -> None:
    pro, ham = as_user(client, "prospero"), as_user(client, "hamlet")
    refused(ham.post(P + "/admin/templates", json={"name": "用车"}), 403)
    refused(ham.get(P + "/admin/templates"), 403)
    made = pro.post(P + "/admin/templates", json={"name": "用车申请", "category": "行政"})
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    draft = pro.get(f"{P}/admin/templates/{tid}/draft").json()
    assert draft["state"] == "draft" and draft["fields"] == []
    good = {
        "fields": [{"key": "reason", "label": "用车事由", "type": "text", "required": True}],
        "route": {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}},
        "options": {"batch": True},
    }
    refused(pro.post(f"{P}/admin/templates/{tid}/publish"), 422)  # an empty form
    refused(
        pro.put(f"{P}/admin/templates/{tid}/draft", json={**good, "fields": [{"key": "Bad!", "type": "text"}]}), 422
    )
    refused(pro.put(f"{P}/admin/templates/{tid}/draft", json={**good, "options": {"dedupe": "x"}}), 422)
    with db.read() as s:
        assert s.get(FormVersion, draft["id"]).fields == []  # type: ignore[union-attr]
    assert pro.put(f"{P}/admin/templates/{tid}/draft", json=good).json()["fields"][0]["key"] == "reason"
    published = pro.post(f"{P}/admin/templates/{tid}/publish").json()
    assert published["state"] == "published"
    refused(pro.put(f"{P}/admin/templates/{tid}", json={"reader_department_ids": [org.depts["B1"]]}), 422)
    upd = pro.put(
        f"{P}/admin/templates/{tid}", json={"description": "公务用车", "reader_department_ids": [org.depts["A2"]]}
    )
    assert upd.json()["reader_department_ids"] == [org.depts["A2"]]
    listed = pro.get(P + "/admin/templates").json()["items"]
    assert [(t["name"], t["status"], t["published_version_id"]) for t in listed] == [
        ("用车申请", "active", published["id"])
    ]
    assert [i["name"] for g in ham.get(P + "/templates").json()["groups"] for i in g["items"]] == ["用车申请"]
    pro.put(f"{P}/admin/templates/{tid}", json={"status": "disabled"})
    assert ham.get(P + "/templates").json()["groups"] == []
    with db.read() as s:
        assert s.get(FormTemplate, tid).status.value == "disabled"  # type: ignore[union-attr]


def test_leaders_and_offices_over_http(client: TestClient, db: Database, org: Org) -> None:
    pro, ham = as_user(client, "prospero"), as_user(client, "hamlet")
    refused(ham.get(P + "/admin/leaders"), 403)
    put = pro.put(
        P + "/admin/leaders",
        json={
            "principal": org.users["claudius"],
            "supervisors": [{"department_id": org.depts["A1"], "user_id": org.users["claudius"]}],
        },
    )
    assert (
        put.json()["principal"]["name"] == "赵刚" and put.json()["supervisors"][0]["department_id"] == org.depts["A1"]
    )
    refused(pro.put(P + "/admin/leaders", json={"principal": org.users["othello"]}), 422)  # another agency's
    assert pro.get(P + "/admin/leaders").json()["principal"]["name"] == "赵刚"
    offices = pro.put(
        P + "/admin/offices", json={"personnel_department_id": org.depts["A2"], "finance_department_id": None}
    )
    assert offices.json()["personnel"]["id"] == org.depts["A2"]
    refused(pro.put(P + "/admin/offices", json={"personnel_department_id": org.depts["B1"]}), 422)
    assert pro.get(P + "/admin/offices").json()["personnel"]["id"] == org.depts["A2"]


def test_the_workbench_lists_approvals_and_returned_requests(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org)
    ham, pol = as_user(client, "hamlet"), as_user(client, "polonius")
    req = ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": "买纸"}, "submit": True}).json()

    def banshi_items(c: TestClient, box: str = "todo") -> list[tuple[str, str, str]]:
        page = c.get("/api/todo", params={"box": box, "kind": "banshi"}).json()
        return [(i["key"], i["link"], i["action"]) for i in page["items"]]

    assert banshi_items(pol) == [(f"banshi:{req['id']}", f"#/banshi/r/{req['id']}", "审批")]
    assert banshi_items(ham) == []
    assert banshi_items(ham, "mine") == [(f"banshi:{req['id']}", f"#/banshi/r/{req['id']}", "查看")]
    pol.post(f"{P}/requests/{req['id']}/return", json={"version": req["version"], "opinion": "请写明数量"})
    assert banshi_items(pol) == []
    assert banshi_items(ham) == [(f"banshi:{req['id']}", f"#/banshi/r/{req['id']}", "修改")]
    assert banshi_items(pol, "done") == [(f"banshi:{req['id']}", f"#/banshi/r/{req['id']}", "查看")]
    kinds = {k["kind"]: k for k in ham.get("/api/todo/summary").json()["kinds"]}
    assert kinds["banshi"]["count"] == 1 and "banshi.request" in kinds["banshi"]["events"]


def test_concurrent_submissions_share_commits_and_get_distinct_serials(
    client: TestClient, db: Database, org: Org
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tid = make_template(db, org)
    people = [as_user(client, n) for n in ("hamlet", "ophelia", "horatio", "gertrude", "yorick")]
    group = client.app.state.banshi_commit  # type: ignore[attr-defined]
    items_before = group.items

    def send(i: int) -> Any:
        values = {"reason": f"第{i}件"} if i % 4 else {"amount": 1}  # every fourth lacks its reason
        return people[i % 5].post(P + "/requests", json={"template_id": tid, "values": values, "submit": True})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(24)))
    good = [r.json() for r in answers if r.status_code == 201]
    bad = [r for r in answers if r.status_code != 201]
    assert len(good) == 18 and all(r.status_code == 422 and r.json()["field"] == "reason" for r in bad)
    serials = sorted(g["serial"] for g in good)
    assert serials == [f"{serials[0][:8]}{n:04d}" for n in range(1, 19)]  # one each, none twice, none lost
    assert count(db, ApprovalRequest) == 18
    # The accepted ones all through the group writer; the refused ones were refused before it, on the
    # handler's read snapshot (``submission.prepare_create``), and never took the writer's time.
    assert group.items - items_before == 18


def test_raw_uploads_count_against_the_upload_limits(tmp_path: Any) -> None:
    from office.app import create_app
    from office.config import load_settings
    from tests.factories import make_org

    settings = load_settings({}, data_dir=tmp_path / "d", testing=True, upload_per_minute=1, upload_burst=2)
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver"):
        make_org(app.state.db)
        ham = new_client(app)
        login(ham, "hamlet")
        codes = [ham.post(P + "/files", params={"name": "a.txt"}, content=b"x").status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        refused(ham.post(P + "/files", params={"name": "b.txt"}, content=b"y"), 429, "upload_rate_limited")
        assert count(app.state.db, RequestFile) == 2


def test_approvers_and_the_applicant_get_work_notices_in_messages(client: TestClient, db: Database, org: Org) -> None:
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    tid = make_template(db, org, route=route)
    ham, pol = as_user(client, "hamlet"), as_user(client, "polonius")
    req = ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": "买纸"}, "submit": True}).json()

    def last_notice(c: TestClient) -> dict[str, Any]:
        convs = c.get("/api/messages/conversations").json()["items"]
        notices = next(x for x in convs if x["kind"] == "notice")
        return c.get(f"/api/messages/conversations/{notices['id']}/messages").json()["items"][-1]  # type: ignore[no-any-return]

    waiting = last_notice(pol)
    assert "张伟的采购申请" in waiting["text"] and waiting["meta"]["link"] == f"/banshi/r/{req['id']}"
    pol.post(f"{P}/requests/{req['id']}/approve", json={"version": req["version"]})
    decided = last_notice(ham)
    assert "已通过" in decided["text"] and decided["meta"]["link"] == f"/banshi/r/{req['id']}"
    assert decided["meta"]["source"] == "banshi"
