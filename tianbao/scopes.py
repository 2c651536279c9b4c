"""数据采集关系: which units a collector agency may issue tasks to.

An agency collects from the units of its own subtree and from the subtree under each ``root_id``
its scope rows (``tb_scope``) list. Those rows are the ONE rule that lets a collection cross
agencies, and the UNIT side consents to them: a row (collector, root) is a grant made by an
administrator of the agency that owns ``root_id`` ("agency X may collect from this department of
ours"); a collector cannot give itself reach over another agency. Every change is audited.
``check_units`` is the check every issue goes through; ``collectable_units`` is the same rule as a
tree for the unit picker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, delete, select

from office import audit, policy
from office.actor import Actor
from office.errors import ValidationError
from office.models import Department
from tianbao.models import CollectScope

MAX_SCOPES = 200
MAX_UNITS = 5000


def _root_paths(session: Session, collector_agency_id: int) -> list[str]:
    """The tree paths under which the agency may collect: its own and its scope roots', outermost only."""
    ids = [collector_agency_id, *scope_root_ids(session, collector_agency_id)]
    paths = sorted(p for p in session.exec(select(Department.path).where(col(Department.id).in_(ids))).all() if p)
    kept: list[str] = []
    for p in paths:  # sorted, so an enclosing path comes before the paths inside it
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def scope_root_ids(session: Session, collector_agency_id: int) -> list[int]:
    rows = session.exec(
        select(CollectScope.root_id)
        .where(CollectScope.collector_agency_id == collector_agency_id)
        .order_by(col(CollectScope.id))
    ).all()
    return list(rows)


def check_units(session: Session, collector_agency_id: int, unit_ids: Iterable[int]) -> dict[int, Department]:
    """The units by id, each checked to be inside the collector's scope; otherwise a 422
    ``unit_out_of_scope`` naming the first unit that is not (an unknown id is named by its number)."""
    wanted = list(dict.fromkeys(unit_ids))
    if len(wanted) > MAX_UNITS:
        raise ValidationError(f"一次最多向 {MAX_UNITS} 个单位采集", code="too_many_units", field="units")
    if not wanted:
        return {}
    roots = _root_paths(session, collector_agency_id)
    found = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_(wanted))).all()}
    out: dict[int, Department] = {}
    for unit_id in wanted:
        dept = found.get(unit_id)
        if dept is None:
            raise ValidationError(
                f"单位（编号 {unit_id}）不存在", code="unit_out_of_scope", field="units", unit_id=unit_id
            )
        if not any(dept.path.startswith(r) for r in roots):
            raise ValidationError(
                f"“{dept.name}”不在本机关的数据采集范围内", code="unit_out_of_scope", field="units", unit_id=unit_id
            )
        out[unit_id] = dept
    return out


def collectable_units(session: Session, collector_agency_id: int) -> list[dict[str, Any]]:
    """The units the agency may collect from, as trees (its own agency first, then each scope root)."""
    roots = _root_paths(session, collector_agency_id)
    if not roots:
        return []
    depts = session.exec(
        select(Department)
        .where(or_(*(col(Department.path).startswith(r) for r in roots)))
        .order_by(col(Department.sort_order), col(Department.id))
    ).all()
    agency_names = {d.id: d.name for d in depts if d.kind.value == "agency"}
    outside = {d.agency_id for d in depts if d.agency_id and d.agency_id not in agency_names}
    if outside:  # a scope root that is a department of another agency: that agency's name
        agency_names.update(
            session.exec(select(Department.id, Department.name).where(col(Department.id).in_(outside))).all()
        )
    nodes: dict[int, dict[str, Any]] = {}
    for d in depts:
        assert d.id is not None  # stored rows have ids
        nodes[d.id] = {
            "id": d.id,
            "name": d.name,
            "kind": d.kind.value,
            "agency_id": d.agency_id,
            "agency_name": agency_names.get(d.agency_id or 0, ""),
            "parent_id": d.parent_id,
            "children": [],
        }
    tops: list[dict[str, Any]] = []
    for d in depts:
        node = nodes[d.id or 0]
        parent = nodes.get(d.parent_id or 0)
        (parent["children"] if parent else tops).append(node)
    own = [t for t in tops if t["id"] == collector_agency_id]
    return own + [t for t in tops if t["id"] != collector_agency_id]


def _grant_rows(session: Session, where: Any) -> list[dict[str, Any]]:
    rows = session.exec(
        select(CollectScope, Department)
        .join(Department, col(Department.id) == col(CollectScope.root_id))
        .where(where)
        .order_by(col(CollectScope.id))
    ).all()
    collectors = {s.collector_agency_id for s, _ in rows}
    names = dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(collectors))).all())
    return [
        {
            "collector_agency_id": s.collector_agency_id,
            "collector_name": names.get(s.collector_agency_id, ""),
            "root_id": s.root_id,
            "name": d.name,
            "kind": d.kind.value,
            "agency_id": d.agency_id,
        }
        for s, d in rows
    ]


def list_grants(session: Session, agency_id: int) -> list[dict[str, Any]]:
    """The scope rows whose root is a unit of the agency: the grants it gave (its administrator's page)."""
    return _grant_rows(session, col(Department.agency_id) == agency_id)


def list_held(session: Session, agency_id: int) -> list[dict[str, Any]]:
    """The scope rows the agency holds as a collector (read-only to it: the granting agencies set them)."""
    return _grant_rows(session, col(CollectScope.collector_agency_id) == agency_id)


def set_grants(session: Session, actor: Actor, grants: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Replace the grants the actor's agency gave with ``grants`` [(collector_agency_id, root_id)]:
    each root a unit of the actor's own agency, each collector another agency (its administrators
    only; audited). A bad pair is a 422 naming it and nothing changes."""
    policy.require(actor, "tianbao.scope.manage")
    agency_id = actor.agency_id or 0
    wanted = list(dict.fromkeys(grants))
    if len(wanted) > MAX_SCOPES:
        raise ValidationError(f"最多设置 {MAX_SCOPES} 个采集授权", code="too_many_scopes", field="grants")
    ids = {i for pair in wanted for i in pair}
    found = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_(ids))).all()} if ids else {}
    for collector_id, root_id in wanted:
        root, collector = found.get(root_id), found.get(collector_id)
        if root is None or root.agency_id != agency_id:  # the unit side grants only its own units
            raise ValidationError(
                f"单位（编号 {root_id}）不是本机关的单位，不能授权采集",
                code="root_out_of_agency",
                field="grants",
                root_id=root_id,
            )
        if collector is None or collector.kind.value != "agency" or collector_id == agency_id:
            raise ValidationError(
                f"采集机关（编号 {collector_id}）不存在或是本机关",
                code="collector_not_found",
                field="grants",
                collector_agency_id=collector_id,
            )
    given = list_grants(session, agency_id)
    before = [[g["collector_agency_id"], g["root_id"]] for g in given]
    own_units = select(Department.id).where(col(Department.agency_id) == agency_id)
    session.execute(delete(CollectScope).where(col(CollectScope.root_id).in_(own_units)))
    for collector_id, root_id in wanted:
        session.add(CollectScope(collector_agency_id=collector_id, root_id=root_id, created_by=actor.user_id))
    session.flush()
    audit.record(
        session,
        actor,
        "tianbao.scope_set",
        target_type="tb_scope",
        target_id=agency_id,
        detail={"before": before, "after": [list(p) for p in wanted]},
    )
    return list_grants(session, agency_id)
