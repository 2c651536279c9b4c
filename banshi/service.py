"""办事 requests: drafts, submission, and the actions on the route engine (``workflow.engine``).

A request (``ApprovalRequest``) is made on its template's published version and keeps it. Its values
are cleaned on the server from that version's fields (``banshi.fields.clean_values``, plus what the
built-in form's behaviour computes: ``banshi.behaviours``), and at submission its route is resolved
from the branches (``banshi.routing.resolve``) into a concrete list of steps: the snapshot its case
(kind ``banshi``) runs along. Submission is one write transaction: the request, its serial number
(审批编号, per agency and day), the case, the first approvers' tasks, 抄送, the audit entries and the
events all commit together, or nothing does.

``version`` on the request is the optimistic lock every change quotes (``workflow.versioning``): a
stale one gets ``Conflict`` and changes nothing. The engine checks who may act; this module turns its
``Transition`` into the request's status, 抄送 after a step and at the end, the behaviour's
``approved`` hook, the system's proof (``banshi.proof``) and the applicant's 工作通知.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from banshi import behaviours, files, templates, visibility
from banshi.fields import clean_values
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestCc, RequestStatus
from banshi.routing import resolve
from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, OfficeError, PermissionDenied, ValidationError
from office.models import User
from workflow import case_kinds, engine, tasks, versioning, worklist
from workflow.case_kinds import Transition
from workflow.models import WfCase
from workflow.steps import validate_route

KIND = "banshi"
CHINA = ZoneInfo("Asia/Shanghai")
STALE = "申请已被他人处理或修改，请刷新后重试"
STATUS_LABELS = {
    RequestStatus.draft: "草稿",
    RequestStatus.running: "审批中",
    RequestStatus.returned: "已退回",
    RequestStatus.approved: "已通过",
    RequestStatus.rejected: "已拒绝",
    RequestStatus.withdrawn: "已撤销",
}
ACTIONS = ("approve", "reject", "return", "transfer", "add_signer", "withdraw", "urge")
EDITABLE = (RequestStatus.draft, RequestStatus.returned)


def link_of(request_id: int | None) -> str:
    """The web client's address of a request, as a 工作通知 link (the client opens ``#`` + it)."""
    return f"/banshi/r/{request_id}"


def _describe(session: Session, case: WfCase) -> tuple[str, str]:
    req = session.get(ApprovalRequest, case.subject_id)
    return (req.title if req else "办事申请"), link_of(case.subject_id)


KIND_SPEC = case_kinds.KindSpec(
    event_prefix="banshi",
    notify_type="notify.banshi",
    source="banshi",
    describe=_describe,
    # The applicant never approves their own request at any step (a 处长 asking for leave is not their
    # own 部门负责人): the engine leaves them out of every step, skips a step left with nobody, and
    # refuses 转交 and 加签 to them.
    reviews_draft=lambda _step: True,
    initiator_label="申请人",
    own_work="自己的申请",
)


def register_kind() -> None:
    """Tell the route engine about cases of kind ``banshi`` (``banshi.startup``; idempotent)."""
    case_kinds.register_kind(KIND, KIND_SPEC)


# Access -------------------------------------------------------------------------------------------


def access_request(session: Session, actor: Actor, request_id: int) -> ApprovalRequest:
    """The request if ``actor`` may read it (``banshi.visibility``); ``NotFound`` for missing and
    forbidden alike."""
    req = session.get(ApprovalRequest, request_id)
    if req is None or not visibility.may_read(session, actor, req):
        raise NotFound()
    return req


def case_of(session: Session, req: ApprovalRequest) -> WfCase | None:
    return session.get(WfCase, req.case_id) if req.case_id is not None else None


def _template(session: Session, req: ApprovalRequest) -> tuple[FormTemplate, FormVersion]:
    t = session.get(FormTemplate, req.template_id)
    v = session.get(FormVersion, req.version_id)
    if t is None or v is None:
        raise NotFound()
    return t, v


# Values -------------------------------------------------------------------------------------------


def clean(
    session: Session,
    actor: Actor,
    template: FormTemplate,
    version: FormVersion,
    raw: Any,
    *,
    request_id: int | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The submission's values as stored: cleaned from the version's fields, then what the built-in
    form's behaviour computes (which may refuse them: annual leave beyond the balance). ``partial``:
    a preview of a form not yet filled, required fields not checked."""
    values = clean_values(session, actor, version.fields, raw, request_id=request_id, partial=partial)
    behaviour = behaviours.behaviour_for(template)
    if behaviour is not None:
        values.update(behaviour.prepare(session, actor, template, values))
    return values


def _summarise(req: ApprovalRequest, field_defs: list[dict[str, Any]]) -> None:
    """Copy the amount and the dates out of the values for lists and ledgers: the first money field
    (or money formula) and the first date range."""
    req.amount_fen = req.days = req.start_date = req.end_date = None
    for f in field_defs:
        value = req.values.get(f["key"])
        if value is None:
            continue
        money = f["type"] == "money" or (f["type"] == "formula" and f.get("result") == "money")
        if money and req.amount_fen is None and isinstance(value, int | float):
            req.amount_fen = int(value)
        if f["type"] == "daterange" and req.start_date is None and isinstance(value, dict):
            req.start_date = _date(value.get("start"))
            req.end_date = _date(value.get("end"))
            days = value.get("days")
            req.days = float(days) if isinstance(days, int | float) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _title(actor: Actor, template: FormTemplate, version: FormVersion) -> str:
    pattern = str(version.options.get("title") or "{applicant}的{template}")
    return pattern.replace("{applicant}", actor.name).replace("{template}", template.name)[:200]


def as_raw(field_defs: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """Stored values in the shape a client sends them, to be checked again: a detail table is stored
    as ``{"rows", "totals"}`` and sent as its rows (the rest is sent as stored; computed parts are
    ignored and computed anew)."""
    out = dict(values)
    for f in field_defs:
        value = out.get(f["key"])
        if f["type"] == "table" and isinstance(value, dict):
            out[f["key"]] = value.get("rows", [])
    return out


def attachment_ids(field_defs: list[dict[str, Any]], values: dict[str, Any]) -> list[int]:
    """The file ids the values' attachment fields name."""
    out: list[int] = []
    for f in field_defs:
        if f["type"] == "attachment" and isinstance(values.get(f["key"]), list):
            out += [i for i in values[f["key"]] if isinstance(i, int)]
    return out


# Drafts and submission ------------------------------------------------------------------------------


def create_request(
    session: Session,
    actor: Actor,
    *,
    template_id: int,
    values: Any,
    client_id: str | None = None,
    submit: bool = False,
) -> ApprovalRequest:
    """A new request on the template's published version, saved as a draft or submitted at once.

    With ``client_id``, a create the applicant already made with that key returns that request again
    and changes nothing (the answer to the first try was lost; the retry must not make a second)."""
    policy.require(actor, "banshi.use")
    if client_id:
        earlier = session.exec(
            select(ApprovalRequest).where(
                ApprovalRequest.applicant_id == actor.user_id, ApprovalRequest.client_id == client_id
            )
        ).first()
        if earlier is not None:
            return earlier
    t, v = templates.template_for_use(session, actor, template_id)
    cleaned = clean(session, actor, t, v, values)
    req = ApprovalRequest(
        agency_id=actor.agency_id or 0,
        template_id=t.id or 0,
        version_id=v.id or 0,
        title=_title(actor, t, v),
        applicant_id=actor.user_id,
        applicant_dept_id=actor.department_id,
        values=cleaned,
        client_id=client_id,
    )
    _summarise(req, v.fields)
    session.add(req)
    session.flush()
    files.attach(session, actor, req, attachment_ids(v.fields, cleaned))
    audit.record(
        session,
        actor,
        "banshi.create",
        target_type="bs_request",
        target_id=req.id,
        detail={"template_id": t.id, "version_no": v.no, "title": req.title},
    )
    if submit:
        _submit(session, actor, req, t, v)
    else:
        _changed(session, req, "create")
    return req


def update_request(session: Session, actor: Actor, request_id: int, *, values: Any, version: int) -> ApprovalRequest:
    """Save a draft or a returned request's values (the applicant only; the version it was made with)."""
    req = _own_editable(session, actor, request_id, version)
    t, v = _template(session, req)
    req.values = clean(session, actor, t, v, values, request_id=req.id)
    _summarise(req, v.fields)
    files.attach(session, actor, req, attachment_ids(v.fields, req.values))
    req.updated_at = utcnow()
    _bump(session, req)
    audit.record(session, actor, "banshi.save", target_type="bs_request", target_id=req.id)
    _changed(session, req, "save")
    return req


def submit_request(session: Session, actor: Actor, request_id: int, *, version: int) -> ApprovalRequest:
    """Submit a draft, or submit a returned request again (its route resolved anew from its values)."""
    req = _own_editable(session, actor, request_id, version)
    t, v = _template(session, req)
    # The values are checked again: a person, a department or a file they name may have changed since.
    req.values = clean(session, actor, t, v, as_raw(v.fields, req.values), request_id=req.id)
    _summarise(req, v.fields)
    _submit(session, actor, req, t, v)
    return req


def _own_editable(session: Session, actor: Actor, request_id: int, version: int) -> ApprovalRequest:
    req = access_request(session, actor, request_id)
    if req.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以修改或提交申请", code="not_applicant")
    versioning.check_version(req, version, STALE)
    if req.status not in EDITABLE:
        raise InvalidTransition(f"申请{STATUS_LABELS[req.status]}，不能修改或提交", code="not_editable")
    return req


def _submit(session: Session, actor: Actor, req: ApprovalRequest, t: FormTemplate, v: FormVersion) -> None:
    resolution = resolve(session, actor, v, req.values)
    if not resolution.steps:
        raise ValidationError("按当前填写的内容，流程中没有需要审批的步骤，请联系管理员调整流程", code="no_approver")
    # Every approver of a 办事 step may 加签 (before or after themselves), as in DingTalk's approvals.
    steps = [{**s, "allow_add_signer": s.get("allow_add_signer", True)} for s in resolution.steps]
    context = {
        "branch": resolution.branch,
        "cc_after": resolution.cc_after,
        "cc_end": resolution.cc_end,
        "skipped": resolution.skipped,
    }
    # Read before the case is made and set with the rest below: the request's row is written once.
    serial = req.serial or next_serial(session, req.agency_id)
    case = case_of(session, req)
    if case is None:
        case = engine.create_case(
            session, actor, kind=KIND, subject_id=req.id or 0, agency_id=req.agency_id, route=steps, context=context
        )
        req.case_id = case.id
    else:  # resubmitted after a return to the applicant: the values (and so the branch) may have changed
        case.route, case.context = validate_route(steps), {**case.context, **context}
    req.serial = serial
    req.status = RequestStatus.running
    req.submitted_at = req.updated_at = utcnow()
    session.add(req)
    session.flush()
    t_submit = engine.submit(session, actor, case)
    _cc(session, req, resolution.cc_submit, "submit")
    _after(session, req, t, t_submit)
    _bump(session, req)
    audit.record(
        session,
        actor,
        "banshi.submit",
        target_type="bs_request",
        target_id=req.id,
        detail={"serial": req.serial, "branch": resolution.branch, "steps": [s["key"] for s in steps]},
    )
    _changed(session, req, "submit")


def next_serial(session: Session, agency_id: int) -> str:
    """审批编号: the date in China (YYYYMMDD) and a 4-digit count of the agency's requests that day
    (202612070001). Write transactions are serialised (``office.db``: a process lock on SQLite, an
    advisory lock on PostgreSQL), so reading the day's highest and adding one cannot hand out one twice."""
    prefix = utcnow().astimezone(CHINA).strftime("%Y%m%d")
    last = session.exec(last_serial_query(agency_id, prefix)).first()
    n = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def last_serial_query(agency_id: int, prefix: str) -> Any:
    """The day's highest serial of the agency. A range on ``ix_bs_request_agency_serial`` (a serial is
    the day's digits then more digits, and ":" sorts right after "9"), read under the write lock at
    every submission: ``LIKE 'prefix%'`` used no index on SQLite and read every request of the agency."""
    return (
        select(ApprovalRequest.serial)
        .where(
            ApprovalRequest.agency_id == agency_id,
            col(ApprovalRequest.serial) >= prefix,
            col(ApprovalRequest.serial) < prefix + ":",
        )
        .order_by(func.length(ApprovalRequest.serial).desc(), col(ApprovalRequest.serial).desc())
        .limit(1)
    )


# Actions on the route -----------------------------------------------------------------------------


def act(
    session: Session,
    actor: Actor,
    request_id: int,
    action: str,
    *,
    version: int,
    opinion: str = "",
    target: str | None = None,
    user_id: int | None = None,
    user_ids: list[int] | None = None,
    position: str = "with",
    file_ids: list[int] | None = None,
) -> ApprovalRequest:
    """同意, 拒绝, 退回, 转交, 加签, 撤销 or 催办 on a running request; the engine checks who may."""
    if action not in ACTIONS:
        raise ValidationError("不支持的操作", code="bad_action", field="action")
    req = access_request(session, actor, request_id)
    versioning.check_version(req, version, STALE)
    case = case_of(session, req)
    if case is None or req.status != RequestStatus.running:
        raise InvalidTransition(f"申请{STATUS_LABELS[req.status]}，不能{VERBS[action]}", code="not_running")
    opinion = (opinion or "").strip()
    attached = files.attach(session, actor, req, file_ids or [], opinion=True)
    t, _version = _template(session, req)
    if action == "urge":
        _urge(session, actor, req, case, opinion)
        return req
    transitions = _run(session, actor, req, case, action, opinion, target, user_id, user_ids, position, attached)
    for tr in transitions:
        _after(session, req, t, tr)
    _bump(session, req)
    _changed(session, req, action)
    return req


VERBS = {
    "approve": "同意",
    "reject": "拒绝",
    "return": "退回",
    "transfer": "转交",
    "add_signer": "加签",
    "withdraw": "撤销",
    "urge": "催办",
}


def _run(
    session: Session,
    actor: Actor,
    req: ApprovalRequest,
    case: WfCase,
    action: str,
    opinion: str,
    target: str | None,
    user_id: int | None,
    user_ids: list[int] | None,
    position: str,
    attached: list[int],
) -> list[Transition]:
    detail = {"file_ids": attached} if attached else None
    if action == "approve":
        return [engine.approve(session, actor, case, opinion=opinion, detail=detail)]
    if action == "reject":
        if not opinion:
            raise ValidationError("拒绝必须说明理由", code="reason_required", field="opinion")
        return [engine.terminate(session, actor, case, reason=opinion)]
    if action == "return":
        if not opinion:
            raise ValidationError("退回必须说明理由", code="reason_required", field="opinion")
        return [engine.return_to(session, actor, case, target=target or "draft", reason=opinion)]
    if action == "transfer":
        if user_id is None:
            raise ValidationError("请选择转交给谁", code="user_required", field="user_id")
        return [engine.transfer(session, actor, case, to_user_id=user_id, reason=opinion)]
    if action == "add_signer":
        people = list(dict.fromkeys([*(user_ids or []), *([user_id] if user_id is not None else [])]))
        if not people:
            raise ValidationError("请选择加签人员", code="user_required", field="user_ids")
        if position not in ("with", "before", "after"):
            raise ValidationError("加签方式只能是 with / before / after", code="bad_position", field="position")
        # One transition for everyone added: before or after the actor they make one step together.
        return [engine.add_signer(session, actor, case, user_ids=people, reason=opinion, position=position)]
    # withdraw: only the applicant, only while nobody has acted (the engine checks both again)
    if actor.user_id != req.applicant_id:
        raise PermissionDenied("只有申请人可以撤销申请", code="not_applicant")
    if tasks.acted_since_submit(session, case):
        raise InvalidTransition("已有审批人处理，不能撤销", code="already_acted")
    return [engine.withdraw(session, actor, case, reason=opinion)]


def _urge(session: Session, actor: Actor, req: ApprovalRequest, case: WfCase, message: str = "") -> None:
    if actor.user_id != req.applicant_id:
        raise PermissionDenied("只有申请人可以催办", code="not_applicant")
    engine.urge(session, actor, case, message=message)
    audit.record(session, actor, "banshi.urge", target_type="bs_request", target_id=req.id)


def _after(session: Session, req: ApprovalRequest, t: FormTemplate, tr: Transition) -> None:
    """The request's side of a transition: status, 抄送 after a step and at the end, the behaviour's
    ``approved`` hook and the proof on final approval, and the applicant's 工作通知 of a decision."""
    case = tr.case
    if tr.completed_step is not None:
        after = case.context.get("cc_after") or {}
        _cc(session, req, after.get(tr.completed_step["key"], []), tr.completed_step["key"])
    decision = ""
    if tr.action == "terminate":
        req.status, req.finished_at = RequestStatus.rejected, utcnow()
        decision = f"{tr.actor.name} 拒绝了您的申请"
    elif tr.finished:
        req.status, req.finished_at = RequestStatus.approved, utcnow()
        _cc(session, req, case.context.get("cc_end") or [], "end")
        behaviour = behaviours.behaviour_for(t)
        if behaviour is not None:
            behaviour.approved(session, req)
        _sign(session, req)
        decision = "您的申请已审批通过"
    elif tr.action == "return":
        if tr.entered_step is None:
            req.status = RequestStatus.returned  # the engine's 工作通知 already tells the applicant
        else:
            decision = f"{tr.actor.name} 退回至“{tr.entered_step['name']}”"
    elif tr.action == "withdraw":
        req.status, req.finished_at = RequestStatus.withdrawn, utcnow()
    elif tr.action == "approve" and tr.step is not None:
        decision = f"{tr.actor.name} 已同意（{tr.step['name']}）"
    req.updated_at = utcnow()
    session.add(req)
    if decision and req.applicant_id != tr.actor.user_id:
        _notify(session, [req.applicant_id], f"{STATUS_LABELS[req.status]}：{req.title}", decision, req)


def _sign(session: Session, req: ApprovalRequest) -> None:
    """The system's signature over the approved request (``banshi.proof``, when installed)."""
    try:
        proof = importlib.import_module("banshi.proof")
    except ModuleNotFoundError as exc:
        if exc.name != "banshi.proof":
            raise
        return
    proof.sign_request(session, req)


def _cc(session: Session, req: ApprovalRequest, user_ids: list[int], stage: str) -> None:
    """抄送: each person not yet copied gets a row (so they may read it) and a 工作通知."""
    wanted = sorted({u for u in user_ids if isinstance(u, int)} - {req.applicant_id})
    if not wanted:
        return
    have = set(
        session.exec(
            select(RequestCc.user_id).where(RequestCc.request_id == req.id, col(RequestCc.user_id).in_(wanted))
        ).all()
    )
    new = [u for u in wanted if u not in have]
    for u in new:
        session.add(RequestCc(request_id=req.id or 0, user_id=u, stage=stage))
    if new:
        session.flush()
        audit.record(
            session,
            None,
            "banshi.cc",
            target_type="bs_request",
            target_id=req.id,
            detail={"user_ids": new, "stage": stage},
        )
        _notify(session, new, f"抄送：{req.title}", "申请已抄送给您，请知悉", req)


def _notify(session: Session, user_ids: list[int], title: str, body: str, req: ApprovalRequest) -> None:
    events.publish_on_commit(
        session,
        "notify.banshi",
        {"user_ids": sorted(set(user_ids)), "title": title, "body": body, "link": link_of(req.id), "source": "banshi"},
        user_ids=user_ids,
    )


def concerned(session: Session, req: ApprovalRequest) -> set[int]:
    """Who hears of a request's changes: the applicant, everyone on its route, the people copied."""
    ids = {req.applicant_id}
    case = case_of(session, req)
    if case is not None:
        ids |= worklist.participants(session, case)
    ids |= set(session.exec(select(RequestCc.user_id).where(RequestCc.request_id == req.id)).all())
    return ids


def _changed(session: Session, req: ApprovalRequest, op: str) -> None:
    events.publish_on_commit(
        session,
        "banshi.request",
        {"op": op, "request_id": req.id or 0, "status": req.status.value},
        user_ids=concerned(session, req),
    )


def _bump(session: Session, req: ApprovalRequest) -> None:
    session.add(req)
    session.flush()
    versioning.bump(session, req, STALE)


# Batch approval ---------------------------------------------------------------------------------------


def batch_approve(session: Session, actor: Actor, items: list[tuple[int, int]], *, opinion: str = "") -> dict[str, Any]:
    """同意 several requests at once, each in its own SAVEPOINT: one that fails (not the actor's to
    approve, a stale version, a template that does not allow batch approval) changes nothing and is
    listed with its error; the others are approved."""
    policy.require(actor, "banshi.use")
    done: list[int] = []
    failed: list[dict[str, Any]] = []
    for request_id, version in items:
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        savepoint = session.begin_nested()
        try:
            req = access_request(session, actor, request_id)
            t, v = _template(session, req)
            if not v.options.get("batch"):
                raise ValidationError("该表单不支持批量审批，请逐件审批", code="not_batchable")
            act(session, actor, request_id, "approve", version=version, opinion=opinion)
            savepoint.commit()
            done.append(request_id)
        except OfficeError as exc:
            savepoint.rollback()
            del pending[mark:]  # the events of a rolled-back item must not go out
            failed.append({"id": request_id, **exc.to_dict()})
    if done:
        audit.record(session, actor, "banshi.batch_approve", target_type="bs_request", detail={"ids": done})
    return {"done": done, "failed": failed}


def mark_cc_read(session: Session, actor: Actor, req: ApprovalRequest) -> None:
    """A person copied has opened the request: it leaves their unread 抄送 count."""
    row = session.exec(
        select(RequestCc).where(
            RequestCc.request_id == req.id, RequestCc.user_id == actor.user_id, col(RequestCc.read_at).is_(None)
        )
    ).first()
    if row is not None:
        row.read_at = utcnow()
        session.add(row)


def preview(session: Session, actor: Actor, *, template_id: int, values: Any, partial: bool = False) -> dict[str, Any]:
    """What submitting these values would do, without writing anything: the cleaned and computed
    values, the route resolved now (who would approve, who is skipped and why) and 抄送. ``partial``
    (the form still being filled) skips only the required-field check, so the 差旅费 allowances or the
    leave balance show before everything is in; every other check is made as at submission."""
    policy.require(actor, "banshi.use")
    t, v = templates.template_for_use(session, actor, template_id)
    cleaned = clean(session, actor, t, v, values, partial=partial)
    resolution = resolve(session, actor, v, cleaned)
    people = {s_id for s in resolution.steps for s_id in s["actor"].get("user_ids", [])}
    cc_ids = set(resolution.cc_submit) | set(resolution.cc_end) | {u for us in resolution.cc_after.values() for u in us}
    names = _names(session, people | cc_ids)
    behaviour = behaviours.behaviour_for(t)
    info: dict[str, Any] = {}
    if behaviour is not None:
        draft = ApprovalRequest(
            agency_id=actor.agency_id or 0,
            template_id=t.id or 0,
            version_id=v.id or 0,
            title=_title(actor, t, v),
            applicant_id=actor.user_id,
            applicant_dept_id=actor.department_id,
            values=cleaned,
        )
        info = behaviour.info(session, actor, draft)
    return {
        "values": cleaned,
        "branch": resolution.branch,
        "route": [
            {
                "key": s["key"],
                "name": s["name"],
                "mode": s["mode"],
                "people": [{"id": u, "name": names.get(u, "")} for u in s["actor"].get("user_ids", [])],
            }
            for s in resolution.steps
        ],
        "skipped": resolution.skipped,
        "cc": [{"id": u, "name": names.get(u, "")} for u in sorted(cc_ids)],
        "info": info,
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u: n for u, n in session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all() if u}
