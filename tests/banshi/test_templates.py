"""Form templates: the administrator designs a draft, publishes it; published versions never change
(a new draft is a copy, publishing it retires the old one); staff see only their agency's active,
published templates; only the agency's administrators design."""

from __future__ import annotations

import pytest
from sqlmodel import select

from banshi import templates
from banshi.models import FormTemplate, FormVersion, TemplateStatus, VersionState
from office.audit import AuditEntry
from office.db import Database
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from tests.banshi.svc_helpers import FIELDS, make_template, two_steps
from tests.factories import Org


def versions(db: Database, tid: int) -> list[tuple[int, str, list[str]]]:
    with db.read() as s:
        rows = s.exec(select(FormVersion).where(FormVersion.template_id == tid).order_by(FormVersion.no)).all()
        return [(v.no, v.state.value, [f["key"] for f in v.fields]) for v in rows]


def test_design_publish_and_a_new_version(db: Database, org: Org) -> None:
    admin = org.actor("prospero")
    with db.write() as s:
        t = templates.create_template(s, admin, name="采购申请", category="财务")
        tid = t.id or 0
    with db.read() as s:  # nothing for staff before it is published
        assert templates.published_templates(s, org.actor("hamlet")) == []
        with pytest.raises(NotFound):
            templates.template_for_use(s, org.actor("hamlet"), tid)
    with db.write() as s:
        templates.save_draft(s, admin, tid, fields_raw=FIELDS, route_raw=two_steps(org), options_raw={"batch": True})
        templates.publish(s, admin, tid)
    assert versions(db, tid) == [(1, "published", ["reason", "amount"])]
    with db.read() as s:
        grouped = templates.grouped(templates.published_templates(s, org.actor("hamlet")))
        assert grouped["groups"][0]["category"] == "财务"
        assert [i["name"] for i in grouped["groups"][0]["items"]] == ["采购申请"]
    with db.write() as s:  # a new draft is a copy of the published version
        draft = templates.get_draft(s, admin, tid)
        assert draft.no == 2 and [f["key"] for f in draft.fields] == ["reason", "amount"]
        templates.save_draft(s, admin, tid, fields_raw=FIELDS[:1], route_raw=two_steps(org), options_raw={})
    assert versions(db, tid) == [(1, "published", ["reason", "amount"]), (2, "draft", ["reason"])]
    with db.write() as s:
        templates.publish(s, admin, tid)
    assert versions(db, tid) == [(1, "retired", ["reason", "amount"]), (2, "published", ["reason"])]
    with db.read() as s:
        t2, v = templates.template_for_use(s, org.actor("hamlet"), tid)
        assert v.no == 2 and v.state == VersionState.published
        logged = set(s.exec(select(AuditEntry.action).where(AuditEntry.target_type == "bs_template")).all())
    assert {"banshi.template_create", "banshi.draft_save", "banshi.publish", "banshi.draft_create"} <= logged


def test_published_versions_are_never_edited(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.read() as s:
        t = s.get(FormTemplate, tid)
        assert t is not None
        published = t.published_version_id
    with db.write() as s:
        draft = templates.get_draft(s, org.actor("prospero"), tid)
        assert draft.id != published
        templates.save_draft(
            s, org.actor("prospero"), tid, fields_raw=FIELDS[:1], route_raw=two_steps(org), options_raw={}
        )
    with db.read() as s:
        v = s.get(FormVersion, published)
        assert v is not None and [f["key"] for f in v.fields] == ["reason", "amount"]


def test_only_the_agencys_administrators_design(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.write() as s, pytest.raises(PermissionDenied):
        templates.create_template(s, org.actor("hamlet"), name="x")
    with db.write() as s, pytest.raises(PermissionDenied):
        templates.get_draft(s, org.actor("polonius"), tid)
    from office.models import Role
    from tests.factories import make_user

    org.users["b_admin"] = make_user(db, "b_admin", "钱伟", dept_id=org.depts["B1"], roles={Role.admin})
    with db.write() as s, pytest.raises(NotFound):  # another agency's administrator
        templates.get_draft(s, org.actor("b_admin"), tid)
    with db.read() as s:
        assert templates.admin_templates(s, org.actor("b_admin")) == []


def test_bad_designs_are_refused_naming_the_field(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    admin = org.actor("prospero")
    with db.write() as s, pytest.raises(InvalidTransition):
        templates.publish(s, admin, tid)  # no draft
    for options, field in (
        ({"dedupe": "maybe"}, "dedupe"),
        ({"batch": "yes"}, "batch"),
        ({"colour": 1}, "options"),
        ({"title": ""}, "title"),
    ):
        with db.write() as s, pytest.raises(ValidationError) as exc:
            templates.save_draft(s, admin, tid, fields_raw=FIELDS, route_raw=two_steps(org), options_raw=options)
        assert exc.value.extra["field"] == field
    with db.write() as s, pytest.raises(ValidationError):
        templates.save_draft(
            s,
            admin,
            tid,
            fields_raw=[{"key": "Bad Key", "type": "text", "label": "x"}],
            route_raw=two_steps(org),
            options_raw={},
        )
    with db.write() as s, pytest.raises(ValidationError) as exc:
        templates.update_template(s, admin, tid, reader_department_ids=[org.depts["B1"]])
    assert exc.value.extra["field"] == "reader_department_ids"
    with db.write() as s, pytest.raises(ValidationError):
        templates.create_template(s, admin, name="x", code="Bad-Code")


def test_a_disabled_template_is_kept_but_not_offered(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.write() as s:
        templates.update_template(s, org.actor("prospero"), tid, status=TemplateStatus.disabled, name="采购（停用）")
    with db.read() as s:
        assert templates.published_templates(s, org.actor("hamlet")) == []
        with pytest.raises(NotFound):
            templates.template_for_use(s, org.actor("hamlet"), tid)
        assert [t.name for t in templates.admin_templates(s, org.actor("prospero"))] == ["采购（停用）"]


def test_a_template_of_another_agency_is_not_offered(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with db.read() as s:
        assert templates.published_templates(s, org.actor("othello")) == []
        with pytest.raises(NotFound):
            templates.template_for_use(s, org.actor("othello"), tid)
