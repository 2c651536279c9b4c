"""发文字号: per agency, per 机关代字 and year, gapless and unique.

Every number handed out is a ``DocNumber`` row: assigned to a document, reserved (预留) for later,
or void (作废, with a reason). Numbers are never reused, so the sequence 1..N is complete and each
void is explained in the audit log.

Concurrency: the counter row is read ``FOR UPDATE`` inside the serialised write transaction
(``Database.write``: a process lock on SQLite, an advisory lock on PostgreSQL, so also across
processes), and the unique constraint on (agency, code, year, seq) is the last line of defence.

Throughput: one commit per number caps allocation at the disk's fsync rate, so when many clerks
number at once their requests (``NumberOp``) go to a group-commit ``Numberer``: one writer takes
every queued request, checks each, bumps each counter once for the whole run, writes the numbers
and their audit entries with multi-row statements, binds each to its document, commits once and
only then answers every caller. A request that fails its checks is refused alone, before any
number is taken, so it leaves no gap; anything failing later rolls the batch back and each request
is retried in its own transaction (``office.groupcommit``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from docs_flow.models import DocNumber, DocNumberCounter, NumberState, OutgoingDocument, format_number
from office import audit, policy
from office.actor import Actor
from office.db import Database, utcnow
from office.errors import Conflict, InvalidTransition, NotFound, OfficeError, ValidationError
from office.groupcommit import GroupCommit
from office.models import Department
from office.timefmt import iso

T = TypeVar("T")

CHINA = ZoneInfo("Asia/Shanghai")


def current_year() -> int:
    return datetime.now(CHINA).year


def agency_codes(session: Session, agency_id: int) -> list[str]:
    """代字 usable by an agency: its own and those of its departments (e.g. 粤府办, 粤府办函)."""
    rows = session.exec(
        select(Department.code)
        .where(Department.agency_id == agency_id, col(Department.code).is_not(None))
        .order_by(col(Department.id))
    ).all()
    return list(dict.fromkeys(c for c in rows if c))


def allocate(
    session: Session,
    actor: Actor,
    *,
    agency_id: int,
    code: str,
    year: int,
    state: NumberState = NumberState.assigned,
    document_id: int | None = None,
    reason: str = "",
    validate_code: bool = True,
) -> DocNumber:
    """The next number for (agency, code, year). Call inside a write transaction.

    ``validate_code=False`` is for internal series that are not 机关代字 (e.g. the 收文编号 series "收")."""
    got = NumberOp(
        actor,
        agency_id=agency_id,
        code=code,
        year=year,
        state=state,
        document_id=document_id,
        reason=reason,
        validate_code=validate_code,
    )(session)
    # populate_existing: a row loaded under a SAVEPOINT that was rolled back may linger with this id.
    row = session.get(DocNumber, got.id, populate_existing=True)
    assert row is not None
    return row


def reserve_op(actor: Actor, *, code: str, year: int | None, reason: str) -> NumberOp:
    """预留 a number for a document that will come later (e.g. a leader's instruction), as a request
    for the ``Numberer`` (or to run in a transaction: ``check_reserve``)."""
    policy.require(actor, "document.number.manage")
    if not reason.strip():
        raise ValidationError("预留文号需要说明用途", code="reason_required")
    return NumberOp(
        actor,
        agency_id=_agency(actor),
        code=code,
        year=year or current_year(),
        state=NumberState.reserved,
        reason=reason,
    )


def check_reserve(session: Session, actor: Actor, *, code: str, year: int | None, reason: str) -> DocNumber:
    got = reserve_op(actor, code=code, year=year, reason=reason)(session)
    row = session.get(DocNumber, got.id, populate_existing=True)
    assert row is not None
    return row


# Batched allocation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """A number just written: the ``DocNumber`` row's values (the batch does not load the rows)."""

    id: int
    agency_id: int
    code: str
    year: int
    seq: int
    state: NumberState
    document_id: int | None
    reason: str
    created_at: datetime
    void_reason: str = ""

    @property
    def text(self) -> str:
        return format_number(self.code, self.year, self.seq)


@dataclass
class NumberOp:
    """One request for the next number. ``prepare(session, op)`` runs first, in the allocating
    transaction, and may fill in agency/code/year/document (the 编号 step reads them off the
    document); it must only read, and refuses by raising an ``OfficeError``. ``bind(session,
    allocation)`` runs after the number is written (e.g. puts it on the document); its return value
    is the request's result (default: the ``Allocation``)."""

    actor: Actor
    agency_id: int = 0
    code: str = ""
    year: int = 0
    state: NumberState = NumberState.assigned
    document_id: int | None = None
    reason: str = ""
    validate_code: bool = True
    prepare: Callable[[Session, NumberOp], None] | None = None
    bind: Callable[[Session, Allocation], Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    batch_type: ClassVar[type[AllocateBatch]]

    def __call__(self, session: Session) -> Any:
        """Alone, in the caller's write transaction."""
        ok, value = AllocateBatch(session, [self]).run()[0]
        if not ok:
            raise value
        return value


class AllocateBatch:
    """A run of ``NumberOp`` in one transaction: check each, then one locked counter read and bump
    per (agency, code, year), one multi-row insert of the numbers, one of their audit entries."""

    def __init__(self, session: Session, ops: list[NumberOp]) -> None:
        self.session, self.ops = session, ops
        self._codes: dict[int, list[str]] = {}

    def run(self) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = [(False, None)] * len(self.ops)
        ready: list[int] = []
        bound_docs: set[int] = set()
        for i, op in enumerate(self.ops):
            try:
                self._check(op, bound_docs)
            except OfficeError as exc:  # refused before it took a number: no gap
                outcomes[i] = (False, exc)
            else:
                ready.append(i)
        taken = self._write([self.ops[i] for i in ready])
        for i, got in zip(ready, taken, strict=True):
            bind = self.ops[i].bind
            # A failure here raises out of the batch: it rolls back whole and each op is retried alone.
            outcomes[i] = (True, bind(self.session, got) if bind else got)
        return outcomes

    def _check(self, op: NumberOp, bound_docs: set[int]) -> None:
        if op.prepare is not None:
            op.prepare(self.session, op)
        if op.validate_code:
            if op.agency_id not in self._codes:
                self._codes[op.agency_id] = agency_codes(self.session, op.agency_id)
            if op.code not in self._codes[op.agency_id]:
                raise ValidationError(f"机关代字“{op.code}”不属于本机关", code="bad_code")
        if not 2000 <= op.year <= 2100:
            raise ValidationError("年份无效", code="bad_year")
        if op.bind is not None and op.document_id is not None:
            # Two requests to number the same document in one batch: as if they had come one after
            # the other, the second finds the document changed.
            if op.document_id in bound_docs:
                raise Conflict("公文已被他人修改或处理，请刷新后重试", code="stale_version")
            bound_docs.add(op.document_id)

    def _write(self, ops: list[NumberOp]) -> list[Allocation]:
        if not ops:
            return []
        self.session.flush()  # the caller's pending changes go first, as with any ORM query
        conn = self.session.connection()
        seqs = [0] * len(ops)
        runs: dict[tuple[int, str, int], list[int]] = {}
        for k, op in enumerate(ops):
            runs.setdefault((op.agency_id, op.code, op.year), []).append(k)
        for (agency_id, code, year), members in runs.items():
            key = {"a": agency_id, "c": code, "y": year}
            last = conn.execute(_LOCK_COUNTER, key).scalar()
            if last is None:
                conn.execute(_NEW_COUNTER, {**key, "n": len(members)})
                last = 0
            else:
                conn.execute(_ADVANCE_COUNTER, {**key, "n": last + len(members)})
            for offset, k in enumerate(members, start=1):
                seqs[k] = last + offset
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "agency_id": op.agency_id,
                "code": op.code,
                "year": op.year,
                "seq": seq,
                "state": op.state,
                "document_id": op.document_id,
                "reason": op.reason.strip()[:200],
                "created_by": op.actor.user_id,
                "created_at": now,
                "voided_by": None,
                "voided_at": None,
                "void_reason": "",
            }
            for op, seq in zip(ops, seqs, strict=True)
        ]
        ids = conn.execute(_INSERT_NUMBERS, rows).scalars().all()
        taken = [
            Allocation(
                id=i,
                agency_id=r["agency_id"],
                code=r["code"],
                year=r["year"],
                seq=r["seq"],
                state=r["state"],
                document_id=r["document_id"],
                reason=r["reason"],
                created_at=now,
            )
            for i, r in zip(ids, rows, strict=True)
        ]
        audit.record_many(
            self.session,
            [
                audit.Pending(
                    op.actor,
                    f"docs.number.{got.state.value}",
                    target_type="doc_number",
                    target_id=got.id,
                    detail={"number": got.text, "document_id": got.document_id, "reason": got.reason},
                    jsonable=True,
                )
                for op, got in zip(ops, taken, strict=True)
            ],
        )
        return taken


NumberOp.batch_type = AllocateBatch
_COUNTER = DocNumberCounter.__table__  # type: ignore[attr-defined]
_NUMBERS = DocNumber.__table__  # type: ignore[attr-defined]
_KEY = (
    (_COUNTER.c.agency_id == bindparam("a")) & (_COUNTER.c.code == bindparam("c")) & (_COUNTER.c.year == bindparam("y"))
)
_LOCK_COUNTER = sa_select(_COUNTER.c.last_seq).where(_KEY).with_for_update()
_NEW_COUNTER = insert(_COUNTER).values(
    agency_id=bindparam("a"), code=bindparam("c"), year=bindparam("y"), last_seq=bindparam("n")
)
_ADVANCE_COUNTER = update(_COUNTER).where(_KEY).values(last_seq=bindparam("n"))
_INSERT_NUMBERS = insert(_NUMBERS).returning(_NUMBERS.c.id, sort_by_parameter_order=True)


class Numberer:
    """The group-commit allocator for one database (``app.state.numbering``): many callers at once,
    one commit per batch. ``run`` answers only after the commit that made the number durable."""

    def __init__(self, db: Database, *, max_batch: int = 500, linger: float = 0.001) -> None:
        self.group = GroupCommit(db, name="numbering-group-commit", max_batch=max_batch, linger=linger)

    def run(self, op: Callable[[Session], T], timeout: float = 60) -> T:
        """A ``NumberOp`` (batched with the others queued) or any ``fn(session)`` (in its own SAVEPOINT)."""
        return self.group.run(op, timeout)

    def submit(self, op: Callable[[Session], T]) -> Future[T]:
        """As ``run``, without waiting: for an HTTP handler, which must not hold its read session (and
        its pooled connection) while the writer works; the framework awaits the future
        (``office.web``'s ``deferred_write``)."""
        return self.group.submit(op)

    def allocate(
        self,
        actor: Actor,
        *,
        agency_id: int,
        code: str,
        year: int,
        state: NumberState = NumberState.assigned,
        document_id: int | None = None,
        reason: str = "",
        validate_code: bool = True,
    ) -> Allocation:
        op = NumberOp(
            actor,
            agency_id=agency_id,
            code=code,
            year=year,
            state=state,
            document_id=document_id,
            reason=reason,
            validate_code=validate_code,
        )
        return self.run(op)

    def stop(self) -> None:
        self.group.stop()


def check_void(session: Session, actor: Actor, number_id: int, *, reason: str) -> DocNumber:
    """作废 a reserved number, or an assigned one whose document has not been sealed yet."""
    policy.require(actor, "document.number.manage")
    row = session.get(DocNumber, number_id)
    if row is None or row.agency_id != actor.agency_id:
        raise NotFound()
    if not reason.strip():
        raise ValidationError("作废文号必须说明理由", code="reason_required")
    if row.state == NumberState.void:
        raise InvalidTransition("该文号已作废", code="already_void")
    if row.document_id is not None:
        _release(session, row)
    row.state, row.voided_by, row.voided_at = NumberState.void, actor.user_id, utcnow()
    row.void_reason = reason.strip()[:200]
    session.add(row)
    audit.record(
        session,
        actor,
        "docs.number.void",
        target_type="doc_number",
        target_id=row.id,
        detail={"number": row.text, "reason": row.void_reason, "document_id": row.document_id},
    )
    return row


def _release(session: Session, row: DocNumber) -> None:
    """Detach a voided number from its document, which must not carry the seal yet."""
    doc = session.get(OutgoingDocument, row.document_id)
    if doc is None or doc.number_id != row.id:
        return
    if doc.seal_record:
        raise InvalidTransition("公文已用印，文号不能作废", code="already_sealed")
    doc.number, doc.number_id, doc.version = "", None, doc.version + 1
    session.add(doc)


def take_reserved(
    session: Session, actor: Actor, number_id: int, *, agency_id: int, code: str, document_id: int
) -> DocNumber:
    row = session.get(DocNumber, number_id)
    if row is None or row.agency_id != agency_id:
        raise NotFound("预留文号不存在", code="number_not_found")
    if row.state != NumberState.reserved:
        raise InvalidTransition("该文号不是预留状态", code="not_reserved")
    if row.code != code:
        raise ValidationError("预留文号的机关代字与本文不一致", code="bad_code")
    row.state, row.document_id = NumberState.assigned, document_id
    session.add(row)
    audit.record(
        session,
        actor,
        "docs.number.assigned",
        target_type="doc_number",
        target_id=row.id,
        detail={"number": row.text, "document_id": document_id, "from_reserved": True},
    )
    return row


def list_numbers(
    session: Session, actor: Actor, *, code: str = "", year: int | None = None, limit: int = 200
) -> list[DocNumber]:
    policy.require(actor, "document.number.manage")
    stmt = select(DocNumber).where(DocNumber.agency_id == _agency(actor))
    if code:
        stmt = stmt.where(DocNumber.code == code)
    if year:
        stmt = stmt.where(DocNumber.year == year)
    return list(session.exec(stmt.order_by(col(DocNumber.id).desc()).limit(min(max(limit, 1), 1000))).all())


def number_public(row: DocNumber | Allocation) -> dict[str, Any]:
    return {
        "id": row.id,
        "text": row.text,
        "code": row.code,
        "year": row.year,
        "seq": row.seq,
        "state": row.state.value,
        "document_id": row.document_id,
        "reason": row.reason,
        "void_reason": row.void_reason,
        "created_at": iso(row.created_at),
    }


def _agency(actor: Actor) -> int:
    if actor.agency_id is None:
        raise ValidationError("您没有所属机关", code="no_agency")
    return actor.agency_id
