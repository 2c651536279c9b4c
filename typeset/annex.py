"""Bound attachments (随文装订的附件, GB/T 9704 §8): each starts a new page after the 主体 (the 署名, the
附注 or a 纪要's attendance) and before the 版记. "附件" and its number (only when the 附件说明 lists
several) in 3号黑体 flush left on line 1, the attachment's title centred on line 3 in 2号小标宋 with
balanced breaks like the document's title, then its content formatted as the body. The pages go on
with the document's page numbers.

Part of :mod:`typeset.render` (functions on its ``Writer``), like :mod:`typeset.closing`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from typeset import _ooxml as x
from typeset import gbt9704 as g
from typeset.title_lines import title_lines

if TYPE_CHECKING:
    from typeset.render import Writer


def write(w: Writer) -> None:
    if not w.doc.annexes:
        return
    from typeset.render import _title_fits  # the main title's width rule

    plan = w.plan
    # The plan's closer lines and split paragraph were measured on the 主体's own blocks.
    w.plan = replace(plan, tight_from=None, split_last=None)
    for annex in w.doc.annexes:
        w.pitch = g.LINE_PITCH
        w.page, w.y = w.page + 1, 0
        label = w.para([(w.doc.annex_label(annex), g.FONT_HEITI, g.SIZE_3, None)], align="left", lines=1)
        x.page_break_before(label)
        label.paragraph_format.keep_with_next = True
        text = "\n".join(title_lines(annex.title, _title_fits))
        title = w.para([(text, g.FONT_XIAOBIAOSONG, g.SIZE_2, None)], align="center", before=g.LINE_PITCH, spacing=None)
        title.paragraph_format.keep_with_next = True
        # One blank line under the title, as the 主送 line stands under the document's title.
        w.para([], lines=1).paragraph_format.keep_with_next = True
        w.body(list(annex.body))
    w.plan = plan
