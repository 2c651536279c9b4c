"""Sample documents for tests, benchmarks and previews (fictional issuers and content)."""

from __future__ import annotations

import datetime as dt

from typeset.layout import Annex, Attendance, Block, DocType, Heading, OfficialDocument, Paragraph, Table

_SENTENCES = (
    "各地各部门要切实提高政治站位，把这项工作摆在突出位置，加强组织领导，明确责任分工，",
    "确保各项任务落到实处。要坚持问题导向，聚焦群众反映强烈的突出问题，",
    "建立健全工作台账，实行清单化管理、项目化推进，",
    "按照2026年度工作安排，于12月31日前完成全部整改任务，并将整改情况书面报送省政府办公厅。",
)


def body_text(paragraphs: int) -> list[Block]:
    """Headings at all four levels with paragraphs of realistic length between them."""
    blocks: list[Block] = []
    for i in range(paragraphs):
        if i % 6 == 0:
            blocks.append(Heading(1, "总体要求" if i == 0 else "工作任务"))
        elif i % 6 == 2:
            blocks.append(Heading(2, "加强统筹协调。"))
        elif i % 6 == 4:
            blocks.append(Heading(3, "完善工作机制。"))
        elif i % 6 == 5:
            blocks.append(Heading(4, "细化责任清单。"))
        blocks.append(Paragraph("".join(_SENTENCES[j % 4] for j in range(i % 3 + 2))))
    return blocks


def demo_notice(*, pages: int = 3) -> OfficialDocument:
    """A 通知 whose body runs to about ``pages`` pages."""
    return OfficialDocument(
        doc_type=DocType.tongzhi,
        issuer_name="广东省人民政府办公厅",
        number="粤府办〔2026〕12号",
        title="广东省人民政府办公厅关于进一步做好\n政务服务事项标准化工作的通知",
        main_recipients=["各地级以上市人民政府", "省政府各部门、各直属机构"],
        body=body_text(max(1, pages * 4 - 3)),
        attachments=["政务服务事项标准化工作任务清单", "各地市联络员名单"],
        signature_name="广东省人民政府办公厅",
        date=dt.date(2026, 11, 29),
        note="此件公开发布",
        cc=["省委各部门", "省人大常委会办公厅", "省政协办公厅", "省法院", "省检察院"],
        printer="广东省人民政府办公厅秘书处",
        print_date=dt.date(2026, 11, 30),
        copy_number="000123",
        urgency="加急",
    )


def demo_request() -> OfficialDocument:
    """A 请示 (上行文) with three 签发人."""
    return OfficialDocument(
        doc_type=DocType.qingshi,
        issuer_name="广州市人民政府",
        number="穗府〔2026〕7号",
        signers=["张三", "李四", "王五"],
        title="广州市人民政府关于申请设立政务服务创新试点的请示",
        main_recipients=["广东省人民政府"],
        body=body_text(3),
        signature_name="广州市人民政府",
        date=dt.date(2026, 3, 5),
        note="联系人：赵六，电话：020-12345678",
        printer="广州市人民政府办公厅",
        print_date=dt.date(2026, 3, 6),
    )


def demo_letter() -> OfficialDocument:
    return OfficialDocument(
        doc_type=DocType.han,
        issuer_name="广东省人民政府办公厅",
        number="粤办函〔2026〕88号",
        title="广东省人民政府办公厅关于商请支持数据共享工作的函",
        main_recipients=["广东省统计局"],
        body=[Paragraph("为推进政务数据共享，现商请贵局提供相关统计数据接口。"), Paragraph("专此函达。")],
        signature_name="广东省人民政府办公厅",
        date=dt.date(2026, 5, 6),
        cc=["省政务服务数据管理局"],
    )


def demo_minutes() -> OfficialDocument:
    return OfficialDocument(
        doc_type=DocType.jiyao,
        issuer_name="广东省人民政府办公厅",
        issuer_mark_text="省政府常务会议纪要",
        number="第12期",
        title="省政府第十二次常务会议纪要",
        body=[
            Paragraph(
                "2026年11月20日，省长在省政府主持召开第十二次常务会议，研究政务服务有关工作。现将议定事项纪要如下："
            ),
            Heading(1, "关于政务服务标准化工作"),
            Paragraph("会议原则同意《政务服务事项标准化工作方案》，由省政务服务数据管理局牵头落实。"),
            Table([["事项", "责任单位", "完成时限"], ["标准化目录", "省政务服务数据管理局", "2026年12月31日"]]),
        ],
        date=dt.date(2026, 11, 21),
        attendance=Attendance(
            present=("省长", "常务副省长", "副省长"),
            on_leave=("副省长（出差）",),
            sitting_in=("省政府办公厅", "省政务服务数据管理局"),
        ),
        cc=["省委办公厅"],
        printer="广东省人民政府办公厅秘书处",
        print_date=dt.date(2026, 11, 22),
    )


# --- one short and one long document of every type, in its format (page-rule tests, bench) -----

_TITLES = {
    DocType.jueyi: "关于2026年度政务服务工作报告的决议",
    DocType.jueding: "关于表彰2026年度政务服务先进集体的决定",
    DocType.mingling: "",
    DocType.gongbao: "2026年全省政务服务发展统计公报",
    DocType.gonggao: "关于政务服务中心迁址办公的公告",
    DocType.tonggao: "关于规范政务服务大厅秩序的通告",
    DocType.yijian: "关于深化政务服务标准化建设的意见",
    DocType.tongzhi: "关于进一步做好政务服务事项标准化工作的通知",
    DocType.tongbao: "关于2026年第三季度政务服务督查情况的通报",
    DocType.baogao: "关于2026年度政务服务工作情况的报告",
    DocType.qingshi: "关于申请设立政务服务创新试点的请示",
    DocType.pifu: "关于同意设立政务服务创新试点的批复",
    DocType.yian: "关于提请审议《广东省政务服务条例（草案）》的议案",
    DocType.han: "关于商请支持数据共享工作的函",
    DocType.jiyao: "省政府第十二次常务会议纪要",
}
_ENDINGS = {
    DocType.tongzhi: "特此通知。",
    DocType.qingshi: "妥否，请批示。",
    DocType.baogao: "特此报告。",
    DocType.han: "专此函达。",
    DocType.pifu: "此复。",
    DocType.yian: "请予审议。",
    DocType.tongbao: "特此通报。",
    DocType.tonggao: "特此通告。",
    DocType.gonggao: "特此公告。",
}


ANNEX_TITLES = ("政务服务事项标准化工作任务清单", "各地市联络员名单", "政务服务事项目录（2026年版）")


def annexes() -> list[Annex]:
    """The long samples' three attachments, bound: a table, a list, and paragraphs that end with a
    date like the document's own (the seal must still go on the 署名 in the 主体)."""
    return [
        Annex(
            1,
            ANNEX_TITLES[0],
            (
                Paragraph("".join(_SENTENCES[:3])),
                Table(
                    [
                        ["序号", "工作任务", "责任单位", "完成时限"],
                        ["1", "编制标准化目录", "省政务服务数据管理局", "2026年12月31日"],
                        ["2", "修订办事指南", "各地级以上市人民政府", "2027年3月31日"],
                        ["3", "开展评估督查", "省政府办公厅", "2027年6月30日"],
                    ]
                ),
            ),
        ),
        Annex(
            2,
            ANNEX_TITLES[1],
            (
                Table(
                    [["地市", "联络员", "电话"], ["广州市", "张三", "020-12345678"], ["深圳市", "李四", "0755-1234567"]]
                ),
            ),
        ),
        Annex(
            3,
            ANNEX_TITLES[2],
            (
                Heading(1, "行政许可事项"),
                Paragraph("".join(_SENTENCES[j % 4] for j in range(5))),
                Heading(1, "公共服务事项"),
                Paragraph("".join(_SENTENCES[j % 4] for j in range(3))),
                Paragraph("2026年11月29日"),
            ),
        ),
    ]


def type_sample(doc_type: DocType, *, long: bool) -> tuple[OfficialDocument, str]:
    """A document of ``doc_type`` in the format it is issued in (文件格式; 函 信函格式, 纪要 纪要格式,
    令 命令格式) and that format's name. ``long``: several pages with a table, three bound attachments and
    a 附注; the body length varies with the type so the 署名 and 版记 fall at different places."""
    index = list(DocType).index(doc_type)
    body: list[Block] = body_text(8 + (index * 5) % 11) if long else [Paragraph("".join(_SENTENCES[:2]))]
    if long:
        body.insert(
            len(body) // 2,
            Table(
                [
                    ["事项", "责任单位", "完成时限"],
                    ["标准化目录编制", "省政务服务数据管理局", "2026年12月31日"],
                    ["办事指南修订", "各地级以上市人民政府", "2027年3月31日"],
                ]
            ),
        )
    if doc_type in _ENDINGS:
        body.append(Paragraph(_ENDINGS[doc_type]))
    fmt = {DocType.han: "letter", DocType.jiyao: "minutes", DocType.mingling: "order"}.get(doc_type, "standard")
    values: dict[str, object] = {
        "doc_type": doc_type,
        "issuer_name": "广东省人民政府办公厅",
        "title": _TITLES[doc_type] or "广东省人民政府令",
        "body": body,
        "number": f"粤府办〔2026〕{index + 1}号",
        "main_recipients": ["各地级以上市人民政府", "省政府各部门"],
        "signature_name": "广东省人民政府办公厅",
        "date": dt.date(2026, 11, 29),
        "cc": ["省委各部门", "省人大常委会办公厅", "省政协办公厅"],
        "printer": "广东省人民政府办公厅秘书处",
        "print_date": dt.date(2026, 11, 30),
    }
    if long:
        values.update(
            attachments=list(ANNEX_TITLES),
            note="联系人：张三，电话：020-12345678",
            annexes=annexes(),
        )
    if doc_type.upward:
        values.update(signers=["张三", "李四"], main_recipients=["广东省人民政府"])
    if doc_type is DocType.han:
        values.update(number=f"粤办函〔2026〕{index + 1}号", main_recipients=["广东省统计局"])
    if doc_type is DocType.mingling:
        values.update(
            issuer_name="广东省人民政府",
            number="第12号",
            signature_name="王五",
            signer_title="省长",
            main_recipients=[],
        )
    if doc_type is DocType.jiyao:
        values.update(
            issuer_mark_text="省政府常务会议纪要",
            number="第12期",
            main_recipients=[],
            signature_name=None,
            attendance=Attendance(
                present=("省长", "常务副省长", "副省长"),
                on_leave=("副省长（出差）",),
                sitting_in=("省政府办公厅", "省政务服务数据管理局"),
            ),
        )
    return OfficialDocument(**values), fmt  # type: ignore[arg-type]
