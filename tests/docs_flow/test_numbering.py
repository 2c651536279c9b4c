"""发文字号: gapless and unique under concurrency (threads, and a real server), reserve and void."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from docs_flow import numbering
from docs_flow.models import DocNumber, NumberState
from office.errors import InvalidTransition, PermissionDenied, ValidationError
from office.models import AuditEntry
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org, login


def seqs(org: Org, code: str = "粤府办", year: int = 2026) -> list[int]:
    with org.db.read() as s:
        return sorted(s.exec(select(DocNumber.seq).where(DocNumber.code == code, DocNumber.year == year)).all())


def test_many_threads_allocating_at_once_get_a_gapless_unique_sequence(org: Org) -> None:
    clerk = org.actor("gertrude")
    threads, each = 16, 25
    barrier = threading.Barrier(threads)

    def worker() -> list[str]:
        barrier.wait()
        got = []
        for _ in range(each):
            with org.db.write() as s:
                got.append(numbering.allocate(s, clerk, agency_id=org.agencies["A"], code="粤府办", year=2026).text)
        return got

    with ThreadPoolExecutor(threads) as pool:
        results = [n for f in [pool.submit(worker) for _ in range(threads)] for n in f.result()]
    assert len(results) == len(set(results)) == threads * each
    assert seqs(org) == list(range(1, threads * each + 1))
    assert "粤府办〔2026〕400号" in results and "粤府办〔2026〕1号" in results


def test_sequences_are_per_agency_code_and_year(org: Org) -> None:
    with org.db.write() as s:
        a = numbering.allocate(s, org.actor("gertrude"), agency_id=org.agencies["A"], code="粤府办", year=2026)
        b = numbering.allocate(s, org.actor("gertrude"), agency_id=org.agencies["A"], code="粤府办", year=2027)
        with pytest.raises(ValidationError, match="不属于本机关"):
            numbering.allocate(s, org.actor("gertrude"), agency_id=org.agencies["A"], code="粤财", year=2026)
    assert (a.seq, b.seq) == (1, 1)


def test_reserve_and_void_with_reason_are_logged_and_never_reused(org: Org) -> None:
    clerk = org.actor("gertrude")
    with org.db.write() as s:
        with pytest.raises(PermissionDenied):
            numbering.check_reserve(s, org.actor("hamlet"), code="粤府办", year=2026, reason="x")
        r1 = numbering.check_reserve(s, clerk, code="粤府办", year=2026, reason="为省领导讲话预留")
        r2 = numbering.check_reserve(s, clerk, code="粤府办", year=2026, reason="备用")
        ids = (r1.id or 0, r2.id or 0)
    with org.db.write() as s:
        with pytest.raises(ValidationError):
            numbering.check_void(s, clerk, ids[1], reason="  ")
        numbering.check_void(s, clerk, ids[1], reason="计划取消")
    with org.db.write() as s:
        with pytest.raises(InvalidTransition):
            numbering.check_void(s, clerk, ids[1], reason="再次作废")
        nxt = numbering.allocate(s, clerk, agency_id=org.agencies["A"], code="粤府办", year=2026)
    assert nxt.seq == 3  # the void number 2 is not handed out again
    with org.db.read() as s:
        void = s.get(DocNumber, ids[1])
        assert void is not None and void.state == NumberState.void and void.void_reason == "计划取消"
        logged = s.exec(select(AuditEntry).where(AuditEntry.action == "docs.number.void")).one()
        assert logged.detail["reason"] == "计划取消" and logged.detail["number"] == "粤府办〔2026〕2号"


def test_numbers_http_reserve_list_void(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    assert client.post("/api/docs/numbers", json={"code": "粤府办", "reason": "x"}).status_code == 403
    login(client, "gertrude")
    r = client.post("/api/docs/numbers", json={"code": "粤府办", "year": 2026, "reason": "预留"})
    assert r.status_code == 201 and r.json()["text"] == "粤府办〔2026〕1号"
    nid = r.json()["id"]
    r = client.post(f"/api/docs/numbers/{nid}/void", json={"reason": ""})
    assert r.status_code == 422 and r.json()["error"] == "invalid_field"
    r = client.post(f"/api/docs/numbers/{nid}/void", json={"reason": "重复"})
    assert r.status_code == 200 and r.json()["state"] == "void"
    items = client.get("/api/docs/numbers?year=2026").json()["items"]
    assert [(i["seq"], i["state"]) for i in items] == [(1, "void")]


def test_concurrent_reservations_on_a_real_server(live: LiveServer, live_org: Org) -> None:
    """Numbers handed out by a running server to many clients at once: no gap, no duplicate."""
    clients = []
    for _ in range(8):
        c = httpx.Client(base_url=live.url, timeout=30)
        r = c.post("/api/auth/login", json={"username": "gertrude", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        clients.append(c)

    def worker(c: httpx.Client) -> list[str]:
        out = []
        for i in range(15):
            r = c.post("/api/docs/numbers", json={"code": "粤府办", "year": 2026, "reason": f"压测{i}"})
            assert r.status_code == 201, r.text
            out.append(r.json()["text"])
        return out

    with ThreadPoolExecutor(len(clients)) as pool:
        texts = [t for f in [pool.submit(worker, c) for c in clients] for t in f.result()]
    for c in clients:
        c.close()
    assert len(set(texts)) == len(texts) == 120
    assert seqs(live_org) == list(range(1, 121))
