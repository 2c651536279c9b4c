"""Small things a 文书 notices in the file: its properties, table cells, seal picture."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from docx.oxml.ns import qn
from PIL import Image

from esign import seal_image
from esign.seals import picture_label
from tests.typeset.conftest import load
from typeset.layout import Table
from typeset.render import render_docx
from typeset.samples import demo_notice


def test_file_properties_say_who_made_it_and_when() -> None:
    doc = demo_notice()
    props = load(render_docx(doc)).core_properties
    now = dt.datetime.now(dt.UTC)
    assert abs((props.created - now).total_seconds()) < 120 and props.modified == props.created
    assert props.author == doc.issuer_name and props.last_modified_by == doc.issuer_name
    assert props.title == doc.title.replace("\n", "")


def test_table_cells_are_left_aligned_not_spread_out() -> None:
    doc = dataclasses.replace(demo_notice(), body=[Table(rows=(("单位", "联系人"), ("综合处", "张伟")))])
    table = load(render_docx(doc)).tables[0]
    body_cell = table.cell(1, 0).paragraphs[0]
    assert body_cell._p.pPr.find(qn("w:jc")).get(qn("w:val")) == "left"


def test_an_official_seal_carries_no_word_under_the_star_a_special_seal_names_its_use() -> None:
    assert picture_label("公章") == "" and picture_label("合同专用章") == "合同专用章"

    def red_below_star(png: bytes) -> int:
        img = Image.open(io.BytesIO(png)).convert("RGB")
        w, h = img.size
        box = img.crop((int(w * 0.3), int(h * 0.74), int(w * 0.7), int(h * 0.84)))  # where the label sits
        data = box.tobytes()
        return sum(
            1 for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=False) if r > 150 and g < 100 and b < 100
        )

    official = seal_image.round_seal_png("某市人民政府办公室", picture_label("公章"))
    special = seal_image.round_seal_png("某市人民政府办公室", picture_label("合同专用章"))
    assert red_below_star(official) == 0 < red_below_star(special)
