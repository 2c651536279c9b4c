"""``office docx check FILE.docx``: measure any Word file against GB/T 9704-2012; ``office check
FILE.pdf``: the page rules measured on a rendered or sealed PDF (:mod:`typeset.page_rules`).

Exit 0 when it conforms, 1 when it deviates (each deviation printed with its location), 2 when
the file cannot be read as a Word document (a PDF).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

MAX_FILE = 50 * 1024 * 1024
ELEMENT_NAMES = {
    "mark": "发文机关标志",
    "number": "发文字号",
    "separator": "分隔线",
    "title": "标题",
    "recipients": "主送",
    "attachments": "附件说明",
    "signature": "署名",
    "date": "成文日期",
    "note": "附注",
    "colophon": "版记",
}


def cmd_check(args: argparse.Namespace) -> int:
    from office.cli import CliError
    from office.errors import OfficeError
    from typeset.conformance import check_docx

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"文件不存在：{path}")
    if path.stat().st_size > MAX_FILE:
        raise CliError(f"文件过大（上限 {MAX_FILE // (1024 * 1024)} MB）")
    try:
        report = check_docx(path.read_bytes())
    except OfficeError as exc:
        raise CliError(exc.message) from None
    if args.json:
        print(report.to_json())
        return 0 if report.ok else 1
    found = "、".join(ELEMENT_NAMES.get(k, k) for k in report.elements)
    fmt = {"minutes": "纪要", "letter": "信函"}.get(report.fmt, "文件")
    print(f"{path.name}：按{fmt}格式检查；识别到 {found or '无'}")
    if report.ok:
        print("符合 GB/T 9704-2012")
        return 0
    for d in report.deviations:
        where = (
            f"第 {d.paragraph + 1} 段"
            if d.paragraph is not None
            else (f"第 {d.section + 1} 节" if d.section is not None else d.part)
        )
        print(f"  [{d.code}] {where}：{d.message}", file=sys.stdout)
    print(f"共 {len(report.deviations)} 处不符合 GB/T 9704-2012")
    return 1


FORMAT_NAMES = {"standard": "文件", "letter": "信函", "minutes": "纪要", "order": "命令"}


def cmd_check_pdf(args: argparse.Namespace) -> int:
    """``office check FILE.pdf``: the page rules measured on a rendered or sealed official PDF."""
    from office.cli import CliError
    from office.errors import OfficeError
    from typeset.page_rules import check_pdf

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"文件不存在：{path}")
    if path.stat().st_size > MAX_FILE:
        raise CliError(f"文件过大（上限 {MAX_FILE // (1024 * 1024)} MB）")
    data = path.read_bytes()
    if not data.startswith(b"%PDF"):
        raise CliError("不是有效的 PDF 文件（Word 文件请用 office docx check）")
    try:
        report = check_pdf(data)
    except OfficeError as exc:
        raise CliError(exc.message) from None
    if args.json:
        print(report.to_json())
        return 0 if report.ok else 1
    print(f"{path.name}：按{FORMAT_NAMES.get(report.fmt, '文件')}格式检查版面，共 {report.pages} 页")
    if report.ok:
        print("页面符合 GB/T 9704-2012")
        return 0
    for v in report.violations:
        where = f"第 {v.page} 页" if v.page is not None else "全文"
        print(f"  [{v.code}] {where}：{v.message}")
    print(f"共 {len(report.violations)} 处不符合 GB/T 9704-2012")
    return 1


def register(sub: Any, add: Any) -> None:
    group = sub.add_parser("docx", help="公文 Word 文件").add_subparsers(dest="docx_command", metavar="子命令")
    p = add("check", cmd_check, "按 GB/T 9704-2012 检查 Word 文件的版式", group)
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="以 JSON 输出检查结果")
    p = add("check", cmd_check_pdf, "按 GB/T 9704-2012 检查版式文件（PDF）的页面：空白页、页码、版记、署名和印章位置")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="以 JSON 输出检查结果")
