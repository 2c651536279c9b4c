"""Policy rules for 公文 (``docs_flow``), registered with ``office.policy`` when this module is
imported; every module that asks ``policy`` about one of these actions imports it, so the rule is
there before the first question."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor
from office.models import Role


@policy.rule("document.template.manage")
def _can_manage_templates(actor: Actor, _resource: Any = None) -> bool:
    """Route templates (流程模板) are the agency administrator's."""
    return actor.has(Role.admin)
