"""The offline round trip (离线填报): download a unit's return as xlsx, fill it, upload it back.

The download locks every cell but the values and reasons, carries data validation and never makes
a formula from user text; an upload is checked cell by cell and stores nothing unless every cell is
clean; a clean one is stored with origin ``xlsx``, which reaches the registry at submission."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from office.db import Database
from office.errors import PermissionDenied, UnsupportedMedia, ValidationError
from tests.factories import Org
from tests.tianbao import report_world as rw
from tianbao import items, returns, xlsx
from tianbao.models import DataValue, UnitReturn

CODES = ["POP", "GDP", "KIND", "DAY", "NOTE", "PROJ"]


@pytest.fixture
def world(org: Org) -> rw.World:
    return rw.build(org)


def _task(w: rw.World, *, prefill_pop: bool = True) -> tuple[int, int]:
    if prefill_pop:
        rw.store(w, "U1", "POP", "2026Q4", 12.5)  # reported before for this period: the form opens with it
    task_id = rw.issue(w, "polonius", CODES, ["U1"])
    return task_id, rw.the_return(w, task_id, "U1").id or 0


def _download(w: rw.World, return_id: int, who: str = "filler1") -> bytes:
    with w.org.db.write() as s:  # downloading opens it: the first opening computes the prefill
        ret = s.get(UnitReturn, return_id)
        assert ret is not None
        return xlsx.download(s, w.actor(who), ret)[0]


def _upload(w: rw.World, return_id: int, data: bytes, who: str = "filler1") -> UnitReturn:
    with w.org.db.write() as s:
        ret = s.get(UnitReturn, return_id)
        assert ret is not None
        saved = xlsx.upload(s, w.actor(who), ret, data, ret.version)
        s.flush()
        s.expunge(saved)
        return saved


def _fill(data: bytes, cells: dict[tuple[str, str], Any]) -> bytes:
    """What a unit does in Excel: type into cells and save (openpyxl keeps validations and protection)."""
    wb = load_workbook(io.BytesIO(data))
    for (sheet, ref), value in cells.items():
        wb[sheet][ref] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row_of(data: bytes, code: str) -> int:
    ws = load_workbook(io.BytesIO(data))[xlsx.MAIN]
    return next(c.row for c in ws["A"] if c.value == code)


def test_download_locks_item_cells_and_validates_values(world: rw.World) -> None:
    _, rid = _task(world)
    data = _download(world, rid)
    wb = load_workbook(io.BytesIO(data))
    ws = wb[xlsx.MAIN]
    assert ws.protection.sheet is True
    pop = _row_of(data, "POP")
    for letter in "ABCE":
        assert ws[f"{letter}{pop}"].protection.locked is True, letter
    assert ws[f"D{pop}"].protection.locked is False and ws[f"F{pop}"].protection.locked is False
    assert ws[f"D{pop}"].value == 12.5 and "已预填" in ws[f"E{pop}"].value
    kinds = {}
    for dv in ws.data_validations.dataValidation:
        for ref in str(dv.sqref).split():
            kinds[ref] = dv
    assert kinds[f"D{pop}"].type == "decimal" and float(kinds[f"D{pop}"].formula2) == 100000
    assert kinds[f"D{_row_of(data, 'GDP')}"].type == "decimal"
    assert kinds[f"D{_row_of(data, 'DAY')}"].type == "date"
    select_dv = kinds[f"D{_row_of(data, 'KIND')}"]
    assert select_dv.type == "list" and select_dv.formula1.startswith("'_map'!")
    assert wb[xlsx.MAP].sheet_state == "veryHidden"
    table = next(n for n in wb.sheetnames if n.startswith("PROJ"))
    assert wb[table].protection.sheet is True and wb[table]["A3"].protection.locked is True
    assert wb[table]["A4"].protection.locked is False


def test_user_text_never_becomes_a_formula(world: rw.World) -> None:
    task_id, rid = _task(world)
    rw.store(world, "U1", "NOTE", "2026Q4", "=1+1")  # text someone typed, now in the registry
    task2 = rw.issue(world, "laertes", ["NOTE"], ["U1"])
    rid2 = rw.the_return(world, task2, "U1").id or 0
    data = _download(world, rid2)
    for name in zipfile.ZipFile(io.BytesIO(data)).namelist():
        if name.startswith("xl/worksheets/"):
            assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read(name), name
    ws = load_workbook(io.BytesIO(data))[xlsx.MAIN]
    cell = ws[f"D{_row_of(data, 'NOTE')}"]
    assert cell.data_type == "s" and cell.value == "'=1+1"
    form = {
        "return": {"id": rid2},
        "sections": [{"items": [{"id": rw_item(world, "NOTE"), "code": "NOTE", "spec": {"type": "text"}}]}],
    }
    assert xlsx.read(data, form).values[rw_item(world, "NOTE")] == "=1+1"  # read back as the text it was


def rw_item(w: rw.World, code: str) -> int:
    return w.items[code].id or 0


def test_an_upload_with_errors_names_every_bad_cell_and_stores_nothing(world: rw.World) -> None:
    _, rid = _task(world)
    data = _download(world, rid)
    table = next(n for n in load_workbook(io.BytesIO(data)).sheetnames if n.startswith("PROJ"))
    pop, kind, day = _row_of(data, "POP"), _row_of(data, "KIND"), _row_of(data, "DAY")
    bad = _fill(
        data,
        {
            (xlsx.MAIN, f"D{pop}"): 13,  # a prefilled value changed without a reason
            (xlsx.MAIN, f"D{kind}"): "海岛",  # not an option
            (xlsx.MAIN, f"D{day}"): "2026-13-40",  # not a date
            (xlsx.MAIN, f"D{_row_of(data, 'GDP')}"): 100.5,  # fine: 10050 分
            (table, "A4"): "大桥",
            (table, "B4"): -5,  # below the column's minimum
            (table, "A5"): "小桥",
            (table, "B5"): "很多",  # not a number
        },
    )
    with world.org.db.read() as s:
        before = s.get(UnitReturn, rid)
        assert before is not None
        draft, version = dict(before.draft), before.version
    with pytest.raises(ValidationError) as e:
        _upload(world, rid, bad)
    assert e.value.code == "xlsx_invalid"
    cells = {(c["sheet"], c["cell"]): c for c in e.value.extra["cells"]}
    assert set(cells) == {
        (xlsx.MAIN, f"F{pop}"),
        (xlsx.MAIN, f"D{kind}"),
        (xlsx.MAIN, f"D{day}"),
        (table, "B4"),
        (table, "B5"),
    }, cells
    assert cells[(xlsx.MAIN, f"F{pop}")]["item_id"] == rw_item(world, "POP")
    assert "原因" in cells[(xlsx.MAIN, f"F{pop}")]["message"]
    with world.org.db.read() as s:
        after = s.get(UnitReturn, rid)
        assert after is not None and after.draft == draft and after.version == version  # nothing stored


def test_a_clean_upload_is_stored_with_origin_xlsx(world: rw.World) -> None:
    task_id, rid = _task(world)
    data = _download(world, rid)
    table = next(n for n in load_workbook(io.BytesIO(data)).sheetnames if n.startswith("PROJ"))
    pop = _row_of(data, "POP")
    good = _fill(
        data,
        {
            (xlsx.MAIN, f"D{pop}"): 13,
            (xlsx.MAIN, f"F{pop}"): "人口普查修正",
            (xlsx.MAIN, f"D{_row_of(data, 'GDP')}"): 100.5,
            (xlsx.MAIN, f"D{_row_of(data, 'KIND')}"): "农村",
            (xlsx.MAIN, f"D{_row_of(data, 'NOTE')}"): "'=1+1",  # what the download writes for the text "=1+1"
            (table, "A4"): "大桥",
            (table, "B4"): 3.5,
        },
    )
    saved = _upload(world, rid, good)
    ids = {c: str(rw_item(world, c)) for c in CODES}
    assert saved.draft[ids["POP"]] == 13 and saved.reasons[ids["POP"]] == "人口普查修正"
    assert saved.draft[ids["GDP"]] == 10050 and saved.draft[ids["KIND"]] == "农村"
    assert saved.draft[ids["PROJ"]]["rows"] == [{"name": "大桥", "invest": 3.5}]
    assert saved.draft[ids["NOTE"]] == "=1+1"
    with world.org.db.write() as s:
        ret = s.get(UnitReturn, rid)
        assert ret is not None
        ret = returns.to_review(s, world.actor("filler1"), ret, ret.version)
        returns.submit(s, world.actor("head1"), ret, ret.version)
    with world.org.db.read() as s:
        stored = {str(v.item_id): v.origin.value for v in s.exec(select(DataValue).where(DataValue.task_id == task_id))}
    assert stored[ids["GDP"]] == "xlsx" and stored[ids["KIND"]] == "xlsx" and stored[ids["PROJ"]] == "xlsx"
    assert stored[ids["POP"]] == "corrected"  # a prefilled value changed, with its reason


def test_uploads_are_bounded_and_only_the_filler_uploads(world: rw.World) -> None:
    _, rid = _task(world)
    data = _download(world, rid)
    with pytest.raises(PermissionDenied):
        _upload(world, rid, data, who="head1")  # the reviewer, before the return reaches review
    with pytest.raises(UnsupportedMedia):
        _upload(world, rid, b"not a spreadsheet")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (5 * 1024 * 1024))  # a zip bomb
    with pytest.raises(Exception) as e:
        _upload(world, rid, buf.getvalue())
    assert getattr(e.value, "code", "") == "zip_bomb"
    other_task = rw.issue(world, "laertes", ["POP"], ["U1"])
    other = rw.the_return(world, other_task, "U1").id or 0
    _download(world, other)
    with pytest.raises(ValidationError) as e2:
        _upload(world, other, data)  # the file of another return
    assert e2.value.code == "other_return"


def test_http_round_trip(client: Any, world: rw.World, db: Database) -> None:
    from tests.factories import login

    _, rid = _task(world)
    login(client, "filler1")
    r = client.get(f"/api/tianbao/returns/{rid}/xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    data = r.content
    version = client.get(f"/api/tianbao/returns/{rid}").json()["return"]["version"]
    bad = _fill(data, {(xlsx.MAIN, f"D{_row_of(data, 'KIND')}"): "海岛"})
    r = client.post(f"/api/tianbao/returns/{rid}/xlsx", files={"file": ("a.xlsx", bad)}, data={"version": str(version)})
    assert r.status_code == 422 and r.json()["error"] == "xlsx_invalid"
    assert [c["cell"] for c in r.json()["cells"]] == [f"D{_row_of(data, 'KIND')}"]
    good = _fill(data, {(xlsx.MAIN, f"D{_row_of(data, 'KIND')}"): "城市"})
    r = client.post(
        f"/api/tianbao/returns/{rid}/xlsx", files={"file": ("a.xlsx", good)}, data={"version": str(version)}
    )
    assert r.status_code == 200, r.text
    kind = next(i for sec in r.json()["sections"] for i in sec["items"] if i["code"] == "KIND")
    assert kind["value"] == "城市"
    login(client, "othello")  # another agency: not its return
    assert client.get(f"/api/tianbao/returns/{rid}/xlsx").status_code in (403, 404)


def test_a_prefilled_table_changed_offline_needs_its_reason(world: rw.World) -> None:
    with world.org.db.read() as s:
        old = items.clean_value(s, world.actor("polonius"), world.items["PROJ"], [{"name": "旧桥", "invest": 1}])
    rw.store(world, "U1", "PROJ", "2026Q4", old)
    _, rid = _task(world)
    data = _download(world, rid)
    table = next(n for n in load_workbook(io.BytesIO(data)).sheetnames if n.startswith("PROJ"))
    assert load_workbook(io.BytesIO(data))[table]["A4"].value == "旧桥"  # the prefilled row
    row = _row_of(data, "PROJ")
    assert load_workbook(io.BytesIO(data))[xlsx.MAIN][f"F{row}"].protection.locked is False
    changed = _fill(data, {(table, "B4"): 2})
    with pytest.raises(ValidationError) as e:
        _upload(world, rid, changed)
    assert [(c["sheet"], c["cell"]) for c in e.value.extra["cells"]] == [(xlsx.MAIN, f"F{row}")]
    saved = _upload(world, rid, _fill(data, {(table, "B4"): 2, (xlsx.MAIN, f"F{row}"): "投资额更正"}))
    key = str(rw_item(world, "PROJ"))
    assert saved.draft[key]["rows"] == [{"name": "旧桥", "invest": 2}] and saved.reasons[key] == "投资额更正"


def test_the_hidden_map_and_the_option_lists_do_not_overlap() -> None:
    options = [f"选项{n}" for n in range(12)]
    form = {
        "task": {"title": "T"},
        "return": {"id": 9, "version": 1, "unit_name": "一所"},
        "sections": [
            {
                "name": "s",
                "items": [
                    *(
                        {
                            "id": n,
                            "code": f"T{n}",
                            "name": f"表{n}",
                            "value": None,
                            "spec": {
                                "type": "table",
                                "columns": [{"key": "a", "label": "甲", "type": "text"}],
                                "max_rows": 3,
                            },
                        }
                        for n in range(1, 4)
                    ),
                    {
                        "id": 7,
                        "code": "S",
                        "name": "选",
                        "value": "选项11",
                        "spec": {"type": "select", "options": options},
                    },
                ],
            }
        ],
    }
    data = xlsx.workbook(form)
    wb = load_workbook(io.BytesIO(data))
    dv = next(d for d in wb[xlsx.MAIN].data_validations.dataValidation if d.type == "list")
    ref = dv.formula1.split("!")[1].replace("$", "")
    assert [c.value for row in wb[xlsx.MAP][ref] for c in row] == options
    upload = xlsx.read(data, form)
    assert upload.values == {1: None, 2: None, 3: None, 7: "选项11"}
    assert set(upload.reason_cells) == {1, 2, 3}
