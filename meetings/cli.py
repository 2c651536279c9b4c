"""``office meetings holidays load|show``: an administrator loads a year's holiday schedule."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_holidays_load(args: argparse.Namespace) -> int:
    from office import workcal
    from office.actor import SYSTEM
    from office.cli import CliError, _db

    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise CliError(f"文件不存在：{path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CliError(f"不是有效的 JSON：{exc}") from None
        days = data["days"] if isinstance(data, dict) else data
        year = args.year or (data.get("year") if isinstance(data, dict) else None)
        if not year:
            raise CliError("请用 --year 指明年份")
    else:
        if not args.year:
            raise CliError("请用 --year 指明年份，或用 --file 提供数据")
        year, days = args.year, workcal.shipped_year(args.year)
    db = _db(args)
    with db.write() as session:
        rows = workcal.do_load_year(session, SYSTEM, year=int(year), days=list(days))
    holidays = sum(1 for r in rows if r.kind.value == "holiday")
    print(f"已载入 {year} 年工作日历：放假 {holidays} 天，调休上班 {len(rows) - holidays} 天")
    return 0


def cmd_holidays_show(args: argparse.Namespace) -> int:
    from office import workcal
    from office.cli import _db

    db = _db(args)
    with db.read() as session:
        rows = workcal.year_days(session, args.year)
    if not rows:
        print(f"{args.year} 年尚未载入节假日安排")
        return 1
    for r in rows:
        print(f"{r.day.isoformat()}  {'放假' if r.kind.value == 'holiday' else '上班'}  {r.name}")
    return 0


def register(subparsers: Any, add: Any) -> None:
    meetings = subparsers.add_parser("meetings", help="会议").add_subparsers(dest="meetings_command", metavar="子命令")
    holidays = meetings.add_parser("holidays", help="节假日与调休").add_subparsers(
        dest="holidays_command", metavar="子命令"
    )
    p = add(
        "load", cmd_holidays_load, "载入某年的节假日与调休安排（JSON：{year, days:[{date, kind, name}]}）", holidays
    )
    p.add_argument("--year", type=int)
    p.add_argument("--file", help="JSON 文件；省略时载入内置数据")
    p = add("show", cmd_holidays_show, "列出某年的节假日与调休安排", holidays)
    p.add_argument("--year", type=int, required=True)
