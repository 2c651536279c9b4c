"""A unit's return (``tb_return``) and its state machine:

    not_started ─open/save─▶ filling ─to-review (filler)─▶ in_review ─submit (reviewer)─▶ submitted
                              ▲   ◀──send-back (reviewer)──┘                                 │
                              returned ◀──────────return (collector, comments on cells)───────┤
                                                                   accepted ◀─accept──────────┘

The filler fills (``not_started``, ``filling``, ``returned``), the reviewer may correct while it is
``in_review``, and only the reviewer submits it upward: the filler is never the reviewer. The values
reach the registry at submission (``tianbao.values.store``), with the burden figures (基层减负). Every
transition checks ``version`` (409) and who acts; a withdrawn or closed task stops them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, func, select

from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, User
from office.timefmt import iso
from tianbao import items, periods, prefill, tasks, values
from tianbao.models import (
    CellComment,
    CollectTask,
    DataItem,
    ReturnStatus,
    TaskStatus,
    UnitReturn,
    ValueOrigin,
)

REASON_MAX = 200  # tb_value.reason
FILLABLE = (ReturnStatus.not_started, ReturnStatus.filling, ReturnStatus.returned)
PAGE = 20
STATUS_LABELS = {
    ReturnStatus.not_started: "未开始",
    ReturnStatus.filling: "填报中",
    ReturnStatus.in_review: "审核中",
    ReturnStatus.submitted: "已报送",
    ReturnStatus.returned: "已退回",
    ReturnStatus.accepted: "已采纳",
    ReturnStatus.withdrawn: "已撤回",
}
_ORIGINS = "_origin"  # draft member: {item_id: how the value came in (typed, xlsx)}


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def task_of(session: Session, ret: UnitReturn) -> CollectTask:
    task = tasks.load(session, ret.task_id)
    assert task is not None  # tb_return.task_id is a foreign key
    return task


def get_return_for(session: Session, actor: Actor, return_id: int) -> UnitReturn:
    """The return for its filler, its reviewer and the collecting department; 404 for anyone else."""
    ret = session.get(UnitReturn, return_id)
    if ret is None:
        raise NotFound("填报不存在或无权查看")
    if actor.user_id in (ret.filler_id, ret.reviewer_id):
        return ret
    if not policy.can(actor, "tianbao.task.read", task_of(session, ret)):
        raise NotFound("填报不存在或无权查看")
    return ret


def _check(ret: UnitReturn, version: int | None) -> None:
    if version is not None and ret.version != version:
        raise Conflict()


def _live(task: CollectTask) -> None:
    if task.status == TaskStatus.withdrawn:
        raise InvalidTransition("填报任务已撤回")
    if task.status != TaskStatus.issued:
        raise InvalidTransition("填报任务已结束，不能再操作")


def _moved(session: Session, task: CollectTask, ret: UnitReturn) -> None:
    """After a transition: the version, and the event (the caller records its audit entry)."""
    ret.version += 1
    ret.updated_at = utcnow()
    session.add(ret)
    tasks.return_changed(session, task, ret)


def _open(session: Session, task: CollectTask, ret: UnitReturn) -> bool:
    """First opening: the prefilled values are computed and kept, the status becomes ``filling``."""
    if ret.status != ReturnStatus.not_started:
        return False
    ret.prefill = prefill.prefill(session, task, ret.unit_id, list(_items(session, task).values()))
    ret.opened_at = utcnow()
    ret.status = ReturnStatus.filling
    return True


def opens(session: Session, actor: Actor, ret: UnitReturn) -> bool:
    """Whether this look is the first opening (the filler's or reviewer's, of a live task): only
    then does a GET of the form write; every later one is a pure read."""
    return (
        ret.status == ReturnStatus.not_started
        and actor.user_id in (ret.filler_id, ret.reviewer_id)
        and task_of(session, ret).status == TaskStatus.issued
    )


def open_return(session: Session, actor: Actor, ret: UnitReturn) -> UnitReturn:
    """The filler or reviewer opens it (the collector only looks): sets ``opened_at`` once."""
    task = task_of(session, ret)
    if opens(session, actor, ret):
        if _open(session, task, ret):
            _moved(session, task, ret)  # first: the return's changes go out in one UPDATE
            audit.record(session, actor, "tianbao.return.open", target_type="tb_return", target_id=ret.id)
    return ret


# The form ------------------------------------------------------------------------------------------


def _items(session: Session, task: CollectTask) -> dict[int, DataItem]:
    """The task's items, read once per session (opening a form prefills and then shows the same
    200 items; their JSON columns are most of the cost). Kept by the list of ids, and the same ORM
    objects come back, so an item changed in this session is seen changed."""
    memo: dict[tuple[int, ...], dict[int, DataItem]] = session.info.setdefault("tianbao.task_items", {})
    ids = tuple(int(r["item_id"]) for r in task.items)
    if ids not in memo:
        memo[ids] = {i.id or 0: i for i in session.exec(select(DataItem).where(col(DataItem.id).in_(ids))).all()}
    return memo[ids]


def effective(ret: UnitReturn, key: str) -> Any:
    """The value the form shows: what was typed, else what it was prefilled with."""
    if key in ret.draft:
        return ret.draft[key]
    pf = ret.prefill.get(key)
    return pf.get("value") if isinstance(pf, dict) else None


def actions(session: Session, actor: Actor, task: CollectTask, ret: UnitReturn) -> list[str]:
    if task.status != TaskStatus.issued and ret.status != ReturnStatus.submitted:
        return []
    out: list[str] = []
    if task.status == TaskStatus.issued:
        if actor.user_id == ret.filler_id and ret.status in FILLABLE:
            out += ["save", "to-review"]
        if actor.user_id == ret.reviewer_id and ret.status == ReturnStatus.in_review:
            out += ["save", "send-back", "submit"]
    if ret.status == ReturnStatus.submitted and policy.can(actor, "tianbao.task.manage", task):
        out += ["accept"] + (["return"] if task.status == TaskStatus.issued else [])
    return out


def form(session: Session, actor: Actor, ret: UnitReturn) -> dict[str, Any]:
    """The return as the form shows it: sections of items with value, prefill, reason and comments."""
    task = task_of(session, ret)
    found = _items(session, task)
    # The unit and the collector's department and agency in one read, for both headers.
    ids = {ret.unit_id, task.collector_dept_id, task.collector_agency_id}
    depts = {d.id or 0: d for d in session.exec(select(Department).where(col(Department.id).in_(ids)))}
    comments: dict[int, list[dict[str, Any]]] = {}
    for c in session.exec(select(CellComment).where(CellComment.return_id == ret.id).order_by(col(CellComment.id))):
        comments.setdefault(c.item_id, []).append(
            {
                "id": c.id,
                "row": c.row,
                "column": c.column,
                "text": c.text,
                "round": c.round,
                "current": c.round == ret.returned_count,
                "at": iso(c.created_at),
            }
        )
    sections: dict[str, list[dict[str, Any]]] = {}
    filled = required_filled = required = 0
    for row in task.items:
        item = found.get(int(row["item_id"]))
        if item is None:
            continue
        key = str(item.id)
        value = effective(ret, key)
        filled += _filled(value)
        required += bool(row.get("required"))
        required_filled += bool(row.get("required")) and _filled(value)
        sections.setdefault(row.get("section") or "数据项", []).append(
            {
                **items.item_dict(item),
                "required": bool(row.get("required")),
                "value": value,
                "prefill": ret.prefill.get(key),
                "reason": ret.reasons.get(key, ""),
                "comments": comments.get(item.id or 0, []),
            }
        )
    return {
        "return": return_dict(session, task, ret, depts),
        "task": {k: v for k, v in tasks.task_dict(session, task, depts, units=False).items() if k != "items"},
        "sections": [{"name": name, "items": rows} for name, rows in sections.items()],
        "progress": {"filled": filled, "required_filled": required_filled, "required": required, "total": len(found)},
        "actions": actions(session, actor, task, ret),
    }


def return_dict(
    session: Session, task: CollectTask, ret: UnitReturn, depts: Mapping[int, Department] | None = None
) -> dict[str, Any]:
    """``depts``: departments the caller has read already (the unit's is read if it is not there)."""
    unit = (depts or {}).get(ret.unit_id) or session.get(Department, ret.unit_id)
    people = {
        u.id: u.name for u in session.exec(select(User).where(col(User.id).in_([ret.filler_id, ret.reviewer_id])))
    }
    return {
        "id": ret.id,
        "task_id": ret.task_id,
        "unit_id": ret.unit_id,
        "unit_name": unit.name if unit else "",
        "status": ret.status.value,
        "status_label": STATUS_LABELS[ret.status],
        "late": tasks.is_late(task, ret.status, utcnow()),
        "filler_id": ret.filler_id,
        "filler": people.get(ret.filler_id, ""),
        "reviewer_id": ret.reviewer_id,
        "reviewer": people.get(ret.reviewer_id, ""),
        "opened_at": iso(ret.opened_at),
        "submitted_at": iso(ret.submitted_at),
        "accepted_at": iso(ret.accepted_at),
        "returned_count": ret.returned_count,
        "urged_count": ret.urged_count,
        "items_total": ret.items_total,
        "prefilled_count": ret.prefilled_count,
        "typed_count": ret.typed_count,
        "version": ret.version,
    }


# Filling -------------------------------------------------------------------------------------------


def _may_fill(actor: Actor, task: CollectTask, ret: UnitReturn) -> None:
    """The filler while it is being filled; the reviewer while it waits for review."""
    if actor.user_id not in (ret.filler_id, ret.reviewer_id):
        raise PermissionDenied("只有本单位的填报人或审核人可以填写")
    _live(task)
    if actor.user_id == ret.filler_id and ret.status in FILLABLE:
        return
    if actor.user_id == ret.reviewer_id and ret.status == ReturnStatus.in_review:
        return
    raise InvalidTransition("当前状态下您不能修改这份填报")


def save_values(
    session: Session,
    actor: Actor,
    ret: UnitReturn,
    values_in: dict[str, Any],
    reasons: dict[str, str],
    version: int,
    origin: ValueOrigin = ValueOrigin.typed,
) -> UnitReturn:
    """Keep typed values (partial: only the items given). Each is cleaned by its item's spec; a
    prefilled value changed needs a reason (422 ``reason_required`` naming the item)."""
    task = task_of(session, ret)
    _may_fill(actor, task, ret)
    _check(ret, version)
    was = ret.status
    _open(session, task, ret)
    found = _items(session, task)
    by_key = {str(i): item for i, item in found.items()}
    for key in [*values_in, *reasons]:
        if key not in by_key:
            raise ValidationError(f"数据项 {str(key)[:20]} 不在本任务中", code="unknown_item", field=str(key)[:20])
    draft, kept, origins = dict(ret.draft), dict(ret.reasons), dict(ret.draft.get(_ORIGINS) or {})
    for key in {*values_in, *reasons}:
        item = by_key[key]
        value = items.clean_value(session, actor, item, values_in[key]) if key in values_in else effective(ret, key)
        if key in values_in:
            draft[key], origins[key] = value, origin.value
        pf = ret.prefill.get(key)
        if isinstance(pf, dict) and value != pf.get("value"):
            reason = str(reasons.get(key) or kept.get(key) or "").strip()
            if not reason:
                raise ValidationError(
                    f"「{item.name}」的预填值已修改，请说明修改原因", code="reason_required", field=key
                )
            if len(reason) > REASON_MAX:
                raise ValidationError(f"修改原因不能超过 {REASON_MAX} 个字", code="reason_too_long", field=key)
            kept[key] = reason
        else:
            kept.pop(key, None)
    draft[_ORIGINS] = origins
    ret.draft, ret.reasons = draft, kept
    ret.version += 1
    ret.updated_at = utcnow()
    session.add(ret)
    audit.record(
        session,
        actor,
        "tianbao.return.save",
        target_type="tb_return",
        target_id=ret.id,
        detail={"items": sorted(values_in, key=str), "origin": origin.value},
    )
    if was != ret.status:
        tasks.return_changed(session, task, ret)
    return ret


def to_review(session: Session, actor: Actor, ret: UnitReturn, version: int) -> UnitReturn:
    """The filler passes it to the unit's reviewer once every required item has a value."""
    task = task_of(session, ret)
    if actor.user_id != ret.filler_id:
        raise PermissionDenied("只有填报人可以提交审核")
    _live(task)
    _check(ret, version)
    if ret.status not in FILLABLE:
        raise InvalidTransition("这份填报不在填报中")
    _open(session, task, ret)
    found = _items(session, task)
    for row in task.items:
        item = found.get(int(row["item_id"]))
        if item is not None and row.get("required") and not _filled(effective(ret, str(item.id))):
            raise ValidationError(f"「{item.name}」为必填项", code="required_missing", field=str(item.id))
    ret.status = ReturnStatus.in_review
    audit.record(
        session,
        actor,
        "tianbao.return.to_review",
        target_type="tb_return",
        target_id=ret.id,
        detail={"task_id": task.id},
    )
    _moved(session, task, ret)
    return ret


def send_back(session: Session, actor: Actor, ret: UnitReturn, version: int, comment: str) -> UnitReturn:
    """The reviewer sends it back to the filler, saying why."""
    task = task_of(session, ret)
    if actor.user_id != ret.reviewer_id:
        raise PermissionDenied("只有审核人可以退回修改")
    _live(task)
    _check(ret, version)
    if ret.status != ReturnStatus.in_review:
        raise InvalidTransition("这份填报不在审核中")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("请写明退回修改的意见", code="comment_required", field="comment")
    ret.status = ReturnStatus.filling
    audit.record(
        session,
        actor,
        "tianbao.return.send_back",
        target_type="tb_return",
        target_id=ret.id,
        detail={"task_id": task.id, "comment": comment[:500]},
    )
    _moved(session, task, ret)
    _notify(session, task, ret, [ret.filler_id], f"填报被退回修改：{task.title}", comment[:500])
    return ret


def submit(session: Session, actor: Actor, ret: UnitReturn, version: int) -> UnitReturn:
    """The reviewer submits it upward: the values reach the registry now (a prefilled value sent
    unchanged is not stored again) and the burden figures are fixed."""
    task = task_of(session, ret)
    if actor.user_id != ret.reviewer_id:
        raise PermissionDenied("只有审核人可以报送")
    _live(task)
    _check(ret, version)
    if ret.status != ReturnStatus.in_review:
        raise InvalidTransition("这份填报不在审核中")
    found = _items(session, task)
    origins = ret.draft.get(_ORIGINS) or {}
    rows: list[tuple[DataItem, str, Any, ValueOrigin, str]] = []
    prefilled = typed = 0
    for row in task.items:
        item = found.get(int(row["item_id"]))
        if item is None:
            continue
        key, period = str(item.id), periods.item_period(item.cycle, task.period)
        value, pf = effective(ret, key), ret.prefill.get(key)
        if not _filled(value):
            continue
        if isinstance(pf, dict) and value == pf.get("value"):
            prefilled += 1
            if pf.get("source") == "computed":
                rows.append((item, period, value, ValueOrigin.computed, ""))
            elif pf.get("period") != period:  # reused from an earlier period: now valid for this one too
                rows.append((item, period, value, ValueOrigin.typed, ""))
            continue
        typed += 1
        if isinstance(pf, dict):
            rows.append((item, period, value, ValueOrigin.corrected, str(ret.reasons.get(key, ""))))
        else:
            rows.append((item, period, value, ValueOrigin(origins.get(key, "typed")), ""))
    values.store(session, unit_id=ret.unit_id, rows=rows, task_id=task.id, return_id=ret.id, author_id=ret.filler_id)
    ret.status, ret.submitted_at = ReturnStatus.submitted, utcnow()
    ret.items_total, ret.prefilled_count, ret.typed_count = len(task.items), prefilled, typed
    audit.record(
        session,
        actor,
        "tianbao.return.submit",
        target_type="tb_return",
        target_id=ret.id,
        detail={"task_id": task.id, "stored": len(rows), "prefilled": prefilled, "typed": typed},
    )
    _moved(session, task, ret)
    return ret


# The collector -------------------------------------------------------------------------------------


def _collector(session: Session, actor: Actor, ret: UnitReturn, version: int) -> CollectTask:
    task = task_of(session, ret)
    policy.require(actor, "tianbao.task.manage", task)
    _check(ret, version)
    if ret.status != ReturnStatus.submitted:
        raise InvalidTransition("这份填报尚未报送")
    return task


def accept(session: Session, actor: Actor, ret: UnitReturn, version: int) -> UnitReturn:
    task = _collector(session, actor, ret, version)
    if task.status == TaskStatus.withdrawn:
        raise InvalidTransition("填报任务已撤回")
    ret.status, ret.accepted_at = ReturnStatus.accepted, utcnow()
    audit.record(
        session, actor, "tianbao.return.accept", target_type="tb_return", target_id=ret.id, detail={"task_id": task.id}
    )
    _moved(session, task, ret)
    return ret


def return_(
    session: Session, actor: Actor, ret: UnitReturn, version: int, comments: list[dict[str, Any]]
) -> UnitReturn:
    """退回 with comments on exact cells (at least one); the unit fixes and submits again. The comments
    of every round stay (``round`` says which)."""
    task = _collector(session, actor, ret, version)
    _live(task)
    if not comments:
        raise ValidationError("退回须至少写一条意见", code="comments_required", field="comments")
    wanted = {int(r["item_id"]) for r in task.items}
    for c in comments:
        if int(c["item_id"]) not in wanted:
            raise ValidationError("意见所指的数据项不在本任务中", code="unknown_item", field="comments")
        if not str(c.get("text") or "").strip():
            raise ValidationError("意见不能为空", code="comment_required", field="comments")
    ret.returned_count += 1
    for c in comments:
        session.add(
            CellComment(
                return_id=ret.id or 0,
                item_id=int(c["item_id"]),
                row=c.get("row"),
                column=str(c.get("column") or "")[:40],
                text=str(c["text"]).strip()[:500],
                round=ret.returned_count,
                author_id=actor.user_id,
            )
        )
    ret.status = ReturnStatus.returned
    audit.record(
        session,
        actor,
        "tianbao.return.return",
        target_type="tb_return",
        target_id=ret.id,
        detail={"task_id": task.id, "comments": len(comments)},
    )
    _moved(session, task, ret)
    _notify(session, task, ret, [ret.filler_id, ret.reviewer_id], f"填报被退回：{task.title}", "请按意见修改后重新报送")
    return ret


def _notify(session: Session, task: CollectTask, ret: UnitReturn, user_ids: list[int], title: str, body: str) -> None:
    events.publish_on_commit(
        session, "notify.tianbao", tasks.notice(task, user_ids, title, body, ret.id), user_ids=user_ids
    )


# The unit's lists ----------------------------------------------------------------------------------


def todo_cond(actor: Actor) -> Any:
    """What waits for the person: returns to fill, and returns to review (of tasks still open)."""
    me = actor.user_id
    return (col(CollectTask.status) == TaskStatus.issued) & (
        ((col(UnitReturn.filler_id) == me) & col(UnitReturn.status).in_(FILLABLE))
        | ((col(UnitReturn.reviewer_id) == me) & (col(UnitReturn.status) == ReturnStatus.in_review))
    )


def mine_cond(actor: Actor) -> Any:
    return (col(UnitReturn.filler_id) == actor.user_id) | (col(UnitReturn.reviewer_id) == actor.user_id)


def list_returns(session: Session, actor: Actor, *, box: str = "todo", page: int = 1) -> dict[str, Any]:
    if box not in ("todo", "done"):
        raise ValidationError("未知的列表", code="bad_box", field="box")
    cond = todo_cond(actor) if box == "todo" else (mine_cond(actor) & ~todo_cond(actor))
    base = select(UnitReturn, CollectTask).join(CollectTask, col(CollectTask.id) == UnitReturn.task_id).where(cond)
    total = int(
        session.exec(
            select(func.count())
            .select_from(UnitReturn)
            .join(CollectTask, col(CollectTask.id) == UnitReturn.task_id)
            .where(cond)
        ).one()
    )
    rows = session.exec(
        base.order_by(col(CollectTask.deadline), col(UnitReturn.id)).offset((max(page, 1) - 1) * PAGE).limit(PAGE)
    ).all()
    now = utcnow()
    units = {
        d.id: d.name
        for d in session.exec(select(Department).where(col(Department.id).in_([r.unit_id for r, _ in rows])))
    }
    return {
        "items": [
            {
                "id": r.id,
                "task_id": t.id,
                "title": t.title,
                "period": t.period,
                "deadline": iso(t.deadline),
                "unit_id": r.unit_id,
                "unit_name": units.get(r.unit_id, ""),
                "status": r.status.value,
                "status_label": STATUS_LABELS[r.status],
                "late": tasks.is_late(t, r.status, now),
                "role": "filler" if r.filler_id == actor.user_id else "reviewer",
                "version": r.version,
            }
            for r, t in rows
        ],
        "total": total,
        "page": max(page, 1),
    }
