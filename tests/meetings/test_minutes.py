"""会议纪要: the draft, tasks handed to 督办, and the 纪要-format Word file (typeset.render)."""

from __future__ import annotations

import io
from typing import Any

from starlette.testclient import TestClient

from meetings import minutes
from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking, of_type

DRAFT = {
    "number": "第3期",
    "host_name": "赵刚",
    "recorder_name": "孙丽",
    "topics": ["年度工作要点", "机关效能建设"],
    "summary": "会议听取了综合处的汇报。",
    "decisions": [
        {"text": "原则同意年度工作要点，由综合处根据会议意见修改后印发。", "unit": "综合处", "due": "12月31日前"},
        {"text": "加强机关效能建设。"},
    ],
    "sitting_in": ["秘书处 陈静"],
    "distribution": ["各处室"],
    "tasks": [{"title": "修改年度工作要点", "owner_unit": "综合处", "due_date": "2026-12-31"}],
}


def test_minutes_tasks_and_supervision(client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]) -> None:
    login(client, "gertrude")
    mid = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).json()["meeting"]["id"]
    assert client.get(f"/api/meetings/{mid}/minutes").json()["exists"] is False
    r = client.put(
        f"/api/meetings/{mid}/minutes",
        json=DRAFT
        | {
            "tasks": DRAFT["tasks"] + [{"title": "督促落实", "owner_id": org.users["hamlet"], "due_date": "2027-01-15"}]
        },
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["number"] == "第3期" and [t["owner_name"] for t in saved["tasks"]] == ["", "张伟"]
    task = saved["tasks"][1]
    r = client.post(f"/api/meetings/{mid}/tasks/{task['id']}/supervise")
    assert r.status_code == 200
    ev = of_type(captured, "meeting.task_created")[-1]
    assert ev.payload["title"] == "督促落实" and ev.payload["due_date"] == "2027-01-15"
    assert set(ev.user_ids) == {org.users["hamlet"], org.users["gertrude"]}
    assert client.post(f"/api/meetings/{mid}/tasks/{task['id']}/supervise").status_code == 409
    # docs_flow turned it into a 督办 item of its owner (it was dropped as malformed before).
    items = client.get("/api/supervision/items?source=meeting_task").json()["items"]
    assert [(i["title"], i["deadline"][:10]) for i in items] == [("督促落实", "2027-01-15")]
    # A supervised task cannot be dropped from the draft.
    r = client.put(f"/api/meetings/{mid}/minutes", json=DRAFT | {"tasks": []})
    assert r.status_code == 409 and r.json()["error"] == "task_supervised"
    login(client, "hamlet")
    assert client.get(f"/api/meetings/{mid}/minutes").json()["decisions"][0]["unit"] == "综合处"
    assert client.put(f"/api/meetings/{mid}/minutes", json=DRAFT).status_code == 403
    login(client, "horatio")
    assert client.get(f"/api/meetings/{mid}/minutes").status_code == 404
    assert client.get(f"/api/meetings/{mid}/minutes.docx").status_code == 404


def test_minutes_content_follows_the_jiyao_convention(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    mid = client.post(
        "/api/meetings", json=booking(org, room_id=rooms_a.small, people=("hamlet", "ophelia"), title="局务会议")
    ).json()["meeting"]["id"]
    login(client, "ophelia")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "病假"})
    login(client, "hamlet")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"})
    login(client, "gertrude")
    client.put(f"/api/meetings/{mid}/minutes", json=DRAFT)
    from sqlmodel import select

    from meetings.models import Meeting, Minutes

    with org.db.read() as s:
        meeting = s.get(Meeting, mid)
        row = s.exec(select(Minutes)).one()
        content = minutes.minutes_content(s, meeting, row)  # type: ignore[arg-type]
    assert content["header"] == "局务会议" and content["issuer_name"] == "省政府办公厅"
    assert content["opening"] == (
        "2026年12月7日，赵刚在第一会议室主持召开局务会议，研究年度工作要点、机关效能建设。现将议定事项纪要如下："
    )
    assert content["decisions"][0] == (
        "一、",
        "原则同意年度工作要点，由综合处根据会议意见修改后印发。（责任单位：综合处；完成时限：12月31日前）",
    )
    assert content["decisions"][1][0] == "二、"
    assert content["present"] == ["张伟"] and content["on_leave"] == ["李娜（病假）"]
    assert content["sitting_in"] == ["秘书处 陈静"]
    assert content["tasks"] == ["修改年度工作要点（责任人：综合处；完成时限：2026年12月31日）"]
    assert [minutes.cn_index(n) for n in (1, 10, 11, 20, 23)] == ["一", "十", "十一", "二十", "二十三"]
    r = client.get(f"/api/meetings/{mid}/minutes.docx")
    from docx import Document

    from typeset.conformance import check_docx

    assert r.status_code == 200, r.text
    text = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "局务会议纪要" in text and "现将议定事项纪要如下" in text and "李娜（病假）" in text
    report = check_docx(r.content)
    assert report.fmt == "minutes" and report.ok, report.to_dict()
