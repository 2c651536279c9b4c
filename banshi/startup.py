"""Wires 办事 into a running app: the route engine's case kind ``banshi``, its 待办 source on the
工作台, the built-in forms for every agency (``banshi.builtin``, idempotent), and the group-commit
writer that submissions share (``app.state.banshi_commit``: many submissions, one durable commit)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Any

from sqlmodel import Session, select

from banshi import case_kind, todo
from banshi.models import FormTemplate
from office.groupcommit import GroupCommit
from office.models import Department, DeptKind

log = logging.getLogger("banshi.startup")


def _builtin() -> Any:
    """``banshi.builtin`` (the built-in forms, which also registers their behaviours), if installed."""
    try:
        return importlib.import_module("banshi.builtin")
    except ModuleNotFoundError as exc:
        if exc.name != "banshi.builtin":
            raise
        return None


def ensure_builtins(db: Any) -> None:
    """Give every agency the built-in forms it lacks."""
    builtin = _builtin()
    if builtin is None:
        return
    with db.write() as session:
        agencies = session.exec(select(Department.id).where(Department.kind == DeptKind.agency)).all()
        for agency_id in agencies:
            if agency_id is not None:
                builtin.ensure_builtin_templates(session, agency_id)


def lacks_builtins(session: Session, agency_id: int | None) -> bool:
    """True for an agency with no form at all: one created since start-up (``ensure_builtins`` gave
    every agency there was then its built-in forms). The form lists then give it them
    (``give_builtins``); an agency that has forms is left as its administrator made it."""
    if agency_id is None or _builtin() is None:
        return False
    has = session.exec(select(FormTemplate.id).where(FormTemplate.agency_id == agency_id).limit(1)).first()
    return has is None


def give_builtins(session: Session, agency_id: int) -> None:
    """The built-in forms for one agency (idempotent), in the caller's write transaction."""
    builtin = _builtin()
    if builtin is not None:
        builtin.ensure_builtin_templates(session, agency_id)


async def _hold(group: GroupCommit) -> None:
    """Keep the group-commit writer until the app stops."""
    try:
        await asyncio.Event().wait()
    finally:
        group.stop()


def start(app: Any) -> Any:
    case_kind.register_kind()
    app.state.todo.register(*todo.SOURCES)  # 待我审批 and returned requests on the 工作台
    try:
        ensure_builtins(app.state.db)
    except Exception:  # a broken built-in definition must not keep the whole app from starting
        log.exception("could not create the built-in 办事 forms")
    app.state.banshi_commit = GroupCommit(app.state.db, name="banshi-group-commit")
    return _hold(app.state.banshi_commit)
