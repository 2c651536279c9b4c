"""The one place that answers "may this actor do this action on this resource".

Every action is a dotted name with a registered rule. Domain packages register their own rules at
import time with ``@rule("document.read")``. Unknown actions are denied, and a rule that raises is
a denial (fail closed). Every route declares its action (see ``office.web.api``); a test walks the
route table and fails on a route without one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from office.actor import Actor
from office.errors import NotFound, PermissionDenied
from office.models import Role

Rule = Callable[[Actor, Any], bool]
PUBLIC = "public"
AUTHENTICATED = "authenticated"

_rules: dict[str, Rule] = {}
log = logging.getLogger("office.policy")


def rule(action: str) -> Callable[[Rule], Rule]:
    def deco(fn: Rule) -> Rule:
        if action in _rules and _rules[action] is not fn:
            raise RuntimeError(f"policy rule {action!r} registered twice")
        _rules[action] = fn
        return fn

    return deco


def known(action: str) -> bool:
    return action in _rules or action in (PUBLIC, AUTHENTICATED)


def actions() -> list[str]:
    return sorted(_rules)


def can(actor: Actor | None, action: str, resource: Any = None) -> bool:
    if action == PUBLIC:
        return True
    if actor is None:
        return False
    if action == AUTHENTICATED:
        return True
    fn = _rules.get(action)
    if fn is None:
        log.error("no policy rule for action %r: denied", action)
        return False
    try:
        return bool(fn(actor, resource))
    except Exception:  # fail closed
        log.exception("policy rule %r raised: denied", action)
        return False


def require(actor: Actor | None, action: str, resource: Any = None, *, hide: bool = False) -> None:
    """Raise PermissionDenied, or NotFound when ``hide`` (so existence is not revealed)."""
    if not can(actor, action, resource):
        if hide:
            raise NotFound()
        raise PermissionDenied()


# Core rules ---------------------------------------------------------------------------------


def _admin(actor: Actor, _resource: Any = None) -> bool:
    return actor.is_admin


for _action in ("org.manage", "user.manage", "role.assign", "audit.read", "settings.manage", "session.manage_any"):
    rule(_action)(_admin)


@rule("directory.read")
def _directory_read(actor: Actor, _resource: Any = None) -> bool:
    return True


@rule("self.manage")
def _self_manage(actor: Actor, resource: Any = None) -> bool:
    return resource is None or resource == actor.user_id


def is_role(actor: Actor, role: Role) -> bool:
    return role in actor.roles
