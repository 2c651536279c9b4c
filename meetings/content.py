"""Agenda items and materials (files and links to documents): attendees and organisers only."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from meetings.access import access_meeting, user_names
from meetings.models import AgendaItem, Material, MaterialKind, Meeting
from meetings.notices import changed
from office import audit
from office.actor import Actor
from office.errors import NotFound, PayloadTooLarge, PermissionDenied, ValidationError
from office.timefmt import iso

MAX_FILE = 50 * 1024 * 1024
SAFE_NAME = re.compile(r"[\\/\x00-\x1f]")


def agenda_public(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    items = session.exec(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(col(AgendaItem.position))
    ).all()
    return [
        {
            "id": i.id,
            "title": i.title,
            "presenter_id": i.presenter_id,
            "presenter_name": i.presenter_name,
            "start_minute": i.start_minute,
            "duration_minutes": i.duration_minutes,
        }
        for i in items
    ]


def get_agenda(session: Session, actor: Actor, meeting_id: int) -> list[dict[str, Any]]:
    access_meeting(session, actor, meeting_id, "meeting.materials")
    return agenda_public(session, meeting_id)


def set_agenda(session: Session, actor: Actor, meeting_id: int, *, items: list[Any]) -> list[dict[str, Any]]:
    """Replace the agenda. Each item must fit inside the meeting; presenters named by id get their name."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    length = int((meeting.end_at - meeting.start_at).total_seconds() // 60)
    names = user_names(session, [i.presenter_id for i in items if i.presenter_id])
    for n, item in enumerate(items, 1):
        if item.start_minute + item.duration_minutes > length:
            raise ValidationError(f"第 {n} 项议程超出会议时长（{length} 分钟）", code="agenda_overrun")
        if item.presenter_id and item.presenter_id not in names:
            raise ValidationError(f"第 {n} 项的汇报人不存在", code="bad_presenter")
    session.execute(delete(AgendaItem).where(AgendaItem.meeting_id == meeting_id))  # type: ignore[arg-type]
    for n, item in enumerate(items):
        session.add(
            AgendaItem(
                meeting_id=meeting_id,
                position=n,
                title=item.title.strip(),
                presenter_id=item.presenter_id,
                presenter_name=names.get(item.presenter_id, "") if item.presenter_id else item.presenter_name.strip(),
                start_minute=item.start_minute,
                duration_minutes=item.duration_minutes,
            )
        )
    session.flush()
    audit.record(
        session, actor, "meeting.agenda", target_type="meeting", target_id=meeting_id, detail={"items": len(items)}
    )
    changed(session, meeting, "agenda")
    return agenda_public(session, meeting_id)


def material_public(m: Material) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind.value,
        "name": m.name,
        "url": m.url if m.kind is MaterialKind.link else "",
        "size": m.size,
        "content_type": m.content_type,
        "uploaded_by": m.uploaded_by,
        "created_at": iso(m.created_at),
    }


def list_materials(session: Session, actor: Actor, meeting_id: int) -> list[dict[str, Any]]:
    access_meeting(session, actor, meeting_id, "meeting.materials")
    rows = session.exec(select(Material).where(Material.meeting_id == meeting_id).order_by(col(Material.id))).all()
    return [material_public(m) for m in rows]


def _can_add(session: Session, actor: Actor, meeting: Meeting, organizer: bool) -> None:
    """The organiser, and the presenters on the agenda, add materials."""
    if organizer:
        return
    presenter = session.exec(
        select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id, AgendaItem.presenter_id == actor.user_id)
    ).first()
    if presenter is None:
        raise PermissionDenied("只有组织者和议程汇报人可以上传材料", code="meeting_forbidden")


def add_link(session: Session, actor: Actor, meeting_id: int, *, name: str, url: str) -> Material:
    meeting, rel = access_meeting(session, actor, meeting_id, "meeting.materials")
    _can_add(session, actor, meeting, rel.organizer)
    url = url.strip()
    # Links go to documents in Tongban (#/docs/12, /api/...) or to http(s) pages: never javascript:.
    if not (url.startswith(("#/", "/")) and not url.startswith("//")) and not url.lower().startswith(
        ("https://", "http://")
    ):
        raise ValidationError("链接必须是通办内的文档地址或 http(s) 地址", code="bad_url")
    m = Material(meeting_id=meeting_id, kind=MaterialKind.link, name=name.strip(), url=url, uploaded_by=actor.user_id)
    session.add(m)
    session.flush()
    audit.record(
        session,
        actor,
        "meeting.material.add",
        target_type="meeting",
        target_id=meeting_id,
        detail={"material_id": m.id, "kind": "link", "name": m.name},
    )
    changed(session, meeting, "materials")
    return m


def store_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "meetings" / "materials"


def add_file(
    session: Session, actor: Actor, meeting_id: int, *, data_dir: Path, name: str, content: bytes, content_type: str
) -> Material:
    meeting, rel = access_meeting(session, actor, meeting_id, "meeting.materials")
    _can_add(session, actor, meeting, rel.organizer)
    if len(content) > MAX_FILE:
        raise PayloadTooLarge("材料文件不能超过 50 MB", code="file_too_large")
    if not content:
        raise ValidationError("文件为空", code="empty_file")
    name = SAFE_NAME.sub("_", name.strip())[:200] or "材料"
    digest = hashlib.sha256(content).hexdigest()
    folder = store_dir(data_dir) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    m = Material(
        meeting_id=meeting_id,
        kind=MaterialKind.file,
        name=name,
        sha256=digest,
        size=len(content),
        content_type=(content_type or "application/octet-stream")[:100],
        uploaded_by=actor.user_id,
    )
    session.add(m)
    session.flush()
    audit.record(
        session,
        actor,
        "meeting.material.add",
        target_type="meeting",
        target_id=meeting_id,
        detail={"material_id": m.id, "kind": "file", "name": name, "sha256": digest},
    )
    changed(session, meeting, "materials")
    return m


def open_material(
    session: Session, actor: Actor, meeting_id: int, material_id: int, *, data_dir: Path
) -> tuple[Material, bytes]:
    access_meeting(session, actor, meeting_id, "meeting.materials")
    m = session.get(Material, material_id)
    if m is None or m.meeting_id != meeting_id or m.kind is not MaterialKind.file:
        raise NotFound("材料不存在", code="material_not_found")
    path = store_dir(data_dir) / m.sha256[:2] / m.sha256
    if not path.is_file():
        raise NotFound("材料文件已丢失，请联系组织者重新上传", code="material_missing")
    return m, path.read_bytes()


def remove_material(session: Session, actor: Actor, meeting_id: int, material_id: int) -> None:
    meeting, rel = access_meeting(session, actor, meeting_id, "meeting.materials")
    m = session.get(Material, material_id)
    if m is None or m.meeting_id != meeting_id:
        raise NotFound("材料不存在", code="material_not_found")
    if not rel.organizer and m.uploaded_by != actor.user_id:
        raise PermissionDenied("只能删除自己上传的材料", code="meeting_forbidden")
    session.delete(m)
    audit.record(
        session,
        actor,
        "meeting.material.remove",
        target_type="meeting",
        target_id=meeting_id,
        detail={"material_id": material_id, "name": m.name},
    )
    changed(session, meeting, "materials")
