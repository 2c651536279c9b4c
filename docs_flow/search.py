"""Full-text search over outgoing and incoming documents, correct for Chinese.

Same approach as ``messaging.search``: every document's searchable text (title, numbers, agencies,
body) is indexed by its distinct lower-cased character bigrams (``SearchTerm``). Any query term of
two or more characters contains a bigram, and every document containing the term contains that
bigram, so the rarest bigram of each term gives a complete candidate set; a LIKE over the stored
text confirms the whole term. Plain SQL, the same on SQLite and PostgreSQL.

Indexing is automatic: a session hook notes every outgoing or incoming document flushed in a
transaction and re-indexes it just before the commit, so no service path can forget it.

Only documents the user may read are ever counted or shown: the visibility rules are part of the
SQL (``_visible``), not a filter applied after counting.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import and_, case, delete, event, func, insert, literal, or_, select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from office import policy
from office.actor import Actor
from office.errors import ValidationError
from office.models import Role
from docs_flow import body as body_mod
from docs_flow.incoming_models import IncomingDocument, SearchDoc, SearchTerm
from docs_flow.models import DocStatus, OutgoingDocument, WfTask

MAX_QUERY = 100
MAX_TERMS = 8
RARITY_PROBE = 5000
SNIPPET_RADIUS = 40
# Search syntax people paste from other engines: treated as separators, never as operators.
OPERATORS = re.compile(r"[%\"'“”‘’「」『』()（）\[\]{}*+\-:^~|&!！?？,，。;；/\\<>=]+")
KINDS = ("outgoing", "incoming")


def grams(text: str) -> set[str]:
    t = text.lower()
    return {t[i:i + 2] for i in range(len(t) - 1) if not t[i:i + 2].isspace()}


# Indexing ------------------------------------------------------------------------------------------


def outgoing_fields(doc: OutgoingDocument) -> dict[str, Any]:
    day = doc.issued_date or doc.written_date or doc.created_at.date()
    return {"agency_id": doc.agency_id, "doc_type": doc.doc_type.value, "status": doc.status.value,
            "year": day.year, "doc_date": day, "title": doc.title, "number": doc.number,
            "agencies": " ".join([doc.issuing_agency_name, *doc.main_recipients, *doc.cc_recipients]),
            "body": "\n".join(body_mod.flatten("", doc.body).splitlines()[1:])}


def incoming_fields(doc: IncomingDocument) -> dict[str, Any]:
    day = doc.received_at.date()
    return {"agency_id": doc.agency_id, "doc_type": doc.doc_type, "status": doc.status.value, "year": day.year,
            "doc_date": day, "title": doc.title, "number": f"{doc.reg_number} {doc.original_number}".strip(),
            "agencies": doc.source_agency_name, "body": doc.body_text}


def index_document(session: Session, kind: str, doc_id: int, fields: dict[str, Any]) -> None:
    """(Re)index one document: its stored text and bigrams."""
    row = session.exec(select(SearchDoc).where(SearchDoc.doc_kind == kind, SearchDoc.doc_id == doc_id)).first()
    if row is None:
        row = SearchDoc(doc_kind=kind, doc_id=doc_id, **fields)
    else:
        for k, v in fields.items():
            setattr(row, k, v)
    session.add(row)
    session.execute(delete(SearchTerm).where(col(SearchTerm.doc_kind) == kind, col(SearchTerm.doc_id) == doc_id))
    keys = grams(" ".join([fields["title"], fields["number"], fields["agencies"], fields["body"]]))
    if keys:
        session.execute(insert(SearchTerm), [{"term": g, "doc_kind": kind, "doc_id": doc_id} for g in keys])


def remove_document(session: Session, kind: str, doc_id: int) -> None:
    session.execute(delete(SearchTerm).where(col(SearchTerm.doc_kind) == kind, col(SearchTerm.doc_id) == doc_id))
    session.execute(delete(SearchDoc).where(col(SearchDoc.doc_kind) == kind, col(SearchDoc.doc_id) == doc_id))


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


# Visibility ----------------------------------------------------------------------------------------


def visible_outgoing_ids(actor: Actor) -> Any:
    """SELECT of the outgoing document ids ``actor`` may read (as ``service.access_document`` decides)."""
    mine = sa_select(WfTask.case_id).where(or_(WfTask.assignee_id == actor.user_id,  # type: ignore[arg-type]
                                               WfTask.acted_by_id == actor.user_id))
    cond = or_(OutgoingDocument.drafter_id == actor.user_id, col(OutgoingDocument.case_id).in_(mine))
    if actor.has(Role.leader) or actor.has(Role.clerk):
        cond = or_(cond, and_(OutgoingDocument.agency_id == actor.agency_id,
                              OutgoingDocument.status != DocStatus.draft))
    return sa_select(OutgoingDocument.id).where(cond)


def visible_ids(actor: Actor, kind: str) -> Any:
    if kind == "outgoing":
        return visible_outgoing_ids(actor)
    from docs_flow.incoming import visible_incoming_ids

    return visible_incoming_ids(actor)


def _visible(actor: Actor, kinds: list[str]) -> Any:
    return or_(*[and_(SearchDoc.doc_kind == k, col(SearchDoc.doc_id).in_(visible_ids(actor, k))) for k in kinds])


# Querying ------------------------------------------------------------------------------------------


def parse_query(q: str) -> list[str]:
    """The terms of a query: operators and quotes are separators, every term is matched literally."""
    if len(q) > MAX_QUERY:
        raise ValidationError(f"搜索词不能超过 {MAX_QUERY} 个字符", code="query_too_long")
    terms = [t for t in OPERATORS.sub(" ", q).lower().split() if t]
    terms = list(dict.fromkeys(t for t in terms if t.upper() not in ("AND", "OR", "NOT")))
    if not any(len(t) >= 2 for t in terms):
        raise ValidationError("搜索词至少需要 2 个字符", code="query_too_short")
    return terms[:MAX_TERMS]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _parse_date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} 必须是 YYYY-MM-DD 格式的日期", code="bad_query") from None


def search(session: Session, actor: Actor, q: str, *, kind: str = "", year: int | None = None, agency: str = "",
           status: str = "", date_from: str = "", date_to: str = "", doc_type: str = "", offset: int = 0,
           limit: int = 20) -> dict[str, Any]:
    """Documents the actor may read that contain every term of ``q``, best first, with snippets."""
    policy.require(actor, "document.use")
    terms = parse_query((q or "").strip())
    if kind and kind not in KINDS:
        raise ValidationError("类型只能是 outgoing（发文）或 incoming（收文）", code="bad_query")
    start, end = _parse_date(date_from, "开始日期"), _parse_date(date_to, "结束日期")
    text = func.lower(SearchDoc.title + " " + SearchDoc.number + " " + SearchDoc.agencies + " " + SearchDoc.body)
    conds = [_visible(actor, [kind] if kind else list(KINDS))]
    for term in terms:
        conds.append(text.like(f"%{_escape_like(term)}%", escape="\\"))
        if len(term) >= 2:
            key = _rarest(session, sorted(grams(term)))
            conds.append(sa_select(SearchTerm.doc_id).where(
                SearchTerm.term == key, SearchTerm.doc_kind == SearchDoc.doc_kind,
                SearchTerm.doc_id == SearchDoc.doc_id).exists())
    if year:
        conds.append(SearchDoc.year == year)
    if agency:
        conds.append(func.lower(SearchDoc.agencies).like(f"%{_escape_like(agency.lower()[:100])}%", escape="\\"))
    if status:
        conds.append(SearchDoc.status == status[:20])
    if doc_type:
        conds.append(SearchDoc.doc_type == doc_type[:20])
    if start:
        conds.append(SearchDoc.doc_date >= start)  # type: ignore[operator]
    if end:
        conds.append(SearchDoc.doc_date <= end)  # type: ignore[operator]
    where = and_(*conds)
    total = session.exec(select(func.count()).select_from(SearchDoc).where(where)).one()  # type: ignore[call-overload]
    rank = _rank(terms)
    rows = session.exec(select(SearchDoc).where(where).order_by(rank.desc(), col(SearchDoc.doc_date).desc(),
                                                                 col(SearchDoc.id).desc())
                        .offset(max(offset, 0)).limit(min(max(limit, 1), 100))).all()
    return {"total": total, "terms": terms, "items": [result_public(r, terms) for r in rows]}


def _rank(terms: list[str]) -> Any:
    """Title matches first, then numbers, then agencies; body-only matches last."""
    score: Any = literal(0)
    for term in terms:
        like = f"%{_escape_like(term)}%"
        score = score + case((func.lower(SearchDoc.title).like(like, escape="\\"), 100), else_=0) \
            + case((func.lower(SearchDoc.number).like(like, escape="\\"), 40), else_=0) \
            + case((func.lower(SearchDoc.agencies).like(like, escape="\\"), 10), else_=0)
    return score


def _rarest(session: Session, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    best, best_n = keys[0], None
    for k in keys[:8]:
        n = session.exec(select(func.count()).select_from(  # type: ignore[call-overload]
            sa_select(SearchTerm.doc_id).where(SearchTerm.term == k).limit(RARITY_PROBE).subquery())).one()
        if best_n is None or n < best_n:
            best, best_n = k, n
    return best


def highlight(text: str, terms: list[str]) -> list[list[int]]:
    """[start, end) offsets of every occurrence of any term in ``text`` (case-insensitive, merged)."""
    low = text.lower()
    spans: list[list[int]] = []
    for term in terms:
        i = low.find(term)
        while i >= 0:
            spans.append([i, i + len(term)])
            i = low.find(term, i + 1)
    spans.sort()
    merged: list[list[int]] = []
    for s in spans:
        if merged and s[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s[1])
        else:
            merged.append(s)
    return merged


def snippet(text: str, terms: list[str], radius: int = SNIPPET_RADIUS) -> dict[str, Any]:
    """A short window of ``text`` around the first match, with highlight offsets relative to it."""
    spans = highlight(text, terms)
    if not spans:
        cut = text[: radius * 2]
        return {"text": cut + ("…" if len(text) > len(cut) else ""), "highlights": []}
    start = max(spans[0][0] - radius, 0)
    end = min(spans[0][1] + radius, len(text))
    prefix = "…" if start > 0 else ""
    window = text[start:end].replace("\n", " ")
    shift = len(prefix) - start
    marks = [[a + shift, b + shift] for a, b in spans if a >= start and b <= end]
    return {"text": prefix + window + ("…" if end < len(text) else ""), "highlights": marks}


def result_public(r: SearchDoc, terms: list[str]) -> dict[str, Any]:
    body_or_agencies = r.body if any(t in r.body.lower() for t in terms) else (r.agencies or r.body)
    return {"kind": r.doc_kind, "id": r.doc_id, "doc_type": r.doc_type, "status": r.status, "year": r.year,
            "date": r.doc_date.isoformat() if r.doc_date else None,
            "title": {"text": r.title, "highlights": highlight(r.title, terms)},
            "number": {"text": r.number, "highlights": highlight(r.number, terms)},
            "agencies": r.agencies, "snippet": snippet(body_or_agencies, terms),
            "link": f"/docs/{r.doc_id}" if r.doc_kind == "outgoing" else f"/incoming/{r.doc_id}"}
