"""The one place that answers "may this actor do this action on this resource".

Every action is a dotted name with a registered rule. Each package keeps its rules in its
``rules.py`` (``@policy.rule("document.read")``), which ``office.app.load_rules`` imports. Unknown
actions are denied, and a rule that raises is a denial (fail closed). Every route declares its
action (see ``office.web.api``); a test walks the route table and fails on a route without one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from office.actor import Actor
from office.errors import NotFound, PermissionDenied

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
