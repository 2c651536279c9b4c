"""Case kinds: what the engine is told about a subject (``KindSpec``), what it tells back
(``Transition``), and the events and notifications each transition sends.

A subject's service (发文, 收文, later 办事) registers its kind once with ``register_kind``; the engine
never learns what the subject is. Events go out through the kind's ``KindSpec`` so the next actors,
and their deputies under a running 委托, are told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from office import events
from office.actor import Actor
from workflow.delegation import deputies_for
from workflow.models import WfCase, WfTask
from workflow.worklist import participants


@dataclass(frozen=True)
class KindSpec:
    """How a case kind talks to people: event type prefix, notification type and wording."""

    event_prefix: str  # e.g. "docs": publishes "docs.task" and "docs.case"
    notify_type: str  # e.g. "notify.document"
    source: str  # e.g. "docs_flow"
    describe: Callable[[Session, WfCase], tuple[str, str]]  # -> (title, link)
    # Steps that review the initiator's draft besides 核稿 by the drafter's head: the initiator is never
    # an actor there (see ``engine._enter``).
    reviews_draft: Callable[[dict[str, Any]], bool] = lambda _step: False
    # How people call the initiator and what they started, in messages: 公文 拟稿人 / 自己起草的文稿,
    # 办事 申请人 / 自己的申请.
    initiator_label: str = "拟稿人"
    own_work: str = "自己起草的文稿"


_kinds: dict[str, KindSpec] = {}


def register_kind(kind: str, spec: KindSpec) -> None:
    _kinds[kind] = spec


def kind_spec(kind: str) -> KindSpec:
    try:
        return _kinds[kind]
    except KeyError:
        raise RuntimeError(f"unregistered case kind {kind!r}") from None


@dataclass
class Transition:
    """What an action did, for the subject's service to react to (hooks, status, events)."""

    case: WfCase
    action: str
    actor: Actor
    on_behalf_of: int | None = None
    step: dict[str, Any] | None = None  # the step acted on
    completed_step: dict[str, Any] | None = None  # set when the action completed that step
    entered_step: dict[str, Any] | None = None  # the step now current, if it changed
    finished: bool = False
    new_assignees: list[int] = field(default_factory=list)
    removed_assignees: list[int] = field(default_factory=list)
    task: WfTask | None = None
    notified: list[int] = field(default_factory=list)  # 催办: the people reminded (deputies not listed)
    # Everyone on the case's route once the action is done (``worklist.participants``), as
    # ``notify_transition`` read it: the subject's service tells them too and need not read it again.
    participants: set[int] | None = None


def reviews_draft(case: WfCase, step: dict[str, Any]) -> bool:
    """A step that checks the initiator's draft: 核稿 by the drafter's head, or a step the case kind calls
    a review (a 发文 step tagged ``review``)."""
    return step["actor"]["kind"] == "drafter_head" or kind_spec(case.kind).reviews_draft(step)


def own_review(case: WfCase, step: dict[str, Any], user_id: int) -> bool:
    return user_id == case.initiator_id and reviews_draft(case, step)


def initiator_label(case: WfCase) -> str:
    """What people call the case's initiator (拟稿人, 申请人): the return target and messages say it."""
    return kind_spec(case.kind).initiator_label


def own_work(case: WfCase) -> str:
    return kind_spec(case.kind).own_work


# Events and notifications ------------------------------------------------------------------------


def notify_transition(session: Session, t: Transition) -> None:
    case = t.case
    spec = kind_spec(case.kind)
    title, link = spec.describe(session, case)
    added = sorted(set(t.new_assignees))
    removed = sorted(set(t.removed_assignees) - set(added))
    base = {"kind": case.kind, "case_id": case.id, "subject_id": case.subject_id}
    deputies = deputies_for(session, added)
    wake = sorted(set(added) | {d for ds in deputies.values() for d in ds})
    if removed:
        events.publish_on_commit(session, f"{spec.event_prefix}.task", {"op": "remove", **base}, user_ids=removed)
    if wake:
        events.publish_on_commit(session, f"{spec.event_prefix}.task", {"op": "add", **base}, user_ids=wake)
        events.publish_on_commit(
            session,
            spec.notify_type,
            {
                "user_ids": wake,
                "title": _notify_title(t, title),
                "body": _notify_body(t, spec),
                "link": link,
                "source": spec.source,
            },
            user_ids=wake,
        )
    t.participants = participants(session, case)
    concerned = t.participants | set(wake)
    events.publish_on_commit(
        session,
        f"{spec.event_prefix}.case",
        {
            "op": t.action,
            **base,
            "state": case.state.value,
            "version": case.version,
            "step": t.entered_step["name"] if t.entered_step else None,
        },
        user_ids=concerned,
    )


def notify_urge(session: Session, t: Transition, message: str) -> None:
    """催办: a 工作通知 to the people the case waits for, and to their deputies under a running 委托."""
    spec = kind_spec(t.case.kind)
    title, link = spec.describe(session, t.case)
    deputies = deputies_for(session, t.notified)
    wake = sorted(set(t.notified) | {d for ds in deputies.values() for d in ds})
    if not wake:
        return
    where = t.step["name"] if t.step else ""
    body = f"{t.actor.name} 催您尽快办理“{where}”" + (f"：{message}" if message else "")
    events.publish_on_commit(
        session,
        spec.notify_type,
        {"user_ids": wake, "title": f"催办：{title}", "body": body, "link": link, "source": spec.source},
        user_ids=wake,
    )


def _notify_title(t: Transition, title: str) -> str:
    if t.action == "return":
        return f"退回：{title}"
    if t.action == "transfer":
        return f"转办：{title}"
    if t.action == "add_signer":
        return f"加签：{title}"
    if t.action == "terminate":
        return f"已终止：{title}"
    return f"待办：{title}"


def _notify_body(t: Transition, spec: KindSpec) -> str:
    who = t.actor.name
    if t.action == "return":
        where = t.entered_step["name"] if t.entered_step else spec.initiator_label
        return f"{who} 退回至“{where}”"
    if t.entered_step:
        return f"{who} 已{_ACTION_LABELS.get(t.action, '办理')}，请办理“{t.entered_step['name']}”"
    return f"{who} 请您办理"


_ACTION_LABELS = {"submit": "送审", "approve": "办理", "transfer": "转办", "add_signer": "加签"}
