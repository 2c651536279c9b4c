"""The audit log is hash-chained, append-only, and its verifier names the first bad entry."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from office import audit
from office.actor import SYSTEM
from office.db import Database
from office.models import AuditEntry
from tests.factories import Org


def _drop_guards(db: Database) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
            conn.execute(text("DROP TRIGGER audit_entry_no_early_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_guard ON audit_entry"))


def _verify(db: Database) -> audit.ChainReport:
    with db.read() as s:
        return audit.verify_chain(s)


def test_chain_verifies_and_database_refuses_edits(org: Org) -> None:
    report = _verify(org.db)
    assert report.ok and report.checked > 10
    with pytest.raises(DBAPIError), org.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET action = 'x' WHERE seq = 3"))
    with pytest.raises(DBAPIError), org.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 3"))
    assert _verify(org.db).ok


@pytest.mark.parametrize("tamper", ["alter", "remove", "reorder", "truncate"])
def test_verifier_names_first_altered_removed_or_reordered_entry(org: Org, tamper: str) -> None:
    _drop_guards(org.db)
    with org.db.engine.begin() as conn:
        if tamper == "alter":
            conn.execute(text("UPDATE audit_entry SET actor_name = '篡改者' WHERE seq = 5"))
        elif tamper == "remove":
            conn.execute(text("DELETE FROM audit_entry WHERE seq = 5"))
        elif tamper == "reorder":
            conn.execute(text("UPDATE audit_entry SET seq = -1 WHERE seq = 5"))
            conn.execute(text("UPDATE audit_entry SET seq = 5 WHERE seq = 6"))
            conn.execute(text("UPDATE audit_entry SET seq = 6 WHERE seq = -1"))
        else:
            top = conn.execute(text("SELECT max(seq) FROM audit_entry")).scalar()
            conn.execute(text("DELETE FROM audit_entry WHERE seq = :s"), {"s": top})
    report = _verify(org.db)
    assert not report.ok
    if tamper != "truncate":
        assert report.first_bad_seq == 5, report


def test_entries_carry_who_what_where(org: Org) -> None:
    with org.db.write() as s:
        audit.record(
            s, org.actor("hamlet"), "test.thing", target_type="doc", target_id=42, detail={"a": "改"}, ip="10.0.0.9"
        )
    with org.db.read() as s:
        e = s.exec(select(AuditEntry).where(AuditEntry.action == "test.thing")).one()
    assert (e.actor_name, e.target_id, e.ip, e.detail) == ("张伟", "42", "10.0.0.9", {"a": "改"})
    assert e.at.tzinfo is not None


def test_concurrent_appends_keep_one_chain(org: Org) -> None:
    import threading

    def work() -> None:
        for i in range(10):
            with org.db.write() as s:
                audit.record(s, SYSTEM, "test.concurrent", detail={"i": i})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = _verify(org.db)
    assert report.ok, report


def test_record_many_chains_like_record_and_tampering_is_still_found(org: Org) -> None:
    from datetime import UTC, datetime

    actor = org.actor("hamlet")
    with org.db.write() as s:
        audit.record(s, actor, "x.one", target_type="t", target_id=1, detail={"a": 1})
        audit.record_many(
            s,
            [
                audit.Pending(
                    actor, "x.many", target_type="t", target_id=2, detail={"when": datetime(2025, 1, 2, tzinfo=UTC)}
                ),
                audit.Pending(None, "x.many", target_id=3, ip="10.0.0.9"),
                audit.Pending(actor, "x.many", target_id=4, detail={"n": 4}, jsonable=True),
            ],
        )
        audit.record(s, actor, "x.after", target_id=5)
    assert _verify(org.db).ok
    with org.db.read() as s:
        rows = s.exec(
            select(AuditEntry)
            .where(AuditEntry.action.startswith("x."))  # type: ignore[attr-defined]
            .order_by(AuditEntry.seq)
        ).all()  # type: ignore[arg-type]
    assert [r.target_id for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r.seq - rows[0].seq for r in rows] == [0, 1, 2, 3, 4]
    assert rows[1].detail == {"when": "2025-01-02 00:00:00+00:00"}  # normalised as record() does
    assert (rows[2].actor_name, rows[2].ip) == ("匿名", "10.0.0.9")
    _drop_guards(org.db)
    with org.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET target_id = '99' WHERE seq = :s"), {"s": rows[2].seq})
    report = _verify(org.db)
    assert not report.ok and report.first_bad_seq == rows[2].seq


def _sql_of(db: Database, body: object) -> list[str]:
    sent: list[str] = []

    def keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(" ".join(statement.split()))

    with db.write() as s:
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", keep)
        try:
            body(s)  # type: ignore[operator]
        finally:
            event.remove(conn, "before_cursor_execute", keep)
    return sent


def test_a_transaction_reads_the_head_once_and_the_chain_is_unchanged(org: Org) -> None:
    """The first entry of a transaction reads ``audit_head`` (locked); the 2nd and 3rd use the tip it
    wrote, and still update the head, so three entries cost 7 statements (were 9) and verify."""
    sent = _sql_of(org.db, lambda s: [audit.record(s, SYSTEM, f"test.three.{i}") for i in range(3)])
    assert sum(q.startswith("SELECT") and "audit_head" in q for q in sent) == 1, sent
    assert sum(q.startswith("UPDATE audit_head") for q in sent) == 3, sent
    assert len(sent) == 7, sent
    sent = _sql_of(org.db, lambda s: audit.record(s, SYSTEM, "test.next"))  # a new transaction reads afresh
    assert sum("audit_head" in q and q.startswith("SELECT") for q in sent) == 1, sent
    assert _verify(org.db).ok


def test_a_rolled_back_savepoint_forgets_the_kept_tip(org: Org) -> None:
    """Entries appended in a savepoint that rolls back are gone, so the next entry reads the head
    again and chains onto the last entry that stayed (the group-commit writer rolls back failing
    items this way)."""

    def body(s: Session) -> None:
        audit.record(s, SYSTEM, "test.kept")
        with pytest.raises(RuntimeError), s.begin_nested():
            audit.record(s, SYSTEM, "test.undone")
            raise RuntimeError("undo")
        sp = s.begin_nested()
        audit.record(s, SYSTEM, "test.undone.too")
        sp.rollback()
        audit.record(s, SYSTEM, "test.after")

    _sql_of(org.db, body)
    assert _verify(org.db).ok
    with org.db.read() as s:
        actions = [e.action for e in audit.query(s, action="test.", limit=10)]
    assert actions == ["test.after", "test.kept"]
