"""Sample documents for tests, benchmarks and previews (fictional issuers and content)."""

from __future__ import annotations

import datetime as dt

from typeset.layout import Attendance, Block, DocType, Heading, OfficialDocument, Paragraph, Table

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
        doc_type=DocType.NOTICE,
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
        doc_type=DocType.REQUEST,
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
        doc_type=DocType.LETTER,
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
        doc_type=DocType.MINUTES,
        issuer_name="广东省人民政府办公厅",
        issuer_mark_text="省政府常务会议纪要",
        number="第12期",
        title="省政府第十二次常务会议纪要",
        body=[
            Paragraph("2026年11月20日，省长在省政府主持召开第十二次常务会议，研究政务服务有关工作。现将议定事项纪要如下："),
            Heading(1, "关于政务服务标准化工作"),
            Paragraph("会议原则同意《政务服务事项标准化工作方案》，由省政务服务数据管理局牵头落实。"),
            Table([["事项", "责任单位", "完成时限"], ["标准化目录", "省政务服务数据管理局", "2026年12月31日"]]),
        ],
        date=dt.date(2026, 11, 21),
        attendance=Attendance(present=("省长", "常务副省长", "副省长"), on_leave=("副省长（出差）",),
                              sitting_in=("省政府办公厅", "省政务服务数据管理局")),
        cc=["省委办公厅"],
        printer="广东省人民政府办公厅秘书处",
        print_date=dt.date(2026, 11, 22),
    )
