// 办事: what several of its screens share — money in 分 with the 人民币大写 amount, labels, times, and
// names of people and departments by id (values hold ids; the names are looked up once per page).

import { el } from "../../ui.js";
import { dateTime } from "../../time.js";

export const STATUS_LABELS = {
  draft: "草稿", running: "审批中", returned: "已退回", approved: "已通过", rejected: "已拒绝", withdrawn: "已撤销",
};
export const STEP_STATES = { done: "已完成", current: "审批中", upcoming: "未开始", skipped: "已跳过" };
export const TASK_STATES = {
  pending: "待审批", approved: "已同意", returned: "已退回", rejected: "已拒绝", transferred: "已转交", cancelled: "无需审批",
};
export const HISTORY_LABELS = {
  create: "创建", submit: "提交", approve: "同意", reject: "拒绝", terminate: "拒绝", return: "退回", withdraw: "撤销",
  transfer: "转交", add_signer: "加签", skip: "跳过", finish: "审批通过", urge: "催办", cc: "抄送",
};

export function isAbort(err) {
  return err && err.name === "AbortError";
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-12-07 09:30" in 北京时间 (time.js), whatever the browser's zone; "" for none. */
export const fmtTime = dateTime;

// Money ------------------------------------------------------------------------------------------

/** 1234567 分 → "12,345.67". */
export function formatFen(fen) {
  if (fen === null || fen === undefined || fen === "" || !Number.isFinite(Number(fen))) return "";
  const n = Math.round(Number(fen));
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  const yuan = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${yuan}.${pad(abs % 100)}`;
}

/** What was typed in a 元 box ("1,234.5", "１２３") → 分, or null when it is no amount. */
export function parseYuan(text) {
  const s = String(text ?? "").trim().replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[,，\s¥￥元]/g, "");
  if (!s) return null;
  if (!/^-?\d+(\.\d{0,2})?$/.test(s)) return null;
  const [int, dec = ""] = s.replace("-", "").split(".");
  const fen = Number(int) * 100 + Number((dec + "00").slice(0, 2));
  if (!Number.isSafeInteger(fen)) return null;
  return s.startsWith("-") ? -fen : fen;
}

const DIGITS = "零壹贰叁肆伍陆柒捌玖";
const UNITS = ["", "拾", "佰", "仟"];
const GROUPS = ["", "万", "亿", "万亿"];

/** One group of four digits (1–9999) in capitals, zeros inside it read once: 1005 → 壹仟零伍. */
function group4(n) {
  let out = "";
  let zero = false;
  for (let pos = 3; pos >= 0; pos -= 1) {
    const d = Math.floor(n / 10 ** pos) % 10;
    if (d === 0) {
      if (out) zero = true;
      continue;
    }
    if (zero) out += "零";
    zero = false;
    out += DIGITS[d] + UNITS[pos];
  }
  return out;
}

/**
 * 人民币大写 for an amount in 分, as the server's money.fen_to_chinese writes it (the server's text is
 * the one printed; this one only follows the typing): 1234567 → 壹万贰仟叁佰肆拾伍元陆角柒分,
 * 100000 → 壹仟元整, 1005 → 壹拾元零伍分, 0 → 零元整.
 */
export function fenToChinese(fen) {
  if (!Number.isSafeInteger(fen)) return "";
  if (fen === 0) return "零元整";
  const sign = fen < 0 ? "负" : "";
  const abs = Math.abs(fen);
  let yuan = Math.floor(abs / 100);
  const jiao = Math.floor(abs / 10) % 10;
  const fenDigit = abs % 10;
  const groups = [];
  while (yuan > 0) {
    groups.push(yuan % 10000);
    yuan = Math.floor(yuan / 10000);
  }
  let text = "";
  let pendingZero = false;
  for (let i = groups.length - 1; i >= 0; i -= 1) {
    const g = groups[i];
    if (g === 0) {
      if (text) pendingZero = true;
      continue;
    }
    if (text && (pendingZero || g < 1000)) text += "零";
    pendingZero = false;
    text += group4(g) + GROUPS[i];
  }
  if (text) text += "元";
  if (jiao === 0 && fenDigit === 0) return `${sign}${text}整`;
  if (jiao) text += `${DIGITS[jiao]}角`;
  else if (text) text += "零";
  if (fenDigit) text += `${DIGITS[fenDigit]}分`;
  return sign + text;
}

// Names of people and departments -----------------------------------------------------------------

/** Looks up names once per page: names.person(id), names.department(id) resolve to text. */
export function nameBook(api, signal) {
  const people = new Map();
  let tree = null;
  return {
    person(id) {
      if (!people.has(id)) {
        people.set(id, api.get(`/api/directory/people/${id}`, { signal }).then((p) => p.name).catch(() => `#${id}`));
      }
      return people.get(id);
    },
    async department(id) {
      tree ||= api.get("/api/directory/tree", { signal }).then((d) => {
        const map = new Map();
        const walk = (items) => items.forEach((n) => { map.set(n.id, n.name); walk(n.children || []); });
        walk(d.items);
        return map;
      }).catch(() => new Map());
      return (await tree).get(id) || `#${id}`;
    },
  };
}

/** A span that shows "…" and then the names, when they are known. */
export function namesSpan(promises) {
  const span = el("span", {}, "…");
  Promise.all(promises).then((names) => { span.textContent = names.join("、") || "—"; });
  return span;
}

/**
 * The field as its days were counted: a leave request counts by its kind (病假 and 产假 by the
 * calendar, the rest by working days), which the server names in info.leave.count.
 */
/** One value of a request as read-only text: the 用印申请's seal by the name in the request's info (the value is its id). */
export function requestValueNode(req, f, names) {
  const seal = req.info?.seal_authorisation?.seal;
  if (req.template?.builtin === "seal" && f.key === "seal_id" && seal?.name) return el("span", {}, seal.name);
  return valueNode(countedAs(f, req.info), req.values?.[f.key], names);
}

/** A server message about a money field, in 元 as the screen shows it (the wire carries 分). */
export function yuanMessage(message) {
  return String(message || "").replace("应为以分为单位的整数金额", "应为金额（元，最多两位小数，如 1234.56）")
    .replace(/（以分为单位的整数）/g, "");
}

export function countedAs(field, info) {
  const count = info?.leave?.count;
  return count && field.type === "daterange" ? { ...field, count } : field;
}

/** The days of a date range: "3 个工作日" / "3 天". */
export function daysText(field, days) {
  if (days === null || days === undefined || days === "") return "";
  return (field.count || "workdays") === "calendar" ? `${days} 天` : `${days} 个工作日`;
}

/** Read-only text of one value (lists, the request page, print). People and departments as names. */
export function valueNode(field, value, names) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
    return el("span", { class: "bs-none" }, "—");
  }
  switch (field.type) {
    case "money":
      return el("span", { class: "bs-money" }, `¥${formatFen(value)}`, el("span", { class: "bs-capital" }, `（${fenToChinese(Number(value))}）`));
    case "daterange": {
      // Only a half day is worth saying: starting in the afternoon, ending at noon.
      const from = `${value.start}${value.start_half === "pm" ? " 下午" : ""}`;
      const to = `${value.end}${value.end_half === "am" ? " 上午" : ""}`;
      return el("span", {}, `${from} 至 ${to}`,
        value.days !== undefined ? el("strong", { class: "bs-days" }, ` 共 ${daysText(field, value.days)}`) : null);
    }
    case "datetime":
      return el("span", {}, String(value).replace("T", " "));
    case "multiselect":
      return el("span", {}, value.join("、"));
    case "person":
      return namesSpan((Array.isArray(value) ? value : [value]).map((id) => names.person(id)));
    case "department":
      return namesSpan((Array.isArray(value) ? value : [value]).map((id) => names.department(id)));
    case "attachment":
      return el("span", {}, `${value.length} 个附件（见下方“附件”）`);
    case "formula":
      return el("span", {}, field.result === "money" ? `¥${formatFen(value)}` : String(value));
    case "link":
      return el("a", { href: value.kind === "document" ? `#/docs/${value.id}` : `#/banshi/r/${value.id}` },
        value.title || (value.kind === "document" ? `公文 #${value.id}` : `申请 #${value.id}`));
    case "table":
      return tableView(field, value, names);
    case "textarea":
      return el("span", { class: "bs-multiline" }, String(value));
    default:
      return el("span", {}, String(value));
  }
}

function cellText(col, v) {
  if (v === null || v === undefined || v === "") return "";
  if (col.type === "money" || (col.type === "formula" && col.result === "money")) return formatFen(v);
  return String(v);
}

/**
 * A wide table scrolls inside its box, never the page: a hint says so and a shade marks the side
 * with more columns, while it overflows (watched as the box resizes and scrolls).
 */
export function scrollingTable(table, { cls = "" } = {}) {
  const wrap = el("div", { class: "table-wrap", tabindex: "0" }, table);
  const hint = el("p", { class: "hint bs-scroll-hint", hidden: true }, "表格较宽，左右滑动可查看其余各列 ⇆");
  const box = el("div", { class: `bs-scroll ${cls}`.trim() }, wrap, hint);
  const update = () => {
    const more = wrap.scrollWidth - wrap.clientWidth > 1;
    hint.hidden = !more;
    box.classList.toggle("bs-more-left", more && wrap.scrollLeft > 1);
    box.classList.toggle("bs-more-right", more && wrap.scrollLeft < wrap.scrollWidth - wrap.clientWidth - 1);
  };
  wrap.addEventListener("scroll", update, { passive: true });
  if (typeof ResizeObserver === "function") new ResizeObserver(update).observe(wrap);
  requestAnimationFrame(update);
  return box;
}

function tableView(field, value, names) {
  const cols = field.columns || [];
  const rows = value.rows || [];
  const totals = value.totals || {};
  const hasTotals = Object.keys(totals).length > 0;
  return scrollingTable(el("table", { class: "table table-stack bs-detail-table" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "序号"), cols.map((c) => el("th", { scope: "col" },
      c.type === "money" || (c.type === "formula" && c.result === "money") ? `${c.label}（元）` : c.label)))),
    el("tbody", {}, rows.map((r, i) => el("tr", {}, el("td", { "data-label": "序号" }, String(i + 1)),
      cols.map((c) => el("td", { "data-label": c.label, class: isNumeric(c) ? "num" : c.type === "date" ? "nowrap" : null }, cellText(c, r[c.key]))))),
    hasTotals ? el("tr", { class: "bs-total-row" }, el("td", { "data-label": "" }, "合计"),
      cols.map((c) => el("td", { "data-label": c.label, class: "num" }, c.key in totals ? cellText(c, totals[c.key]) : ""))) : null)));
}

export function isNumeric(col) {
  return col.type === "number" || col.type === "money" || col.type === "formula";
}
