// 数据填报: what its screens share — the tabs, status words, period names, times and a bar chart
// drawn as inline SVG (no library; attributes only, so the strict CSP allows it).

import { el } from "../../ui.js";
import { beijingParts } from "../../time.js";

export { fmtTime, isAbort, formatFen } from "../banshi/common.js";

export const RETURN_STATUS = {
  not_started: "未开始", filling: "填报中", in_review: "审核中", submitted: "已报送",
  returned: "已退回", accepted: "已采纳", withdrawn: "已撤回",
};
export const TASK_STATUS = { draft: "草稿", issued: "已下发", withdrawn: "已撤回", closed: "已结束" };
export const ITEM_STATUS = { proposed: "待审核", active: "已启用", rejected: "未通过", retired: "已停用" };
export const CYCLES = { month: "月度", quarter: "季度", half: "半年", year: "年度", once: "长期" };
export const LEVELS = { public: "公开", internal: "内部", sensitive: "敏感" };
export const TYPES = {
  number: "数字", money: "金额", text: "文字", textarea: "多行文字", date: "日期", select: "单选", multiselect: "多选", table: "表格（多行）",
};

const TABS = [
  ["returns", "待填报", "#/tianbao"],
  ["tasks", "采集任务", "#/tianbao/tasks"],
  ["items", "数据项", "#/tianbao/items"],
  ["burden", "减负报告", "#/tianbao/burden"],
];

/** The page head: the h1 and the four tabs (the strip scrolls sideways on a phone). */
export function head(title, current, extra = null) {
  const nav = el("nav", { class: "tabs tb-tabs", "aria-label": "数据填报分类" },
    el("ul", {}, TABS.map(([key, label, href]) => el("li", {},
      el("a", { class: "tab", href, "aria-current": key === current ? "page" : null }, label)))));
  requestAnimationFrame(() => nav.querySelector("[aria-current]")?.scrollIntoView({ block: "nearest", inline: "nearest" }));
  return [el("div", { class: "tb-head" }, el("h1", {}, title), extra), nav];
}

/** "2026Q4" → "2026年第4季度"; "2026-11" → "2026年11月"; "2026H1" → "2026年上半年"; "2026" → "2026年". */
export function periodLabel(key) {
  const s = String(key || "");
  let m;
  if (s === "once") return "长期有效";
  if ((m = /^(\d{4})Q([1-4])$/.exec(s))) return `${m[1]}年第${m[2]}季度`;
  if ((m = /^(\d{4})H([12])$/.exec(s))) return `${m[1]}年${m[2] === "1" ? "上" : "下"}半年`;
  if ((m = /^(\d{4})-(\d{2})$/.exec(s))) return `${m[1]}年${Number(m[2])}月`;
  if (/^\d{4}$/.test(s)) return `${s}年`;
  return s;
}

/** The periods a task is likely to be for: this year's and last year's quarters, halves, months. */
export function periodOptions(now = new Date()) {
  const out = [];
  const year = beijingParts(now).year; // 北京时间 (time.js)
  for (const y of [year, year - 1]) {
    for (let q = 4; q >= 1; q -= 1) out.push(`${y}Q${q}`);
    out.push(`${y}H2`, `${y}H1`, String(y));
    for (let mo = 12; mo >= 1; mo -= 1) out.push(`${y}-${String(mo).padStart(2, "0")}`);
  }
  return out.map((key) => ({ value: key, label: periodLabel(key) }));
}

export function statusTag(status, late = false) {
  return [
    el("span", { class: `tag tb-status tb-status-${status}` }, RETURN_STATUS[status] || TASK_STATUS[status] || status),
    late ? el("span", { class: "tag tb-late" }, "逾期") : null,
  ];
}

/** A person or a name: the API may send {id, name} or the name. */
export const nameOf = (p) => (p && typeof p === "object" ? p.name || "" : p || "");

/** A number for people: 12345.6 → "12,345.6". */
export function num(v) {
  if (v === null || v === undefined || v === "") return "—";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return n.toLocaleString("zh-CN", { maximumFractionDigits: 2 });
}

/**
 * Horizontal bars, one per row: [{label, value, extra?}]. Labels are SVG text (user data through
 * textContent); ``width`` is the box's width in px, so the text is drawn at its own size (the page
 * draws the chart again when the box changes width), and a table beside it carries the numbers.
 */
export function barChart(rows, { title, unit = "", width = 560 } = {}) {
  // Sizes follow the text (larger in 长者模式): the CSS draws it at 0.75rem.
  const fs = 0.75 * (parseFloat(getComputedStyle(document.documentElement).fontSize) || 18);
  const h = Math.round(fs * 2);
  const labelW = Math.round(Math.min(fs * 11, width * 0.34));
  const chars = Math.max(4, Math.floor(labelW / fs) - 1);
  const max = Math.max(1, ...rows.map((r) => Math.abs(Number(r.value) || 0)));
  const svg = el("svg:svg", {
    viewBox: `0 0 ${width} ${rows.length * h + 8}`, class: "tb-chart", role: "img", "aria-label": title || "图表",
    preserveAspectRatio: "xMinYMin meet",
  });
  rows.forEach((r, i) => {
    const v = Number(r.value) || 0;
    const w = Math.max(1, Math.round((Math.abs(v) / max) * (width - labelW - fs * 7.5)));
    const y = i * h + 4;
    const base = y + Math.round(h / 2 + fs * 0.35);
    const label = el("svg:text", { x: labelW - 8, y: base, class: "tb-chart-label", "text-anchor": "end" });
    label.textContent = String(r.label).length > chars ? `${String(r.label).slice(0, chars)}…` : String(r.label);
    if (String(r.label).length > chars) label.append(el("svg:title", {}, String(r.label)));
    const bar = el("svg:rect", { x: labelW, y: y + 4, width: w, height: h - 8, rx: 3, class: r.extra ? "tb-bar tb-bar-alt" : "tb-bar" });
    const value = el("svg:text", { x: labelW + w + 6, y: base, class: "tb-chart-value" });
    value.textContent = `${num(r.value)} ${unit}`.trim();
    svg.append(label, bar, value);
  });
  return svg;
}
