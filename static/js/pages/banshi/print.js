// 办事: the print view #/banshi/r/<id>/print — an A4 审批单 with the form's values, every approval
// (who, what, when) and, once approved and signed by the system, the QR code that opens the
// verification (#/banshi/verify?serial=…&digest=…). @media print in banshi.css hides the shell.

import { el, replace, button } from "../../ui.js";
import { STATUS_LABELS, TASK_STATES, fmtTime, nameBook, requestValueNode } from "./common.js";

export async function renderPrint(root, ctx, id) {
  const req = await ctx.api.get(`/api/banshi/requests/${id}`, { signal: ctx.signal });
  const names = nameBook(ctx.api, ctx.signal);
  const rows = (req.fields || []).filter((f) => f.type !== "attachment" || (req.values?.[f.key] || []).length)
    .map((f) => el("tr", {}, el("th", { scope: "row" }, f.label), el("td", {}, requestValueNode(req, f, names))));
  const approvals = [];
  for (const s of req.route?.steps || []) {
    for (const t of s.tasks || []) {
      if (!t.acted_at) continue;
      approvals.push(el("tr", {}, el("td", { "data-label": "环节" }, s.name),
        el("td", { "data-label": "审批人" }, t.acted_by ? `${t.acted_by}（代 ${t.assignee}）` : t.assignee),
        el("td", { "data-label": "结果" }, TASK_STATES[t.state] || t.state),
        el("td", { "data-label": "意见", class: "bs-print-opinion" }, t.opinion || ""),
        el("td", { "data-label": "时间", class: "num" }, fmtTime(t.acted_at))));
    }
  }
  const signed = req.proof && Object.keys(req.proof).length;
  const qr = signed ? el("img", { class: "bs-qr", src: `/api/banshi/requests/${req.id}/qr.svg`, alt: "核验二维码：扫码核验本审批单",
    width: "132", height: "132" }) : null;
  qr?.addEventListener("error", () => qr.replaceWith(el("p", { class: "hint" }, "二维码暂不可用")));
  replace(root,
    el("div", { class: "bs-print-tools" },
      el("a", { class: "back-link", href: `#/banshi/r/${req.id}` }, "‹ 返回申请"),
      button("打印", () => window.print(), { kind: "primary" }),
      el("p", { class: "hint" }, "打印时请选择 A4 纸、纵向。")),
    el("article", { class: "bs-sheet", "aria-label": "审批单" },
      el("header", { class: "bs-sheet-head" },
        el("div", {},
          el("h1", {}, `${req.template?.name || ""}审批单`),
          el("p", { class: "bs-sheet-meta" }, [req.serial ? `审批编号：${req.serial}` : "", `状态：${req.status_label || STATUS_LABELS[req.status] || req.status}`]
            .filter(Boolean).join("　"))),
        qr ? el("figure", { class: "bs-qr-box" }, qr, el("figcaption", {}, "扫码核验")) : null),
      el("table", { class: "bs-sheet-table" }, el("caption", { class: "visually-hidden" }, "申请内容"),
        el("tbody", {},
          el("tr", {}, el("th", { scope: "row" }, "申请人"), el("td", {}, `${req.applicant?.name || ""}${req.applicant?.department ? `（${req.applicant.department}）` : ""}`)),
          el("tr", {}, el("th", { scope: "row" }, "申请事项"), el("td", {}, req.title)),
          rows)),
      el("h2", { class: "bs-sheet-h2" }, "审批意见"),
      approvals.length ? el("table", { class: "bs-sheet-table bs-sheet-approvals table-stack" },
        el("thead", {}, el("tr", {}, ["环节", "审批人", "结果", "意见", "时间"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, approvals)) : el("p", {}, "尚无审批记录。"),
      el("footer", { class: "bs-sheet-foot" },
        signed ? [el("p", {}, "本审批单由通办系统电子签名并记入公开日志，扫描二维码，或在“办事 › 审批单验证”中输入审批编号和核验码，即可核验真伪。"),
          req.proof.digest ? el("p", { class: "mono bs-digest" }, `核验码：${req.proof.digest}`) : null]
          : el("p", {}, "本申请尚未审批通过，审批通过后生成核验二维码。"),
        el("p", {}, `打印时间：${fmtTime(new Date().toISOString())}　打印人：${ctx.me.name}`))));
}
