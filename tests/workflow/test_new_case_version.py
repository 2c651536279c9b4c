"""A case made and submitted in one transaction (a 办事 request is created and submitted at once) moves
its version in the UPDATE that writes the submission, without a compare-and-set: nobody else can have
read a row this transaction inserted. A case made in an earlier transaction is still compare-and-set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from office import events
from tests.factories import Org
from workflow import engine
from workflow.models import WfCase
from workflow.moves import is_new

from .test_engine import KIND  # registers the made-up case kind

CAS = "UPDATE wf_case SET version="  # the compare-and-set's statement (``versioning.bump``)
# Its guard on the version read, in either driver's parameter style (SQLite ``?``, psycopg ``%(name)s``).
GUARD = re.compile(r"wf_case\.version = (\?|%\()")


@pytest.fixture(autouse=True)
def _made_up_kind_events() -> Iterator[None]:
    with events.unchecked():
        yield


def _route(org: Org) -> list[dict[str, Any]]:
    return [{"key": "s1", "name": "审核", "actor": {"kind": "user", "user_ids": [org.users["hamlet"]]}}]


def _create(s: Session, org: Org) -> WfCase:
    return engine.create_case(
        s, org.actor("horatio"), kind=KIND, subject_id=9, agency_id=org.agencies["A"], route=_route(org)
    )


def _statements(s: Session, sent: list[str]) -> None:
    def keep(_c: object, _cur: object, statement: str, *_rest: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(s.connection(), "before_cursor_execute", keep)


def test_a_case_made_and_submitted_at_once_moves_its_version_without_compare_and_set(org: Org) -> None:
    sent: list[str] = []
    with org.db.write() as s:
        _statements(s, sent)
        case = _create(s, org)
        engine.submit(s, org.actor("horatio"), case)
        case_id, version = case.id, case.version
    assert not [q for q in sent if q.startswith(CAS) and GUARD.search(q)], sent
    with org.db.read() as s:
        stored = s.get(WfCase, case_id)
        assert stored is not None and stored.version == version == 2  # made at 1, moved on by the submission


def test_a_case_made_earlier_is_compare_and_set(org: Org) -> None:
    with org.db.write() as s:
        case_id = _create(s, org).id or 0
    sent: list[str] = []
    with org.db.write() as s:
        _statements(s, sent)
        assert engine.submit(s, org.actor("horatio"), engine.get_case(s, case_id)).case.version == 2
    assert [q for q in sent if q.startswith(CAS) and GUARD.search(q)], sent


def test_the_mark_ends_with_its_transaction(org: Org) -> None:
    """A session that commits and goes on: the case it made before the commit is no longer new."""
    with Session(org.db.engine, expire_on_commit=False) as s:
        case = _create(s, org)
        assert is_new(s, case)
        s.commit()
        assert not is_new(s, case)
        s.rollback()
