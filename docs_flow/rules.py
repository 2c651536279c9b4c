"""Policy rules for 公文 (``docs_flow``), registered with ``office.policy`` when this module is
imported; every module that asks ``policy`` about one of these actions imports it, so the rule is
there before the first question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docs_flow.models import DocStatus
from office import policy
from office.actor import Actor
from office.models import Role


@policy.rule("document.template.manage")
def _can_manage_templates(actor: Actor, _resource: Any = None) -> bool:
    """Route templates (流程模板) are the agency administrator's."""
    return actor.has(Role.admin)


@dataclass(frozen=True)
class DocAccess:
    """What policy needs to decide ``document.read``."""

    status: DocStatus
    on_route: bool
    same_agency: bool
    co_issuer_keeper: bool = False  # 联合行文: a co-issuing agency's seal keeper (docs_flow.visibility)


@policy.rule("document.use")
def _can_use(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None


@policy.rule("document.read")
def _can_read(actor: Actor, res: DocAccess) -> bool:
    if res.on_route or res.co_issuer_keeper:
        return True
    agency_wide = actor.has(Role.leader) or actor.has(Role.clerk)
    return res.same_agency and agency_wide and res.status != DocStatus.draft


@policy.rule("incoming.register")
def _can_register(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None and (
        actor.has(Role.clerk) or actor.has(Role.dept_head) or actor.has(Role.leader)
    )


@policy.rule("supervision.view")
def _can_view(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None


@dataclass(frozen=True)
class SupervisionOffice:
    """The departments of an agency whose work is following 督办 up (its 督查室), for ``supervision.manage``."""

    department_ids: frozenset[int]


@policy.rule("supervision.manage")
def _can_manage(actor: Actor, office: SupervisionOffice | None = None) -> bool:
    """The agency's whole 督办 list, to enter, remind and escalate: its leaders, clerks and administrators,
    and the staff of its supervision office (``office``, when the caller has looked it up)."""
    if actor.agency_id is None:
        return False
    if actor.has(Role.leader) or actor.has(Role.clerk) or actor.is_admin:
        return True
    return office is not None and bool(actor.department_ids & office.department_ids)


@policy.rule("archive.destroy")
def _can_destroy(actor: Actor, _resource: Any = None) -> bool:
    return actor.is_admin


@policy.rule("document.number.manage")
def _can_manage_numbers(actor: Actor, _resource: Any = None) -> bool:
    return actor.has(Role.clerk) or actor.has(Role.admin)
