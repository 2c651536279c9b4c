"""HTTP API: sends acked with seq, idempotency, unread across devices, history paging, search,
attachments (type by content, download only for members, never inline), rate limits."""

from __future__ import annotations

import io

from PIL import Image
from sqlmodel import select

from messaging.models import Message
from tests.factories import Org
from tests.messaging.helpers import cid, config, dept_group, group, user_client

P = "/api/messages"


def _png(w: int = 800, h: int = 600) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_send_ack_has_seq_and_retry_is_idempotent(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham = user_client(client.app, "hamlet")
    key = cid()
    r = ham.post(f"{P}/conversations/{g}/messages", json={"text": "<script>alert(1)</script>", "client_id": key})
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["seq"] == 2 and sent["text"] == "<script>alert(1)</script>"  # stored literally; UI renders as text
    again = ham.post(f"{P}/conversations/{g}/messages", json={"text": "<script>alert(1)</script>", "client_id": key})
    assert again.json()["id"] == sent["id"] and again.json()["duplicate"] is True
    with db.read() as s:
        assert len(s.exec(select(Message).where(Message.conversation_id == g)).all()) == 2


def test_bad_input_gets_clear_errors_and_stores_nothing(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham, oth = user_client(client.app, "hamlet"), user_client(client.app, "othello")
    url = f"{P}/conversations/{g}/messages"
    assert oth.post(url, json={"text": "hi"}).status_code == 404
    assert oth.get(url).status_code == 404
    assert ham.post(url, json={"text": "x" * 10_001}).json()["error"] == "text_too_long"
    assert ham.post(url, json={"text": "x", "bogus": 1}).status_code == 422
    assert ham.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    m = ham.post(url, json={"text": "mine"}).json()
    oph = user_client(client.app, "ophelia")
    assert oph.post(f"{url}/{m['seq']}/recall").status_code == 403
    assert ham.post(f"{url}/{m['seq']}/recall").status_code == 200
    assert ham.put(f"{url}/{m['seq']}", json={"text": "edit"}).json()["error"] == "recalled"
    assert oph.get(f"{url}/{m['seq']}/reads").status_code == 403
    with db.read() as s:
        assert len(s.exec(select(Message).where(Message.conversation_id == g)).all()) == 2


def test_rate_limit_answers_429(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham = user_client(client.app, "hamlet")
    with config(db, rate_burst=3, rate_per_second=0.01):
        codes = [ham.post(f"{P}/conversations/{g}/messages", json={"text": f"m{i}"}).status_code for i in range(6)]
    assert codes == [201, 201, 201, 429, 429, 429]


def test_rate_limit_per_address_across_users(client, db, org: Org) -> None:
    """One machine cycling through several accounts is limited by its address as well."""
    g = group(org, "hamlet", "组", ["ophelia", "polonius"])
    senders = [user_client(client.app, u) for u in ("hamlet", "ophelia", "polonius")]
    with config(db, address_rate_burst=4, address_rate_per_second=0.01):
        codes = [
            c.post(f"{P}/conversations/{g}/messages", json={"text": f"m{i}"}).status_code
            for i in range(3)
            for c in senders
        ]
        r = senders[0].post(f"{P}/conversations/{g}/messages", json={"text": "again"})
    assert codes == [201, 201, 201, 201, 429, 429, 429, 429, 429]
    assert r.json()["error"] == "rate_limited" and r.json()["message"]


def test_unread_counts_consistent_across_devices(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham = user_client(client.app, "hamlet")
    phone, laptop = user_client(client.app, "ophelia"), user_client(client.app, "ophelia")
    for i in range(3):
        ham.post(f"{P}/conversations/{g}/messages", json={"text": f"第{i}条"})
    assert phone.get(f"{P}/unread").json()["conversations"][str(g)] == 4
    listing = laptop.get(f"{P}/conversations").json()
    item = next(i for i in listing["items"] if i["id"] == g)
    assert item["unread"] == 4 and item["last_message"]["text"] == "第2条"
    assert phone.post(f"{P}/conversations/{g}/read", json={"seq": 3}).json()["unread"] == 1
    after = laptop.get(f"{P}/unread").json()  # (the listing above also created her department group)
    assert after["total"] == 1 and after["conversations"][str(g)] == 1
    assert phone.put(f"{P}/conversations/{g}/mute", json={"muted": True}).status_code == 200
    assert laptop.get(f"{P}/unread").json()["total"] == 0


def test_history_pages_both_ways_and_jumps(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham = user_client(client.app, "hamlet")
    for i in range(30):
        ham.post(f"{P}/conversations/{g}/messages", json={"text": f"n{i}"})
    url = f"{P}/conversations/{g}/messages"
    newest = ham.get(url, params={"limit": 10}).json()
    assert [m["seq"] for m in newest["items"]] == list(range(22, 32)) and newest["has_more_before"]
    older = ham.get(url, params={"before": 22, "limit": 10}).json()
    assert [m["seq"] for m in older["items"]] == list(range(12, 22))
    newer = ham.get(url, params={"after": 5, "limit": 3}).json()
    assert [m["seq"] for m in newer["items"]] == [6, 7, 8] and newer["has_more_after"]
    around = ham.get(url, params={"around": 15, "limit": 6}).json()
    assert [m["seq"] for m in around["items"]] == [12, 13, 14, 15, 16, 17]
    seen = []
    before = None
    while True:  # scroll back to the very beginning
        page = ham.get(url, params={"limit": 7, **({"before": before} if before else {})}).json()
        seen = [m["seq"] for m in page["items"]] + seen
        if not page["has_more_before"]:
            break
        before = page["items"][0]["seq"]
    assert seen == list(range(1, 32))


def test_search_route_and_department_groups_listed(client, db, org: Org) -> None:
    ham = user_client(client.app, "hamlet")
    listing = ham.get(f"{P}/conversations").json()  # creates the department group lazily
    a1 = dept_group(db, org.depts["A1"])
    assert any(i["id"] == a1 and i["name"] == "综合处" and i["kind"] == "department" for i in listing["items"])
    ham.post(f"{P}/conversations/{a1}/messages", json={"text": "今天的周报请在五点前提交"})
    oph = user_client(client.app, "ophelia")
    hits = oph.get(f"{P}/search", params={"q": "周报"}).json()["items"]
    assert [h["message"]["text"] for h in hits] == ["今天的周报请在五点前提交"]
    assert hits[0]["conversation_name"] == "综合处"
    oth = user_client(client.app, "othello")
    assert oth.get(f"{P}/search", params={"q": "周报"}).json()["items"] == []
    assert oth.get(f"{P}/search", params={"q": "周"}).status_code == 422


def test_attachments_by_content_members_only_never_inline(client, db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    ham, oph, oth = (user_client(client.app, u) for u in ("hamlet", "ophelia", "othello"))
    up = f"{P}/conversations/{g}/attachments"
    r = ham.post(up, files={"file": ("../../etc/照片\u202egnp.exe", _png(), "text/html")})
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["kind"] == "png" and att["has_thumb"] and (att["width"], att["height"]) == (800, 600)
    assert "/" not in att["filename"] and "\u202e" not in att["filename"]
    sent = ham.post(f"{P}/conversations/{g}/messages", json={"attachment_id": att["id"]}).json()
    assert sent["kind"] == "image" and sent["attachment"]["id"] == att["id"]
    got = oph.get(att["url"])
    assert got.status_code == 200 and got.content == _png()
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-type"] == "image/png"
    thumb = oph.get(att["thumb_url"])
    assert Image.open(io.BytesIO(thumb.content)).size[0] <= 320
    assert oth.get(att["url"]).status_code == 404
    for name, data in (
        ("x.html", b"<!doctype html><script>alert(1)</script>"),
        ("x.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("x.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
    ):
        bad = ham.post(up, files={"file": (name, data, "image/png")})
        assert bad.status_code == 415, (name, bad.text)
    assert oth.post(up, files={"file": ("a.txt", b"hello", "text/plain")}).status_code == 404
    with config(db, upload_max_bytes=1000):
        assert ham.post(up, files={"file": ("big.txt", b"a" * 5000, "text/plain")}).status_code == 413
    # someone else's attachment can't be sent by another member
    assert oph.post(f"{P}/conversations/{g}/messages", json={"attachment_id": att["id"]}).status_code == 404


def test_group_lifecycle_over_http(client, db, org: Org) -> None:
    ham, oph = user_client(client.app, "hamlet"), user_client(client.app, "ophelia")
    r = ham.post(f"{P}/conversations", json={"name": "专项工作组", "member_ids": [org.users["ophelia"]]})
    assert r.status_code == 201
    g = r.json()["id"]
    assert {m["name"] for m in r.json()["members"]} == {"张伟", "李娜"}
    assert ham.post(f"{P}/conversations/{g}/members", json={"user_ids": [org.users["horatio"]]}).json()["added"] == [
        org.users["horatio"]
    ]
    assert oph.put(f"{P}/conversations/{g}", json={"name": "x"}).status_code == 403
    assert ham.put(f"{P}/conversations/{g}", json={"announcement": "周五交材料"}).json()["announcement"] == "周五交材料"
    ac = oph.get(f"{P}/conversations/{g}/members", params={"q": "liu"}).json()["items"]
    assert [m["name"] for m in ac] == ["刘洋"]
    assert ham.delete(f"{P}/conversations/{g}/members/{org.users['horatio']}").status_code == 204
    d = oph.post(f"{P}/direct", json={"user_id": org.users["hamlet"]}).json()
    assert d["kind"] == "direct" and d["name"] == "张伟"
    assert ham.post(f"{P}/direct", json={"user_id": org.users["ophelia"]}).json()["id"] == d["id"]
    assert oph.post(f"{P}/conversations/{g}/leave").status_code == 204
    assert oph.get(f"{P}/conversations/{g}").status_code == 404


def test_every_messaging_route_declares_a_policy_action(client) -> None:
    from messaging.routes import routes

    for route in routes:
        assert getattr(route.endpoint, "__policy__", None) not in (None, "public"), route.path
