"""Take body text over from an uploaded .docx draft: headings, paragraphs, tables.

The bytes are untrusted: the archive is bounded by office.safezip before python-docx parses it
(python-docx's lxml parser has entity resolution off), OLE-encrypted and legacy .doc files are
rejected, and a DOCTYPE in document.xml is refused outright.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import docx
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph

from office.errors import UnsupportedMedia, ValidationError
from office.safezip import open_zip, read_member
from typeset.layout import Block, Heading, Paragraph, Table, detect_heading_level

WORD_MAIN = "word/document.xml"
_HEADING_STYLES = {f"heading {n}": n for n in range(1, 5)} | {f"标题 {n}": n for n in range(1, 5)}


def _open(data: bytes) -> docx.document.Document:
    zf = open_zip(data)
    try:
        names = set(zf.namelist())
        if "[Content_Types].xml" not in names or WORD_MAIN not in names:
            raise UnsupportedMedia("不是有效的 Word（.docx）文件", code="not_docx")
        head = read_member(zf, WORD_MAIN)[:4096]
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise UnsupportedMedia("文件包含不允许的 XML 声明", code="xml_doctype")
    finally:
        zf.close()
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # KeyError, ValueError, lxml errors, PackageNotFoundError
        raise UnsupportedMedia("文件已损坏，无法读取", code="corrupt_file") from exc


def _heading_level(p: DocxParagraph) -> int | None:
    name = (p.style.name if p.style is not None else "").lower()
    if name in _HEADING_STYLES:
        return _HEADING_STYLES[name]
    ppr = p._p.pPr
    outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if outline is not None:
        level = int(outline.get(qn("w:val"), "9")) + 1
        if 1 <= level <= 4:
            return level
    return detect_heading_level(p.text)


def _iter_body(word: docx.document.Document) -> list[DocxParagraph | DocxTable]:
    out: list[DocxParagraph | DocxTable] = []
    for child in word.element.body.iterchildren():
        if child.tag == qn("w:p"):
            out.append(DocxParagraph(child, word))
        elif child.tag == qn("w:tbl"):
            out.append(DocxTable(child, word))
    return out


@dataclass
class ImportedDraft:
    """What a Word draft holds besides its body: the title and the 主送 line, taken into their own
    fields so the issued file does not carry the title twice or 主送 as a body paragraph."""

    title: str = ""
    main_recipients: list[str] = field(default_factory=list)
    body: list[Block] = field(default_factory=list)


_TITLE_STYLES = {"title", "标题"}
_RECIPIENTS = re.compile(r"^[^。；;！？!?]{2,200}[：:]$")
LOOK_FOR_TITLE = 4  # the title is among the first few non-empty paragraphs (after a 版头, if any)


def _is_title(p: DocxParagraph) -> bool:
    """Word's Title style, or a centred paragraph whose text is all bold (how drafts set titles)."""
    name = (p.style.name if p.style is not None else "").lower()
    if name in _TITLE_STYLES:
        return True
    centred = p.alignment is not None and int(p.alignment) == 1  # WD_ALIGN_PARAGRAPH.CENTER
    if not centred and p.style is not None and p.style.paragraph_format.alignment is not None:
        centred = int(p.style.paragraph_format.alignment) == 1
    runs = [r for r in p.runs if r.text.strip()]
    return (
        centred
        and bool(runs)
        and all(r.bold or (r.bold is None and p.style is not None and p.style.font.bold) for r in runs)
    )


def import_draft(data: bytes) -> ImportedDraft:
    """Title, 主送 and body of an uploaded draft. The title is Word's Title style or a centred bold
    paragraph among the first few; a 主送 line (ending in a colon) right after it becomes the
    recipients, split at commas (a 顿号 stays inside its group, as typed)."""
    word = _open(data)
    items = [i for i in _iter_body(word) if isinstance(i, DocxTable) or i.text.strip(" \u3000\t")]
    draft = ImportedDraft()
    head = [i for i in items[:LOOK_FOR_TITLE] if isinstance(i, DocxParagraph)]
    title_at = next((n for n, p in enumerate(head) if _is_title(p)), None)
    if title_at is not None:
        lines = [t.strip(" \u3000\t") for t in head[title_at].text.split("\n")]
        draft.title = "".join(lines)[:200]
        rest = items[items.index(head[title_at]) + 1 :]
        if (
            rest
            and isinstance(rest[0], DocxParagraph)
            and _RECIPIENTS.match(rest[0].text.strip(" \u3000\t"))
            and not _heading_level(rest[0])
        ):
            line = rest[0].text.strip(" \u3000\t")[:-1]
            draft.main_recipients = [g.strip() for g in re.split(r"[，,]", line) if g.strip()]
            rest = rest[1:]
        items = rest
    draft.body = _blocks(items)
    return draft


def import_body(data: bytes) -> list[Block]:
    """Blocks of an uploaded draft. Headings come from Heading 1-4 styles, outline levels, or a
    leading 一、 （一） 1. （1）; their text keeps the marker (``numbered=False``) so nothing is
    renumbered behind the author's back. Empty paragraphs are dropped.

    Raises UnsupportedMedia (not a .docx, encrypted, corrupt), PayloadTooLarge (bomb), or
    ValidationError when no text is found.
    """
    return _blocks(_iter_body(_open(data)))


def _blocks(items: list[DocxParagraph | DocxTable]) -> list[Block]:
    blocks: list[Block] = []
    for item in items:
        if isinstance(item, DocxTable):
            rows = [[cell.text.strip() for cell in row.cells] for row in item.rows]
            if any(any(cell for cell in row) for row in rows):
                blocks.append(Table(rows))
            continue
        text = item.text.replace("\u3000", " ").strip()
        if not text:
            continue
        text = item.text.strip(" \u3000\t")
        level = _heading_level(item)
        blocks.append(Heading(level, text, numbered=False) if level else Paragraph(text))
    if not blocks:
        raise ValidationError("文档中没有正文内容", code="empty_document")
    return blocks
