"""Chat attachments: type detected from the bytes (never from the name or the client's header),
stored once per SHA-256 under ``<data>/chat_files``, thumbnails for images, served only to members
of the conversation as downloads.

Write order for durability: temp file -> fsync -> rename -> fsync directory -> database commit, so
a committed row never points at a missing file (an interrupted upload can at most leave an
unreferenced blob).

A file is shown through messages: members may download it while a message that is not recalled
and that they may read (``service.readable_after``) carries it; its uploader may also before
sending it. Recalling the last such message deletes the attachment row and, once that commits and
no other row holds the same bytes, the file and its thumbnail (剩余信息保护).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import event, func
from sqlmodel import Session, col, select

from messaging.models import Attachment, Message
from messaging.service import access_conversation, readable_after
from messaging.timeline import attachment_public
from office import audit
from office.actor import Actor
from office.db import settings_of
from office.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMedia, ValidationError

log = logging.getLogger("messaging.attachments")
CHUNK = 1024 * 1024
THUMB_SIZE = (320, 320)
MAX_THUMB_PIXELS = 40_000_000
IMAGE_KINDS = {"png", "jpeg", "gif", "webp"}
MIME = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "zip": "application/zip",
    "ofd": "application/ofd",
    "txt": "text/plain; charset=utf-8",
}
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\"\\/]")


@dataclass
class Blob:
    sha256: str
    size: int
    path: Path
    head: bytes


def detect_kind(head: bytes, path: Path, filename: str) -> str:
    """The file's type from its first bytes (and the ZIP directory for Office/OFD files)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return ext if ext in ("doc", "xls", "ppt") else "ole"
    if _plain_text(head):
        return "txt"
    return "unknown"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:  # reads the central directory only
            names = set(zf.namelist()[:5000])
    except (zipfile.BadZipFile, OSError):
        return "unknown"
    for marker, kind in (
        ("word/document.xml", "docx"),
        ("xl/workbook.xml", "xlsx"),
        ("ppt/presentation.xml", "pptx"),
        ("OFD.xml", "ofd"),
    ):
        if marker in names:
            return kind
    return "zip"


def _plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:-3].decode("utf-8")  # the sample may cut a character in half
        except UnicodeDecodeError:
            return False
    # Markup is active content in a browser (HTML, SVG, XML): refuse it even as "text".
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    return not (lowered.startswith("<") or "<script" in lowered or "<svg" in lowered or "<html" in lowered)


def clean_filename(name: str, kind: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = _BAD_NAME.sub("", base).strip().strip(".")[:150]
    return base or f"file.{kind}"


def store_blob(root: Path, stream: IO[bytes], limit: int) -> Blob:
    """Copy ``stream`` into the content-addressed store, durably; raises PayloadTooLarge over ``limit``."""
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"文件超过上限（{limit // (1024 * 1024)} MB）", code="file_too_large")
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = root / sha[:2] / sha
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
        return Blob(sha, size, final, head)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_thumbnail(blob: Blob) -> tuple[int, int] | None:
    """Write ``<sha>.thumb.png`` next to the blob; None if the image can't be read safely."""
    from PIL import Image

    target = blob.path.with_name(blob.sha256 + ".thumb.png")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(blob.path) as im:
                w, h = im.size
                if w * h > MAX_THUMB_PIXELS:
                    return None
                if not target.exists():
                    im.thumbnail(THUMB_SIZE)
                    rgb = im.convert("RGBA") if im.mode in ("P", "LA", "RGBA") else im.convert("RGB")
                    tmp = target.with_suffix(".tmp")
                    rgb.save(tmp, "PNG")
                    os.replace(tmp, target)
                return w, h
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None


@dataclass
class Received:
    conversation_id: int
    blob: Blob
    kind: str
    filename: str
    dims: tuple[int, int] | None


def receive_file(
    session: Session, actor: Actor, *, conversation_id: int, filename: str, stream: IO[bytes], root: Path
) -> Received:
    """Check access, store the bytes durably and detect the type (no write transaction held)."""
    access_conversation(session, actor, conversation_id, send=True)
    settings = settings_of(session)
    blob = store_blob(root, stream, settings.chat_upload_max_bytes)
    if blob.size == 0:
        raise ValidationError("文件为空", code="empty_file")
    kind = detect_kind(blob.head, blob.path, filename or "")
    if kind not in settings.chat_allowed_types:
        raise UnsupportedMedia("不支持的文件类型（按文件内容识别）", code="file_type_not_allowed", kind=kind)
    dims = make_thumbnail(blob) if kind in IMAGE_KINDS else None
    return Received(conversation_id, blob, kind, clean_filename(filename, kind), dims)


def record_upload(session: Session, actor: Actor, received: Received) -> dict[str, Any]:
    """The attachment row (inside a write transaction), to reference in ``send_message(attachment_id=...)``."""
    access_conversation(session, actor, received.conversation_id, send=True)
    blob, dims = received.blob, received.dims
    if not blob.path.exists():  # the same bytes were recalled meanwhile, and deleted (``release``)
        raise Conflict("文件已失效，请重新上传", code="upload_gone")
    att = Attachment(
        conversation_id=received.conversation_id,
        uploader_id=actor.user_id,
        sha256=blob.sha256,
        size=blob.size,
        kind=received.kind,
        mime=MIME.get(received.kind, "application/octet-stream"),
        filename=received.filename,
        width=dims[0] if dims else None,
        height=dims[1] if dims else None,
        has_thumb=dims is not None,
    )
    session.add(att)
    session.flush()
    audit.record(
        session,
        actor,
        "chat.upload",
        target_type="chat_attachment",
        target_id=att.id,
        detail={
            "conversation_id": received.conversation_id,
            "sha256": blob.sha256,
            "size": blob.size,
            "kind": received.kind,
        },
    )
    return attachment_public(att)


def files_root(session: Session) -> Path:
    """Where the bytes of chat attachments are kept, for the session's database."""
    return Path(session.info["db"].settings.data_dir) / "chat_files"


def open_attachment(
    session: Session, actor: Actor, attachment_id: int, root: Path, *, thumb: bool = False
) -> tuple[Path, str, str]:
    """(path, media type, filename) for a member allowed to see the file (see the module docstring);
    NotFound otherwise."""
    att = session.get(Attachment, attachment_id)
    # Every refusal answers exactly as a missing id, so attachment ids cannot be probed for existence.
    missing = NotFound("附件不存在", code="attachment_not_found")
    if att is None:
        raise missing
    try:
        conv, me = access_conversation(session, actor, att.conversation_id)
    except NotFound:
        raise missing from None
    if att.uploader_id != actor.user_id:
        shown = session.exec(
            select(Message.id).where(
                Message.attachment_id == att.id,
                col(Message.recalled_at).is_(None),
                Message.conversation_id == att.conversation_id,
                Message.seq > readable_after(conv, me),
            )
        ).first()
        if shown is None:
            raise missing
    path = root / att.sha256[:2] / att.sha256
    if thumb:
        if not att.has_thumb:
            raise NotFound("该附件没有缩略图", code="no_thumbnail")
        return path.with_name(att.sha256 + ".thumb.png"), "image/png", "thumb.png"
    return path, att.mime, att.filename


def content_disposition(filename: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback plus the UTF-8 name; never inline."""
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def release(session: Session, msg: Message) -> int | None:
    """Detach a recalled message's file; when no other message carries it, delete the attachment row
    and, after the commit, the bytes (unless another row holds the same). Returns the attachment id
    deleted, if any."""
    att_id = msg.attachment_id
    if att_id is None:
        return None
    msg.attachment_id = None
    session.add(msg)
    session.flush()
    if session.exec(select(Message.id).where(Message.attachment_id == att_id)).first() is not None:
        return None
    att = session.get(Attachment, att_id)
    if att is None:
        return None
    sha, root, db = att.sha256, files_root(session), session.info["db"]
    session.delete(att)
    session.flush()

    def forget_bytes(_session: Session) -> None:
        # Committed: the row is gone. The bytes go too unless a row holds them (another upload of
        # the same file, committed under the same write lock, checks the file is still there).
        with db.read() as s:
            if s.exec(select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha)).one():
                return
        try:
            for path in (root / sha[:2] / sha, root / sha[:2] / f"{sha}.thumb.png"):
                path.unlink(missing_ok=True)
        except OSError:  # the commit stands; an unreferenced blob is what an interrupted upload leaves too
            log.exception("could not delete recalled attachment bytes %s", sha)

    event.listen(session, "after_commit", forget_bytes, once=True)
    return att_id
