"""新成员可查看历史消息, on a real server: a group's owner or admins decide whether members added
later read what came before them, and HTTP history, search, downloads, quoting and websocket resume
all give a later member the same answer, for either value."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlmodel import select

from office.models import AuditEntry
from tests.conftest import LiveServer
from tests.factories import Org
from tests.messaging.helpers import group
from tests.messaging.test_ws import User, recv

P = "/api/messages"


def test_only_the_owner_and_admins_switch_it_and_it_is_audited(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph = User(live, "hamlet"), User(live, "ophelia")

    async def scenario() -> None:
        assert (await ham.http.get(f"{P}/conversations/{g}")).json()["history_visible"] is True  # the default
        r = await oph.http.put(f"{P}/conversations/{g}", json={"history_visible": False})
        assert r.status_code == 403
        r = await ham.http.put(f"{P}/conversations/{g}", json={"history_visible": False})
        assert r.status_code == 200 and r.json()["history_visible"] is False
        page = (await oph.http.get(f"{P}/conversations/{g}/messages")).json()["items"]
        assert page[-1]["text"] == "张伟关闭了“新成员可查看历史消息”"  # everyone is told

    asyncio.run(scenario())
    with live_org.db.read() as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "chat.group_update")).all()
    assert [r.detail for r in rows] == [{"history_visible": False}]


@pytest.mark.parametrize("shown", [True, False], ids=["shown", "hidden"])
def test_a_later_member_reads_and_is_replayed_the_earlier_history_only_where_shown(
    live: LiveServer, live_org: Org, shown: bool
) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph, hor = User(live, "hamlet"), User(live, "ophelia"), User(live, "horatio")
    url = f"{P}/conversations/{g}/messages"

    async def scenario() -> dict[str, Any]:
        assert (await ham.http.put(f"{P}/conversations/{g}", json={"history_visible": shown})).status_code == 200
        async with hor.ws() as w:
            last = (await recv(w))["last_event_id"]  # horatio's client, before he is added
        att = (
            await ham.http.post(
                f"{P}/conversations/{g}/attachments",
                files={"file": ("纪要.txt", "会前讨论纪要".encode(), "text/plain")},
            )
        ).json()
        early = (await ham.http.post(url, json={"text": "加入之前的讨论", "attachment_id": None})).json()
        await ham.http.post(url, json={"attachment_id": att["id"]})
        r = await ham.http.post(f"{P}/conversations/{g}/members", json={"user_ids": [live_org.users["horatio"]]})
        assert r.status_code == 200
        await oph.http.post(url, json={"text": "欢迎加入讨论"})
        out: dict[str, Any] = {
            "history": [i["text"] for i in (await hor.http.get(url)).json()["items"]],
            "search": [
                i["message"]["text"] for i in (await hor.http.get(f"{P}/search", params={"q": "讨论"})).json()["items"]
            ],
            "download": (await hor.http.get(att["url"])).status_code,
            "edits": (await hor.http.get(f"{url}/{early['seq']}/edits")).status_code,
            "quote": (await hor.http.post(url, json={"text": "回复", "reply_to_seq": early["seq"]})).json(),
            # (a DING takes the other write path: messages.send_message rather than the batched one)
            "quote_ding": (
                await hor.http.post(url, json={"text": "回复", "reply_to_seq": early["seq"], "ding": True})
            ).json(),
        }
        async with hor.ws(last) as w:  # his client resumes from before he was added
            assert (await recv(w))["resync"] is False
            await asyncio.sleep(0.3)
            await w.send(json.dumps({"type": "ping"}))
            texts = []
            while (frame := await recv(w))["type"] != "pong":
                if frame["type"] == "chat.message":
                    texts.append(frame["message"]["text"])
            out["resume"] = texts
        return out

    got = asyncio.run(scenario())
    assert ("加入之前的讨论" in got["history"]) is shown
    assert "欢迎加入讨论" in got["history"]
    assert got["search"] == (["欢迎加入讨论", "加入之前的讨论"] if shown else ["欢迎加入讨论"])
    assert got["download"] == (200 if shown else 404)
    assert got["edits"] == (200 if shown else 404)
    for quote in (got["quote"], got["quote_ding"]):
        assert quote.get("error") == (None if shown else "bad_reply")  # the excerpt would show it
    if shown:
        assert got["quote"]["reply_to"]["text"] == "加入之前的讨论"
    assert ("加入之前的讨论" in got["resume"]) is shown
    assert "欢迎加入讨论" in got["resume"]
