"""Policy rules for the core (administration, the directory, one's own account), registered with
``office.policy`` when ``office.app.load_rules`` imports this module."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor


def _admin(actor: Actor, _resource: Any = None) -> bool:
    return actor.is_admin


# calendar.manage: the working calendar (holidays, 调休) every domain counts working days by.
for _action in (
    "org.manage",
    "user.manage",
    "role.assign",
    "audit.read",
    "settings.manage",
    "session.manage_any",
    "calendar.manage",
):
    policy.rule(_action)(_admin)


@policy.rule("directory.read")
def _directory_read(actor: Actor, _resource: Any = None) -> bool:
    return True


@policy.rule("self.manage")
def _self_manage(actor: Actor, resource: Any = None) -> bool:
    return resource is None or resource == actor.user_id
