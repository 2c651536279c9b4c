"""用印申请 (built-in form ``seal``): its approval authorises the seal keeper to apply the chosen seal
to the attached file, as many times as approved (``esign.authorisations``).

The form's fields (``banshi.builtin``): ``seal_id`` (an esign seal id), ``file`` (an attachment, one
file), ``times`` and ``purpose``. At submission (:meth:`SealBehaviour.prepare`) the seal must be an
active seal of the applicant's agency and the attachment exactly one file; at the final approval the
grant is made for that file's SHA-256 (what the keeper uploads must be that very file); the request's
page shows the grant and each use made under it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from banshi import behaviours
from banshi.models import ApprovalRequest, FormTemplate, RequestFile
from esign import authorisations
from esign.models import Seal, SealStatus
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError

BUILTIN = "seal"
SEAL_FIELD, FILE_FIELD, TIMES_FIELD, PURPOSE_FIELD = "seal_id", "file", "times", "purpose"


def reference_of(request_id: int | None) -> str:
    """How the grant names the request it came from (the keeper's 用印登记 shows it)."""
    return f"banshi:{request_id}"


def agency_seals(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The seals an applicant may ask for: the active ones of their agency (for the form's picker)."""
    if actor.agency_id is None:
        return []
    now = utcnow()
    rows = session.exec(
        select(Seal).where(Seal.agency_id == actor.agency_id, Seal.status == SealStatus.active).order_by(col(Seal.id))
    ).all()
    return [
        {"id": s.id, "name": s.name + s.seal_type, "requires_authorisation": s.requires_authorisation}
        for s in rows
        if s.valid_start <= now <= s.valid_end
    ]


def _seal(session: Session, agency_id: int | None, value: Any) -> Seal:
    seal = session.get(Seal, value) if isinstance(value, int) and not isinstance(value, bool) else None
    now = utcnow()
    if (
        seal is None
        or seal.agency_id != agency_id
        or seal.status != SealStatus.active
        or not seal.valid_start <= now <= seal.valid_end
    ):
        raise ValidationError("请选择本机关在用的印章", code="bad_seal", field=SEAL_FIELD)
    return seal


def _file_id(values: dict[str, Any]) -> int:
    ids = values.get(FILE_FIELD)
    if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], int):
        raise ValidationError(
            "用印文件须为一个文件：请上传要盖章的那份文件", code="one_file_required", field=FILE_FIELD
        )
    return ids[0]


def _times(values: dict[str, Any]) -> int:
    times = values.get(TIMES_FIELD, 1)
    if isinstance(times, float) and times.is_integer():
        times = int(times)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= authorisations.MAX_TIMES:
        raise ValidationError(f"用印次数须为 1–{authorisations.MAX_TIMES} 次", code="bad_times", field=TIMES_FIELD)
    return times


class SealBehaviour:
    def prepare(
        self, session: Session, applicant: Actor, template: FormTemplate, values: dict[str, Any]
    ) -> dict[str, Any]:
        _seal(session, applicant.agency_id, values.get(SEAL_FIELD))
        _file_id(values)
        _times(values)
        return {}

    def approved(self, session: Session, request: ApprovalRequest) -> None:
        """Grant the 用印授权 in the final approval's transaction. A seal suspended or revoked since
        the request was made still gets it: 用印 itself refuses such a seal (``esign.seals``)."""
        seal = session.get(Seal, request.values.get(SEAL_FIELD))
        file = session.get(RequestFile, _file_id(request.values))
        if seal is None or seal.agency_id != request.agency_id or file is None or file.request_id != request.id:
            raise ValidationError("用印申请的印章或文件已不存在", code="bad_seal", field=SEAL_FIELD)
        purpose = str(request.values.get(PURPOSE_FIELD) or "")
        authorisations.grant(
            session,
            None,
            seal_id=seal.id,  # type: ignore[arg-type]  # a stored seal has an id
            reference=reference_of(request.id),
            title=f"用印申请 {request.serial}：{purpose}"[:200],
            link=f"#/banshi/r/{request.id}",
            document_sha256=file.sha256,
            times=_times(request.values),
            applicant_id=request.applicant_id,
        )

    def undone(self, session: Session, request: ApprovalRequest) -> None:
        authorisations.revoke_reference(session, None, reference_of(request.id))

    def info(self, session: Session, viewer: Actor, request: ApprovalRequest) -> dict[str, Any]:
        """The seal asked for, and once approved the grant with each use made under it."""
        seal = (
            session.get(Seal, request.values.get(SEAL_FIELD))
            if isinstance(request.values.get(SEAL_FIELD), int)
            else None
        )
        out: dict[str, Any] = {
            "seal": None
            if seal is None or seal.agency_id != request.agency_id
            else {"id": seal.id, "name": seal.name + seal.seal_type, "status": seal.status.value},
            "authorisations": [],
        }
        if request.id is not None:
            out["authorisations"] = authorisations.for_reference(session, reference_of(request.id))
        return {"seal_authorisation": out}


BEHAVIOUR = SealBehaviour()
behaviours.register(BUILTIN, BEHAVIOUR)
