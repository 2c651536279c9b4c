"""Policy rules for 办事 (``banshi``), registered with ``office.policy`` when ``office.app.load_rules``
imports this module. Who may read one request is not a rule here but ``banshi.visibility`` (one copy,
as SQL, for the lists and the detail alike)."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor
from office.models import Role


@policy.rule("banshi.use")
def _can_use(actor: Actor, _resource: Any = None) -> bool:
    """Any staff member of an agency starts requests and approves what reaches them."""
    return actor.agency_id is not None


@policy.rule("banshi.template.manage")
def _can_manage_templates(actor: Actor, _resource: Any = None) -> bool:
    """Form templates (the designer), 分管领导 and the agency's offices: its administrators."""
    return actor.agency_id is not None and actor.has(Role.admin)


@policy.rule("banshi.leaders.manage")
def _can_manage_leaders(actor: Actor, _resource: Any = None) -> bool:
    """分管领导, 主要领导 and the agency's 人事处/财务处 (``banshi.leaders``): its administrators."""
    return actor.agency_id is not None and actor.has(Role.admin)
