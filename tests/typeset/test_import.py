from __future__ import annotations

import io
import zipfile

import docx
import pytest

from office.errors import PayloadTooLarge, UnsupportedMedia, ValidationError
from typeset.docx_import import import_body, import_draft
from typeset.layout import Heading, Paragraph, Table
from typeset.render import render_docx
from typeset.samples import demo_notice


def _docx(build: object) -> bytes:
    word = docx.Document()
    build(word)  # type: ignore[operator]
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_heading_styles_patterns_and_tables_are_taken_over() -> None:
    def build(word: docx.document.Document) -> None:
        word.add_heading("总体要求", level=1)
        word.add_paragraph("第一段正文。")
        word.add_paragraph("")
        word.add_paragraph("二、工作任务")
        word.add_paragraph("（一）加强统筹。")
        word.add_paragraph("1.完善机制。")
        word.add_paragraph("（2）细化清单。")
        word.add_paragraph("\u3000\u30002026年要完成3.5亿元投资。")
        word.add_heading("附录", level=3)
        table = word.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "事项", "时限"
        table.cell(1, 0).text, table.cell(1, 1).text = "目录", "12月"

    blocks = import_body(_docx(build))
    assert blocks == [
        Heading(1, "总体要求", numbered=False),
        Paragraph("第一段正文。"),
        Heading(1, "二、工作任务", numbered=False),
        Heading(2, "（一）加强统筹。", numbered=False),
        Heading(3, "1.完善机制。", numbered=False),
        Heading(4, "（2）细化清单。", numbered=False),
        Paragraph("2026年要完成3.5亿元投资。"),
        Heading(3, "附录", numbered=False),
        Table([["事项", "时限"], ["目录", "12月"]]),
    ]


def test_rendered_document_round_trips_outline_levels() -> None:
    blocks = import_body(render_docx(demo_notice()))
    headings = [b for b in blocks if isinstance(b, Heading)]
    assert headings[0] == Heading(1, "一、总体要求", numbered=False)
    assert {h.level for h in headings} == {1, 2, 3, 4}


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, UnsupportedMedia, "encrypted_or_legacy"),
        (b"%PDF-1.7 not a docx", UnsupportedMedia, "not_docx"),
        (b"PK\x03\x04garbage", UnsupportedMedia, "corrupt_file"),
    ],
)
def test_rejects_encrypted_legacy_and_non_docx(data: bytes, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as info:
        import_body(data)
    assert info.value.code == code  # type: ignore[attr-defined]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return buf.getvalue()


def test_rejects_zip_without_word_parts_bombs_and_doctype() -> None:
    with pytest.raises(UnsupportedMedia) as info:
        import_body(_zip({"hello.txt": b"x"}))
    assert info.value.code == "not_docx"
    with pytest.raises(PayloadTooLarge):
        import_body(_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"\0" * (5 * 1024 * 1024)}))
    good = render_docx(demo_notice())
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["word/document.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + members["word/document.xml"].split(b"?>", 1)[1]
    )
    with pytest.raises(UnsupportedMedia) as info:
        import_body(_zip(members))
    assert info.value.code == "xml_doctype"


def test_empty_document_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        import_body(_docx(lambda word: word.add_paragraph("   ")))


def _word_draft(*, title_style: bool) -> bytes:
    word = docx.Document()
    if title_style:
        word.add_paragraph("关于做好2027年春节期间值班工作的通知", style="Title")
    else:
        p = word.add_paragraph()
        p.alignment = 1
        p.add_run("关于做好2027年春节期间").bold = True
        p.add_run("值班工作的通知").bold = True
    word.add_paragraph("各处室、各直属单位，省财政厅：")
    word.add_paragraph("一、值班安排")
    word.add_paragraph("各单位要安排专人值班。")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


@pytest.mark.parametrize("title_style", [True, False])
def test_the_word_title_and_recipients_go_to_their_fields_not_the_body(title_style: bool) -> None:
    draft = import_draft(_word_draft(title_style=title_style))
    assert draft.title == "关于做好2027年春节期间值班工作的通知"
    assert draft.main_recipients == ["各处室、各直属单位", "省财政厅"]
    assert [b.text for b in draft.body] == ["一、值班安排", "各单位要安排专人值班。"]


def test_a_draft_without_a_title_keeps_every_paragraph_in_the_body() -> None:
    word = docx.Document()
    word.add_paragraph("各单位要安排专人值班。")
    word.add_paragraph("请于12月31日前报送。")
    out = io.BytesIO()
    word.save(out)
    draft = import_draft(out.getvalue())
    assert draft.title == "" and draft.main_recipients == [] and len(draft.body) == 2
