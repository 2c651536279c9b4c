"""The end of the 主体: the 附件说明, the 署名 and 成文日期 (with a seal, without one, a 令's 签发人 and
签名章), the 附注 and a 纪要's attendance (GB/T 9704 §7.3.4-7.3.6, §10.2, §10.3).

Part of :mod:`typeset.render` (functions on its ``Writer``), like :mod:`typeset.colophon`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docx.text.paragraph import Paragraph as DocxParagraph

from typeset import _ooxml as x
from typeset import gbt9704 as g
from typeset import joint
from typeset.gbt9704 import text_width
from typeset.layout import Attendance, format_cn_date

if TYPE_CHECKING:
    from typeset.render import Writer

BOOKMARK_SIGNATURE = "tb_signature"
BOOKMARK_DATE = "tb_date"


def attachments(w: Writer) -> None:
    names = w.doc.attachments
    if not names:
        return
    label = "附件："
    hang = text_width(label)
    # The items stay together (never split from the first) and with the 署名 block after them.
    w.chain = (w.page, w.y, (len(names) + 1) * w.pitch, w.pitch)
    for i, name in enumerate(names):
        text = name if len(names) == 1 else f"{i + 1}.{name}"
        if i == 0:
            p = w.para(
                [(label + text, g.FONT_FANGSONG, g.SIZE_3, None)],
                left=2 * g.CHAR + hang,
                first_line=-hang,
                before=w.pitch,
                line=w.pitch,
            )
        else:
            p = w.para([(text, g.FONT_FANGSONG, g.SIZE_3, None)], left=2 * g.CHAR + hang, line=w.pitch)
        p.paragraph_format.keep_together = True
        if i < len(names) - 1:
            p.paragraph_format.keep_with_next = True
        w.last_text = w.end = p


def keep_group(w: Writer, group: int) -> None:
    """The 署名 block (``group`` twips) keeps with the 附件说明 or the last text paragraph before it,
    so the seal never stands on a page without text; when they do not fit together, they go to the
    next page together. Mirror that in the estimate."""
    if w.last_text is None:
        return
    w.last_text.paragraph_format.keep_with_next = True
    if w.chain is None or w.y + group <= g.TYPE_AREA_HEIGHT:
        return
    page, y, height, before = w.chain
    if y + height + group > g.TYPE_AREA_HEIGHT:
        w.page, w.y = page + 1, height - before
    else:
        w.page, w.y = page, y + height


def signature_and_date(w: Writer) -> None:
    """署名 + 成文日期: with a seal the date is 右空四字 and the name centred over it, two blank
    lines above so the seal's top edge stays within one line of the text; without a seal the
    name is 右空二字 and the date starts two characters right of the name (GB/T 9704 §7.3.5)."""
    doc = w.doc
    if doc.date is None:
        return
    if doc.joint_issuers:  # 联合行文: every issuer's name (and seal), typeset.joint
        joint.signature(w)
        return
    date = format_cn_date(doc.date)
    name = doc.signature_name or doc.issuer_name
    w_date, w_name = text_width(date), text_width(name)
    date_fmt: dict[str, Any]
    if doc.seal_space:
        date_fmt = name_fmt = centred_on_date(w_date, w_name)
        before = 2 * g.LINE_PITCH
    else:
        date_right = max(w_name - w_date, 2 * g.CHAR)
        date_fmt = {"align": "right", "right": date_right}
        name_fmt = {"align": "right", "right": date_right + w_date + 2 * g.CHAR - w_name}
        before = g.LINE_PITCH
    # The 署名 block keeps the full line pitch, also where the lines above are set closer: the
    # seal's size is fixed, and it must clear the 附注 below and reach the text above.
    w.pitch = g.LINE_PITCH
    keep_group(w, before + (3 if doc.note else 2) * g.LINE_PITCH)
    p = w.para([(name, g.FONT_FANGSONG, g.SIZE_3, None)], before=before, **name_fmt)
    p.paragraph_format.keep_with_next = True
    w.bookmark(p, BOOKMARK_SIGNATURE)
    p = w.para([(date, g.FONT_FANGSONG, g.SIZE_3, None)], **date_fmt)
    x.no_autospace(p)
    p.paragraph_format.keep_with_next = bool(doc.note)
    w.bookmark(p, BOOKMARK_DATE)
    w.end = p


def centred_on_date(w_date: int, w_name: int) -> dict[str, Any]:
    """With a seal: 成文日期右空四字, 署名以成文日期为准居中. Both are centred in one box around the
    date's centre, so the name sits on the date's real centre whatever the digits' width in the
    font at hand (and the Word seal, centred on that box, too). A name too long to be centred there
    moves the box left until it fits, a character clear of the edge."""
    half = max(4 * g.CHAR + w_date // 2, (w_name + g.CHAR) // 2)
    return {"align": "center", "left": g.TYPE_AREA_WIDTH - 2 * half, "right": 0}


def order_signature(w: Writer) -> None:
    """签发人职务 + name (where the 签名章 goes) 右空四字, two lines below the text; the date one
    line below, 右空四字 too."""
    doc = w.doc
    name = doc.signature_name or ""
    text = f"{doc.signer_title}\u3000\u3000{name}" if doc.signer_title else name
    w.pitch = g.LINE_PITCH  # as for the 署名 block with a seal
    keep_group(w, (4 if doc.date else 2) * w.pitch + (w.pitch if doc.note else 0))
    p = w.para(
        [(text, g.FONT_FANGSONG, g.SIZE_3, None)],
        align="right",
        right=4 * g.CHAR,
        before=2 * w.pitch,
        line=w.pitch,
    )
    p.paragraph_format.keep_with_next = True
    w.bookmark(p, BOOKMARK_SIGNATURE)
    w.end = p
    if doc.date is None:
        return
    p = w.para(
        [(format_cn_date(doc.date), g.FONT_FANGSONG, g.SIZE_3, None)],
        align="right",
        right=4 * g.CHAR,
        before=w.pitch,
        line=w.pitch,
    )
    p.paragraph_format.keep_with_next = bool(doc.note)
    w.bookmark(p, BOOKMARK_DATE)
    w.end = p


def note(w: Writer) -> None:
    note = w.doc.note
    if note:
        text = note if note.startswith(("（", "(")) else f"（{note}）"
        w.body_para(text)


def attendance(w: Writer, att: Attendance) -> None:
    """纪要: 出席/请假/列席 labels in 3号黑体, names in 仿宋, wrapped lines aligned after the colon."""
    made: list[DocxParagraph] = []
    for label, names in (("出席", att.present), ("请假", att.on_leave), ("列席", att.sitting_in)):
        if not names:
            continue
        head = label + "："
        hang = text_width(head)
        made.append(
            w.para(
                [(head, g.FONT_HEITI, g.SIZE_3, None), ("，".join(names), g.FONT_FANGSONG, g.SIZE_3, None)],
                left=2 * g.CHAR + hang,
                first_line=-hang,
                before=0 if made else w.pitch,
                line=w.pitch,
            )
        )
    for p in made[:-1]:  # the attendance block stays together on one page
        p.paragraph_format.keep_with_next = True
    if made:
        w.last_text = w.end = made[-1]
