"""Chinese full-text search over outgoing and incoming documents: bigram recall, ranking, snippets with
highlight offsets, filters, and permissions (an invisible document is never shown, nor counted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from docs_flow import search as search_mod
from docs_flow.search import highlight, parse_query, snippet
from docs_flow.search_index import fts_tokens, rebuild_fts
from office.bigrams import bigrams
from office.errors import ValidationError
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_incoming import register
from tests.docs_flow.test_routes import BODY, act, create, ok
from tests.factories import Org


def find(c: Any, q: str, **params: Any) -> dict[str, Any]:
    return ok(c.get("/api/search", params={"q": q, **params}))


def test_pure_parts() -> None:
    assert bigrams("预算编制") == {"预算", "算编", "编制"}
    assert parse_query('"预算" AND 编制 OR (通知)') == ["预算", "编制", "通知"]
    assert parse_query("SELECT * FROM doc; --") == ["select", "from", "doc"]
    for bad in ("预", " ", '"" () *', "a"):
        with pytest.raises(ValidationError):
            parse_query(bad)
    with pytest.raises(ValidationError):
        parse_query("预" * 10_000)
    assert highlight("预算预算编制", ["预算"]) == [[0, 4]]
    s = snippet("前" * 100 + "预算编制" + "后" * 100, ["预算"])
    assert s["text"].startswith("…") and s["text"][s["highlights"][0][0] : s["highlights"][0][1]] == "预算"


def test_search_finds_every_document_containing_the_query(users: Clients, org: Org) -> None:
    body = [{"kind": "paragraph", "text": "各地要认真做好财政预算编制工作，严格控制一般性支出。"}]
    draft = create(users, org, title="关于做好年终工作的通知", body=body)
    other = create(users, org, title="关于预算编制的补充通知", body=BODY)
    inc = register(users, title="关于报送统计数据的函", body_text="请报送预算编制说明。")
    got = find(users["hamlet"], "预算编制")
    kinds = [(i["kind"], i["id"]) for i in got["items"]]
    assert got["total"] == 2 and kinds == [("outgoing", other["id"]), ("outgoing", draft["id"])]  # title first
    top = got["items"][0]
    t = top["title"]
    assert [t["text"][a:b] for a, b in t["highlights"]] == ["预算编制"]
    body_hit = got["items"][1]["snippet"]
    assert [body_hit["text"][a:b] for a, b in body_hit["highlights"]] == ["预算编制"]
    assert "<" not in body_hit["text"]
    # The clerk sees her incoming document too; the registration number and source agency are searchable.
    g = find(users["gertrude"], "预算编制")
    assert ("incoming", inc["id"]) in [(i["kind"], i["id"]) for i in g["items"]]
    assert find(users["gertrude"], "审计厅")["items"][0]["id"] == inc["id"]
    assert find(users["gertrude"], "粤审函〔2026〕8号")["total"] == 1
    # Two-character queries that straddle words, punctuation and Latin letters.
    assert find(users["hamlet"], "一般")["total"] == 1
    assert find(users["hamlet"], "支出。")["total"] == 1
    assert find(users["hamlet"], "算编 年终", kind="outgoing")["items"][0]["id"] == draft["id"]
    assert find(users["hamlet"], "预算", kind="incoming")["total"] == 0  # hamlet may not see the 收文


def test_search_only_counts_documents_the_user_may_see(users: Clients, org: Org) -> None:
    doc = create(users, org, title="关于机密事项保密管理的通知")
    for who in ("horatio", "othello", "desdemona", "gertrude"):  # gertrude: clerk, but the document is a draft
        got = find(users[who], "保密管理")
        assert got == {"total": 0, "capped": False, "terms": ["保密管理"], "items": []}, who
    assert find(users["hamlet"], "保密管理")["total"] == 1
    ok(act(users["hamlet"], doc, "submit"))
    assert find(users["gertrude"], "保密管理")["total"] == 1  # routed: the agency's clerk may read it now
    assert find(users["polonius"], "保密管理")["total"] == 1  # on the route
    for who in ("horatio", "othello", "desdemona"):
        assert find(users[who], "保密管理")["total"] == 0
    inc = register(users, title="关于保密管理检查的函")
    assert find(users["desdemona"], "保密管理")["total"] == 0  # other agency's leader
    assert find(users["gertrude"], "保密管理")["total"] == 2
    assert users["othello"].get(f"/api/incoming/{inc['id']}").status_code == 404


def test_filters_and_reindexing(users: Clients, org: Org) -> None:
    doc = create(users, org, title="关于开展安全生产检查的通知")
    h = users["hamlet"]
    assert find(h, "安全生产", doc_type="通知")["total"] == 1
    assert find(h, "安全生产", doc_type="函")["total"] == 0
    assert find(h, "安全生产", status="draft")["total"] == 1
    assert find(h, "安全生产", status="archived")["total"] == 0
    year = find(h, "安全生产")["items"][0]["year"]
    assert find(h, "安全生产", year=year)["total"] == 1 and find(h, "安全生产", year=year - 1)["total"] == 0
    assert find(h, "安全生产", agency="各市")["total"] == 1 and find(h, "安全生产", agency="财政")["total"] == 0
    assert find(h, "安全生产", **{"from": "2000-01-01", "to": "2999-12-31"})["total"] == 1
    assert find(h, "安全生产", **{"from": "2999-01-01"})["total"] == 0
    # Editing the title re-indexes it: old words vanish, new ones are found.
    ok(h.put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "title": "关于开展消防演练的通知"}))
    assert find(h, "安全生产")["total"] == 0 and find(h, "消防演练")["total"] == 1


def test_bad_queries_are_clear_errors_or_correct_empty_results(users: Clients, org: Org) -> None:
    create(users, org, title="关于做好年终工作的通知")
    h = users["hamlet"]
    for q, code in [
        ("年", "query_too_short"),
        ("", "query_too_short"),
        ('"" ()', "query_too_short"),
        ("年" * 3_000, "query_too_long"),
        ("a" * 10_000, "query_too_long"),
    ]:
        r = h.get("/api/search", params={"q": q})
        assert r.status_code == 422 and r.json()["error"] == code, q[:10]
    for q in (
        "' OR 1=1 --",
        "年终%",
        "_年终",
        "年终\\",
        "title:年终*",
        "NEAR(年终 工作)",
        '年终" OR "1"="1',
        "'; DROP TABLE doc_search; --",
    ):
        r = h.get("/api/search", params={"q": q})
        assert (r.status_code, r.json().get("total")) in ((200, 0), (200, 1)) or (
            r.status_code == 422 and r.json()["error"] == "query_too_short"
        ), (q, r.text)
    assert find(h, "年终%")["total"] == 1  # % is a separator, not a wildcard
    assert h.get("/api/search", params={"q": "年终", "kind": "memo"}).status_code == 422
    assert h.get("/api/search", params={"q": "年终", "from": "昨天"}).status_code == 422
    assert h.get("/api/search", params={"q": "年终", "year": "abc"}).status_code == 422
    assert find(h, "年终", agency="%")["total"] == 0  # a literal % in the agency filter
    assert find(h, "年终工作")["total"] == 1
    assert ok(h.get("/api/docs?box=mine"))["total"] == 1  # nothing was dropped


def test_index_terms_two_and_five_characters_ascii_and_mixed(users: Clients, org: Org) -> None:
    g = users["gertrude"]
    inc = register(
        users,
        title="关于召开PM2.5治理工作会议的通知",
        original_number="粤环函〔2025〕17号",
        body_text="会议研究大气污染防治（Air Quality）事项，请各地做好生态环境保护工作。",
    )
    other = register(users, title="关于会务安排的函", body_text="请按时参会。")
    for q, hits in [
        ("会议", {inc["id"]}),
        ("生态环境保护", {inc["id"]}),
        ("环境保", {inc["id"]}),
        ("会务", {other["id"]}),
        ("pm2", {inc["id"]}),
        ("AIR", {inc["id"]}),
        ("quality", {inc["id"]}),
        # SQLite's index matches letters and digits from the start of a word; PostgreSQL's anywhere
        ("ir", set() if org.db.is_sqlite else {inc["id"]}),
        ("粤环函〔2025〕17号", {inc["id"]}),
        ("〔2025〕17号", {inc["id"]}),
        ("2025〕17", {inc["id"]}),
        ("5治理", {inc["id"]}),
        ("议研究大", {inc["id"]}),
        ("会议 会务", set()),
        ("请 会议", {inc["id"]}),  # a one-character term narrows the others
        ("环境护", set()),
        ("保护生态", set()),
    ]:  # phrases: the characters in this order, adjacent
        got = find(g, q, kind="incoming")
        assert {i["id"] for i in got["items"]} == hits and got["total"] == len(hits), q
    title = find(g, "PM2")["items"][0]["title"]
    assert [title["text"][a:b] for a, b in title["highlights"]] == ["PM2"]


def test_index_follows_edits_and_deletes_and_never_counts_the_invisible(users: Clients, org: Org) -> None:
    g, h = users["gertrude"], users["hamlet"]
    inc = register(users, title="关于防汛防台风工作的函", body_text="请做好防汛物资储备。")
    assert find(g, "防汛物资")["total"] == 1 and find(h, "防汛物资")["total"] == 0  # hamlet may not read it
    assert find(users["desdemona"], "防汛")["total"] == 0  # another agency's leader
    inc = ok(g.put(f"/api/incoming/{inc['id']}", json={"version": inc["version"], "body_text": "请做好森林防火。"}))
    assert find(g, "防汛物资")["total"] == 0 and find(g, "森林防火")["total"] == 1
    assert find(g, "防台风")["total"] == 1  # the unchanged title is still indexed
    assert g.delete(f"/api/incoming/{inc['id']}").status_code == 204
    assert find(g, "森林防火")["total"] == 0 and find(g, "防台风")["total"] == 0
    with org.db.write() as s:
        if s.get_bind().dialect.name == "sqlite":  # the FTS5 table is consistent
            s.execute(text("INSERT INTO doc_search_fts(doc_search_fts, rank) VALUES ('integrity-check', 0)"))
            for gone in ('"防汛 汛物 物资"', '"森林 林防 防火"', '"防台 台风"'):  # no stale postings left behind
                assert (
                    s.execute(text("SELECT rowid FROM doc_search_fts WHERE doc_search_fts MATCH :q"), {"q": gone}).all()
                    == []
                )
            assert s.execute(text("SELECT count(*) FROM doc_search_term")).scalar() == 0


def test_counts_stop_at_the_cap_and_pages_stay_newest_first(
    users: Clients, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_mod, "COUNT_CAP", 3)
    ids = [register(users, title=f"关于第{i}批审计整改的函")["id"] for i in range(5)]
    got = find(users["gertrude"], "审计整改", limit=2)
    assert (got["total"], got["capped"]) == (3, True) and [i["id"] for i in got["items"]] == ids[::-1][:2]
    deep = find(users["gertrude"], "审计整改", limit=2, offset=4)
    assert [i["id"] for i in deep["items"]] == [ids[0]]
    got = find(users["gertrude"], "第1批审计")
    assert (got["total"], got["capped"]) == (1, False)


def test_fts_rebuild_gives_the_same_answers(users: Clients, org: Org) -> None:
    register(users, title="关于乡村振兴的函")
    with org.db.write() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("the FTS5 index is SQLite's")
        assert rebuild_fts(s) >= 1
    assert find(users["gertrude"], "乡村振兴")["total"] == 1
    assert fts_tokens("关于2024年ABC的通知，号") == "关于 2024 年 abc 的通 通知 号"


def test_migration_indexes_documents_already_present(tmp_path: Path) -> None:
    from alembic import command

    from office.config import load_settings
    from office.db import Database
    from office.migrate import alembic_config, pending_differences, upgrade

    db = Database(load_settings({}, data_dir=tmp_path, testing=True))
    if not db.is_sqlite:
        pytest.skip("the FTS5 index is SQLite's")
    command.upgrade(alembic_config(db), "0006")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO doc_search (id, doc_kind, doc_id, agency_id, doc_type, status, year, title, "
                "number, agencies, body) VALUES (7, 'incoming', 3, 1, '函', 'handling', 2026, "
                "'关于河长制工作的函', 'X〔2026〕1号', '省水利厅', '请报送河湖治理情况。')"
            )
        )
        conn.execute(text("INSERT INTO doc_search_term (term, doc_kind, doc_id) VALUES ('河长', 'incoming', 3)"))
    upgrade(db)
    with db.engine.connect() as conn:
        match = text("SELECT rowid FROM doc_search_fts WHERE doc_search_fts MATCH :q")
        assert conn.execute(match, {"q": '"河湖 湖治 治理"'}).scalars().all() == [7]
        assert conn.execute(match, {"q": '"2026"* AND "水利"'}).scalars().all() == [7]
        assert conn.execute(text("SELECT count(*) FROM doc_search_term")).scalar() == 0
    assert pending_differences(db) == []
    db.dispose()


def test_a_phrase_with_a_rare_bigram_is_found_by_it_and_confirmed_by_the_text(
    users: Clients, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docs_flow.search import _narrowest

    # Bigrams in a third of the documents or more are common and left to the text; the whole phrase stays
    # when its rarest bigram is not rare, or when it is short and has no common bigram.
    assert _narrowest(["关于", "于做", "做好"], {"关于": 0.9, "于做": 0.01, "做好": 0.2}) == ["于做"]
    # Rarest first, each at least three characters from the others (neighbours belong to the same word).
    assert _narrowest(
        ["关于", "于做", "做好", "好防", "防汛", "汛防", "防台"],
        {"关于": 0.9, "于做": 0.1, "做好": 0.2, "好防": 0.001, "防汛": 0.01, "汛防": 0.2, "防台": 0.3},
    ) == ["好防", "防台"]
    assert _narrowest(["关于", "于做"], {"关于": 0.9, "于做": 0.1}) is None
    assert _narrowest(["审计", "计整", "整改"], {"审计": 0.01, "计整": 0.01, "整改": 0.02}) is None
    assert _narrowest(list("甲乙丙丁戊"), {"甲": 0.5, "乙": 0.001, "丙": 0.1, "丁": 0.2, "戊": 0.01}) == list("乙戊")
    g = users["gertrude"]
    target = register(users, title="关于做好防汛防台风工作的通知", body_text="请做好准备。")
    split = register(users, title="关于做好防汛工作的通知", body_text="防台风工作的通知，另行印发。")
    forest = register(users, title="关于做好森林防火工作的通知", body_text="请做好准备。")
    register(users, title="关于防汛，防台风的函", body_text="请做好准备。")
    expected = {
        "做好防汛防台风工作的通知": {target["id"]},
        "防台风工作的通知": {target["id"], split["id"]},
        "防汛防台风": {target["id"]},
        "好森林防火工作的通": {forest["id"]},
        "汛防台风工作的函": set(),
    }
    for rare in (0.0, 0.3):  # as it is; and with bigrams in fewer than 30% of the documents counted rare
        monkeypatch.setattr(search_mod, "RARE", rare)
        for q, hits in expected.items():
            got = find(g, q, kind="incoming")
            assert {i["id"] for i in got["items"]} == hits and got["total"] == len(hits), (rare, q)
    if org.db.is_sqlite:  # the phrase went to the index as its one rare bigram (in a quarter of them)
        with org.db.read() as s:
            stmt, _ = search_mod._sqlite_match(s, ["做好防汛防台风工作的通知"], [])
            sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
        assert "MATCH '\"汛防\"'" in sql and "LIKE '%做好防汛防台风工作的通知%'" in sql, sql
