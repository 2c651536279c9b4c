"""A generated corpus of Chinese 公文 for the search benchmark: realistic enough that the index sees
what real documents give it.

Documents are titles ("关于做好安全生产工作的通知"), numbers ("粤财函〔2025〕1234号"), a source agency
and a body of sentences; a sentence joins 4-9 words drawn Zipf-like from a vocabulary of the common
words of 公文 (通知, 会议, 工作 ... found in most documents) and a long tail of place names and
generated terms (each in a handful of documents). Lengths are log-normal: median about 550
characters, from 150 to several thousand. Everything is seeded: the same batch number gives the same
documents in any process, so batches can be generated in parallel.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

AGENCIES = [
    "省财政厅",
    "省教育厅",
    "省审计厅",
    "省卫生健康委",
    "省交通运输厅",
    "省自然资源厅",
    "省生态环境厅",
    "省人力资源社会保障厅",
    "省住房城乡建设厅",
    "省农业农村厅",
    "省商务厅",
    "省应急管理厅",
    "省公安厅",
    "省民政厅",
    "省司法厅",
    "省水利厅",
    "省文化和旅游厅",
    "省市场监管局",
    "省统计局",
    "省医保局",
]
TOPICS = [
    "预算编制",
    "安全生产",
    "防汛防台风",
    "耕地保护",
    "营商环境",
    "乡村振兴",
    "数字政府",
    "就业创业",
    "义务教育",
    "医疗保障",
    "生态环境保护",
    "公路养护",
    "城市更新",
    "政务公开",
    "招商引资",
    "应急演练",
    "森林防火",
    "食品安全",
    "疫苗接种",
    "养老服务",
    "河长制",
    "财政资金绩效评价",
    "审计整改",
    "信访维稳",
    "安全隐患排查整治",
    "优化营商环境",
    "高标准农田建设",
    "老旧小区改造",
    "人才引进",
    "科技创新",
]
ACTIONS = ["报送", "做好", "开展", "加强", "进一步规范", "组织实施", "印发", "落实", "征求意见", "召开", "部署"]
KINDS = ["通知", "函", "报告", "意见", "请示", "通报", "纪要", "决定"]
COMMON = [
    "工作",
    "通知",
    "会议",
    "各地",
    "部门",
    "要求",
    "加强",
    "落实",
    "有关",
    "情况",
    "单位",
    "建设",
    "管理",
    "推进",
    "发展",
    "服务",
    "进一步",
    "组织",
    "开展",
    "责任",
    "制度",
    "全面",
    "重点",
    "任务",
    "完善",
    "规定",
    "按照",
    "监督",
    "检查",
    "机制",
    "领导",
    "统筹",
    "政策",
    "项目",
    "资金",
    "安全",
    "保障",
    "提升",
    "实施",
    "及时",
    "确保",
    "研究",
    "方案",
    "措施",
    "严格",
    "依法",
    "目标",
    "质量",
    "体系",
    "协调",
    "考核",
    "指导",
    "年度",
    "报告",
    "全省",
    "市县",
    "基层",
    "群众",
    "企业",
    "社会",
    "经济",
    "改革",
    "创新",
    "环境",
    "标准",
    "规范",
    "整改",
    "问题",
    "风险",
    "防控",
    "应急",
    "预算",
    "财政",
    "审计",
    "教育",
    "卫生",
    "交通",
    "农业",
]
PLACES = [
    "广州",
    "深圳",
    "珠海",
    "汕头",
    "佛山",
    "韶关",
    "湛江",
    "肇庆",
    "江门",
    "茂名",
    "惠州",
    "梅州",
    "汕尾",
    "河源",
    "阳江",
    "清远",
    "东莞",
    "中山",
    "潮州",
    "揭阳",
    "云浮",
    "番禺",
    "顺德",
    "南沙",
    "从化",
    "增城",
]
TAIL_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产"
    "种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从"
    "业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么"
    "利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常"
    "文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被"
    "干做必战先回则任取据处府研质信济兴湾港坝堤闸渠桥隧站场馆园"
)
DAY0 = date(2022, 1, 1)


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Words and cumulative weights: common 公文 words first (Zipf head), then a long generated tail."""
    tail = {"".join(rng.choices(TAIL_CHARS, k=rng.choice((2, 2, 3, 3, 4)))) for _ in range(60_000)}
    words = COMMON + TOPICS + ACTIONS + PLACES + [p + "市" for p in PLACES] + sorted(tail)
    return words, list(itertools.accumulate(1.0 / (i + 8) ** 1.05 for i in range(len(words))))


_VOCAB = _vocabulary(random.Random(11))
PUNCT = ["，", "，", "，", "。", "；", "、"]


def document(rng: random.Random, i: int) -> dict[str, Any]:
    words, cum = _VOCAB
    topic = rng.choice(TOPICS)
    title = f"关于{rng.choice(ACTIONS)}{topic}工作的{rng.choice(KINDS)}"
    size = int(min(max(rng.lognormvariate(6.3, 0.7), 150), 8000))  # characters, median ~550
    n_words = max(size // 3, 10)
    drawn = rng.choices(words, cum_weights=cum, k=n_words)
    parts: list[str] = [f"{topic}工作"]
    for k in range(0, n_words, 6):
        parts.append("".join(drawn[k : k + 6]))
        parts.append(rng.choice(PUNCT))
    day = DAY0 + timedelta(days=rng.randrange(1400))
    agency = rng.choice(AGENCIES)
    return {
        "title": title,
        "agency": agency,
        "body": "".join(parts) + "。",
        "day": day,
        "number": f"粤{agency[1]}函〔{day.year}〕{i % 9000 + 1}号",
    }


def batch(seed: int, start: int, count: int) -> list[dict[str, Any]]:
    """Documents ``start`` .. ``start + count - 1``, the same in any process."""
    rng = random.Random(seed * 1_000_003 + start)
    return [document(rng, start + i) for i in range(count)]
