"""The structured body of a document: a list of blocks, validated, flattened and hashed (pure).

Blocks::

    {"kind": "heading", "level": 1..4, "text": str}
    {"kind": "paragraph", "text": str}
    {"kind": "list_item", "text": str}
    {"kind": "table", "rows": [[str, ...], ...]}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from office.errors import ValidationError

MAX_BLOCKS = 5000
MAX_TEXT = 20_000
MAX_TOTAL = 1_000_000
MAX_ROWS = 500
MAX_COLS = 30
KINDS = ("heading", "paragraph", "list_item", "table")


def normalize_blocks(raw: Any) -> list[dict[str, Any]]:
    """A clean copy of ``raw`` or a ValidationError naming the first bad block."""
    if not isinstance(raw, list):
        raise ValidationError("正文必须是段落列表", code="bad_body")
    if len(raw) > MAX_BLOCKS:
        raise ValidationError(f"正文段落不能超过 {MAX_BLOCKS} 个", code="body_too_long")
    out = [_block(i, b) for i, b in enumerate(raw)]
    if sum(len(t) for t in _texts(out)) > MAX_TOTAL:
        raise ValidationError("正文过长", code="body_too_long")
    return out


def _block(i: int, b: Any) -> dict[str, Any]:
    if not isinstance(b, dict) or b.get("kind") not in KINDS:
        raise ValidationError(f"第 {i + 1} 段的类型无效（应为标题、段落、列表项或表格）", code="bad_block")
    kind = b["kind"]
    if kind == "table":
        rows = b.get("rows")
        if (
            not isinstance(rows, list)
            or not rows
            or len(rows) > MAX_ROWS
            or not all(isinstance(r, list) and 0 < len(r) <= MAX_COLS for r in rows)
        ):
            raise ValidationError(f"第 {i + 1} 段表格格式错误", code="bad_block")
        return {"kind": kind, "rows": [[_text(i, c) for c in r] for r in rows]}
    text = _text(i, b.get("text"))
    if kind == "heading":
        level = b.get("level", 1)
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 4:
            raise ValidationError(f"第 {i + 1} 段标题层级必须是 1–4", code="bad_block")
        return {"kind": kind, "level": level, "text": text}
    return {"kind": kind, "text": text}


def _text(i: int, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"第 {i + 1} 段文字格式错误", code="bad_block")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"第 {i + 1} 段超过 {MAX_TEXT} 字", code="bad_block")
    return value.replace("\r\n", "\n").replace("\x00", "")


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for b in blocks:
        if b["kind"] == "table":
            out += ["\t".join(r) for r in b["rows"]]
        else:
            out.append(b["text"])
    return out


def flatten(title: str, blocks: list[dict[str, Any]]) -> str:
    """Title and body as plain text, one block per line (table rows tab-separated): what 留痕 diffs."""
    return "\n".join([title, *_texts(blocks)])


def canonical(title: str, blocks: list[dict[str, Any]]) -> bytes:
    """Canonical JSON of title and blocks: the exact bytes a leader signs off."""
    return json.dumps(
        {"title": title, "body": blocks}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def body_hash(title: str, blocks: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical(title, blocks)).hexdigest()


def from_objects(items: Any) -> list[dict[str, Any]]:
    """Blocks from an importer's output: dicts, or objects/dataclasses named Heading, Paragraph,
    ListItem, Table with ``text``/``level``/``rows`` attributes."""
    out = []
    for item in items or []:
        if isinstance(item, dict):
            out.append(item)
            continue
        data = (
            dataclasses.asdict(item)
            if dataclasses.is_dataclass(item) and not isinstance(item, type)
            else dict(vars(item))
        )
        kind = data.get("kind") or _KIND_BY_CLASS.get(type(item).__name__, "paragraph")
        block: dict[str, Any] = {"kind": kind}
        if kind == "table":
            block["rows"] = [[str(c) for c in r] for r in data.get("rows", [])]
        else:
            block["text"] = str(data.get("marker") or "") + str(data.get("text", ""))
            if kind == "heading":
                block["level"] = int(data.get("level", 1))
        out.append(block)
    return normalize_blocks(out)


_KIND_BY_CLASS = {"Heading": "heading", "Paragraph": "paragraph", "ListItem": "list_item", "Table": "table"}
