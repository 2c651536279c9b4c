"""Who may read a 办事 request (``banshi.visibility``): the applicant, the people on its route (deputies
under a running 委托 included), those copied, the template's reader departments and the agency's
personnel / finance office for their built-in forms; never another agency; a draft only its applicant.
The boxes and the detail ask the same condition, so they always agree; field-level visibility hides
what the template keeps for some steps or offices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from banshi import actions, listing, service, submission, visibility
from banshi.models import AgencyOffices, ApprovalRequest, FormTemplate, RequestCc
from office.db import Database, utcnow
from office.errors import NotFound
from tests.banshi.svc_helpers import make_template, step, two_steps
from tests.factories import Org
from workflow import delegation

EVERYONE = ("hamlet", "ophelia", "polonius", "horatio", "laertes", "claudius", "gertrude", "yorick", "prospero", "othello", "iago", "desdemona")  # fmt: skip


def readers(db: Database, org: Org, rid: int) -> set[str]:
    out = set()
    for name in EVERYONE:
        actor = org.actor(name)
        with db.read() as s:
            req = s.get(ApprovalRequest, rid)
            assert req is not None
            if visibility.may_read(s, actor, req):
                out.add(name)
                service.access_request(s, actor, rid)  # the detail agrees
            else:
                with pytest.raises(NotFound):
                    service.access_request(s, actor, rid)
    return out


def _make_builtin(db: Database, tid: int, builtin: str) -> None:
    """Mark a template as a built-in form after its request was made (visibility reads the mark when
    asked; the built-in behaviour, which checks leave balances, stays out of these tests)."""
    with db.write() as s:
        t = s.get(FormTemplate, tid)
        assert t is not None
        t.builtin = builtin
        s.add(t)


def create(db: Database, org: Org, tid: int, *, submit: bool = True, who: str = "hamlet", **values: Any) -> int:
    with db.write() as s:
        req = submission.create_request(
            s, org.actor(who), template_id=tid, values={"reason": "事由", **values}, submit=submit
        )
        return req.id or 0


def test_applicant_route_and_copied_people_read_it_and_nobody_else(db: Database, org: Org) -> None:
    tid = make_template(db, org, route=two_steps(org, submit=[org.users["gertrude"]]))
    rid = create(db, org, tid)
    assert readers(db, org, rid) == {"hamlet", "polonius", "gertrude"}  # claudius's step has not come yet
    with db.write() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        actions.act(s, org.actor("polonius"), rid, "approve", version=row.version)
    assert readers(db, org, rid) == {"hamlet", "polonius", "gertrude", "claudius"}


def test_a_draft_is_its_applicants_only(db: Database, org: Org) -> None:
    tid = make_template(db, org, route=two_steps(org))
    with db.write() as s:
        s.get(FormTemplate, tid).reader_department_ids = [org.depts["A2"]]  # type: ignore[union-attr]
    rid = create(db, org, tid, submit=False)
    assert readers(db, org, rid) == {"hamlet"}


def test_reader_departments_read_submitted_requests_of_their_agency(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.write() as s:
        t = s.get(FormTemplate, tid)
        assert t is not None
        t.reader_department_ids = [org.depts["A2"]]
        s.add(t)
    rid = create(db, org, tid)
    assert readers(db, org, rid) == {"hamlet", "polonius", "horatio", "laertes"}


@pytest.mark.parametrize(("builtin", "office"), [("leave", "personnel"), ("expense", "finance"), ("travel", "finance")])
def test_the_agencys_offices_read_their_built_in_forms(db: Database, org: Org, builtin: str, office: str) -> None:
    with db.write() as s:
        s.add(AgencyOffices(agency_id=org.agencies["A"], **{f"{office}_department_id": org.depts["A2"]}))
    tid = make_template(db, org, name="测试表单")
    other = make_template(db, org, name="采购申请")
    rid = create(db, org, tid)
    _make_builtin(db, tid, builtin)
    assert readers(db, org, rid) == {"hamlet", "polonius", "horatio", "laertes"}
    assert readers(db, org, create(db, org, other)) == {"hamlet", "polonius"}


def test_never_across_agencies(db: Database, org: Org) -> None:
    # A person copied while in agency A who has since moved to agency B (their 抄送 row stays) reads
    # nothing of A's any more; nor does anyone of B named on a route by a stale template.
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    rid = create(db, org, make_template(db, org, route=route))
    with db.write() as s:
        s.add(RequestCc(request_id=rid, user_id=org.users["othello"], stage="submit"))
    assert "othello" not in readers(db, org, rid)
    with db.read() as s:
        assert listing.list_requests(s, org.actor("othello"), box="cc")["items"] == []


def test_a_deputy_reads_while_the_delegation_runs(db: Database, org: Org) -> None:
    rid = create(db, org, make_template(db, org))
    now = utcnow()
    with db.write() as s:
        d = delegation.set_delegation(
            s,
            org.actor("polonius"),
            deputy_id=org.users["laertes"],
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=1),
        )
    assert "laertes" in readers(db, org, rid)
    with db.write() as s:
        delegation.revoke_delegation(s, org.actor("polonius"), d.id or 0)
    assert "laertes" not in readers(db, org, rid)


def test_boxes_show_only_what_the_detail_allows(db: Database, org: Org) -> None:
    tid = make_template(db, org, route=two_steps(org, submit=[org.users["gertrude"]]))
    rid = create(db, org, tid)
    for name, box, expected in (
        ("polonius", "todo", [rid]),
        ("claudius", "todo", []),
        ("hamlet", "mine", [rid]),
        ("gertrude", "cc", [rid]),
        ("othello", "mine", []),
        ("othello", "todo", []),
    ):
        with db.read() as s:
            got = listing.list_requests(s, org.actor(name), box=box)
        assert [i["id"] for i in got["items"]] == expected, (name, box)
    with db.read() as s:
        assert listing.counts(s, org.actor("gertrude")) == {"todo": 0, "cc_unread": 1}
        assert listing.counts(s, org.actor("polonius"))["todo"] == 1


def test_field_level_visibility(db: Database, org: Org) -> None:
    with db.write() as s:
        s.add(AgencyOffices(agency_id=org.agencies["A"], personnel_department_id=org.depts["A2"]))
    fields = [
        {"key": "reason", "label": "事由", "type": "text", "required": True},
        {
            "key": "illness",
            "label": "病情",
            "type": "text",
            "required": False,
            "visible_to": {"steps": ["s2"], "offices": ["personnel"]},
        },
    ]
    tid = make_template(db, org, fields=fields, name="请假")
    rid = create(db, org, tid, illness="流感")
    with db.write() as s:  # the personnel office reads the whole form (as it reads 请假)
        t = s.get(FormTemplate, tid)
        assert t is not None
        t.reader_department_ids = [org.depts["A2"]]
        s.add(t)

    def seen(name: str) -> tuple[dict[str, Any], list[str]]:
        with db.read() as s:
            req = s.get(ApprovalRequest, rid)
            assert req is not None
            view = listing.request_detail(s, org.actor(name), req)
            return view["values"], [f["key"] for f in view["fields"]]

    assert seen("hamlet") == ({"reason": "事由", "illness": "流感"}, ["reason", "illness"])
    assert seen("polonius") == ({"reason": "事由"}, ["reason"])  # step s1 only
    assert seen("horatio")[0] == {"reason": "事由", "illness": "流感"}  # the personnel office
    with db.write() as s:
        row = s.get(ApprovalRequest, rid)
        assert row is not None
        actions.act(s, org.actor("polonius"), rid, "approve", version=row.version)
    assert seen("claudius")[0] == {"reason": "事由", "illness": "流感"}  # step s2


def test_reader_template_ids_stay_in_the_agency(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.write() as s:
        t = s.get(FormTemplate, tid)
        assert t is not None
        t.reader_department_ids = [org.depts["B1"]]  # a department of another agency named by mistake
        s.add(t)
    with db.read() as s:
        assert visibility.reader_template_ids(s, org.actor("othello")) == []
        assert s.exec(select(ApprovalRequest)).all() == []
