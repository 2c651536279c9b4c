"""Computed sources: values the system knows without anyone typing them (the unit's staff count from
the directory). An item whose ``source`` names one is prefilled with it (``tianbao.prefill``) and
marked with the source's label. Other domains may ``register`` more (at import time, as rules are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from office.models import Department, DeptKind, Post, User

log = logging.getLogger("tianbao.sources")
Compute = Callable[[Session, int, str], Any]  # (session, unit_id, period) -> value or None


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    fn: Compute


_sources: dict[str, Source] = {}


def register(key: str, label: str, fn: Compute) -> None:
    if key in _sources and _sources[key].fn is not fn:
        raise RuntimeError(f"computed source {key!r} registered twice")
    _sources[key] = Source(key, label, fn)


def known(key: str) -> bool:
    return key in _sources


def label(key: str) -> str:
    source = _sources.get(key)
    return source.label if source else ""


def catalogue() -> list[dict[str, str]]:
    """The sources an item may name, for the item editor."""
    return [{"key": s.key, "label": s.label} for s in sorted(_sources.values(), key=lambda s: s.key)]


def compute(session: Session, key: str, unit_id: int, period: str) -> Any:
    """The source's value for the unit and period, or None (unknown source, nothing known, or the
    source failed: a prefill falls back to typing rather than failing the form)."""
    source = _sources.get(key)
    if source is None:
        return None
    try:
        return source.fn(session, unit_id, period)
    except Exception:
        log.exception("computed source %r failed for unit %s, period %s", key, unit_id, period)
        return None


# Built in: the directory --------------------------------------------------------------------------


def _subtree_path(session: Session, unit_id: int) -> str | None:
    dept = session.get(Department, unit_id)
    return dept.path if dept is not None and dept.path else None


def _staff_count(session: Session, unit_id: int, _period: str) -> int | None:
    """Active staff holding a post (primary or concurrent) anywhere in the unit's subtree, each once."""
    path = _subtree_path(session, unit_id)
    if path is None:
        return None
    return session.exec(
        select(func.count(func.distinct(Post.user_id)))
        .join(Department, col(Department.id) == col(Post.department_id))
        .join(User, col(User.id) == col(Post.user_id))
        .where(col(Department.path).startswith(path), col(User.is_active).is_(True))
    ).one()


def _department_count(session: Session, unit_id: int, _period: str) -> int | None:
    """The departments (处室/科室, not agencies) below the unit."""
    path = _subtree_path(session, unit_id)
    if path is None:
        return None
    return session.exec(
        select(func.count())
        .select_from(Department)
        .where(
            col(Department.path).startswith(path),
            Department.id != unit_id,
            Department.kind == DeptKind.department,
        )
    ).one()


register("directory.staff_count", "通讯录（在岗人数）", _staff_count)
register("directory.department_count", "通讯录（内设机构数）", _department_count)
