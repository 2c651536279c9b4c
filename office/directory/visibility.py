"""Who sees whom across agencies: the one rule for directory search, a department's member list, a
person's card, opening a one-to-one chat (``messaging.service.open_direct``), picking people for a
group chat (``create_group``, ``add_members``) and presence (``messaging.presence``). A person the
rule hides answers as one who does not exist.

Staff see everyone of their own agency. Of another agency they see only its 机关领导 and 收发员
(``OPEN_ROLES``): the people cross-agency 公文 (分发, 联合发文, 来文) and a first contact go
through. Presence adds the people one already shares a conversation with (``messaging``), so an
existing chat keeps its online dots. Administrators, who manage every account, see everyone, and
so does everyone when the deployment sets ``OFFICE_DIRECTORY_ACROSS_AGENCIES``. The department tree
is not filtered: 公文 is addressed to agencies and departments, and their names are not staff.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from sqlmodel import Session, col, select

from office.actor import Actor
from office.config import Settings
from office.db import settings_of
from office.models import Department, Post, Role, UserRole

OPEN_ROLES = frozenset({Role.leader, Role.clerk})

Scope = frozenset[int] | None  # the viewer's agencies, or None: sees everyone


def scope_of(settings: Settings, actor: Actor) -> Scope:
    """What ``actor`` sees of other agencies: None for everyone, else the agencies whose staff all
    show (their own)."""
    if settings.directory_across_agencies or actor.is_admin or actor.agency_id is None:
        return None
    return frozenset({actor.agency_id})


def sees(scope: Scope, agencies: Iterable[int | None], roles: AbstractSet[Role]) -> bool:
    """Whether a viewer with ``scope`` sees a person with posts in ``agencies`` holding ``roles``."""
    return scope is None or bool(OPEN_ROLES & roles) or any(a in scope for a in agencies)


def visible(session: Session, scope: Scope, user_ids: list[int]) -> list[int]:
    """``user_ids`` (in order) that ``sees`` admits, read from the database."""
    if scope is None or not user_ids:
        return list(user_ids)
    agencies: dict[int, set[int | None]] = defaultdict(set)
    for uid, agency in session.exec(
        select(Post.user_id, Department.agency_id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(col(Post.user_id).in_(user_ids))
    ).all():
        agencies[uid].add(agency)
    roles: dict[int, set[Role]] = defaultdict(set)
    for uid, role in session.exec(
        select(UserRole.user_id, col(UserRole.role)).where(
            col(UserRole.user_id).in_(user_ids), col(UserRole.role).in_(OPEN_ROLES)
        )
    ).all():
        roles[uid].add(role)
    return [u for u in user_ids if sees(scope, agencies[u], roles[u])]


def sees_user(session: Session, actor: Actor, user_id: int) -> bool:
    """Whether ``actor`` sees the person ``user_id`` (a card, a new chat): ``visible`` for one."""
    return bool(visible(session, scope_of(settings_of(session), actor), [user_id]))
