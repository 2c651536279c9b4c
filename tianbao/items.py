"""The data item registry (一数一源): one code, one definition, one owner department.

Only the owner department (数源部门) defines an item or changes it (``tianbao.item.define``); a code
is taken once, so a second definition of the same figure is refused. A collector that needs a
figure nobody owns yet proposes it, naming the department that should own it; it is unusable by
any task until that department approves it (采集需求审核). Who may read an item is
``readable_cond``: 公开 items every agency, 内部 and 敏感 ones the owner agency and the agencies the
owner lists. An item's ``spec`` is a field in 办事's form-engine shape (``banshi.fields``), so a value
is checked by the same code that checks a request's fields (``clean_value``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, false, func, or_
from sqlmodel import Session, col, select

from banshi.field_values import empty
from banshi.fields import clean_values, validate_fields
from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.directory.service import department_member_ids
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, DeptKind, User
from tianbao import sources
from tianbao.models import CurrentValue, DataItem, ItemCycle, ItemLevel, ItemStatus

ITEM_TYPES = {"number", "money", "text", "textarea", "date", "select", "multiselect", "table"}
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
SPEC_KEY = "v"  # the key of the item's one field in the form engine's terms
MAX_READERS = 200
EDITABLE = ("name", "definition", "unit_label", "spec", "cycle", "level", "reader_agency_ids", "source", "status")
FIELDS = {"code", "owner_dept_id", *EDITABLE}
LINK = "/tianbao/items"  # the registry tab of the 数据填报 page
LEVEL_NAMES = {"public": "公开", "internal": "内部", "sensitive": "敏感"}


# Reading --------------------------------------------------------------------------------------------


def _reads(agency_id: int) -> ColumnElement[bool]:
    """``reader_agency_ids`` (a JSON list of ints) contains ``agency_id``: a text match on the list
    with its spaces taken out ("[3,5,12]"), the same on SQLite and PostgreSQL."""
    text = func.replace(cast(col(DataItem.reader_agency_ids), Text), " ", "")
    n = str(int(agency_id))
    return or_(
        text == f"[{n}]",
        text.like(f"[{n},%"),
        text.like(f"%,{n},%"),
        text.like(f"%,{n}]"),
    )


def readable_cond(actor: Actor) -> ColumnElement[bool]:
    """Which items ``actor`` may read, as SQL: active and retired items by their level (公开: every
    agency; 内部/敏感: the owner agency and the agencies in ``reader_agency_ids``); proposed and
    rejected ones only by the owner agency and the department that proposed them."""
    agency_id = actor.agency_id
    if agency_id is None:
        return false()
    by_level = or_(
        col(DataItem.level) == ItemLevel.public,
        col(DataItem.owner_agency_id) == agency_id,
        _reads(agency_id),
    )
    settled = col(DataItem.status).in_([ItemStatus.active, ItemStatus.retired])
    own = [col(DataItem.owner_agency_id) == agency_id]
    if actor.department_ids:
        own.append(col(DataItem.proposed_by_dept_id).in_(sorted(actor.department_ids)))
    return or_(and_(settled, by_level), *own)


def get_readable(session: Session, actor: Actor, item_id: int) -> DataItem:
    """The item if ``actor`` may read it; 404 alike for a missing item and one it may not see."""
    item = session.exec(select(DataItem).where(DataItem.id == item_id, readable_cond(actor))).first()
    if item is None:
        raise NotFound("数据项不存在或无权查看", code="item_not_found")
    return item


def list_items(
    session: Session, actor: Actor, *, q: str = "", status: str = "", mine: bool = False, page: int = 1, size: int = 50
) -> dict[str, Any]:
    """The readable items, filtered, a page at a time: {"items", "total"}."""
    conds: list[ColumnElement[bool]] = [readable_cond(actor)]
    if status:
        if status not in ItemStatus.__members__:
            raise ValidationError("状态只能是 proposed、active、rejected 或 retired", code="bad_query", field="status")
        conds.append(col(DataItem.status) == ItemStatus(status))
    if mine:  # the actor's department's items, and what it proposed
        dept_ids = sorted(actor.department_ids) or [0]
        conds.append(or_(col(DataItem.owner_dept_id).in_(dept_ids), col(DataItem.proposed_by_dept_id).in_(dept_ids)))
    q = q.strip()[:50]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(col(DataItem.code).like(like, escape="\\"), col(DataItem.name).like(like, escape="\\")))
    where = and_(*conds)
    total = session.exec(select(func.count()).select_from(DataItem).where(where)).one()
    rows = session.exec(
        select(DataItem).where(where).order_by(col(DataItem.code)).offset((page - 1) * size).limit(size)
    ).all()
    return {"items": item_dicts(session, list(rows)), "total": total}


def names_for(session: Session, items: Iterable[DataItem]) -> dict[int, str]:
    """Department names (owners, proposers) and people's names (proposers, reviewers) the items point at,
    keyed by id with a prefix-free scheme: departments as +id, people as -id."""
    items = list(items)
    dept_ids = {i.owner_dept_id for i in items} | {i.owner_agency_id for i in items}
    dept_ids |= {i.proposed_by_dept_id for i in items if i.proposed_by_dept_id}
    user_ids = {u for i in items for u in (i.proposed_by, i.reviewed_by) if u}
    names: dict[int, str] = {}
    if dept_ids:
        for d_id, name in session.exec(select(Department.id, Department.name).where(col(Department.id).in_(dept_ids))):
            names[d_id or 0] = name
    if user_ids:
        for u_id, name in session.exec(select(User.id, User.name).where(col(User.id).in_(user_ids))):
            names[-(u_id or 0)] = name
    return names


def item_dict(item: DataItem, names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The item as the API shows it. ``names`` (from ``names_for``) fills the owner's and proposer's
    names; without it they are blank."""
    n = names or {}
    return {
        "id": item.id,
        "code": item.code,
        "name": item.name,
        "definition": item.definition,
        "unit_label": item.unit_label,
        "type": item.spec.get("type", ""),
        "spec": item.spec,
        "cycle": item.cycle.value,
        "level": item.level.value,
        "level_name": LEVEL_NAMES[item.level.value],
        "reader_agency_ids": item.reader_agency_ids,
        "source": item.source,
        "source_label": sources.label(item.source) if item.source else "",
        "status": item.status.value,
        "owner_dept_id": item.owner_dept_id,
        "owner_dept_name": n.get(item.owner_dept_id, ""),
        "owner_agency_id": item.owner_agency_id,
        "owner_agency_name": n.get(item.owner_agency_id, ""),
        "proposed_by": item.proposed_by,
        "proposed_by_name": n.get(-(item.proposed_by or 0), "") if item.proposed_by else "",
        "proposed_by_dept_id": item.proposed_by_dept_id,
        "proposed_by_dept_name": n.get(item.proposed_by_dept_id or 0, "") if item.proposed_by_dept_id else "",
        "reviewed_by_name": n.get(-(item.reviewed_by or 0), "") if item.reviewed_by else "",
        "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else None,
        "review_note": item.review_note,
        "version": item.version,
    }


def item_dicts(session: Session, items: list[DataItem]) -> list[dict[str, Any]]:
    names = names_for(session, items)
    return [item_dict(i, names) for i in items]


# Checking definitions ---------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, label: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value.strip()) > limit or "\x00" in value:
        raise ValidationError(f"{label}应为不超过 {limit} 个字的文字", code="bad_item", field=key)
    if required and not value.strip():
        raise ValidationError(f"请填写{label}", code="required", field=key)
    return value.strip()


def _spec(raw: Any, name: str) -> dict[str, Any]:
    """The value's type and limits, checked by the form engine as one field keyed ``v``."""
    if not isinstance(raw, dict) or raw.get("type") not in ITEM_TYPES:
        raise ValidationError("数据类型只能是 " + "、".join(sorted(ITEM_TYPES)), code="bad_spec", field="spec")
    field = {k: v for k, v in raw.items() if k not in ("key", "label", "required", "visible_to")}
    field.update(key=SPEC_KEY, label=name[:40] or "数据项")
    try:
        return validate_fields([field])[0]
    except ValidationError as e:
        raise ValidationError(e.message, code="bad_spec", field="spec") from None


def _enum(data: Mapping[str, Any], key: str, kind: type[Any], label: str) -> Any:
    try:
        return kind(data.get(key))
    except ValueError:
        allowed = "、".join(m.value for m in kind)
        raise ValidationError(f"{label}只能是 {allowed}", code="bad_item", field=key) from None


def _readers(session: Session, raw: Any, owner_agency_id: int) -> list[int]:
    if raw is None:
        return []
    ok = isinstance(raw, list) and len(raw) <= MAX_READERS
    if not ok or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw):
        raise ValidationError("可读机关应为机关编号的列表", code="bad_item", field="reader_agency_ids")
    wanted = sorted(set(raw) - {owner_agency_id})
    if wanted:
        agencies = set(
            session.exec(
                select(Department.id).where(col(Department.id).in_(wanted), Department.kind == DeptKind.agency)
            ).all()
        )
        missing = [i for i in wanted if i not in agencies]
        if missing:
            raise ValidationError(f"可读机关（编号 {missing[0]}）不存在", code="bad_item", field="reader_agency_ids")
    return wanted


def _source(raw: Any) -> str:
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or not sources.known(raw):
        raise ValidationError("计算来源不存在", code="bad_source", field="source")
    return raw


def _unknown(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(k) for k in set(data) - allowed)
    if extra:
        raise ValidationError("不认识的设置 " + "、".join(extra), code="bad_item", field=extra[0])


def _owner(session: Session, raw: Any) -> Department:
    dept = session.get(Department, raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    if dept is None or dept.agency_id is None:
        raise ValidationError("数源部门不存在", code="bad_owner", field="owner_dept_id")
    return dept


def _check_code(session: Session, raw: Any) -> str:
    if not isinstance(raw, str) or not CODE_RE.fullmatch(raw.strip()):
        message = "编码应为 1 到 40 个字母、数字、点、横线或下划线，以字母或数字开头"
        raise ValidationError(message, code="bad_code", field="code")
    code = raw.strip()
    taken = session.exec(select(DataItem).where(func.lower(DataItem.code) == code.lower())).first()
    if taken is not None:  # 一数一源: one code, one definition
        message = f"编码“{code}”已被数据项“{taken.name}”使用（一数一源：同一数据只登记一次）"
        raise ValidationError(message, code="code_taken", field="code", item_id=taken.id)
    return code


def _new_item(session: Session, data: Mapping[str, Any]) -> DataItem:
    _unknown(data, FIELDS)
    owner = _owner(session, data.get("owner_dept_id"))
    name = _text(data, "name", "名称", 100, required=True)
    return DataItem(
        code=_check_code(session, data.get("code")),
        name=name,
        definition=_text(data, "definition", "口径", 2000),
        unit_label=_text(data, "unit_label", "计量单位", 20),
        spec=_spec(data.get("spec"), name),
        owner_dept_id=owner.id or 0,
        owner_agency_id=owner.agency_id or 0,
        cycle=_enum(data, "cycle", ItemCycle, "更新周期") if "cycle" in data else ItemCycle.year,
        level=_enum(data, "level", ItemLevel, "分级") if "level" in data else ItemLevel.internal,
        reader_agency_ids=_readers(session, data.get("reader_agency_ids"), owner.agency_id or 0),
        source=_source(data.get("source")),
    )


def _target(item: DataItem, **detail: Any) -> dict[str, Any]:
    """``audit.record``'s target and detail for an item (the action stays a literal at each call)."""
    return {"target_type": "tb_item", "target_id": item.id, "detail": {"code": item.code, "name": item.name, **detail}}


# Changing the registry -----------------------------------------------------------------------------


def create_item(session: Session, actor: Actor, data: Mapping[str, Any]) -> DataItem:
    """A new active item, defined by its owner department (``data["owner_dept_id"]``)."""
    owner = _owner(session, data.get("owner_dept_id"))
    policy.require(actor, "tianbao.item.define", owner.id)
    item = _new_item(session, data)
    if data.get("status") not in (None, "active"):
        raise ValidationError("新登记的数据项状态只能是 active", code="bad_item", field="status")
    session.add(item)
    session.flush()
    audit.record(session, actor, "tianbao.item_create", **_target(item, owner_dept_id=item.owner_dept_id))
    return item


def propose_item(session: Session, actor: Actor, data: Mapping[str, Any]) -> DataItem:
    """A collector asks for a new item, naming the department that should own it; no task may use it
    until that department approves it (``review_item``)."""
    policy.require(actor, "tianbao.item.propose")
    item = _new_item(session, {k: v for k, v in data.items() if k != "status"})
    item.status = ItemStatus.proposed
    item.proposed_by = actor.user_id
    item.proposed_by_dept_id = actor.department_id
    session.add(item)
    session.flush()
    audit.record(session, actor, "tianbao.item_propose", **_target(item, owner_dept_id=item.owner_dept_id))
    reviewers = [u for u in department_member_ids(session, item.owner_dept_id) if u != actor.user_id]
    _notify(
        session,
        item,
        reviewers,
        f"新增数据项待审核：{item.name}",
        f"{actor.name}提出登记数据项“{item.code} {item.name}”，请审核",
    )
    return item


def _for_owner(session: Session, actor: Actor, item_id: int, version: int) -> DataItem:
    item = session.get(DataItem, item_id)
    if item is None:
        raise NotFound("数据项不存在或无权查看", code="item_not_found")
    if not policy.can(actor, "tianbao.item.define", item.owner_dept_id):
        # Seen by the actor: a plain 403; otherwise as if it did not exist.
        if session.exec(select(DataItem.id).where(DataItem.id == item_id, readable_cond(actor))).first() is None:
            raise NotFound("数据项不存在或无权查看", code="item_not_found")
        raise PermissionDenied("只有数源部门可以修改或审核该数据项", code="not_owner")
    if item.version != version:
        raise Conflict()
    return item


def _has_values(session: Session, item_id: int) -> bool:
    return (
        session.exec(select(CurrentValue.item_id).where(CurrentValue.item_id == item_id).limit(1)).first() is not None
    )


def update_item(session: Session, actor: Actor, item_id: int, data: Mapping[str, Any], version: int) -> DataItem:
    """The owner department changes an item. Its code and owner never change (一数一源); its cycle and
    type only while no value is stored (the stored periods and values are in their terms)."""
    item = _for_owner(session, actor, item_id, version)
    _unknown(data, FIELDS)
    if "code" in data and data["code"] != item.code:
        raise ValidationError("数据项编码不能修改", code="code_fixed", field="code")
    if "owner_dept_id" in data and data["owner_dept_id"] != item.owner_dept_id:
        raise ValidationError("数源部门不能修改", code="owner_fixed", field="owner_dept_id")
    changes: dict[str, Any] = {}
    name = _text(data, "name", "名称", 100, required=True) if "name" in data else item.name
    if name != item.name:
        changes["name"] = item.name = name
    for key, label, limit in (("definition", "口径", 2000), ("unit_label", "计量单位", 20)):
        if key in data and (value := _text(data, key, label, limit)) != getattr(item, key):
            changes[key] = value
            setattr(item, key, value)
    if "spec" in data:
        spec = _spec(data["spec"], item.name)
        if spec != item.spec:
            if spec["type"] != item.spec.get("type") and _has_values(session, item_id):
                raise ValidationError("已有数据的数据项不能修改数据类型", code="type_fixed", field="spec")
            changes["spec"] = item.spec = spec
    if "cycle" in data:
        cycle = _enum(data, "cycle", ItemCycle, "更新周期")
        if cycle != item.cycle:
            if _has_values(session, item_id):
                raise ValidationError("已有数据的数据项不能修改更新周期", code="cycle_fixed", field="cycle")
            item.cycle = cycle
            changes["cycle"] = cycle.value
    if "level" in data and (level := _enum(data, "level", ItemLevel, "分级")) != item.level:
        item.level = level
        changes["level"] = level.value
    if "reader_agency_ids" in data:
        readers = _readers(session, data["reader_agency_ids"], item.owner_agency_id)
        if readers != item.reader_agency_ids:
            changes["reader_agency_ids"] = item.reader_agency_ids = readers
    if "source" in data and (source := _source(data["source"])) != item.source:
        changes["source"] = item.source = source
    if "status" in data and data["status"] != item.status.value:
        _set_status(item, data["status"])
        changes["status"] = item.status.value
    if changes:
        item.version += 1
        item.updated_at = utcnow()
        session.add(item)
        session.flush()
        audit.record(session, actor, "tianbao.item_update", **_target(item, changes=changes))
    return item


def _set_status(item: DataItem, raw: Any) -> None:
    """Active and retired are the owner's switch; a proposal is settled only by ``review_item``."""
    allowed = {ItemStatus.active: ItemStatus.retired, ItemStatus.retired: ItemStatus.active}
    if allowed.get(item.status) != raw:
        raise InvalidTransition("只能在“启用”和“停用”之间切换；待审核的数据项请审核", code="bad_status")
    item.status = ItemStatus(raw)


def review_item(session: Session, actor: Actor, item_id: int, approve: bool, note: str, version: int) -> DataItem:
    """The owner department approves a proposed item (it becomes usable) or rejects it with a reason."""
    item = _for_owner(session, actor, item_id, version)
    if item.status != ItemStatus.proposed:
        raise InvalidTransition("该数据项不在待审核状态", code="not_proposed")
    note = _text({"note": note}, "note", "审核意见", 200)
    if not approve and not note:
        raise ValidationError("不同意时请填写理由", code="note_required", field="note")
    item.status = ItemStatus.active if approve else ItemStatus.rejected
    item.reviewed_by = actor.user_id
    item.reviewed_at = utcnow()
    item.review_note = note
    item.version += 1
    item.updated_at = item.reviewed_at
    session.add(item)
    session.flush()
    audit.record(session, actor, "tianbao.item_review", **_target(item, approve=approve, note=note))
    verdict = "已同意，可用于采集任务" if approve else f"未同意：{note}"
    _notify(
        session, item, [item.proposed_by or 0], f"数据项审核结果：{item.name}", f"“{item.code} {item.name}”{verdict}"
    )
    return item


def _notify(session: Session, item: DataItem, user_ids: list[int], title: str, body: str) -> None:
    """A 工作通知 (``notify.tianbao``): a proposal to the owner department, the decision to the proposer."""
    ids = sorted({u for u in user_ids if u})
    if not ids:
        return
    payload = {
        "user_ids": ids,
        "title": title[:200],
        "body": body[:2000],
        "link": "/tianbao/items",
        "source": "tianbao",
    }
    events.publish_on_commit(session, "notify.tianbao", payload, user_ids=ids)


def usable_items(session: Session, actor: Actor, item_ids: Iterable[int]) -> dict[int, DataItem]:
    """The items a task drafted by ``actor`` may use, checked in one query: each must be ACTIVE (a
    proposal the owner has not approved, a rejected or retired item may not be used) and readable
    by the actor. A 422 ``item_unusable`` names the first that is not."""
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        return {}
    rows = session.exec(select(DataItem).where(col(DataItem.id).in_(wanted), readable_cond(actor))).all()
    found = {i.id: i for i in rows}
    for item_id in wanted:
        item = found.get(item_id)
        if item is None:
            message = f"数据项（编号 {item_id}）不存在或无权使用"
            raise ValidationError(message, code="item_unusable", field="items", item_id=item_id)
        if item.status != ItemStatus.active:
            why = {"proposed": "尚未经数源部门审核同意", "rejected": "未通过数源部门审核", "retired": "已停用"}
            message = f"数据项“{item.name}”{why[item.status.value]}，不能用于采集任务"
            raise ValidationError(message, code="item_unusable", field="items", item_id=item_id)
    return {i: found[i] for i in wanted}  # every wanted id was found above


# Values ---------------------------------------------------------------------------------------------------


def clean_value(session: Session, actor: Actor, item: DataItem, raw: Any, *, partial: bool = False) -> Any:
    """``raw`` checked against the item's spec by 办事's form engine: the stored form of the value, or
    None when it is blank. A bad value is a 422 with ``field`` = the item's id (and ``row``,
    ``column`` inside a table item). Whether an item is required is the task's business, not this;
    ``partial`` (a draft being filled) lets a table row miss its required cells for now."""
    if empty(raw):
        return None
    try:
        cleaned = clean_values(session, actor, [item.spec], {SPEC_KEY: raw}, partial=partial)
    except ValidationError as e:
        extra = {k: v for k, v in e.extra.items() if k in ("row", "column")}
        message = e.message if item.spec.get("type") == "table" else f"“{item.name}”：{_strip_label(e.message, item)}"
        raise ValidationError(message, code=e.code, field=str(item.id), item_id=item.id, **extra) from None
    return cleaned.get(SPEC_KEY)


def _strip_label(message: str, item: DataItem) -> str:
    """The engine names the field by its label (the item's name); the caller adds the name once."""
    label = f"“{item.spec.get('label', '')}”"
    return message.replace(label, "", 1) if label != "“”" else message


def item_for_values(session: Session, actor: Actor, item_id: int, unit_id: int) -> DataItem:
    """The item if ``actor`` may read ``unit_id``'s values of it: a unit's own agency reads what it
    reported; any other agency only what the item's level lets it read (``readable_cond``, settled
    items only). 404 alike for a missing item or unit and one the actor may not see."""
    item = session.get(DataItem, item_id)
    unit = session.get(Department, unit_id)
    if item is None or unit is None:
        raise NotFound("数据项不存在或无权查看", code="item_not_found")
    if actor.agency_id is not None and unit.agency_id == actor.agency_id:
        return item
    settled = item.status in (ItemStatus.active, ItemStatus.retired)
    readable = session.exec(select(DataItem.id).where(DataItem.id == item_id, readable_cond(actor))).first()
    if not settled or readable is None:
        raise NotFound("数据项不存在或无权查看", code="item_not_found")
    return item
