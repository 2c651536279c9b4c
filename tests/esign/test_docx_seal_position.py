"""Where the seal lands on a sealed Word file, measured on the page LibreOffice renders (GB/T 9704
§7.3.5.1): centred on the 署名/成文日期, pressing them from above so they sit below its centre, its
top within one line of the text above, and clear of the 附注 on the line after the date."""

from __future__ import annotations

import dataclasses

import pypdfium2 as pdfium
from pypdfium2 import raw as pdfium_c

from tests.esign.svc import enrol, make_seal, seal_doc
from tests.factories import Org
from tests.typeset.official import official_pool  # noqa: F401  (fixture)
from typeset import pdf_measure
from typeset.convert import ConverterPool
from typeset.render import render_docx
from typeset.samples import demo_notice, demo_request

MM = pdf_measure.MM


def _seal_box(pdf: bytes) -> tuple[int, tuple[float, float, float, float]]:
    """Page and bounds (points, y up) of the one picture in the file: the seal."""
    document = pdfium.PdfDocument(pdf)
    for index in range(len(document)):
        for obj in document[index].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            return index, obj.get_bounds()
    raise AssertionError("no seal picture on any page")


def test_the_seal_on_a_sealed_word_file_sits_where_the_standard_puts_it(org: Org, official_pool: ConverterPool) -> None:  # noqa: F811
    enrol(org, "yorick")
    seal_id = make_seal(org, users=("yorick",))
    for doc in (demo_notice(), dataclasses.replace(demo_request(), note="联系人：张三，电话：12345678")):
        pdf = official_pool.convert(seal_doc(org, "yorick", seal_id, render_docx(doc)))
        page, (x0, y0, x1, y1) = _seal_box(pdf)
        date = pdf_measure.find_line(pdf, f"{doc.date.year}年{doc.date.month}月{doc.date.day}日")
        assert date is not None and date.page == page
        lines = pdf_measure.page_lines(pdfium.PdfDocument(pdf), page)
        signature = lines[lines.index(date) - 1]
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
        # Centred on the 署名 and the date (within 3 mm: the page's own fonts decide the last millimetres).
        assert abs(cx - (signature.centre_x + date.centre_x) / 2) < 3 * MM
        # 署名 and date below the centre, the date still under the seal.
        assert signature.y1 < cy + 2 * MM and date.y0 > y0 - 1 * MM
        # Top edge within one line of the text above the 署名.
        above = [line for line in lines if line.y0 > signature.y1 + 1 and line.y0 < y1 + 3 * pdf_measure.LINE_MM * MM]
        assert above and min(line.y0 for line in above) - y1 < pdf_measure.LINE_MM * MM
        # Nothing but the 署名 and the date under the seal: the 附注 below stays readable.
        covered = {line.text for line in pdf_measure.covered_lines(lines, cx, cy, r)}
        assert covered <= {signature.text, date.text}, covered
