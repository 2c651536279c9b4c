"""收文 benchmarks: Chinese document search (bigram index) and the 督办 dashboard.

* ``incoming.search_index_build``: seconds to index N generated documents (title, numbers, agencies,
  a ~250-character body of realistic 公文 phrases), bulk, on SQLite.
* ``incoming.search_p50`` / ``_p99``: latency of ``docs_flow.search.search`` as the agency's clerk
  (permission filter included), over 2- to 4-character queries from rare to very common.
* ``incoming.dashboard``: median time of ``supervision.dashboard`` over M open items (target < 200 ms).

Sizes: quick N=10,000 / M=10,000; full N=80,000 (the largest that indexes in ~3 minutes here, about 1.8 ms
per document; 1,000,000 would take about 30 minutes and ~60 million bigram rows) / M=100,000.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

AGENCIES = ["省财政厅", "省教育厅", "省审计厅", "省卫生健康委", "省交通运输厅", "省自然资源厅", "省生态环境厅",
            "省人力资源社会保障厅", "省住房城乡建设厅", "省农业农村厅", "省商务厅", "省应急管理厅"]
TOPICS = ["预算编制", "安全生产", "防汛防台风", "耕地保护", "营商环境", "乡村振兴", "数字政府", "就业创业",
          "义务教育", "医疗保障", "生态环境保护", "公路养护", "城市更新", "政务公开", "招商引资", "应急演练",
          "森林防火", "食品安全", "疫苗接种", "养老服务", "河长制", "财政资金绩效评价", "审计整改", "信访维稳"]
ACTIONS = ["报送", "做好", "开展", "加强", "进一步规范", "组织实施", "印发", "落实", "征求意见"]
KINDS = ["通知", "函", "报告", "意见", "请示", "通报"]
PHRASES = ["各地各部门要高度重视", "切实加强组织领导", "明确责任分工", "按照有关规定", "结合本地实际",
           "认真研究制定工作方案", "确保各项任务落到实处", "请于本月底前将有关情况报送我厅", "加强监督检查",
           "对工作不力的单位予以通报", "严格落实主体责任", "建立健全长效机制", "统筹推进", "加大资金投入力度",
           "做好宣传引导工作", "及时总结经验做法", "有关情况请及时报告", "联系人及电话见附件"]
QUERIES = ["预算", "预算编制", "安全生产", "防汛", "营商环境", "河长制", "审计整改", "省财政厅", "报送", "通知",
           "养老服务", "疫苗", "森林防火", "绩效评价", "长效机制", "数字政府", "信访", "公路养护", "乡村振兴", "征求意见"]


def _doc(rng: random.Random, i: int) -> dict[str, Any]:
    topic = rng.choice(TOPICS)
    title = f"关于{rng.choice(ACTIONS)}{topic}工作的{rng.choice(KINDS)}"
    body = "，".join(rng.choice(PHRASES) for _ in range(12)) + f"。{topic}相关工作"
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
    return {"title": title, "agency": rng.choice(AGENCIES), "body": body, "day": day,
            "number": f"粤财函〔{day.year}〕{i % 5000 + 1}号"}


def _setup(tmp: Path) -> tuple[Any, Any, dict[str, int]]:
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.directory import service
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import DeptKind, Role

    import docs_flow.search  # noqa: F401  (indexing hooks)
    import docs_flow.service  # noqa: F401  (policy rules)

    db = Database(load_settings({}, data_dir=tmp, testing=True))
    upgrade(db)
    with db.write() as s:
        agency = service.create_department(s, SYSTEM, name="省政府办公厅", kind=DeptKind.agency, code="粤府办")
        depts = [service.create_department(s, SYSTEM, name=f"第{i}处", parent_id=agency.id).id for i in range(12)]
        clerk = service.create_user(s, SYSTEM, username="clerk", name="收发员", password="x" * 12,
                                    posts=[PostSpec(department_id=depts[0], title="收发员")],
                                    roles={Role.staff, Role.clerk, Role.leader}, check_password=False,
                                    password_hash="x")
        ids = {"agency": agency.id, "clerk": clerk.id, **{f"d{i}": d for i, d in enumerate(depts)}}
    return db, ids, ids  # type: ignore[return-value]


def _build_index(db: Any, agency_id: int, n: int, rng: random.Random) -> float:
    from docs_flow.incoming_models import IncomingDocument, SearchDoc, SearchTerm
    from docs_flow.search import grams

    start = time.perf_counter()
    batch = 2000
    now = datetime.now(UTC)
    for base in range(0, n, batch):
        docs = [_doc(rng, base + i) for i in range(min(batch, n - base))]
        with db.write() as s:
            first = base + 1
            s.execute(insert(IncomingDocument), [
                {"id": first + i, "agency_id": agency_id, "source": "paper", "title": d["title"],
                 "source_agency_name": d["agency"], "original_number": d["number"], "doc_type": "函",
                 "body_text": d["body"], "status": "handling", "received_at": now, "created_at": now,
                 "updated_at": now, "urgency": "", "secrecy": "", "copies": 1, "reg_number": "", "return_reason": "",
                 "proposal": "", "instruction": "", "co_department_ids": [], "results": [], "created_by": 0,
                 "version": 1} for i, d in enumerate(docs)])
            s.execute(insert(SearchDoc), [
                {"doc_kind": "incoming", "doc_id": first + i, "agency_id": agency_id, "doc_type": "函",
                 "status": "handling", "year": d["day"].year, "doc_date": d["day"], "title": d["title"],
                 "number": d["number"], "agencies": d["agency"], "body": d["body"]} for i, d in enumerate(docs)])
            s.execute(insert(SearchTerm), [
                {"term": g, "doc_kind": "incoming", "doc_id": first + i}
                for i, d in enumerate(docs) for g in grams(" ".join([d["title"], d["number"], d["agency"], d["body"]]))])
    return time.perf_counter() - start


def _search_latency(db: Any, actor: Any) -> list[float]:
    from docs_flow import search

    times = []
    for _ in range(3):
        for q in QUERIES:
            with db.read() as s:
                t = time.perf_counter()
                search.search(s, actor, q, limit=20)
                times.append((time.perf_counter() - t) * 1000)
    return sorted(times)


def _dashboard(db: Any, actor: Any, ids: dict[str, int], m: int, rng: random.Random) -> float:
    from docs_flow import supervision
    from docs_flow.incoming_models import SupervisionItem

    now = datetime.now(UTC)
    rows = []
    for i in range(m):
        created = now - timedelta(hours=rng.randrange(1, 2000))
        deadline = created + timedelta(hours=rng.randrange(24, 1500))
        done = rng.random() < 0.3
        completed = created + timedelta(hours=rng.randrange(1, 1500)) if done else None
        rows.append({"agency_id": ids["agency"], "source_kind": rng.choice(list(supervision.SOURCES)),
                     "source_id": f"b{i}", "title": f"督办事项{i}", "owner_department_id": ids[f"d{i % 12}"],
                     "deadline": deadline, "status": "done" if done else "open", "escalation_level": 0, "link": "",
                     "reminders": [], "history": [], "created_by": 0, "created_at": created,
                     "completed_at": completed,
                     "handling_hours": (completed - created).total_seconds() / 3600 if completed else None})
    with db.write() as s:
        for k in range(0, m, 5000):
            s.execute(insert(SupervisionItem), rows[k:k + 5000])
    times = []
    for _ in range(7):
        with db.read() as s:
            t = time.perf_counter()
            supervision.dashboard(s, actor, supervision.Filters())
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(quick: bool) -> list[dict[str, Any]]:
    from office.accounts import load_actor

    n = 10_000 if quick else 80_000
    m = 10_000 if quick else 100_000
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db, ids, _ = _setup(Path(tmp))
        build = _build_index(db, ids["agency"], n, rng)
        with db.read() as s:
            actor = load_actor(s, ids["clerk"])
        lat = _search_latency(db, actor)
        dash = _dashboard(db, actor, ids, m, rng)
        db.dispose()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return [
        {"name": f"incoming.search_index_build_{n}_docs", "value": round(build, 2), "unit": "s"},
        {"name": f"incoming.search_p50_{n}_docs", "value": round(statistics.median(lat), 2), "unit": "ms"},
        {"name": f"incoming.search_p99_{n}_docs", "value": round(p99, 2), "unit": "ms"},
        {"name": f"incoming.dashboard_{m}_items", "value": round(dash, 2), "unit": "ms"},
    ]
