// 办事 › 台账, #/banshi/ledger[?month=YYYY-MM]: per department and form, what was applied for, approved and
// the amounts approved in a month, and the leave approved per person — for the agency's personnel and
// finance offices (the server refuses everyone else). 导出 Excel downloads the same as .xlsx.

import { el, replace, button, toast, emptyState } from "../../ui.js";
import { csrfHeader } from "../../api.js";
import { formatFen } from "./common.js";
import { beijingDate } from "../../time.js";

export async function renderLedger(root, ctx) {
  const q = ctx.params.query;
  const month = /^\d{4}-\d{2}$/.test(q.month || "") ? q.month : beijingDate().slice(0, 7); // 北京时间 (time.js)
  const picker = el("input", { type: "month", id: "bs-ledger-month", value: month });
  picker.addEventListener("change", () => picker.value && ctx.navigate(`#/banshi/ledger?month=${picker.value}`));
  const exportBtn = button("导出 Excel", () => download(ctx, month, exportBtn), { kind: "secondary" });
  replace(root, el("a", { class: "back-link", href: "#/banshi" }, "‹ 返回办事"), el("h1", {}, "办事台账"),
    el("div", { class: "toolbar" }, el("div", { class: "field" }, el("label", { for: "bs-ledger-month" }, "月份"), picker), exportBtn,
      el("a", { class: "btn btn-secondary", href: "#/banshi/travel" }, "差旅费标准")));
  const data = await ctx.api.get("/api/banshi/ledger", { query: { month }, signal: ctx.signal });
  root.append(
    el("section", { class: "panel", "aria-labelledby": "bs-lg-h" }, el("h2", { class: "panel-title", id: "bs-lg-h" }, `${month} 各部门办事情况`),
      data.items.length ? el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
        el("thead", {}, el("tr", {}, ["部门", "事项", "申请", "批准", "批准金额（元）"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, data.items.map((i) => el("tr", {}, el("td", { "data-label": "部门" }, i.department), el("td", { "data-label": "事项" }, i.template),
          el("td", { "data-label": "申请", class: "num" }, String(i.applied)), el("td", { "data-label": "批准", class: "num" }, String(i.approved)),
          el("td", { "data-label": "金额", class: "num" }, formatFen(i.approved_fen))))),
        el("tfoot", {}, el("tr", { class: "bs-total-row" }, el("th", { scope: "row", colspan: "2" }, "合计"),
          el("td", { class: "num" }, String(data.totals.applied)), el("td", { class: "num" }, String(data.totals.approved)),
          el("td", { class: "num" }, formatFen(data.totals.approved_fen))))))
        : emptyState({ title: "本月没有办事记录" })),
    el("section", { class: "panel", "aria-labelledby": "bs-lg-lv" }, el("h2", { class: "panel-title", id: "bs-lg-lv" }, "本月批准的请假"),
      data.leave.length ? el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
        el("thead", {}, el("tr", {}, ["姓名", "部门", "假别", "天数"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, data.leave.map((p) => el("tr", {}, el("td", { "data-label": "姓名" }, p.name), el("td", { "data-label": "部门" }, p.department),
          el("td", { "data-label": "假别" }, p.kind), el("td", { "data-label": "天数", class: "num" }, String(p.days)))))))
        : el("p", { class: "hint" }, "本月没有批准的请假。")));
}

/** The export is audited, so it is asked for with the CSRF header; the answer is saved as a file. */
async function download(ctx, month, btn) {
  btn.disabled = true;
  try {
    const r = await fetch(`/api/banshi/ledger.xlsx?month=${encodeURIComponent(month)}`, { credentials: "same-origin", headers: { "X-CSRF-Token": csrfHeader() } });
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      throw new Error(body?.message || "导出失败，请稍后再试");
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `办事台账-${month}.xlsx`, class: "visually-hidden" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err.message, "error");
  } finally {
    btn.disabled = false;
  }
}
