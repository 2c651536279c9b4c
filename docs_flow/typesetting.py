"""A document as ``typeset`` lays it out: its GB/T 9704 elements as plain values, the layout model, the
版式 it takes, and the Word file laid out afresh. Pure (no database): ``output`` (Word download, seals)
and ``official_copy`` (the sealed official copy made at 用印) both start from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docs_flow.models import DocAttachment, OutgoingDocument
from typeset import layout
from typeset.layout import DocType
from typeset.render import render_docx


def document_fields(document: OutgoingDocument) -> dict[str, Any]:
    """The GB/T 9704 elements of a document as plain values (what the renderer lays out)."""
    attachments = [a.get("name", "") for a in document.attachments]
    return {
        "doc_type": document.doc_type.value,
        "title": document.title,
        "number": document.number,
        "copy_no": document.copy_no,
        "secrecy": document.secrecy.value,
        "secrecy_period": document.secrecy_period,
        "urgency": document.urgency.value,
        "issuer": document.issuing_agency_name,
        "joint_issuers": [j["name"] for j in document.joint_issuers],  # 联合行文: the others, issuing order
        "signer": document.signer_name,
        "main_recipients": list(document.main_recipients),
        "cc_recipients": list(document.cc_recipients),
        "body": [dict(b) for b in document.body],
        "attachments": attachments,
        "attachment_note": attachments,
        "note": document.note,
        "written_date": document.written_date,
        "issuing_agency": document.issuing_agency_name,
        "issued_date": document.issued_date,
        "sealed": bool(document.seal_record),
    }


def layout_document(document: OutgoingDocument, annexes: Sequence[DocAttachment] = ()) -> layout.OfficialDocument:
    """A ``typeset.layout.OfficialDocument`` for the renderer; ``annexes``: the bound attachments
    (``service.bound_attachments``), each numbered by its place in the 附件说明."""
    f = document_fields(document)
    values = {
        "doc_type": document.doc_type,
        "issuer_name": f["issuer"],
        "title": f["title"],
        "body": [_layout_block(b) for b in document.body],
        "number": f["number"] or None,
        "copy_number": f["copy_no"] or None,
        "classification": f["secrecy"] or None,
        "urgency": f["urgency"] or None,
        "signers": [s for s in f["signer"].split("、") if s] if document.doc_type.upward else [],
        "main_recipients": f["main_recipients"],
        "attachments": f["attachments"],
        "signature_name": f["issuer"],
        "joint_issuers": f["joint_issuers"],
        "date": f["written_date"],
        "note": f["note"] or None,
        "cc": f["cc_recipients"],
        "printer": f["issuing_agency"] or None,
        "print_date": f["issued_date"],
        "draft": not f["number"],
    }
    if document.doc_type == DocType.jiyao:
        att = document.attendance or {}
        values["attendance"] = layout.Attendance(
            *(tuple(att.get(k, ())) for k in ("present", "on_leave", "sitting_in"))
        )
    if document.doc_type == DocType.mingling:  # signed by the 签发人 in person: title + 签名章
        last = (document.sign_record.get("signers") or [{}])[-1]
        values["signature_name"] = last.get("signer") or f["signer"] or None
        values["signer_title"] = last.get("post_title") or None
    places = {a.get("file_id"): i + 1 for i, a in enumerate(document.attachments)}
    values["annexes"] = [
        layout.Annex(places.get(a.id, 0), a.title, tuple(_layout_block(b) for b in a.blocks))
        for a in annexes
        if a.id in places
    ]
    return layout.OfficialDocument(**values)


def _layout_block(block: dict[str, Any]) -> layout.Block:
    kind = block["kind"]
    if kind == "heading":  # authors type their own 一、（一） markers: nothing is renumbered
        return layout.Heading(level=block["level"], text=block["text"], numbered=False)
    if kind == "table":
        return layout.Table(rows=tuple(tuple(r) for r in block["rows"]))
    return (layout.ListItem if kind == "list_item" else layout.Paragraph)(text=block["text"])


def render_format(document: OutgoingDocument) -> str:
    """GB/T 9704 版式: 纪要格式 for 纪要, 信函格式 for 函, 命令格式 for 令, else 文件格式."""
    return {DocType.jiyao: "minutes", DocType.han: "letter", DocType.mingling: "order"}.get(
        document.doc_type, "standard"
    )


def render(document: OutgoingDocument, annexes: Sequence[DocAttachment] = ()) -> bytes:
    """The document as a GB/T 9704 .docx, laid out afresh (never for a sealed one: ``official_file``)."""
    return render_docx(layout_document(document, annexes), fmt=render_format(document))  # type: ignore[arg-type]
