"""Policy rules for 电子印章, registered with ``office.policy`` when ``office.app.load_rules``
imports this module. Route-level only: which key or seal a person may use is the service's check."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor
from office.models import Role


@policy.rule("esign.sign")
def _may_sign(actor: Actor, _resource: Any = None) -> bool:
    return True  # everyone signs with their own key only; the service enforces that


@policy.rule("esign.seal_manage")
def _may_manage_seals(actor: Actor, _resource: Any = None) -> bool:
    return Role.seal_keeper in actor.roles


@policy.rule("esign.credential_admin")
def _may_revoke_others(actor: Actor, _resource: Any = None) -> bool:
    return actor.is_admin
