"""Policy rules for 数据填报 (``tianbao``), registered with ``office.policy`` when ``office.app.load_rules``
imports this module. Who may read an item is not a rule here but ``tianbao.items.readable_cond`` (one
copy, as SQL, for the list and the single item alike); which units a collector may reach is
``tianbao.scopes.check_units``."""

from __future__ import annotations

from typing import Any

from office import policy
from office.actor import Actor
from office.models import Role

# The registry (items, values, scopes) -------------------------------------------------------------


def _system(actor: Actor) -> bool:
    """The CLI's and the background jobs' actor (``office.actor.SYSTEM``): the demo defines items as it."""
    return actor.user_id == 0 and actor.is_admin


@policy.rule("tianbao.use")
def _can_use(actor: Actor, _resource: Any = None) -> bool:
    """Any staff member of an agency reads the registry and fills the returns given to them."""
    return actor.agency_id is not None


@policy.rule("tianbao.item.define")
def _can_define(actor: Actor, owner_dept_id: Any = None) -> bool:
    """一数一源: only the owner department (数源部门) defines, changes and approves its items: its head,
    or a clerk holding a post in it. ``owner_dept_id`` is the department the item belongs to."""
    if _system(actor):
        return True
    if not isinstance(owner_dept_id, int) or actor.agency_id is None:
        return False
    if owner_dept_id in actor.headed_department_ids:
        return True
    return actor.has(Role.clerk) and owner_dept_id in actor.department_ids


@policy.rule("tianbao.item.propose")
def _can_propose(actor: Actor, _resource: Any = None) -> bool:
    """A collector (a department head or clerk, or an administrator) proposes a new item for the
    owner department to approve (采集需求审核)."""
    if actor.agency_id is None:
        return False
    return bool(actor.headed_department_ids) or actor.has(Role.clerk) or actor.has(Role.admin)


@policy.rule("tianbao.scope.manage")
def _can_manage_scopes(actor: Actor, _resource: Any = None) -> bool:
    """数据采集关系 (whom the agency may collect from beyond its own tree): its administrators."""
    return actor.agency_id is not None and actor.has(Role.admin)


# Tasks and returns (piece B) -----------------------------------------------------------------------
# A task's collector is its department and that department's agency. Its members read the task and
# its board; issuing, withdrawing, closing, 催报, accepting and returning need its head, a clerk with a
# post in it, or an administrator of its agency. A return is worked on by its filler and reviewer only
# (``tianbao.returns``).


@policy.rule("tianbao.task.manage")
def _can_manage_task(actor: Actor, task: Any) -> bool:
    """``task`` is anything with ``collector_dept_id`` and ``collector_agency_id`` (a task, or the
    department a new one is drafted for: ``tianbao.tasks.Collector``)."""
    if actor.agency_id is None:
        return False
    if actor.is_admin and actor.agency_id == task.collector_agency_id:
        return True
    if task.collector_dept_id in actor.headed_department_ids:
        return True
    return actor.has(Role.clerk) and task.collector_dept_id in actor.department_ids


@policy.rule("tianbao.task.read")
def _can_read_task(actor: Actor, task: Any) -> bool:
    """The collecting department's members (and whoever may manage the task) see it and its board."""
    return task.collector_dept_id in actor.department_ids or _can_manage_task(actor, task)
