"""``/metrics``: the Prometheus text format (parsed with the client's own parser), counted per route
template, and readable from loopback, the configured addresses or with the bearer token only."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from office.app import create_app
from office.config import Settings
from tests.conftest import PG_URL, Migrated
from tests.factories import Org, login, new_client
from tests.messaging.helpers import group

TOKEN = "scrape-token-0123456789abcdef"


def scrape(app: Any, address: str = "127.0.0.1", **headers: str) -> Any:
    # Not as a context manager: that would run the app's lifespan a second time.
    return TestClient(app, base_url="http://testserver", client=(address, 40000)).get("/metrics", headers=headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_scrape_parses_and_counts_by_route_template(client: TestClient, org: Org) -> None:
    app = client.app
    before = samples(scrape(app).text)
    hamlet = new_client(app)
    login(hamlet, "hamlet")
    bad = new_client(app)
    assert bad.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-password"}).status_code == 401
    cid = group(org, "hamlet", "指标测试群", ["hamlet", "ophelia"])
    for text in ("第一条", "第二条"):
        r = hamlet.post(f"/api/messages/conversations/{cid}/messages", json={"text": text})
        assert r.status_code in (200, 201), r.text
    assert hamlet.get("/api/me/sessions/999999").status_code == 405  # a template with a parameter, refused

    r = scrape(app)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = samples(r.text)
    names = {name for name, _ in after}
    for wanted in (
        "office_http_requests_total",
        "office_http_request_seconds_bucket",
        "office_ws_open",
        "office_events_published_total",
        "office_events_delivered_total",
        "office_hub_queue_depth_max",
        "office_group_commit_batch_size_bucket",
        "office_group_commit_seconds_bucket",
        "office_sqlite_wal_bytes",
        "office_sqlite_checkpoints_total",
        "office_db_pool_checked_out",
        "office_login_failures_total",
    ):
        if PG_URL and wanted.startswith("office_sqlite_"):
            continue  # the embedded database's own figures: not there on PostgreSQL
        assert wanted in names, wanted
    template = "/api/messages/conversations/{cid:int}/messages"
    sent = value(after, "office_http_requests_total", method="POST", route=template, status="200")
    sent += value(after, "office_http_requests_total", method="POST", route=template, status="201")
    was = value(before, "office_http_requests_total", method="POST", route=template, status="200")
    was += value(before, "office_http_requests_total", method="POST", route=template, status="201")
    assert sent - was == 2
    assert not any(f"/conversations/{cid}/" in dict(labels).get("route", "") for _, labels in after)  # no raw paths
    route = "/api/me/sessions/{session_id:int}"
    assert value(after, "office_http_requests_total", method="GET", route=route, status="405") >= 1
    assert value(after, "office_http_request_seconds_count", route=template) >= 2
    assert value(after, "office_messages_sent_total") - value(before, "office_messages_sent_total") >= 2
    fails = value(after, "office_login_failures_total", kind="password")
    assert fails - value(before, "office_login_failures_total", kind="password") == 1


def test_a_refused_login_counts_one_lockout(client: TestClient, org: Org) -> None:
    """The login checks the lockout twice (before hashing, then inside the transaction): one refused
    attempt is one lockout on the counter, not two."""
    app = client.app
    bad = new_client(app)
    for _ in range(5):  # login_max_failures_account
        bad.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-password"})
    before = value(samples(scrape(app).text), "office_login_lockouts_total", scope="account")
    refused = bad.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-password"})
    assert refused.status_code == 423, refused.text
    after = value(samples(scrape(app).text), "office_login_lockouts_total", scope="account")
    assert after - before == 1


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    yield dataclasses.replace(settings, metrics_allow=("10.1.0.0/16",), metrics_token=TOKEN)


def test_who_may_read(app: Any, migrated: Migrated) -> None:
    assert scrape(app, "127.0.0.1").status_code == 200
    assert scrape(app, "::1").status_code == 200
    assert scrape(app, "10.1.2.3").status_code == 200  # in OFFICE_METRICS_ALLOW
    r = scrape(app, "10.9.9.9")
    assert r.status_code == 403 and r.json()["error"] == "forbidden" and "office_" not in r.text
    assert scrape(app, "10.9.9.9", authorization=f"Bearer {TOKEN}").status_code == 200
    assert scrape(app, "10.9.9.9", authorization=f"Bearer {TOKEN[:-1]}x").status_code == 403
    assert scrape(app, "10.9.9.9", authorization=TOKEN).status_code == 403  # not as a bearer token


def test_nothing_configured_is_loopback_only(tmp_path: Any, settings: Settings, migrated: Migrated) -> None:
    plain = dataclasses.replace(settings, metrics_allow=(), metrics_token="")
    migrated.lay_down(plain)
    app = create_app(plain)
    assert scrape(app, "127.0.0.1").status_code == 200
    assert scrape(app, "10.1.2.3").status_code == 403
    assert scrape(app, "10.1.2.3", authorization="Bearer ").status_code == 403  # no token set: none matches
    assert scrape(app, "testclient").status_code == 403  # not an address at all
