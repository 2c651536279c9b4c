"""Keeping the document search index in step with the documents, inside the writing transaction.

Every outgoing or incoming document has one ``SearchDoc`` row (its searchable text and the fields the
filters use). Next to it, one index per database:

* SQLite: the FTS5 table ``doc_search_fts`` (rowid = ``SearchDoc.id``), contentless, fed text that is
  already split into tokens by :func:`fts_tokens`: every run of CJK characters becomes its overlapping
  bigrams ("通知关于" -> "通知 知关 关于"), any other run of letters or digits one lower-cased word. A
  Chinese term of n >= 2 characters is then exactly the phrase of its n-1 bigrams. Contentless keeps the
  index to the postings (the text is stored once, in ``doc_search``); the price is that removing a
  document's old tokens needs those tokens again, which :func:`fts_tokens` recomputes from the old
  ``SearchDoc`` row. The tokeniser is therefore part of the index format: change it only together with
  a migration that rebuilds the index (:func:`rebuild_fts`).
* PostgreSQL: the table ``doc_search_term`` of each document's distinct character bigrams
  (``office.bigrams``, the chat index's keys too). Documents indexed before pairs of whitespace
  counted as bigrams lack those rows; no query asks for them (terms are split at whitespace).

Indexing is automatic: a session hook notes every outgoing or incoming document flushed in a
transaction and re-indexes it just before the commit, so no service path can forget it and the index
never disagrees with a committed document.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, event, insert, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from docs_flow import body as body_mod
from docs_flow.incoming_models import IncomingDocument, SearchDoc, SearchTerm
from docs_flow.models import OutgoingDocument
from office.bigrams import bigrams, pairs

FTS_TABLE = "doc_search_fts"
# Kept verbatim in migration 0008 (a migration must not change when this module does).
FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, content='', "
    "tokenize='unicode61 remove_diacritics 0')"
)
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
# Group 1: a run of CJK characters; otherwise a run of other letters/digits (no underscore).
RUNS = re.compile(f"([{CJK}]+)|[^\\W{CJK}_]+")


def runs(text: str) -> list[tuple[str, bool]]:
    """The token runs of ``text``, lower-cased: (run, is_cjk)."""
    return [(m.group(), m.group(1) is not None) for m in RUNS.finditer(text.lower())]


def fts_tokens(text: str) -> str:
    """``text`` as the space-separated tokens the FTS table indexes (see the module docstring)."""
    out: list[str] = []
    for run, cjk in runs(text):
        if cjk and len(run) > 1:
            out.extend(pairs(run))
        else:
            out.append(run)
    return " ".join(out)


def search_text(fields: dict[str, Any]) -> str:
    return " ".join([fields["title"], fields["number"], fields["agencies"], fields["body"]])


def outgoing_fields(doc: OutgoingDocument) -> dict[str, Any]:
    day = doc.issued_date or doc.written_date or doc.created_at.date()
    return {
        "agency_id": doc.agency_id,
        "doc_type": doc.doc_type.value,
        "status": doc.status.value,
        "year": day.year,
        "doc_date": day,
        "title": doc.title,
        "number": doc.number,
        "agencies": " ".join([doc.issuing_agency_name, *doc.main_recipients, *doc.cc_recipients]),
        "body": "\n".join(body_mod.flatten("", doc.body).splitlines()[1:]),
    }


def incoming_fields(doc: IncomingDocument) -> dict[str, Any]:
    day = doc.received_at.date()
    return {
        "agency_id": doc.agency_id,
        "doc_type": doc.doc_type,
        "status": doc.status.value,
        "year": day.year,
        "doc_date": day,
        "title": doc.title,
        "number": f"{doc.reg_number} {doc.original_number}".strip(),
        "agencies": doc.source_agency_name,
        "body": doc.body_text,
    }


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _fts_delete(session: Session, row: SearchDoc) -> None:
    session.execute(
        text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', :id, :t)"),
        {"id": row.id, "t": fts_tokens(search_text(row.model_dump()))},
    )


def index_document(session: Session, kind: str, doc_id: int, fields: dict[str, Any]) -> None:
    """(Re)index one document: its stored text and its postings."""
    sqlite = _is_sqlite(session)
    row = session.exec(select(SearchDoc).where(SearchDoc.doc_kind == kind, SearchDoc.doc_id == doc_id)).first()
    if row is None:
        row = SearchDoc(doc_kind=kind, doc_id=doc_id, **fields)
    else:
        if sqlite:
            _fts_delete(session, row)  # the old tokens, from the stored (old) text
        for k, v in fields.items():
            setattr(row, k, v)
    session.add(row)
    session.flush()
    if sqlite:
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (:id, :t)"),
            {"id": row.id, "t": fts_tokens(search_text(fields))},
        )
        return
    session.execute(delete(SearchTerm).where(col(SearchTerm.doc_kind) == kind, col(SearchTerm.doc_id) == doc_id))
    keys = bigrams(search_text(fields))
    if keys:
        session.execute(insert(SearchTerm), [{"term": g, "doc_kind": kind, "doc_id": doc_id} for g in keys])


def remove_document(session: Session, kind: str, doc_id: int) -> None:
    row = session.exec(select(SearchDoc).where(SearchDoc.doc_kind == kind, SearchDoc.doc_id == doc_id)).first()
    if row is None:
        return
    if _is_sqlite(session):
        _fts_delete(session, row)
    else:
        session.execute(delete(SearchTerm).where(col(SearchTerm.doc_kind) == kind, col(SearchTerm.doc_id) == doc_id))
    session.delete(row)
    session.flush()


def rebuild_fts(session: Session, *, batch: int = 2000) -> int:
    """Empty the FTS table and index every ``SearchDoc`` again (after a tokeniser change; SQLite only)."""
    session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    last, n = 0, 0
    while True:
        rows = session.exec(
            select(SearchDoc).where(col(SearchDoc.id) > last).order_by(col(SearchDoc.id)).limit(batch)
        ).all()
        if not rows:
            return n
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (:id, :t)"),
            [{"id": r.id, "t": fts_tokens(search_text(r.model_dump()))} for r in rows],
        )
        last, n = rows[-1].id or 0, n + len(rows)


@event.listens_for(OrmSession, "after_flush")
def _note_changes(session: OrmSession, _ctx: Any) -> None:
    dirty = session.info.setdefault("search_dirty", set())
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, OutgoingDocument) and obj.id is not None:
            dirty.add(("outgoing", obj.id))
        elif isinstance(obj, IncomingDocument) and obj.id is not None:
            dirty.add(("incoming", obj.id))


@event.listens_for(OrmSession, "before_commit")
def _reindex(session: OrmSession) -> None:
    if not session.info.get("search_dirty"):
        return
    session.flush()
    dirty = session.info.pop("search_dirty", set())
    for kind, doc_id in sorted(dirty):
        model = OutgoingDocument if kind == "outgoing" else IncomingDocument
        doc = session.get(model, doc_id)
        if doc is None:
            remove_document(session, kind, doc_id)  # type: ignore[arg-type]
            continue
        fields = outgoing_fields(doc) if kind == "outgoing" else incoming_fields(doc)  # type: ignore[arg-type]
        index_document(session, kind, doc_id, fields)  # type: ignore[arg-type]
    session.flush()
    session.info.pop("search_dirty", None)
