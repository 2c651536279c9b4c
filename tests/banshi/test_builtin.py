"""The built-in forms: each definition passes the designer's own checks (``banshi.fields`` and
``banshi.routing``), and ``ensure_builtin_templates`` gives an agency each one once, published."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from banshi import behaviours, fields, routing
from banshi.builtin import BUILTIN_KEYS, definitions, ensure_builtin_templates
from banshi.models import FormTemplate, FormVersion, TemplateStatus, TravelStandard, VersionState
from office.db import Database
from tests.factories import Org


@pytest.mark.parametrize("b", definitions(), ids=lambda b: b.builtin)
def test_definition_passes_the_designer_checks(b: Any) -> None:
    routing.validate_route(b.route, fields.validate_fields(b.fields))


def test_the_forms_the_issue_names() -> None:
    assert BUILTIN_KEYS == ("leave", "travel", "expense", "vehicle", "reception", "overtime", "supplies",
                            "purchase", "seal")  # fmt: skip
    by = {b.builtin: b for b in definitions()}
    assert [f["key"] for f in by["seal"].fields] == ["seal_id", "file", "times", "purpose"]
    assert by["seal"].fields[1]["max_files"] == 1
    assert (by["seal"].fields[2]["min"], by["seal"].fields[2]["max"]) == (1, 100)
    leave_branch = by["leave"].route["branches"][0]
    assert leave_branch["when"] == {"field": "dates.days", "op": ">", "value": 3}
    assert [s["approvers"]["kind"] for s in leave_branch["steps"]] == ["head", "supervisor"]
    assert by["leave"].route["cc"]["end"] == [{"kind": "offices", "office": "personnel", "role": None}]
    large = by["expense"].route["branches"][0]
    assert large["when"]["value"] == 5_000_000  # 50,000 元 in 分
    assert [s["approvers"]["kind"] for s in large["steps"]] == ["head", "offices", "supervisor", "principal"]
    for key in ("leave", "expense"):
        assert key in behaviours._registry


def test_ensure_is_idempotent(db: Database, org: Org) -> None:
    agency = org.agencies["A"]
    with db.write() as s:
        created = ensure_builtin_templates(s, agency)
        assert [t.builtin for t in created] == list(BUILTIN_KEYS)
        created[0].name = "请休假"  # an administrator renamed it: left as it is
        created[1].status = TemplateStatus.disabled
        s.add_all(created[:2])
    with db.write() as s:
        assert ensure_builtin_templates(s, agency) == []
        templates = s.exec(select(FormTemplate).where(FormTemplate.agency_id == agency)).all()
        versions = s.exec(select(FormVersion)).all()
        standards = s.exec(select(TravelStandard).where(TravelStandard.agency_id == agency)).all()
    assert len(templates) == len(BUILTIN_KEYS) and len(versions) == len(BUILTIN_KEYS)
    assert {t.name for t in templates} >= {"请休假", "用印申请", "差旅费报销"}
    by_id = {v.id: v for v in versions}
    for t in templates:
        v = by_id[t.published_version_id]
        assert (v.template_id, v.no, v.state) == (t.id, 1, VersionState.published) and v.published_at
    assert len(standards) == 15 and all(r.is_example for r in standards)
    with db.write() as s:
        assert len(ensure_builtin_templates(s, org.agencies["B"])) == len(BUILTIN_KEYS)  # per agency
