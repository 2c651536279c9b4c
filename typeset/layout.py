"""Values describing one 公文 to render: pure data, no I/O.

``OfficialDocument`` carries the 18 elements of 《党政机关公文处理工作条例》第九条 that live in the Word
file; ``render.render_docx`` lays them out per GB/T 9704-2012. Body text is a list of blocks
(``Heading``, ``Paragraph``, ``ListItem``, ``Table``), the same shape ``docx_import.import_body``
returns for an uploaded draft.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from office.errors import ValidationError


class DocType(enum.StrEnum):
    """The 15 公文种类 (条例 第八条): the one enum for them, in typeset and in docs_flow. Values are the
    Chinese names (shown, and sent as JSON); the member names are what ``doc_outgoing.doc_type``
    stores, so neither may change."""

    jueyi = "决议"
    jueding = "决定"
    mingling = "命令（令）"
    gongbao = "公报"
    gonggao = "公告"
    tonggao = "通告"
    yijian = "意见"
    tongzhi = "通知"
    tongbao = "通报"
    baogao = "报告"
    qingshi = "请示"
    pifu = "批复"
    yian = "议案"
    han = "函"
    jiyao = "纪要"

    @classmethod
    def parse(cls, value: str | DocType) -> DocType:
        """Accept the enum, its value, or the variants 令 / 命令 / 命令(令)."""
        if isinstance(value, DocType):
            return value
        text = value.strip()
        if text in {"令", "命令", "命令(令)"}:
            return cls.mingling
        try:
            return cls(text)
        except ValueError:
            raise ValidationError(f"不支持的公文种类：{value}", code="bad_doc_type") from None

    @property
    def upward(self) -> bool:
        """上行文: these show 签发人 in the 版头 (意见 can go any direction; the caller decides)."""
        return self in (DocType.baogao, DocType.qingshi)


URGENCY_LEVELS = ("特急", "加急")
# Only non-classified markings: 涉密 documents must not go through this system (条例 ch. 6, GB/T 33481).
CLASSIFICATIONS = ("内部", "内部★1年", "内部资料")


@dataclass(frozen=True)
class Heading:
    """A heading in the body. ``numbered`` adds 一、 （一） 1. （1） unless the text already has it."""

    level: int
    text: str
    numbered: bool = True
    kind: Literal["heading"] = "heading"

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3, 4):
            raise ValidationError("标题层级只能是 1-4", code="bad_heading_level")


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: Literal["paragraph"] = "paragraph"


@dataclass(frozen=True)
class ListItem:
    """An enumerated line inside the body; ``marker`` such as "1." or "（一）" is written before the text."""

    text: str
    marker: str = ""
    kind: Literal["list_item"] = "list_item"


@dataclass(frozen=True, init=False)
class Table:
    rows: tuple[tuple[str, ...], ...]
    header: bool = True
    kind: Literal["table"] = "table"

    def __init__(self, rows: Any, header: bool = True) -> None:
        object.__setattr__(self, "rows", tuple(tuple(str(c) for c in row) for row in rows))
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "kind", "table")


Block = Heading | Paragraph | ListItem | Table


@dataclass(frozen=True)
class Attendance:
    """纪要 attendance lines: 出席 / 请假 / 列席 (each entry "单位 姓名" or a name)."""

    present: tuple[str, ...] = ()
    on_leave: tuple[str, ...] = ()
    sitting_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Annex:
    """A bound attachment (随文装订的附件, GB/T 9704 §8): laid out on pages of its own after the 主体 and
    before the 版记, "附件N" flush left on line 1 (N its place in the 附件说明, printed only when that
    lists several), ``title`` centred on line 3, ``body`` formatted as the document's body."""

    number: int
    title: str
    body: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", tuple(self.body))
        if not self.title.strip():
            raise ValidationError("附件标题不能为空", code="empty_annex_title")


@dataclass
class OfficialDocument:
    """Everything the renderer needs. Strings are shown as given, apart from the formatting rules
    the standard fixes (date digits, 〔〕, colons, punctuation of 抄送)."""

    doc_type: DocType
    issuer_name: str
    title: str
    body: list[Block]
    number: str | None = None
    issuer_mark_text: str | None = None
    copy_number: str | None = None
    classification: str | None = None
    urgency: str | None = None
    signers: list[str] = field(default_factory=list)
    main_recipients: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    signature_name: str | None = None
    date: dt.date | None = None
    note: str | None = None
    cc: list[str] = field(default_factory=list)
    printer: str | None = None
    print_date: dt.date | None = None
    seal_space: bool = True
    attendance: Attendance | None = None
    # 联合行文: the other issuers' names in issuing order (``issuer_name`` is the lead's): the 版头 stacks
    # them all, the 署名 block names each (``typeset.joint``); the 发文字号 is the lead's.
    joint_issuers: list[str] = field(default_factory=list)
    # A draft seen before 编号 (核稿, 会签, 签发): the number line shows a blank 〔　　〕号 and every
    # page is headed 草稿, so a reviewer sees the page as it will print without mistaking it for one.
    draft: bool = False
    # 命令（令）: the 签发人's job title, printed left of the 签名章 (GB/T 9704 §10.2).
    signer_title: str | None = None
    # Bound attachments, in the 附件说明's order: each on pages of its own before the 版记.
    annexes: list[Annex] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.doc_type = DocType.parse(self.doc_type)
        if self.number is not None:
            if self.doc_type is DocType.jiyao and MINUTES_NUMBER_RE.fullmatch(self.number):
                pass  # 纪要 are numbered by 期 as often as by 发文字号
            elif self.doc_type is DocType.mingling and ORDER_NUMBER_RE.fullmatch(self.number):
                pass  # 令号 第N号
            else:
                validate_number(self.number)
        if self.urgency is not None and self.urgency not in URGENCY_LEVELS:
            raise ValidationError("紧急程度只能是“特急”或“加急”", code="bad_urgency")
        if self.classification is not None and self.classification not in CLASSIFICATIONS:
            raise ValidationError("本系统只处理非涉密公文，密级只能标注“内部”", code="classified_not_allowed")
        if self.copy_number is not None and not re.fullmatch(r"\d{1,6}", self.copy_number):
            raise ValidationError("份号应为不超过6位的阿拉伯数字", code="bad_copy_number")
        if not self.title.strip():
            raise ValidationError("标题不能为空", code="empty_title")

    @property
    def mark_text(self) -> str:
        """The 发文机关标志: explicit override, else 机关名称 + 文件 (or + 纪要 for 纪要)."""
        if self.issuer_mark_text:
            return self.issuer_mark_text
        if self.doc_type is DocType.jiyao:
            return self.issuer_name + "纪要"
        if self.doc_type is DocType.mingling:
            return self.issuer_name + "令"
        return self.issuer_name + "文件"

    def annex_label(self, annex: Annex) -> str:
        """The label "附件", with the attachment's number when the 附件说明 lists several (GB/T 9704 §8)."""
        return "附件" + (str(annex.number) if len(self.attachments) > 1 else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- formatting helpers -------------------------------------------------------------------------

NUMBER_RE = re.compile(r"^(?P<code>[^\s〔〕\[\]()（）【】［］]+)〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")
MINUTES_NUMBER_RE = re.compile(r"^（?第[1-9]\d*期）?$")
ORDER_NUMBER_RE = re.compile(r"^第[1-9]\d*号$")
_BAD_BRACKETS = "[]()（）【】［］"


def format_cn_date(value: dt.date) -> str:
    """成文日期 per GB/T 9704-2012: Arabic numerals, no padding -> 2026年11月29日."""
    return f"{value.year}年{value.month}月{value.day}日"


def validate_number(number: str) -> str:
    """Check a 发文字号 such as 粤府办〔2026〕12号 and return it.

    The year sits in 六角括号 〔〕 (U+3014/5), is written in full, and the serial has no leading
    zero and no 第. Raises ValidationError with a message saying what is wrong.
    """
    text = number.strip()
    if NUMBER_RE.fullmatch(text):
        return text
    if any(ch in text for ch in _BAD_BRACKETS):
        raise ValidationError("发文字号的年份应使用六角括号〔〕，不能用 [] () 【】", code="bad_number_brackets")
    if "第" in text:
        raise ValidationError("发文字号的序号前不加“第”", code="bad_number_format")
    if re.search(r"〕0\d*号$", text):
        raise ValidationError("发文字号的序号不编虚位（不加前导 0）", code="bad_number_format")
    raise ValidationError("发文字号格式应为 机关代字〔年份〕序号号，如 国办发〔2026〕12号", code="bad_number_format")


_CN_DIGITS = "零一二三四五六七八九十"


def _cn_number(n: int) -> str:
    if n <= 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + _CN_DIGITS[n - 10]
    tens, ones = divmod(n, 10)
    return _CN_DIGITS[tens] + "十" + (_CN_DIGITS[ones] if ones else "")


def heading_marker(level: int, n: int) -> str:
    """Numbering of 结构层次序数: 一、 （一） 1. （1） for levels 1-4."""
    if n < 1 or n > 99:
        raise ValidationError("标题序号超出范围", code="bad_heading_number")
    if level == 1:
        return _cn_number(n) + "、"
    if level == 2:
        return "（" + _cn_number(n) + "）"
    if level == 3:
        return f"{n}."
    if level == 4:
        return f"（{n}）"
    raise ValidationError("标题层级只能是 1-4", code="bad_heading_level")


HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"^[一二三四五六七八九十]{1,3}、")),
    (2, re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")),
    (3, re.compile(r"^\d{1,2}[.．](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
)


def detect_heading_level(text: str) -> int | None:
    """Level 1-4 if ``text`` starts with a 结构层次序数, else None."""
    stripped = text.lstrip(" \u3000\t")
    for level, pattern in HEADING_PATTERNS:
        if pattern.match(stripped):
            return level
    return None


def numbered_texts(blocks: list[Block]) -> list[str | None]:
    """For each block, the heading text with its marker (None for non-headings).

    Counters restart below a higher level, like Word's multilevel lists.
    """
    counters = [0, 0, 0, 0]
    out: list[str | None] = []
    for block in blocks:
        if not isinstance(block, Heading):
            out.append(None)
            continue
        counters[block.level - 1] += 1
        for lower in range(block.level, 4):
            counters[lower] = 0
        has_marker = detect_heading_level(block.text) is not None
        if block.numbered and not has_marker:
            out.append(heading_marker(block.level, counters[block.level - 1]) + block.text)
        else:
            out.append(block.text)
    return out
