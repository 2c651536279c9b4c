"""Helpers for the 办事 service tests: templates made and published through the real service, with
routes of named approvers (``{"kind": "users"}``), so they need no 分管领导 or offices set up."""

from __future__ import annotations

from typing import Any

from banshi import templates
from banshi.models import FormTemplate
from office.db import Database
from tests.factories import Org

FIELDS: list[dict[str, Any]] = [
    {"key": "reason", "label": "事由", "type": "text", "required": True},
    {"key": "amount", "label": "金额", "type": "money", "required": False},
]


def users(*ids: int) -> dict[str, Any]:
    return {"kind": "users", "user_ids": list(ids)}


def step(key: str, name: str, *ids: int, mode: str = "any", cc: list[int] | None = None) -> dict[str, Any]:
    return {"key": key, "name": name, "mode": mode, "approvers": users(*ids), "cc": [users(*cc)] if cc else []}


def two_steps(org: Org, **cc: list[int]) -> dict[str, Any]:
    """部门负责人 (polonius) then 分管领导 (claudius), with 抄送 at submission and at the end as given."""
    u = org.users
    return {
        "branches": [],
        "default": {
            "steps": [
                step("s1", "部门负责人审批", u["polonius"], cc=cc.get("after_s1")),
                step("s2", "分管领导审批", u["claudius"]),
            ]
        },
        "cc": {
            "submit": [users(*cc["submit"])] if cc.get("submit") else [],
            "end": [users(*cc["end"])] if cc.get("end") else [],
        },
    }


def make_template(
    db: Database,
    org: Org,
    *,
    name: str = "采购申请",
    fields: list[dict[str, Any]] | None = None,
    route: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    builtin: str = "",
    admin: str = "prospero",
) -> int:
    """A published template of the admin's agency; returns its id."""
    actor = org.actor(admin)
    with db.write() as s:
        t = templates.create_template(s, actor, name=name, category="行政")
        if builtin:
            t.builtin = builtin
            s.add(t)
        templates.save_draft(
            s,
            actor,
            t.id or 0,
            fields_raw=fields if fields is not None else FIELDS,
            route_raw=route if route is not None else two_steps(org),
            options_raw=options or {},
        )
        templates.publish(s, actor, t.id or 0)
        return t.id or 0


def template(db: Database, template_id: int) -> FormTemplate:
    with db.read() as s:
        row = s.get(FormTemplate, template_id)
        assert row is not None
        return row
