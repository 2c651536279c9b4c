"""Full-text search over outgoing and incoming documents, correct for Chinese, fast at a million documents.

The index (kept in step by ``docs_flow.search_index``) is FTS5 on SQLite and a bigram table on
PostgreSQL; :func:`search` asks whichever the database has, behind the same function:

* SQLite: each term becomes an FTS5 expression over the pre-split tokens (a Chinese term of n >= 2
  characters the phrase of its bigrams, exact; a word of letters or digits a word-prefix match); the
  rows come newest first straight from the index (``ORDER BY rowid DESC``, which FTS5 serves without
  sorting), so a page costs about the rows it shows, however common the term. A phrase costs what
  walking the postings of all its bigrams costs, so one with a rare bigram and common ones (工作, 通知)
  is matched by a few of its rarest bigrams instead and confirmed by the stored text (``_narrowest``).
* PostgreSQL: the rarest bigram of each term gives a complete candidate set, a LIKE confirms the term.

Only documents the user may read are ever counted or shown: the visibility rules are part of the SQL,
checked row by row against the document (``_visible``), not a filter applied after counting. Counting
stops at ``COUNT_CAP`` ("1000+"): an exact count of a term found in half a million documents would
cost more than the whole page.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import and_, column, func, literal, literal_column, or_, table
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from docs_flow import search_index as _hooks  # noqa: F401  registers the indexing hooks
from docs_flow import visibility
from docs_flow.incoming_models import IncomingDocument, SearchDoc, SearchTerm
from docs_flow.models import DocStatus, OutgoingDocument
from docs_flow.search_index import FTS_TABLE, runs
from office import policy
from office.actor import Actor
from office.bigrams import bigrams, pairs
from office.db import escape_like
from office.errors import ValidationError
from office.models import Role

__all__ = ["highlight", "parse_query", "search", "snippet"]

MAX_QUERY = 100
MAX_TERMS = 8
RARITY_PROBE = 5000
SNIPPET_RADIUS = 40
# Search syntax people paste from other engines: treated as separators, never as operators.
OPERATORS = re.compile(r"[%\"'“”‘’「」『』()（）\[\]{}*+\-:^~|&!！?？,，。;；/\\<>=]+")
KINDS = ("outgoing", "incoming")


COUNT_CAP = 1000
DENSITY_SAMPLE = 3000  # newest documents the rarity of a phrase's bigrams is measured on
MAX_PROBES = 16
MAX_NARROW = 4
RARE = 0.02
FTS = table(FTS_TABLE, column("rowid"))


# Visibility ----------------------------------------------------------------------------------------


def _visible(actor: Actor, kinds: list[str]) -> Any:
    """Row by row: the ``SearchDoc`` is of a document ``actor`` may read.

    Correlated EXISTS against the document itself (one primary-key probe per candidate row), never
    ``doc_id IN (every visible id)``, which would list a million ids for an agency's clerk per query.
    For the agency's clerks and leaders the agency test on ``SearchDoc`` itself (kept in step with the
    document in the same transaction) settles most rows before the probe."""
    agency_wide = actor.has(Role.leader) or actor.has(Role.clerk)
    parts = []
    for kind in kinds:
        model: Any = OutgoingDocument if kind == "outgoing" else IncomingDocument
        cond = visibility.outgoing_cond(actor) if kind == "outgoing" else visibility.incoming_cond(actor)
        probe: Any = (
            sa_select(literal(1))
            .select_from(model)
            .where(model.id == SearchDoc.doc_id, cond)
            .with_hint(model, f"INDEXED BY ix_{model.__tablename__}_visibility", "sqlite")
            .exists()
        )
        if agency_wide:
            fast = col(SearchDoc.agency_id) == actor.agency_id
            if kind == "outgoing":
                fast = and_(fast, col(SearchDoc.status) != DocStatus.draft.value)
            probe = or_(fast, probe)
        parts.append(and_(col(SearchDoc.doc_kind) == kind, probe))
    return or_(*parts)


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


def _term_parts(term: str) -> tuple[list[tuple[list[str], bool]], bool]:
    """The phrases (tokens, prefix-match?) a document containing ``term`` must match, and whether they are exact.

    A single run of two or more CJK characters is exactly the phrase of its bigrams; a single word of
    letters or digits is a word-prefix match (as search engines do; "port" does not find "report"). In
    any other term (mixed scripts, punctuation, a lone CJK character) the parts that can be expressed
    narrow the candidates and a LIKE on the text confirms the whole term. Tokens are only letters and
    digits, so quoting them cannot break out of the FTS5 syntax."""
    parts = runs(term)
    if len(parts) == 1 and parts[0][1] and len(parts[0][0]) >= 2:
        return [(pairs(parts[0][0]), False)], True
    if len(parts) == 1 and not parts[0][1] and parts[0][0] == term:
        return [([term], True)], True
    out = []
    for i, (run, cjk) in enumerate(parts):
        if cjk and len(run) >= 2:
            out.append((pairs(run), False))
        elif not cjk and i > 0:  # a leading word may be the tail of a longer one: no prefix to match
            out.append(([run], i == len(parts) - 1))
    return out, False


def _expr(tokens: list[str], prefix: bool = False) -> str:
    return '"' + " ".join(tokens) + '"' + ("*" if prefix else "")


def _parse_date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} 必须是 YYYY-MM-DD 格式的日期", code="bad_query") from None


def search(
    session: Session,
    actor: Actor,
    q: str,
    *,
    kind: str = "",
    year: int | None = None,
    agency: str = "",
    status: str = "",
    date_from: str = "",
    date_to: str = "",
    doc_type: str = "",
    offset: int = 0,
    limit: int = 20,
) -> dict[str, Any]:
    """Documents the actor may read that contain every term of ``q``, newest first, with snippets.

    ``total`` counts up to ``COUNT_CAP``; ``capped`` says there are more than that."""
    policy.require(actor, "document.use")
    terms = parse_query((q or "").strip())
    if kind and kind not in KINDS:
        raise ValidationError("类型只能是 outgoing（发文）或 incoming（收文）", code="bad_query")
    conds = [
        _visible(actor, [kind] if kind else list(KINDS)),
        *_filters(year, agency, status, doc_type, _parse_date(date_from, "开始日期"), _parse_date(date_to, "结束日期")),
    ]
    if session.get_bind().dialect.name == "sqlite":
        ids, order = _sqlite_match(session, terms, conds)
    else:
        ids, order = _bigram_match(session, terms, conds)
    offset, limit = max(offset, 0), min(max(limit, 1), 100)
    # One statement gives the count (up to the cap) and the page: the first COUNT_CAP + 1 ids, newest first.
    first = list(session.execute(ids.order_by(order).limit(COUNT_CAP + 1)).scalars())
    if offset + limit <= len(first) or len(first) <= COUNT_CAP:
        page = first[offset : offset + limit]
    else:
        page = list(session.execute(ids.order_by(order).offset(offset).limit(limit)).scalars())
    rows = {r.id: r for r in session.exec(select(SearchDoc).where(col(SearchDoc.id).in_(page))).all()}
    return {
        "total": min(len(first), COUNT_CAP),
        "capped": len(first) > COUNT_CAP,
        "terms": terms,
        "items": [result_public(rows[i], terms) for i in page if i in rows],
    }


def _filters(
    year: int | None, agency: str, status: str, doc_type: str, start: date | None, end: date | None
) -> list[Any]:
    conds: list[Any] = []
    if year:
        conds.append(SearchDoc.year == year)
    if agency:
        conds.append(func.lower(SearchDoc.agencies).like(f"%{escape_like(agency.lower()[:100])}%", escape="\\"))
    if status:
        conds.append(SearchDoc.status == status[:20])
    if doc_type:
        conds.append(SearchDoc.doc_type == doc_type[:20])
    if start:
        conds.append(SearchDoc.doc_date >= start)  # type: ignore[operator]
    if end:
        conds.append(SearchDoc.doc_date <= end)  # type: ignore[operator]
    return conds


def _like(term: str) -> Any:
    text = func.lower(SearchDoc.title + " " + SearchDoc.number + " " + SearchDoc.agencies + " " + SearchDoc.body)
    return text.like(f"%{escape_like(term)}%", escape="\\")


def _sqlite_match(session: Session, terms: list[str], conds: list[Any]) -> tuple[Any, Any]:
    """SELECT of matching ``SearchDoc`` ids driven by the FTS5 index, and its newest-first order.

    A phrase costs as much as its commonest bigrams: FTS5 walks the postings of every token of a
    phrase, and 工作 or 通知 are in nearly every document, so "关于做好防汛防台风工作的通知" is a pass
    over most of the index that finds a few hundred documents. A phrase with a rare bigram is matched
    by its rarest bigrams instead (:func:`_narrowest`), and the stored text confirms the term."""
    plans = [(term, *_term_parts(term)) for term in terms]
    phrases = [tokens for _, parts, _ in plans for tokens, _ in parts if len(set(tokens)) > 1]
    counts = _sample(session, [t for tokens in phrases for t in tokens]) if phrases else {}
    exprs: list[str] = []
    for term, parts, exact in plans:
        cjk_run = exact and not parts[0][1]
        for tokens, prefix in parts:
            narrow = _narrowest(tokens, counts) if len(set(tokens)) > 1 else None
            if narrow is None:
                exprs.append(_expr(tokens, prefix))
            else:
                exprs += [_expr([t]) for t in narrow]
                exact = False
        if not exact:
            conds = [*conds, _contains(term) if cjk_run else _like(term)]
    if not exprs:  # nothing the index can narrow (e.g. "a号"): newest first over the stored text
        return sa_select(col(SearchDoc.id)).where(*conds), col(SearchDoc.id).desc()
    match = literal_column(FTS_TABLE).op("MATCH")(" AND ".join(exprs))
    stmt = (
        sa_select(col(SearchDoc.id))
        .select_from(FTS)
        .join(SearchDoc, col(SearchDoc.id) == FTS.c.rowid)
        .with_hint(SearchDoc, "INDEXED BY ix_doc_search_visibility", "sqlite")
    )
    return stmt.where(match, *conds), FTS.c.rowid.desc()


def _contains(term: str) -> Any:
    """The stored text contains ``term``, a run of CJK characters: such a term cannot span two fields
    (they are joined by spaces) and has no case, so each field is searched as it is, cheaper than
    copying and lower-casing a whole body for every candidate as :func:`_like` does."""
    pattern = f"%{escape_like(term)}%"
    return or_(
        *(
            col(field).like(pattern, escape="\\")
            for field in (SearchDoc.title, SearchDoc.number, SearchDoc.agencies, SearchDoc.body)
        )
    )


def _sample(session: Session, tokens: list[str]) -> dict[str, float]:
    """The share of the newest ``DENSITY_SAMPLE`` documents that contain each token (at most the first
    ``MAX_PROBES`` distinct tokens), counted up to a third: one statement of bounded FTS5 probes."""
    tokens = list(dict.fromkeys(tokens))[:MAX_PROBES]
    conn = session.connection()
    low = int(conn.exec_driver_sql(f"SELECT max(id) FROM {SearchDoc.__tablename__}").scalar() or 0) - DENSITY_SAMPLE
    probes = [f"SELECT -1, count(*) FROM {SearchDoc.__tablename__} WHERE id > {low}"]
    probes += [
        f"SELECT {i}, (SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? "
        f"AND rowid > {low} LIMIT {DENSITY_SAMPLE // 3}))"
        for i in range(len(tokens))
    ]
    rows: dict[int, int] = dict(
        conn.exec_driver_sql(" UNION ALL ".join(probes), tuple(_expr([t]) for t in tokens)).all()
    )
    size = max(rows.pop(-1), 1)
    return {tokens[i]: n / size for i, n in rows.items()}


def _narrowest(tokens: list[str], share: dict[str, float]) -> list[str] | None:
    """The bigrams a phrase is matched by instead of all of its own, or None for the whole phrase.

    A bigram in a third or more of the documents is common: it narrows little and its postings are
    long. The whole phrase stays when its rarest bigram is in ``RARE`` or more of the documents (then
    so are probably its matches, and the newest-first scan stops early) or when it has at most
    ``MAX_NARROW`` bigrams, none common (cheap as it is). Otherwise the index gets up to ``MAX_NARROW``
    of its uncommon bigrams, rarest first but each at least three characters from the others: bigrams
    of the same word come together (防汛, 防台, 台风 in 防汛防台风) and narrow no more than one of
    them; the text confirms the phrase."""
    known = {t: share[t] for t in tokens if t in share}
    rare = sorted((n, tokens.index(t), t) for t, n in known.items() if n < 1 / 3)
    if not rare or rare[0][0] >= RARE or len(rare) == len(set(tokens)) <= MAX_NARROW:
        return None
    picked: list[tuple[int, str]] = []
    for _, at, token in rare:
        if len(picked) < MAX_NARROW and all(abs(at - other) >= 3 for other, _ in picked):
            picked.append((at, token))
    return [token for _, token in picked]


def _bigram_match(session: Session, terms: list[str], conds: list[Any]) -> tuple[Any, Any]:
    """PostgreSQL: the rarest bigram of each term gives a complete candidate set, a LIKE confirms it."""
    for term in terms:
        conds = [*conds, _like(term)]
        if len(term) >= 2:
            key = _rarest(session, sorted(bigrams(term)))
            conds.append(
                sa_select(col(SearchTerm.doc_id))
                .where(
                    col(SearchTerm.term) == key,
                    col(SearchTerm.doc_kind) == SearchDoc.doc_kind,
                    col(SearchTerm.doc_id) == SearchDoc.doc_id,
                )
                .exists()
            )
    return sa_select(col(SearchDoc.id)).where(*conds), col(SearchDoc.id).desc()


def _rarest(session: Session, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    best, best_n = keys[0], None
    for k in keys[:8]:
        n = session.exec(
            select(func.count()).select_from(
                sa_select(col(SearchTerm.doc_id)).where(col(SearchTerm.term) == k).limit(RARITY_PROBE).subquery()
            )
        ).one()
        if best_n is None or n < best_n:
            best, best_n = k, n
    return best


def highlight(text: str, terms: list[str], start: int = 0, end: int | None = None) -> list[list[int]]:
    """[start, end) offsets of every occurrence of any term in ``text`` (case-insensitive, merged),
    looking only inside ``text[start:end]`` (a snippet's window of a long body)."""
    low = text.lower()
    end = len(text) if end is None else end
    spans: list[list[int]] = []
    for term in terms:
        i = low.find(term, start, end)
        while i >= 0:
            spans.append([i, i + len(term)])
            i = low.find(term, i + 1, end)
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
    low = text.lower()
    hits = [(i, i + len(t)) for t in terms if (i := low.find(t)) >= 0]
    if not hits:
        cut = text[: radius * 2]
        return {"text": cut + ("…" if len(text) > len(cut) else ""), "highlights": []}
    a, b = min(hits)
    start = max(a - radius, 0)
    end = min(b + radius, len(text))
    prefix = "…" if start > 0 else ""
    window = text[start:end].replace("\n", " ")
    shift = len(prefix) - start
    marks = [[x + shift, y + shift] for x, y in highlight(text, terms, start, end)]
    return {"text": prefix + window + ("…" if end < len(text) else ""), "highlights": marks}


def result_public(r: SearchDoc, terms: list[str]) -> dict[str, Any]:
    body_or_agencies = r.body if any(t in r.body.lower() for t in terms) else (r.agencies or r.body)
    return {
        "kind": r.doc_kind,
        "id": r.doc_id,
        "doc_type": r.doc_type,
        "status": r.status,
        "year": r.year,
        "date": r.doc_date.isoformat() if r.doc_date else None,
        "title": {"text": r.title, "highlights": highlight(r.title, terms)},
        "number": {"text": r.number, "highlights": highlight(r.number, terms)},
        "agencies": r.agencies,
        "snippet": snippet(body_or_agencies, terms),
        "link": f"/docs/{r.doc_id}" if r.doc_kind == "outgoing" else f"/incoming/{r.doc_id}",
    }
