"""工作台: the 待办 registry (office/todo.py) and its HTTP API.

The domains' sources are tested in their own folders (tests/docs_flow/test_todo.py,
tests/meetings/test_todo.py, tests/messaging/test_todo.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from office.actor import Actor
from office.errors import ValidationError
from office.todo import PER_SOURCE, Registry, TodoItem
from tests.factories import Org, login

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@dataclass
class Listed:
    """A source that hands over the items it was given for one user: the registry's part is tested on
    its own (merging, order, paging, counts), as the domains' sources are in their folders."""

    kind: str
    owner: int
    given: list[TodoItem] = field(default_factory=list)
    label: str = "测试"
    section: str = "docs"
    events: tuple[str, ...] = ("test.changed",)

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        return len(self.given) if actor.user_id == self.owner else 0

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if actor.user_id != self.owner or box != "todo":
            return []
        return sorted(self.given, key=lambda i: i.since, reverse=True)[:limit]


def item(kind: str, key: str, *, hours_ago: float, due_in: float | None = None, urgent: bool = False) -> TodoItem:
    return TodoItem(
        kind=kind,
        key=key,
        title=f"事项{key}",
        link=f"#/docs/{key}",
        since=NOW - timedelta(hours=hours_ago),
        deadline=NOW + timedelta(hours=due_in) if due_in is not None else None,
        urgent=urgent,
    )


def test_registry_refuses_a_kind_twice_but_not_the_same_source_again() -> None:
    reg = Registry()
    a = Listed("a", 1)
    reg.register(a)
    reg.register(a)  # a second app start registers the same objects: fine
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.register(Listed("a", 2))
    assert [s.kind for s in reg.sources()] == ["a"]
    with pytest.raises(ValidationError):
        reg.sources("b")


def test_overdue_then_urgent_then_the_rest_newest_first_paged_with_counts(org: Org) -> None:
    hamlet = org.actor("hamlet")
    docs = Listed(
        "docs",
        hamlet.user_id,
        [
            item("docs", "1", hours_ago=1, due_in=20),  # newest, due tomorrow: not urgent yet
            item("docs", "2", hours_ago=30, due_in=-2),  # overdue
            item("docs", "3", hours_ago=5, due_in=3),  # due within four hours
        ],
    )
    meet = Listed("meet", hamlet.user_id, [item("meet", "4", hours_ago=2, urgent=True), item("meet", "5", hours_ago=3)])
    reg = Registry()
    reg.register(docs, meet)
    with org.db.read() as s:
        first = reg.page(s, hamlet, limit=3, now=NOW)
        second = reg.page(s, hamlet, offset=3, limit=3, now=NOW)
        only_meet = reg.page(s, hamlet, kind="meet", now=NOW)
        other = reg.page(s, org.actor("ophelia"), now=NOW)
        with pytest.raises(ValidationError):
            reg.page(s, hamlet, box="everything", now=NOW)
    assert [i["key"] for i in first["items"]] == ["docs:2", "meet:4", "docs:3"]
    assert [i["level"] for i in first["items"]] == ["overdue", "urgent", "urgent"]
    assert [i["key"] for i in second["items"]] == ["docs:1", "meet:5"]
    assert first["total"] == 5 and {k["kind"]: k["count"] for k in first["kinds"]} == {"docs": 2 + 1, "meet": 2}
    assert first["kinds"][0]["events"] == ["test.changed"] and first["kinds"][0]["section"] == "docs"
    assert only_meet["total"] == 2 and [i["key"] for i in only_meet["items"]] == ["meet:4", "meet:5"]
    assert other["total"] == 0 and other["items"] == []  # a source answers for the acting user only


def test_a_long_list_is_counted_exactly_and_shows_its_newest(org: Org) -> None:
    hamlet = org.actor("hamlet")
    many = PER_SOURCE + 5
    reg = Registry()
    reg.register(Listed("docs", hamlet.user_id, [item("docs", str(k), hours_ago=k) for k in range(many)]))
    with org.db.read() as s:
        first = reg.page(s, hamlet, limit=100, now=NOW)
        past_the_end = reg.page(s, hamlet, offset=PER_SOURCE, limit=100, now=NOW)
        summary = reg.summary(s, hamlet, now=NOW)
    assert first["total"] == many and first["kinds"][0]["count"] == many and summary["total"] == many
    assert first["items"][0]["key"] == "docs:0" and past_the_end["items"] == []


def test_summary_names_the_newest_items_that_have_begun(org: Org) -> None:
    hamlet = org.actor("hamlet")
    later = TodoItem(kind="docs", key="9", title="下午的会", link="#/meetings/9", since=NOW + timedelta(hours=3))
    reg = Registry()
    reg.register(Listed("docs", hamlet.user_id, [item("docs", str(k), hours_ago=k) for k in range(1, 8)] + [later]))
    with org.db.read() as s:
        summary = reg.summary(s, hamlet, now=NOW)
    assert summary["total"] == 8
    # The newest five that are a 待办 already (the meeting whose 签到 opens later is not new yet).
    assert [i["key"] for i in summary["recent"]] == ["docs:1", "docs:2", "docs:3", "docs:4"]


def test_http_lists_every_domains_sources_and_refuses_bad_queries(client: TestClient, org: Org) -> None:
    assert client.get("/api/todo").status_code == 401
    login(client, "hamlet")
    body = client.get("/api/todo").json()
    assert [k["kind"] for k in body["kinds"]] == [
        "docs",
        "incoming",
        "supervision",
        "docs_joint_seal",
        "meeting_invites",
        "meeting_signin",
        "banshi",
        "tianbao",
        "ding",
    ]
    assert body["total"] == 0 and body["items"] == [] and body["box"] == "todo"
    summary = client.get("/api/todo/summary").json()
    assert summary["total"] == 0 and summary["recent"] == []
    for query, code in (
        ("box=all", "bad_query"),
        ("kind=nothing", "bad_kind"),
        ("limit=0", "bad_query"),
        ("limit=101", "bad_query"),
        ("offset=-1", "bad_query"),
    ):
        r = client.get(f"/api/todo?{query}")
        assert r.status_code == 422 and r.json()["error"] == code, (query, r.text)
        assert r.json()["message"]  # in Chinese, for the person
    for box in ("done", "mine"):
        assert client.get(f"/api/todo?box={box}").json()["items"] == []
