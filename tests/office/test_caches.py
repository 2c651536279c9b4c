"""Per-process caches (actors, role policy, the directory index, the event-loop fast path) never
outlive a change. A second app over the same database stands in for another worker process: what
one process commits must hold in the other on the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from office import actor_cache, hotpath, session_touch
from office.app import create_app
from office.config import Settings
from office.models import AuthSession
from tests.conftest import PG_URL
from tests.factories import Org, login, new_client


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests search across agencies to follow people through the caches; who sees whom across
    agencies by default is tests/office/test_directory_visibility.py (its parity test too)."""
    return replace(settings, directory_across_agencies=True)


@pytest.fixture
def other(settings: Settings, org: Org) -> Iterator[TestClient]:
    """Another process: its own app, database engine and caches over the same database."""
    with TestClient(create_app(settings), base_url="http://testserver") as c:
        yield c


def _names(client: TestClient, q: str, **params: Any) -> list[str]:
    r = client.get("/api/directory/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [p["name"] for p in r.json()["items"]]


def _warm(client: TestClient) -> None:
    """Two searches: the first fills the caches, the second is answered from them."""
    before = hotpath.hits
    assert _names(client, "zhangwei")[0] == "张伟"
    assert _names(client, "zw")[0] == "张伟"
    if not PG_URL:  # PostgreSQL always takes the threadpool path
        assert hotpath.hits > before


def test_fast_answers_carry_the_same_security_headers(client: TestClient, org: Org) -> None:
    login(client, "ophelia")
    _warm(client)
    fast = client.get("/api/directory/search", params={"q": "zw"})
    normal = client.get("/api/me")
    wanted = (
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
    )
    assert {h: fast.headers.get(h) for h in wanted} == {h: normal.headers.get(h) for h in wanted}
    assert all(normal.headers.get(h) for h in wanted[:3])


def test_cached_search_matches_the_database_path(client: TestClient, org: Org) -> None:
    login(client, "ophelia")
    _warm(client)
    with org.db.read() as s:
        from office.directory import lookup

        for q in ("zhangwei", "zw", "伟", "wei", "处长", "办公室", "ke", "z"):
            expected = [p["name"] for p in lookup.search(s, org.actor("ophelia"), q)]
            assert _names(client, q) == expected, q
    r = client.get("/api/directory/search", params={"q": "z", "department_id": org.depts["B1"]})
    assert r.status_code == 200 and [p["name"] for p in r.json()["items"]] == ["郑军"]
    assert client.get("/api/directory/search", params={"q": "ke", "limit": "0"}).status_code == 422
    assert client.get("/api/directory/search", params={"q": "x" * 51}).json()["error"] == "query_too_long"
    for query in ("q=z%00", "q=z&x=%00", "q=%00z"):  # (a raw NUL: the HTTP client refuses to send it)
        assert client.get(f"/api/directory/search?{query}").json()["error"] == "nul_character", query


def test_revoked_session_is_refused_on_the_next_request(
    client: TestClient, other: TestClient, org: Org, app: Any
) -> None:
    login(client, "hamlet")
    _warm(client)
    login(other, "hamlet")
    mine = [s for s in other.get("/api/me/sessions").json()["items"] if not s["current"]]
    assert len(mine) == 1
    assert other.delete(f"/api/me/sessions/{mine[0]['id']}").status_code == 200  # in the other process
    assert client.get("/api/directory/search?q=zw").status_code == 401

    # Logging out here, then replaying the old cookie.
    login(client, "hamlet")
    _warm(client)
    cookie = client.cookies.get("tb_session")
    assert client.post("/api/auth/logout").status_code == 200
    replay = new_client(app)
    replay.cookies.set("tb_session", cookie or "")
    assert replay.get("/api/directory/search?q=zw").status_code == 401


def test_disabled_account_is_refused_and_hidden_at_once(
    client: TestClient, other: TestClient, org: Org, app: Any
) -> None:
    login(client, "hamlet")
    _warm(client)
    watcher = new_client(app)
    login(watcher, "ophelia")
    _warm(watcher)
    login(other, "prospero")
    assert other.post(f"/api/admin/users/{org.users['hamlet']}/disable").status_code == 200
    assert client.get("/api/directory/search?q=zw").status_code == 401
    assert "张伟" not in _names(watcher, "zhangwei")
    assert other.post(f"/api/admin/users/{org.users['hamlet']}/enable").status_code == 200
    assert _names(watcher, "zhangwei")[0] == "张伟"


def test_role_change_in_another_process_applies_on_the_next_request(
    client: TestClient, other: TestClient, org: Org
) -> None:
    login(client, "hamlet")
    _warm(client)
    assert client.get("/api/admin/users").status_code == 403
    login(other, "prospero")
    uid = org.users["hamlet"]
    assert other.put(f"/api/admin/users/{uid}/roles", json={"roles": ["staff", "admin"]}).status_code == 200
    assert client.get("/api/admin/users").status_code == 200
    assert "admin" in client.get("/api/me").json()["roles"]
    assert other.put(f"/api/admin/users/{uid}/roles", json={"roles": ["staff"]}).status_code == 200
    assert client.get("/api/admin/users").status_code == 403
    _warm(client)


def test_two_factor_policy_from_another_process_applies_on_the_next_request(
    client: TestClient, other: TestClient, org: Org
) -> None:
    login(client, "claudius")
    _warm(client)
    login(other, "prospero")
    assert other.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True}).status_code == 200
    r = client.get("/api/directory/search?q=zw")
    assert r.status_code == 403 and r.json()["error"] == "2fa_setup_required"


def test_directory_edits_in_another_process_show_on_the_next_search(
    client: TestClient, other: TestClient, org: Org
) -> None:
    login(client, "ophelia")
    _warm(client)
    assert _names(client, "zwg") == []
    login(other, "prospero")
    r = other.post(
        "/api/admin/users",
        json={
            "username": "zhangweiguo",
            "name": "张卫国",
            "password": "long-enough-password-1",
            "posts": [{"department_id": org.depts["A2"], "title": "科员"}],
        },
    )
    assert r.status_code == 201
    uid = r.json()["id"]
    assert _names(client, "zwg") == ["张卫国"]
    assert other.patch(f"/api/admin/users/{uid}", json={"name": "张建国"}).status_code == 200
    assert _names(client, "zwg") == [] and _names(client, "zjg") == ["张建国"]
    assert (
        other.put(
            f"/api/admin/users/{uid}/posts", json={"posts": [{"department_id": org.depts["B1"], "title": "主任科员"}]}
        ).status_code
        == 200
    )
    found = client.get("/api/directory/search", params={"q": "zjg", "department_id": org.depts["B1"]}).json()
    assert [(p["name"], p["department"], p["title"]) for p in found["items"]] == [("张建国", "办公室", "主任科员")]
    assert other.patch(f"/api/admin/departments/{org.depts['B1']}", json={"name": "综合办公室"}).status_code == 200
    assert client.get("/api/directory/search", params={"q": "zjg"}).json()["items"][0]["department"] == "综合办公室"
    assert "张建国" in _names(client, "综合办公室")


def test_a_process_behind_a_pruned_change_log_starts_over(client: TestClient, other: TestClient, org: Org) -> None:
    login(client, "hamlet")
    _warm(client)
    login(other, "prospero")
    uid = org.users["hamlet"]
    assert other.put(f"/api/admin/users/{uid}/roles", json={"roles": ["staff", "admin"]}).status_code == 200
    other.put(f"/api/admin/users/{org.users['othello']}/roles", json={"roles": ["staff"]})
    actor_cache.prune(org.db, keep=timedelta(0))  # only the newest row is left
    assert client.get("/api/admin/users").status_code == 200
    _warm(client)


def test_idle_timer_is_refreshed_at_most_once_a_minute(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    _warm(client)

    def set_last_seen(ago: timedelta) -> Any:
        with org.db.write() as s:
            row = s.exec(select(AuthSession).where(AuthSession.revoked_at == None)).one()  # noqa: E711
            row.last_seen_at = row.created_at - ago
            s.add(row)
            return row.last_seen_at

    stale = set_last_seen(timedelta(minutes=5))
    before = hotpath.hits
    assert client.get("/api/directory/search?q=zw").status_code == 200
    if not PG_URL:  # due its refresh, it is still answered on the fast path, which notes the refresh
        assert hotpath.hits == before + 1
    session_touch.of(org.db).flush()  # a read's refresh is written after its answer, in the background
    with org.db.read() as s:
        assert s.exec(select(AuthSession.last_seen_at).where(AuthSession.revoked_at == None)).one() > stale  # noqa: E711
    recent = set_last_seen(timedelta(seconds=-10))  # seen moments ago: no write for this read
    assert client.get("/api/directory/search?q=zw").status_code == 200
    with org.db.read() as s:
        assert s.exec(select(AuthSession.last_seen_at).where(AuthSession.revoked_at == None)).one() == recent  # noqa: E711


def test_a_slow_reader_cannot_put_back_what_a_change_replaced(org: Org) -> None:
    from office.accounts import load_actor
    from office.actor import SYSTEM
    from office.directory import service
    from office.models import Role

    uid = org.users["hamlet"]
    with org.db.read() as slow:
        actor_cache.ensure_seen(slow)  # its snapshot is taken here, before the change
        with org.db.write() as w:
            service.set_roles(w, SYSTEM, uid, {Role.staff, Role.clerk})
        actor_cache.sync(org.db)
        load_actor(slow, uid)  # may read the old roles; must not cache them
    with org.db.read() as s:
        assert Role.clerk in load_actor(s, uid).roles
    with org.db.read() as s:
        assert Role.clerk in load_actor(s, uid).roles  # now from the cache


def test_index_reloads_people_in_place_and_rebuilds_after_many(client: TestClient, org: Org) -> None:
    from office.actor import SYSTEM
    from office.directory import index as directory_index
    from office.directory import service

    login(client, "ophelia")
    _warm(client)
    index = directory_index.current(org.db)
    assert index is not None
    uid = org.users["othello"]
    for n in range(5):  # each rename leaves the old keys behind, stale
        with org.db.write() as w:
            service.update_user(w, SYSTEM, uid, name=f"郑{'一二三四五'[n]}")
        assert _names(client, f"郑{'一二三四五'[n]}") == [f"郑{'一二三四五'[n]}"]
        assert _names(client, "郑军") == []
    assert directory_index.current(org.db) is index and index.reloaded == 5
    index.reloaded = 10_000  # as if thousands had changed: the next change rebuilds instead
    with org.db.write() as w:
        service.update_user(w, SYSTEM, uid, name="郑军")
    assert _names(client, "郑军") == ["郑军"]
    assert directory_index.current(org.db) is not index


def test_an_answer_computed_while_the_index_reloads_is_never_served_again(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remembered search answers belong to one generation of the index: one that was being computed
    when a reload swapped people in is dropped, whatever it saw."""
    from office.directory.index import DirectoryIndex

    with org.db.read() as s:
        index = DirectoryIndex.load(s)
    real, searched = index.search, []

    def search_during_a_reload(q: str, **kw: Any) -> list[int]:
        found = real(q, **kw)
        searched.append(q)
        if len(searched) == 1:
            with org.db.read() as s:
                assert index.reload(s, {org.users["hamlet"]}, index.seq)
        return found

    monkeypatch.setattr(index, "search", search_during_a_reload)
    first = index.answer("zw", department_id=None, limit=20)
    assert index.answer("zw", department_id=None, limit=20) == first and searched == ["zw", "zw"]
    assert index.answer("zw", department_id=None, limit=20) == first and searched == ["zw", "zw"]  # remembered
    index.answer("zw", department_id=None, limit=5)
    assert len(searched) == 3  # another limit is another answer


def test_fast_path_admits_exactly_the_sessions_the_normal_path_admits(client: TestClient, org: Org, app: Any) -> None:
    """One rule decides whether a session may act (``accounts.session_admits``, ``must_enrol_2fa``):
    each state below is set behind the caches' back (Core statements record no change), so only
    the rule itself can refuse it, on the fast path (the search) as on the normal one (``/api/me``)."""
    from sqlalchemy import update

    from office.db import utcnow
    from office.models import User

    def session_of(c: TestClient) -> int:
        return next(s["id"] for s in c.get("/api/me/sessions").json()["items"] if s["current"])

    def set_session(sid: int, **values: Any) -> None:
        with org.db.write() as s:
            s.execute(update(AuthSession).where(col(AuthSession.id) == sid).values(**values))

    def set_active(username: str, active: bool) -> None:
        with org.db.write() as s:
            s.execute(update(User).where(col(User.id) == org.users[username]).values(is_active=active))

    now = utcnow()
    states: dict[str, Any] = {
        "pending": lambda sid: set_session(sid, mfa_pending=True),
        "revoked": lambda sid: set_session(sid, revoked_at=now),
        "expired": lambda sid: set_session(sid, expires_at=now - timedelta(seconds=1)),
        "idle": lambda sid: set_session(sid, last_seen_at=now - timedelta(minutes=31)),
        "disabled": lambda sid: set_active("hamlet", False),
    }
    for state, apply in states.items():
        c = new_client(app)
        login(c, "hamlet")
        _warm(c)
        apply(session_of(c))
        before = hotpath.hits
        normal = c.get("/api/me")
        fast = c.get("/api/directory/search?q=zw")
        assert (state, fast.status_code, _body(fast)) == (state, normal.status_code, _body(normal))
        assert normal.status_code == 401 and hotpath.hits == before, state
        set_active("hamlet", True)

    # Two-step verification required of the role and not set up: only enrolment is allowed, on both paths.
    login(client, "claudius")
    _warm(client)
    admin = new_client(app)
    login(admin, "prospero")
    assert admin.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True}).status_code == 200
    for _ in range(2):  # the first request syncs the caches; the second could be answered from them
        before = hotpath.hits
        normal, fast = client.get("/api/me/sessions"), client.get("/api/directory/search?q=zw")
        assert fast.status_code == normal.status_code == 403 and _body(fast) == _body(normal)
        assert fast.json()["error"] == "2fa_setup_required" and hotpath.hits == before


def _body(r: Any) -> dict[str, Any]:
    """An answer's JSON without its request id (each request has its own: office.logs)."""
    return {k: v for k, v in r.json().items() if k != "request_id"}
