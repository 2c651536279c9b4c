"""What a recall takes away stays away, on a real server: a client resuming from before the message
is replayed it as recalled (no original text, no edited text, no quoted excerpt, no DING reminder
text), and its file can no longer be downloaded by anyone, nor is it kept on disk."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from messaging import messages
from office.db import utcnow
from tests.conftest import LiveServer
from tests.factories import Org
from tests.messaging.helpers import group
from tests.messaging.test_ws import User, recv

P = "/api/messages"


async def replayed(user: User, last: int) -> list[str]:
    """Every frame a client resuming from ``last`` is sent, as raw text (up to a pong)."""
    frames = []
    async with user.ws(last) as w:
        assert (await recv(w))["resync"] is False
        await asyncio.sleep(0.3)
        await w.send(json.dumps({"type": "ping"}))
        while True:
            raw = await asyncio.wait_for(w.recv(), 5)
            if json.loads(raw)["type"] == "pong":
                return frames
            frames.append(raw)


def test_resume_from_before_a_recalled_message_replays_none_of_its_text(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph = User(live, "hamlet"), User(live, "ophelia")
    url = f"{P}/conversations/{g}/messages"

    async def scenario() -> tuple[list[str], list[str]]:
        async with oph.ws() as o:
            last = (await recv(o))["last_event_id"]  # her laptop sleeps from here
        m = (await ham.http.post(url, json={"text": "机密原文", "ding": True})).json()
        assert (await ham.http.put(f"{url}/{m['seq']}", json={"text": "机密修改稿"})).status_code == 200
        assert (await oph.http.post(url, json={"text": "收到", "reply_to_seq": m["seq"]})).status_code == 201
        with live_org.db.write() as s:  # a DING reminder falls due for her
            assert messages.send_ding_reminders(s, now=utcnow() + timedelta(hours=1)) == 1
        assert (await ham.http.post(f"{url}/{m['seq']}/recall")).status_code == 200
        before = await replayed(oph, last)
        page = (await oph.http.get(url)).json()["items"]
        edits = (await oph.http.get(f"{url}/{m['seq']}/edits")).json()["items"]
        found = (await oph.http.get(f"{P}/search", params={"q": "机密"})).json()["items"]
        return before, [json.dumps([page, edits, found], ensure_ascii=False)]

    frames, http = asyncio.run(scenario())
    kinds = [json.loads(f)["type"] for f in frames]
    assert {"chat.message", "chat.edit", "chat.ding_remind", "chat.recall"} <= set(kinds)  # all replayed ...
    assert not [f for f in frames if "机密" in f]  # ... with none of the text
    recalled = next(json.loads(f) for f in frames if json.loads(f)["type"] == "chat.message")["message"]
    assert recalled["recalled"] and recalled["text"] == "" and recalled["recall_notice"] == "张伟撤回了一条消息"
    assert "机密" not in http[0]  # history, edit history and search were already clean


def test_a_recalled_file_is_gone_for_everyone_and_from_disk(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    other = group(live_org, "hamlet", "另一组", ["horatio"])
    ham, oph, hor = User(live, "hamlet"), User(live, "ophelia"), User(live, "horatio")
    content = "附件里的机密内容\n".encode() * 50
    files = Path(live.app.state.settings.data_dir) / "chat_files"

    async def upload(cid: int, name: str, body: bytes = content) -> dict[str, Any]:
        r = await ham.http.post(f"{P}/conversations/{cid}/attachments", files={"file": (name, body, "text/plain")})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def status(user: User, att: dict[str, Any]) -> int:
        return (await user.http.get(att["url"])).status_code

    async def scenario() -> None:
        att = await upload(g, "通知.txt")
        assert (await status(ham, att), await status(oph, att)) == (200, 404)  # not sent yet: the uploader's only
        m = (await ham.http.post(f"{P}/conversations/{g}/messages", json={"attachment_id": att["id"]})).json()
        assert await status(oph, att) == 200
        on_disk = [p for p in files.rglob("*") if p.is_file() and p.read_bytes() == content]
        assert len(on_disk) == 1
        assert (await ham.http.post(f"{P}/conversations/{g}/messages/{m['seq']}/recall")).status_code == 200
        assert (await status(oph, att), await status(ham, att)) == (404, 404)
        assert not on_disk[0].exists()
        # The same bytes sent elsewhere are another row: that copy stays, and recalling one never
        # takes the other's bytes.
        first, second = await upload(other, "a.txt"), await upload(g, "b.txt")
        sent = []
        for cid, a in ((other, first), (g, second)):
            sent.append(
                (await ham.http.post(f"{P}/conversations/{cid}/messages", json={"attachment_id": a["id"]})).json()
            )
        assert (await ham.http.post(f"{P}/conversations/{g}/messages/{sent[1]['seq']}/recall")).status_code == 200
        assert (await status(hor, first), await status(oph, second)) == (200, 404)
        assert (await hor.http.get(first["url"])).content == content
        page = (await oph.http.get(f"{P}/conversations/{g}/messages")).json()["items"]
        assert all(i["attachment"] is None for i in page if i["recalled"])

    asyncio.run(scenario())
