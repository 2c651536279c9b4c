"""Open untrusted ZIP containers (.docx, .xlsx) with limits checked before anything is inflated.

python-docx parses with ``huge_tree=True`` (lxml's size limits off), so the caller must bound the
archive first: total uncompressed size, entry count, per-entry compression ratio, and names.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from office.errors import PayloadTooLarge, UnsupportedMedia


@dataclass(frozen=True)
class ZipLimits:
    max_compressed: int = 50 * 1024 * 1024
    max_uncompressed: int = 200 * 1024 * 1024
    max_entries: int = 2000
    max_ratio: int = 200


DEFAULT_LIMITS = ZipLimits()


def open_zip(data: bytes, limits: ZipLimits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """Return a ZipFile over ``data`` after checking it is a sane, bounded archive.

    Raises UnsupportedMedia for something that is not a ZIP (including encrypted ZIPs and
    OLE-encrypted Office files), PayloadTooLarge for bombs and oversized archives.
    """
    if len(data) > limits.max_compressed:
        raise PayloadTooLarge("文件过大", code="file_too_large")
    if data[:2] == b"\xd0\xcf":
        raise UnsupportedMedia(
            "文件已加密或为旧版 Word 格式（.doc），请另存为未加密的 .docx", code="encrypted_or_legacy"
        )
    if not data.startswith(b"PK"):
        raise UnsupportedMedia("不是有效的 Word（.docx）文件", code="not_docx")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnsupportedMedia("文件已损坏，无法读取", code="corrupt_file") from exc
    if len(infos) > limits.max_entries:
        raise PayloadTooLarge("压缩包内文件数量过多", code="zip_bomb")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnsupportedMedia("文件已加密，无法读取", code="encrypted")
        name = info.filename
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise UnsupportedMedia("压缩包内含非法路径", code="zip_slip")
        total += info.file_size
        if info.file_size > limits.max_uncompressed or total > limits.max_uncompressed:
            raise PayloadTooLarge("解压后内容过大", code="zip_bomb")
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio and info.file_size > 1_000_000:
            raise PayloadTooLarge("压缩比异常（疑似压缩炸弹）", code="zip_bomb")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, limits: ZipLimits = DEFAULT_LIMITS) -> bytes:
    """Read one member, never more than the declared limit even if the header lies."""
    with zf.open(name) as fh:
        data = fh.read(limits.max_uncompressed + 1)
    if len(data) > limits.max_uncompressed:
        raise PayloadTooLarge("解压后内容过大", code="zip_bomb")
    return data


def write_zip(parts: dict[str, bytes], *, first: str | None = None) -> bytes:
    """A deflated zip of ``parts`` in a fixed order (``first``, then by name) with fixed timestamps,
    so the same parts always give the same bytes (OFD packages: readers look for OFD.xml first)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(parts, key=lambda n: (n != first, n)):
            zf.writestr(
                zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), parts[name], compress_type=zipfile.ZIP_DEFLATED
            )
    return out.getvalue()
