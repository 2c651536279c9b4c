"""Form fields that point into the database (banshi/fields.py with banshi/field_refs.py): people and
departments of the applicant's agency, the applicant's own unattached files, requests and 公文 the
applicant may read, and date ranges counted with the working calendar (the shipped 2026 schedule,
国庆 with its 调休 Saturday). Each kind is one query however many fields hold it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from banshi.fields import clean_values, validate_fields
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestCc, RequestFile, VersionState
from docs_flow import service as docs_service
from docs_flow.schemas import DocumentCreate
from office.actor import SYSTEM
from office.db import Database
from office.directory import service as directory
from office.errors import ValidationError
from tests.factories import Org, make_user


def F(key: str, type_: str, **options: Any) -> dict[str, Any]:
    return {"key": key, "label": options.pop("label", key), "type": type_, **options}


def clean(org: Org, applicant: str, fields: list[dict[str, Any]], raw: Any, **kw: Any) -> dict[str, Any]:
    with org.db.read() as s:
        return clean_values(s, org.actor(applicant), validate_fields(fields), raw, **kw)


def refused(org: Org, applicant: str, fields: list[dict[str, Any]], raw: Any, **kw: Any) -> ValidationError:
    with pytest.raises(ValidationError) as e:
        clean(org, applicant, fields, raw, **kw)
    assert e.value.status_code == 422
    return e.value


@contextmanager
def counting_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the session's PRAGMA and BEGIN
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# People and departments --------------------------------------------------------------------------


def test_people_must_be_active_staff_of_the_applicants_agency(db: Database, org: Org) -> None:
    fields = [F("who", "person", label="经办人"), F("team", "person", label="同行人员", multiple=True)]
    u = org.users
    values = clean(org, "hamlet", fields, {"who": u["ophelia"], "team": [u["horatio"], u["hamlet"]]})
    assert values == {"who": u["ophelia"], "team": [u["horatio"], u["hamlet"]]}  # another department, same agency
    error = refused(org, "hamlet", fields, {"who": u["ophelia"], "team": [u["horatio"], u["othello"]]})
    assert (error.code, error.extra, error.message) == (
        "bad_person",
        {"field": "team"},
        "“同行人员”中的人员不存在、已停用或不在本单位",
    )
    assert refused(org, "hamlet", fields, {"who": 999_999}).extra == {"field": "who"}
    with db.write() as s:
        directory.set_active(s, SYSTEM, u["ophelia"], False)
    assert refused(org, "hamlet", fields, {"who": u["ophelia"]}).code == "bad_person"
    nobody = make_user(db, "caliban", "无岗位", dept_id=None)
    assert refused(org, "hamlet", fields, {"who": nobody}).code == "bad_person"
    # The other agency's staff may name their own colleagues, and not ours.
    assert clean(org, "othello", fields, {"who": u["iago"]}) == {"who": u["iago"]}
    assert refused(org, "othello", fields, {"who": u["hamlet"]}).code == "bad_person"


def test_departments_must_be_of_the_applicants_agency(db: Database, org: Org) -> None:
    fields = [F("dept", "department", label="部门"), F("depts", "department", multiple=True)]
    a, d = org.agencies, org.depts
    assert clean(org, "hamlet", fields, {"dept": d["A2"], "depts": [d["A1"], a["A"]]}) == {
        "dept": d["A2"],
        "depts": [d["A1"], a["A"]],
    }
    error = refused(org, "hamlet", fields, {"dept": d["B1"]})
    assert (error.code, error.extra, error.message) == (
        "bad_department",
        {"field": "dept"},
        "“部门”中的部门不存在或不属于本单位",
    )
    assert refused(org, "hamlet", fields, {"depts": [d["A1"], a["B"]]}).extra == {"field": "depts"}


def test_each_kind_of_reference_is_one_query(db: Database, org: Org) -> None:
    fields = validate_fields(
        [
            F("a", "person"),
            F("b", "person", multiple=True),
            F("c", "person", multiple=True),
            F("d", "department"),
            F("e", "department", multiple=True),
            F("text", "text"),
        ]
    )
    u, dp = org.users, org.depts
    raw = {
        "a": u["hamlet"],
        "b": [u["ophelia"], u["polonius"]],
        "c": [u["horatio"], u["laertes"], u["claudius"]],
        "d": dp["A1"],
        "e": [dp["A1"], dp["A2"]],
        "text": "x",
    }
    actor = org.actor("hamlet")
    with db.read() as s, counting_queries(db) as statements:
        clean_values(s, actor, fields, raw)
    assert len(statements) == 2, statements  # people, departments
    with db.read() as s, counting_queries(db) as statements:
        clean_values(s, actor, fields, {"text": "only text"})
    assert statements == []


# Files -------------------------------------------------------------------------------------------


def _request(s: Session, org: Org, applicant: str, *, agency: str = "A") -> int:
    """A draft request row of ``applicant`` (on a bare template made for the test)."""
    t = FormTemplate(agency_id=org.agencies[agency], code=f"t{applicant}", name="测试")
    s.add(t)
    s.flush()
    v = FormVersion(template_id=t.id or 0, no=1, state=VersionState.published)
    s.add(v)
    s.flush()
    req = ApprovalRequest(
        agency_id=org.agencies[agency],
        template_id=t.id or 0,
        version_id=v.id or 0,
        title="测试申请",
        applicant_id=org.users[applicant],
    )
    s.add(req)
    s.flush()
    return req.id or 0


def _file(s: Session, org: Org, uploader: str, request_id: int | None = None) -> int:
    f = RequestFile(
        name="发票.pdf", sha256="0" * 64, data=b"%PDF", uploaded_by=org.users[uploader], request_id=request_id
    )
    s.add(f)
    s.flush()
    return f.id or 0


def test_attachments_are_the_applicants_own_unattached_files(db: Database, org: Org) -> None:
    with db.write() as s:
        mine = _file(s, org, "hamlet")
        mine_too = _file(s, org, "hamlet")
        theirs = _file(s, org, "ophelia")
        request = _request(s, org, "hamlet")
        other_request = _request(s, org, "ophelia")
        on_this = _file(s, org, "hamlet", request)
        on_another = _file(s, org, "hamlet", other_request)
    fields = [F("files", "attachment", label="发票", max_files=3)]
    assert clean(org, "hamlet", fields, {"files": [mine, mine_too]}) == {"files": [mine, mine_too]}
    error = refused(org, "hamlet", fields, {"files": [mine, theirs]})
    assert (error.code, error.extra) == ("bad_attachment", {"field": "files"})
    assert error.message == "“发票”中的文件不存在、不是您上传的，或已用于其他申请"
    assert refused(org, "hamlet", fields, {"files": [on_this]}).code == "bad_attachment"  # a new request
    assert clean(org, "hamlet", fields, {"files": [mine, on_this]}, request_id=request) == {"files": [mine, on_this]}
    assert refused(org, "hamlet", fields, {"files": [on_another]}, request_id=request).code == "bad_attachment"
    assert refused(org, "hamlet", fields, {"files": [999_999]}).code == "bad_attachment"


# Links -------------------------------------------------------------------------------------------


def test_a_linked_request_must_be_readable_by_the_applicant(db: Database, org: Org) -> None:
    with db.write() as s:
        own = _request(s, org, "hamlet")
        colleagues = _request(s, org, "ophelia")
        copied = _request(s, org, "laertes")
        s.add(RequestCc(request_id=copied, user_id=org.users["hamlet"], stage="submit"))
        abroad = _request(s, org, "othello", agency="B")
    fields = [F("trip", "link", label="关联申请", to="request")]
    assert clean(org, "hamlet", fields, {"trip": {"kind": "request", "id": own, "title": "x"}}) == {
        "trip": {"kind": "request", "id": own}
    }
    assert clean(org, "hamlet", fields, {"trip": {"kind": "request", "id": copied}})["trip"]["id"] == copied  # 抄送
    for target in (colleagues, abroad, 999_999):
        error = refused(org, "hamlet", fields, {"trip": {"kind": "request", "id": target}})
        assert (error.code, error.extra, error.message) == (
            "bad_link",
            {"field": "trip"},
            "“关联申请”所关联的申请不存在或您无权查看",
        )
    # A request cannot link to itself.
    assert refused(org, "hamlet", fields, {"trip": {"kind": "request", "id": own}}, request_id=own).code == "bad_link"


def test_a_linked_document_must_be_readable_by_the_applicant(db: Database, org: Org) -> None:
    with db.write() as s:
        data = DocumentCreate(
            doc_type="通知", title="关于办事关联公文的通知", body=[{"kind": "paragraph", "text": "正文。"}]
        )
        doc = docs_service.check_create_document(s, org.actor("hamlet"), data)
        doc_id = doc.id or 0
    fields = [F("doc", "link", label="关联公文", to="document")]
    assert clean(org, "hamlet", fields, {"doc": {"kind": "document", "id": doc_id}}) == {
        "doc": {"kind": "document", "id": doc_id}
    }
    error = refused(org, "ophelia", fields, {"doc": {"kind": "document", "id": doc_id}})  # a colleague's draft
    assert (error.code, error.message) == ("bad_link", "“关联公文”所关联的公文不存在或您无权查看")
    assert refused(org, "othello", fields, {"doc": {"kind": "document", "id": doc_id}}).code == "bad_link"
    assert refused(org, "hamlet", fields, {"doc": {"kind": "request", "id": doc_id}}).extra == {"field": "doc"}


# Working days ------------------------------------------------------------------------------------

LEAVE = [F("dates", "daterange", label="请假日期", halves=True)]


def _days(org: Org, start: str, end: str, **halves: str) -> float:
    values = clean(org, "hamlet", LEAVE, {"dates": {"start": start, "end": end, **halves}})
    return float(values["dates"]["days"])


def test_workdays_around_national_day_2026(db: Database, org: Org) -> None:
    # 30 September (Wednesday) works; 1–7 October are 国庆 holidays; 8–9 October work.
    assert _days(org, "2026-09-30", "2026-10-09") == 3
    # Saturday 10 October is a 调休 working day.
    assert _days(org, "2026-09-30", "2026-10-10") == 4
    assert _days(org, "2026-10-10", "2026-10-10") == 1
    # Sunday 20 September works (调休), Saturday 19 does not.
    assert _days(org, "2026-09-19", "2026-09-21") == 2
    # Half days: afternoon of the 30th and morning of the 8th.
    assert _days(org, "2026-09-30", "2026-10-08", start_half="pm", end_half="am") == 1
    # A half taken off a holiday at either end takes nothing off.
    assert _days(org, "2026-10-01", "2026-10-09", start_half="pm") == 2
    assert _days(org, "2026-10-08", "2026-10-08", start_half="am", end_half="am") == 0.5
    # 中秋 (25–27 September) and an ordinary week: Monday 21 to Friday 25 is four working days.
    assert _days(org, "2026-09-21", "2026-09-25") == 4


def test_a_range_without_working_days_is_refused(db: Database, org: Org) -> None:
    error = refused(org, "hamlet", LEAVE, {"dates": {"start": "2026-10-01", "end": "2026-10-07"}})
    assert (error.code, error.extra, error.message) == ("no_workdays", {"field": "dates"}, "“请假日期”中没有工作日")
    assert refused(org, "hamlet", LEAVE, {"dates": {"start": "2026-10-11", "end": "2026-10-11"}}).code == "no_workdays"
    calendar_days = [F("dates", "daterange", count="calendar")]
    assert clean(org, "hamlet", calendar_days, {"dates": {"start": "2026-10-01", "end": "2026-10-07"}}) == {
        "dates": {"start": "2026-10-01", "end": "2026-10-07", "days": 7.0}
    }


def test_the_calendar_is_read_once_for_every_range(db: Database, org: Org) -> None:
    fields = validate_fields([F("a", "daterange"), F("b", "daterange"), F("c", "daterange", count="calendar")])
    raw = {
        "a": {"start": "2026-09-30", "end": "2026-10-09"},
        "b": {"start": "2026-02-13", "end": "2026-02-24"},
        "c": {"start": "2026-10-01", "end": "2026-10-02"},
    }
    actor = org.actor("hamlet")
    with db.read() as s, counting_queries(db) as statements:
        values = clean_values(s, actor, fields, raw)
    assert len(statements) == 1
    assert values["a"]["days"] == 3
    # 春节 2026: 13 Feb (Fri) works, 14 Feb (Sat) is a 调休 working day, 15–23 Feb holidays, 24 Feb works.
    assert values["b"]["days"] == 3
    assert values["c"]["days"] == 2
