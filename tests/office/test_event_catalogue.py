"""The event catalogue: every event type declared once (``<package>/event_types.py``), every payload
published under the tests checked against its declaration, and ``docs/events.md`` generated from the
declarations (``python -m office.events_doc > docs/events.md``)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from office import events, events_doc
from office.app import DOMAIN_PACKAGES
from office.db import Database
from tests.factories import Org

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("office", *DOMAIN_PACKAGES)


def test_published_payloads_must_match_their_declaration(db: Database, org: Org) -> None:
    uid = org.users["hamlet"]
    good = {"user_id": uid}
    refused = [
        ("directory.post_changed", good),  # not declared
        ("directory.posts_changed", {}),  # a field missing
        ("directory.posts_changed", {**good, "name": "张伟"}),  # a field not declared
        ("directory.posts_changed", {"user_id": str(uid)}),  # the wrong type (no coercion)
        ("esign.seal", {"op": "used", "seal_id": 1, "use_id": True}),  # a bool is not an int
    ]
    for type_, payload in refused:
        with pytest.raises(events.EventTypeError), db.write() as s:
            events.publish_on_commit(s, type_, payload, user_ids=[uid])
        with pytest.raises(events.EventTypeError), db.write() as s:
            events.publish_many_on_commit(s, [(type_, payload, [uid])])
    with db.write() as s:  # optional fields may be absent
        events.publish_on_commit(s, "directory.posts_changed", good, user_ids=[uid])
        events.publish_on_commit(s, "esign.seal", {"op": "created", "seal_id": 1}, user_ids=[uid])
        events.publish_many_on_commit(s, [("directory.posts_changed", good, [uid])])
    with events.unchecked(), db.write() as s:  # production: no check, one boolean test per publish
        events.publish_on_commit(s, "directory.post_changed", {"anything": 1}, user_ids=[uid])


def test_declarations_are_frozen_documented_and_named_once() -> None:
    events_doc.load_event_types()
    catalogue = events.catalogue()
    assert "meeting.task_completed" in catalogue  # subscribed to by docs_flow, so declared
    for name, cls in catalogue.items():
        assert cls.type == name and cls.__doc__ and cls.recipients, name  # type: ignore[attr-defined]
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
        assert cls.__module__.split(".")[-1] == "event_types", f"{name} is declared outside an event_types.py"

    @dataclasses.dataclass(frozen=True)
    class Impostor:
        """Another declaration of a type already declared."""

        type = "chat.message"
        recipients = "members"

    with pytest.raises(RuntimeError, match="declared twice"):
        events.declare(Impostor)
    assert events.catalogue()["chat.message"] is not Impostor


def _published_literals() -> dict[str, str]:
    """Event types published with a literal name anywhere in the packages -> where."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "publish_on_commit":
                    arg = node.args[1] if len(node.args) > 1 else None
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found[arg.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_type_published_by_name_is_declared() -> None:
    events_doc.load_event_types()
    published = _published_literals()
    assert "chat.edit" in published and "notify.meeting" in published  # the scan sees the call sites
    undeclared = {t: where for t, where in published.items() if t not in events.catalogue()}
    assert not undeclared


def test_todo_sources_listen_to_declared_events(client: Any) -> None:
    # The 工作台 client refreshes a kind of 待办 on the events its source names (``type`` or
    # ``type?member.path``): a type not declared, or a member not in its payload, would never come,
    # and the list would go stale.
    named = {(s.kind, e) for s in client.app.state.todo.sources() for e in s.events}
    catalogue = events.catalogue()

    def known(entry: str) -> bool:
        name, _, path = entry.partition("?")
        cls = catalogue.get(name)
        return cls is not None and (not path or path.split(".")[0] in {f.name for f in dataclasses.fields(cls)})

    assert named and not {(kind, e) for kind, e in named if not known(e)}


def test_events_page_lists_every_type_with_its_payload() -> None:
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert page == events_doc.render(), "docs/events.md is stale: python -m office.events_doc > docs/events.md"
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")}
    for name, cls in events.catalogue().items():
        row = rows[f"`{name}`"]
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            assert f"`{field.name}`" in row, f"{name}.{field.name} missing from docs/events.md"
