"""A unit's return as a spreadsheet, filled offline and uploaded back (离线填报).

``workbook(form)`` writes the form ``returns.form`` gives (its sections and items, each with its
value, prefill and reason) as an xlsx: sheet 填报 has a row per item (编码, 名称, 口径/单位, 值,
预填来源, 修改原因), only the value and reason cells unlocked (sheet protection), with data
validation for number limits, dates and select lists; a table item gets its own sheet with a row per
table row. A very hidden sheet ``_map`` ties each row (or table sheet) to its item id, and lists the
select options the validations point at. Every text that came from a user goes through
``office.spreadsheet.safe_cell``, so no formula cell is ever made from it.

``read(data, form)`` reads an uploaded file back (bounded: size, zip entries and ratios through
``office.safezip``, rows per sheet) into raw values per item, and the cells that are already wrong
in shape (a formula the unit typed in Excel counts by the value Excel saved with it: the file is
read with ``data_only``, so nothing in it is ever evaluated here); ``check`` cleans every value
with the registry's rule (``tianbao.items.clean_value``) and the reason rule, and raises ONE 422
``xlsx_invalid`` naming every bad cell, so nothing is stored unless the whole file is clean.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, col, select

from office.actor import Actor
from office.errors import PayloadTooLarge, PermissionDenied, UnsupportedMedia, ValidationError
from office.safezip import ZipLimits, open_zip
from office.spreadsheet import FORMULA_LEAD, safe_cell
from tianbao.models import DataItem, UnitReturn, ValueOrigin

MAIN = "填报"
MAP = "_map"
HEADER_ROW = 3  # rows 1-2: title and how to fill; row 3: the column heads
HEADS = ["编码", "名称", "口径/单位", "值", "预填来源", "修改原因"]
VALUE_COL, REASON_COL = 4, 6  # D and F: the only cells a unit types in
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000  # rows read per sheet: a form has at most 500 items, a table item its max_rows
LIMITS = ZipLimits(max_compressed=MAX_BYTES, max_uncompressed=60 * 1024 * 1024, max_entries=200, max_ratio=200)
MULTI_SEP = "、"
_LOCKED = Protection(locked=True)
_OPEN = Protection(locked=False)
_HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
_OPEN_FILL = PatternFill("solid", fgColor="FFFBE6")


# Writing ----------------------------------------------------------------------------------------


def _items(form: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section in form["sections"]:
        yield from section["items"]


def _label(item: dict[str, Any]) -> str:
    parts = [item.get("definition") or "", item.get("unit_label") or ""]
    return " / ".join(p for p in parts if p)


def _prefill_note(item: dict[str, Any]) -> str:
    pre = item.get("prefill")
    if not pre:
        return ""
    at = str(pre.get("at") or "")[:10]
    return " · ".join(p for p in ("已预填", str(pre.get("label") or ""), at) if p)


def _to_cell(spec: dict[str, Any], value: Any) -> Any:
    """A stored value as the cell shows it: money in 元 (stored in 分), a date as a date, a
    multiselect joined with 、, text through ``safe_cell``."""
    if value is None or value == "":
        return None
    kind = spec.get("type")
    if kind == "money" and isinstance(value, int):
        return float(Decimal(value) / 100)
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return safe_cell(value)
    if kind == "multiselect" and isinstance(value, list):
        return safe_cell(MULTI_SEP.join(str(v) for v in value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return safe_cell(str(value))


class _Lists:
    """Select options, one column each on the hidden sheet, for list validations (a literal list is
    limited to 255 characters and breaks on commas)."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.column = 6  # columns A-D of _map hold the row map (E stays empty)

    def ref(self, options: list[str]) -> str:
        col = self.column
        self.column += 1
        for i, option in enumerate(options, start=1):
            self.sheet.cell(row=i, column=col, value=safe_cell(option))
        letter = get_column_letter(col)
        return f"{quote_sheetname(MAP)}!${letter}$1:${letter}${max(len(options), 1)}"


def _validation(spec: dict[str, Any], lists: _Lists) -> DataValidation | None:
    kind = spec.get("type")
    if kind in ("number", "money"):
        scale = 100 if kind == "money" else 1
        low, high = spec.get("min"), spec.get("max")
        low = -1e15 if low is None else low / scale
        high = 1e15 if high is None else high / scale
        dv = DataValidation(type="decimal", operator="between", formula1=str(low), formula2=str(high))
        dv.error = f"请填写 {low:g} 到 {high:g} 之间的数字" + ("（元）" if kind == "money" else "")
    elif kind == "date":
        dv = DataValidation(type="date", operator="between", formula1="1", formula2="73415")  # 1900-01-01..2100-12-31
        dv.error = "请填写日期（年-月-日）"
    elif kind == "select" and spec.get("options"):
        dv = DataValidation(type="list", formula1=lists.ref(list(spec["options"])), allow_blank=True)
        dv.error = "只能从下拉列表中选择"
    elif kind == "text" and spec.get("max_length"):
        dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(spec["max_length"]))
        dv.error = f"不能超过 {spec['max_length']} 个字"
    else:
        return None
    dv.allow_blank = True
    dv.showErrorMessage = True
    dv.errorTitle = "填写有误"
    return dv


def _sheet_title(item: dict[str, Any], used: set[str]) -> str:
    bad = set("[]:*?/\\")
    base = "".join("_" if ch in bad else ch for ch in f"{item['code']} {item['name']}")[:28].strip("'") or "表格"
    title, n = base, 2
    while title in used or title in (MAIN, MAP):
        title, n = f"{base[:26]}~{n}", n + 1
    used.add(title)
    return title


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # widths may be changed; nothing else
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def workbook(form: dict[str, Any]) -> bytes:
    task, ret = form["task"], form["return"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its first sheet
    ws.title = MAIN
    mp = wb.create_sheet(MAP)
    mp.sheet_state = "veryHidden"
    mp.append(["return_id", ret.get("id"), json.dumps({"version": ret.get("version")})])
    lists = _Lists(mp)
    ws.append([safe_cell(f"{task.get('title', '')} · {ret.get('unit_name', '')}")])
    ws.append(["只填写黄色的“值”和“修改原因”两列；修改已预填的值须写明原因。金额以元为单位，多选项之间用“、”分隔。"])
    ws.append(HEADS)
    ws["A1"].font = Font(bold=True, size=13)
    for c in ws[HEADER_ROW]:
        c.font, c.fill = Font(bold=True), _HEAD_FILL
    used: set[str] = set()
    row = HEADER_ROW
    for item in _items(form):
        spec = item.get("spec") or {}
        if spec.get("type") == "table":
            title = _sheet_title(item, used)
            _table_sheet(wb.create_sheet(title), item, lists)
            row += 1
            mp.append(["table", item["id"], title, row])
            note, reason = safe_cell(_prefill_note(item)), safe_cell(item.get("reason") or "")
            ws.append(
                [safe_cell(item["code"]), safe_cell(item["name"]), safe_cell(_label(item)), f"见工作表“{title}”"]
                + [note, reason]
            )
            for c in ws[row]:
                c.protection = _LOCKED
            ws.cell(row=row, column=REASON_COL).protection = _OPEN  # a changed prefilled table needs its reason
            ws.cell(row=row, column=REASON_COL).fill = _OPEN_FILL
            continue
        row += 1
        name = item["name"] + ("（必填）" if item.get("required") else "")
        ws.append(
            [
                safe_cell(item["code"]),
                safe_cell(name),
                safe_cell(_label(item)),
                _to_cell(spec, item.get("value")),
                safe_cell(_prefill_note(item)),
                safe_cell(item.get("reason") or ""),
            ]
        )
        mp.append(["row", item["id"], row])
        for c in range(1, len(HEADS) + 1):
            ws.cell(row=row, column=c).protection = _LOCKED
        for c in (VALUE_COL, REASON_COL):
            ws.cell(row=row, column=c).protection = _OPEN
            ws.cell(row=row, column=c).fill = _OPEN_FILL
        value_cell = ws.cell(row=row, column=VALUE_COL)
        if spec.get("type") == "date":
            value_cell.number_format = "yyyy-mm-dd"
        elif spec.get("type") in ("text", "textarea", "multiselect"):
            value_cell.number_format = "@"
        dv = _validation(spec, lists)
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(value_cell.coordinate)
    for letter, width in zip("ABCDEF", (12, 26, 24, 18, 30, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    _protect(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _table_rows(value: Any) -> list[Any]:
    """A table item's rows: the engine stores {"rows": [...], "totals": {...}}; a bare list is read too."""
    if isinstance(value, dict):
        value = value.get("rows")
    return value if isinstance(value, list) else []


def _table_sheet(ws: Worksheet, item: dict[str, Any], lists: _Lists) -> None:
    spec = item.get("spec") or {}
    columns = spec.get("columns") or []
    ws.append([safe_cell(f"{item['code']} {item['name']}")])
    ws.append(["每行填写一条；空行不计。"])
    ws.append([safe_cell(c.get("label") or c.get("key")) for c in columns])
    ws["A1"].font = Font(bold=True)
    for c in ws[HEADER_ROW]:
        c.font, c.fill = Font(bold=True), _HEAD_FILL
    rows = _table_rows(item.get("value"))
    room = max(int(spec.get("max_rows") or 50), len(rows))
    for i in range(room):
        r = HEADER_ROW + 1 + i
        data = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
        for j, column in enumerate(columns, start=1):
            cell = ws.cell(row=r, column=j, value=_to_cell(column, data.get(column.get("key"))))
            cell.protection = _OPEN
    for j, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = 18
        dv = _validation(column, lists)
        if dv is not None:
            ws.add_data_validation(dv)
            letter = get_column_letter(j)
            dv.add(f"{letter}{HEADER_ROW + 1}:{letter}{HEADER_ROW + room}")
    _protect(ws)


# Reading ----------------------------------------------------------------------------------------


@dataclass
class Upload:
    """What an uploaded file says: raw values and reasons per item id, and the cells already wrong."""

    values: dict[int, Any] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    where: dict[int, tuple[str, str]] = field(default_factory=dict)  # item id -> (sheet, value cell)
    table_rows: dict[int, list[int]] = field(default_factory=dict)  # item id -> sheet row of each table row
    reason_cells: dict[int, str] = field(default_factory=dict)  # a table item's reason cell on the main sheet
    errors: list[dict[str, Any]] = field(default_factory=list)

    def bad(self, sheet: str, cell: str, item_id: int | None, message: str) -> None:
        self.errors.append({"sheet": sheet, "cell": cell, "item_id": item_id, "message": message})


def _unquote(text: str) -> str:
    """The reverse of ``safe_cell``: a leading quote it put before a formula character goes."""
    if text.startswith("'") and unicodedata.normalize("NFKC", text[1:2])[:1] in FORMULA_LEAD:
        return text[1:]
    return text


def _from_cell(spec: dict[str, Any], raw: Any) -> Any:
    """A cell as the registry's cleaner takes it: None for blank, text trimmed, money 元 -> 分
    (as a string of digits, which the cleaner takes for large amounts), dates as ISO text."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = spec.get("type")
    if isinstance(raw, str):
        raw = _unquote(raw.strip())
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if kind == "money":
        try:
            fen = Decimal(str(raw)) * 100
        except InvalidOperation:
            return raw  # the cleaner says why
        return str(int(fen)) if fen == fen.to_integral_value() else str(fen)
    if kind == "multiselect" and isinstance(raw, str):
        return [p.strip() for p in raw.replace("，", MULTI_SEP).replace(",", MULTI_SEP).split(MULTI_SEP) if p.strip()]
    if kind in ("text", "textarea", "select") and not isinstance(raw, str):
        return str(raw)
    return raw


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    rows = []
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if i > MAX_ROWS:
            raise PayloadTooLarge(f"工作表“{ws.title}”超过 {MAX_ROWS} 行", code="too_many_rows")
        rows.append(row)
    return rows


def _cell(rows: list[tuple[Any, ...]], r: int, c: int) -> Any:
    row = rows[r - 1] if 0 < r <= len(rows) else ()
    return row[c - 1] if c - 1 < len(row) else None


def read(data: bytes, form: dict[str, Any]) -> Upload:
    """Read an uploaded return. Only items of this form count (the hidden map is the user's file,
    so it is checked against the form, and every item row must still carry its item's code)."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"文件超过 {MAX_BYTES // (1024 * 1024)} MB", code="file_too_large")
    if not data.startswith(b"PK"):
        raise UnsupportedMedia("不是有效的 Excel（.xlsx）文件，请上传下载的填报表", code="not_xlsx")
    open_zip(data, LIMITS).close()
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise UnsupportedMedia("文件已损坏或不是填报表，无法读取", code="corrupt_file") from exc
    try:
        return _read_book(wb, form)
    finally:
        wb.close()


def _read_book(wb: Any, form: dict[str, Any]) -> Upload:
    items = {int(i["id"]): i for i in _items(form)}
    if MAIN not in wb.sheetnames or MAP not in wb.sheetnames:
        raise ValidationError("这不是本系统下载的填报表（缺少“填报”工作表），请重新下载后填写", code="not_our_xlsx")
    mapping = _rows(wb[MAP])
    if not mapping or mapping[0][:2] != ("return_id", form["return"].get("id")):
        raise ValidationError("这份填报表属于另一份报表，请下载本报表的填报表", code="other_return")
    out = Upload()
    main = _rows(wb[MAIN])
    for entry in mapping[1:]:
        kind, item_id, where, main_row = (list(entry) + [None, None, None, None])[:4]
        if not isinstance(item_id, int) or item_id not in items or item_id in out.values:
            continue
        item = items[item_id]
        spec = item.get("spec") or {}
        if kind == "row" and isinstance(where, int) and spec.get("type") != "table":
            cell = f"{get_column_letter(VALUE_COL)}{where}"
            if _cell(main, where, 1) != safe_cell(item["code"]):
                out.bad(MAIN, f"A{where}", item_id, f"第 {where} 行的编码被改动，应为 {item['code']}")
                continue
            out.values[item_id] = _from_cell(spec, _cell(main, where, VALUE_COL))
            reason = _cell(main, where, REASON_COL)
            out.reasons[item_id] = _unquote(str(reason).strip()) if reason is not None else ""
            out.where[item_id] = (MAIN, cell)
        elif kind == "table" and isinstance(where, str) and where in wb.sheetnames and spec.get("type") == "table":
            _read_table(out, item, where, _rows(wb[where]))
            if isinstance(main_row, int) and _cell(main, main_row, 1) == safe_cell(item["code"]):
                reason = _cell(main, main_row, REASON_COL)
                out.reasons[item_id] = _unquote(str(reason).strip()) if reason is not None else ""
                out.reason_cells[item_id] = f"{get_column_letter(REASON_COL)}{main_row}"
    return out


def _read_table(out: Upload, item: dict[str, Any], title: str, rows: list[tuple[Any, ...]]) -> None:
    columns = (item.get("spec") or {}).get("columns") or []
    item_id = int(item["id"])
    value: list[dict[str, Any]] = []
    sheet_rows: list[int] = []
    for r in range(HEADER_ROW + 1, len(rows) + 1):
        cells = {c["key"]: _from_cell(c, _cell(rows, r, j)) for j, c in enumerate(columns, start=1)}
        if all(v is None for v in cells.values()):
            continue
        value.append({k: v for k, v in cells.items() if v is not None})
        sheet_rows.append(r)
    out.values[item_id] = value or None
    out.table_rows[item_id] = sheet_rows
    out.where[item_id] = (title, f"A{HEADER_ROW + 1}")


# Checking ---------------------------------------------------------------------------------------

Cleaner = Callable[[int, Any], Any]  # (item id, raw value) -> clean value, or raises ValidationError


def _cell_of(upload: Upload, item: dict[str, Any], exc: ValidationError) -> tuple[str, str]:
    sheet, cell = upload.where[int(item["id"])]
    row, column = exc.extra.get("row"), exc.extra.get("column")
    if isinstance(row, int) and item["id"] in upload.table_rows:
        sheet_rows = upload.table_rows[int(item["id"])]
        keys = [c.get("key") for c in (item.get("spec") or {}).get("columns") or []]
        if 0 <= row < len(sheet_rows):
            col = keys.index(column) + 1 if column in keys else 1
            cell = f"{get_column_letter(col)}{sheet_rows[row]}"
    return sheet, cell


def check(upload: Upload, form: dict[str, Any], clean: Cleaner) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean every value the file carries and apply the reason rule; returns (raw values, reasons)
    of the items that changed, keyed by str(item id), or raises one 422 ``xlsx_invalid`` with every bad
    cell. A table item is cleaned row by row first, so each bad row is named, then as a whole."""
    errors = list(upload.errors)
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for item in _items(form):
        item_id = int(item["id"])
        if item_id not in upload.values:
            continue
        raw = upload.values[item_id]
        sheet, cell = upload.where[item_id]
        try:
            if isinstance(raw, list) and item_id in upload.table_rows:
                _clean_rows(upload, item, raw, clean, errors)
            value = clean(item_id, raw) if raw is not None else None
        except ValidationError as exc:
            if not any(e["item_id"] == item_id for e in errors):
                s, c = _cell_of(upload, item, exc)
                errors.append({"sheet": s, "cell": c, "item_id": item_id, "message": exc.message})
            continue
        reason = upload.reasons.get(item_id, "")
        if value == item.get("value") and reason == (item.get("reason") or ""):
            continue  # unchanged: the upload does not touch it
        pre = item.get("prefill")
        if pre and value != pre.get("value") and not reason:
            col = get_column_letter(REASON_COL)
            errors.append(
                {
                    "sheet": MAIN if item_id in upload.reason_cells or sheet == MAIN else sheet,
                    "cell": upload.reason_cells.get(item_id) or (f"{col}{cell[1:]}" if sheet == MAIN else cell),
                    "item_id": item_id,
                    "message": f"“{item['name']}”改动了预填的值，请填写修改原因",
                }
            )
            continue
        values[str(item_id)] = raw  # as read: ``save_values`` cleans it with the same rule
        if reason:
            reasons[str(item_id)] = reason
    if errors:
        raise ValidationError(
            f"填报表有 {len(errors)} 处错误，未保存任何内容，请改正后重新上传", code="xlsx_invalid", cells=errors
        )
    return values, reasons


def _clean_rows(upload: Upload, item: dict[str, Any], rows: list[Any], clean: Cleaner, errors: list[dict]) -> None:
    item_id = int(item["id"])
    before = len(errors)
    for i, row in enumerate(rows):
        try:
            clean(item_id, [row])
        except ValidationError as exc:
            exc.extra["row"] = i  # cleaned alone, the row was row 0
            sheet, cell = _cell_of(upload, item, exc)
            errors.append({"sheet": sheet, "cell": cell, "item_id": item_id, "message": exc.message})
    if len(errors) > before:
        raise ValidationError("表格有误", code="table_rows")


# The round trip -----------------------------------------------------------------------------------


def download(session: Session, actor: Actor, ret: UnitReturn) -> tuple[bytes, str]:
    """The return as the form shows it to ``actor`` (``returns.form``), as xlsx, with a file name.
    Downloading is opening it: the filler's or reviewer's first one computes the prefill, as the
    form's first GET does, so the sheet carries the prefilled values the upload is checked against."""
    from tianbao import returns

    form = returns.form(session, actor, returns.open_return(session, actor, ret))
    return workbook(form), f"{form['task'].get('title', '填报')}-{form['return'].get('unit_name', '')}.xlsx"


def upload(session: Session, actor: Actor, ret: UnitReturn, data: bytes, version: int) -> UnitReturn:
    """Store an uploaded return: only someone who may save it now (its filler while it is filled,
    its reviewer while it is in review) gets as far as reading the file; every cell is checked
    before ``returns.save_values`` stores anything, with origin ``xlsx``."""
    from tianbao import items, returns

    form = returns.form(session, actor, ret)
    if "save" not in form["actions"]:
        raise PermissionDenied("只有本单位的填报人（或审核中的审核人）可以上传填报表", code="not_filler")
    parsed = read(data, form)
    ids = list(parsed.values)
    found = {i.id: i for i in session.exec(select(DataItem).where(col(DataItem.id).in_(ids))).all()} if ids else {}
    values, reasons = check(parsed, form, lambda item_id, raw: items.clean_value(session, actor, found[item_id], raw))
    return returns.save_values(session, actor, ret, values, reasons, version, origin=ValueOrigin.xlsx)
