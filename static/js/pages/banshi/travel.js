// 办事 › 差旅费标准, #/banshi/travel: the agency's travel standards by region and rank (住宿费 cap per
// night, 伙食补助费 and 市内交通费 per day), which the 差旅费报销 form computes its allowances from.
// Everyone may read them; the finance office (财务处) edits them (the server refuses anyone else).
// Money is in 元 on screen and in 分 on the wire. The rows a new agency starts with are examples,
// marked 示例 until the finance office confirms them (editing a row confirms it too); saving
// replaces the whole table (PUT), and a row the server refuses shows its message on that row.

import { el, replace, button, toast, confirmDialog } from "../../ui.js";
import { formatFen, isAbort, yuanMessage } from "./common.js";

const EVERYWHERE = "*";
const MONEY = [["lodging_fen", "住宿费上限（元/晚）"], ["meal_fen", "伙食补助（元/天）"], ["transport_fen", "市内交通（元/天）"]];

const toYuan = (fen) => (Number.isInteger(fen) ? formatFen(fen).replace(/,/g, "").replace(/\.00$/, "") : "");
/** 元 as typed → 分; anything not a plain amount is sent as it is so the server names the row. */
const toFen = (text) => {
  const t = String(text).trim().replace(/[,，]/g, "");
  return /^\d+(\.\d{1,2})?$/.test(t) ? Math.round(Number(t) * 100) : t === "" ? null : t;
};

export async function renderTravel(root, ctx) {
  const { api, signal } = ctx;
  const data = await api.get("/api/banshi/travel-standards", { signal });
  const ranks = data.ranks || ["部级", "司局级", "其他人员"];
  const rows = (data.items || []).map((r) => ({ ...r, yuan: Object.fromEntries(MONEY.map(([k]) => [k, toYuan(r[k])])) }));
  const msg = el("p", { class: "form-msg", role: "alert", hidden: true });
  const note = el("p", { class: "bs-example-note", hidden: !rows.some((r) => r.is_example) },
    "标有“示例”的行是系统预置的示例数据，并非官方标准：请按本地现行差旅费标准核对、修改后确认。");
  const body = el("tbody", {});
  const dirty = () => { note.hidden = !rows.some((r) => r.is_example); };

  const draw = (errorAt = null) => replace(body, rows.map((r, i) => {
    const n = i + 1;
    const tag = el("span", { class: "tag bs-tag-example", hidden: !r.is_example, title: "示例数据，并非官方标准" }, "示例");
    const confirmBtn = r.is_example ? button("确认", () => confirm(), { kind: "link", "aria-label": `确认第 ${n} 行` }) : null;
    const confirm = () => { r.is_example = false; tag.hidden = true; confirmBtn?.remove(); dirty(); };
    const region = r.region === EVERYWHERE && !r.fresh
      ? el("span", { class: "bs-region-default" }, "其他地区", el("span", { class: "hint" }, "（*，未单列的目的地）"))
      : el("input", { type: "text", class: "input", value: r.region, maxlength: 40, "aria-label": `第 ${n} 行地区`, placeholder: "如 北京 或 广东/深圳" });
    if (region.tagName === "INPUT") region.addEventListener("change", () => { r.region = region.value.trim(); confirm(); });
    const rank = el("select", { class: "input", "aria-label": `第 ${n} 行职级` }, ranks.map((k) => el("option", { value: k, selected: k === r.rank }, k)));
    rank.addEventListener("change", () => { r.rank = rank.value; confirm(); });
    const money = MONEY.map(([k, label]) => {
      const x = el("input", { type: "text", class: "input bs-yuan", inputmode: "decimal", value: r.yuan[k], "aria-label": `第 ${n} 行${label}`,
        "aria-invalid": errorAt?.row === n && errorAt.field === k ? "true" : null });
      x.addEventListener("change", () => { r.yuan[k] = x.value; confirm(); });
      return el("td", { "data-label": label, class: "num" }, x);
    });
    const remove = button("删除", () => { rows.splice(i, 1); draw(); dirty(); }, { kind: "link", "aria-label": `删除第 ${n} 行` });
    const tr = el("tr", { class: errorAt?.row === n ? "bs-row-error" : null, dataset: { row: String(n) } },
      el("td", { "data-label": "地区" }, region), el("td", { "data-label": "职级" }, rank), money,
      el("td", { "data-label": "状态" }, el("span", { class: "bs-example-cell" }, tag, confirmBtn)), el("td", { "data-label": "操作" }, remove));
    if (errorAt?.row !== n) return tr;
    return [tr, el("tr", { class: "bs-row-error-msg" }, el("td", { colspan: "7", role: "alert" }, errorAt.message))];
  }));
  draw();

  const add = button("＋ 添加一行", () => {
    rows.push({ region: "", rank: ranks[ranks.length - 1], is_example: false, fresh: true, yuan: { lodging_fen: "", meal_fen: "", transport_fen: "" } });
    draw();
    body.querySelector("tr:last-child input")?.focus();
  }, { kind: "secondary" });
  const confirmAll = button("全部确认为本机关标准", async () => {
    if (!(await confirmDialog({ title: "确认差旅费标准", message: "确认后这些行不再标为示例，报销按其计算。请先核对金额与本地现行标准一致。", confirmText: "确认" }))) return;
    rows.forEach((r) => { r.is_example = false; });
    draw();
    dirty();
  }, { kind: "secondary" });
  const save = button("保存", async () => {
    msg.hidden = true;
    save.disabled = true;
    try {
      const items = rows.map((r) => ({ region: r.region, rank: r.rank, is_example: !!r.is_example, ...Object.fromEntries(MONEY.map(([k]) => [k, toFen(r.yuan[k])])) }));
      const fresh = await api.put("/api/banshi/travel-standards", { items }, { signal });
      rows.splice(0, rows.length, ...fresh.items.map((r) => ({ ...r, yuan: Object.fromEntries(MONEY.map(([k]) => [k, toYuan(r[k])])) })));
      draw();
      dirty();
      toast("差旅费标准已保存", "success");
    } catch (err) {
      if (isAbort(err)) return;
      // `row` counts from 0, as the rows were sent (like a form's detail table); shown counted from 1.
      const row = Number.isInteger(err.body?.row) ? err.body.row + 1 : NaN;
      if (row >= 1 && row <= rows.length) {
        draw({ row, field: err.body?.field, message: yuanMessage(err.message) });
        const tr = body.querySelector(`tr[data-row="${row}"]`);
        (tr?.querySelector('[aria-invalid="true"]') || tr?.querySelector("input, select"))?.focus();
      } else {
        msg.textContent = yuanMessage(err.message);
        msg.className = "form-msg form-msg-error";
        msg.hidden = false;
      }
    } finally {
      save.disabled = false;
    }
  }, { kind: "primary" });

  replace(root, el("a", { class: "back-link", href: "#/banshi/ledger" }, "‹ 返回台账"), el("h1", {}, "差旅费标准"),
    el("p", { class: "hint" }, "差旅费报销按出差目的地和职级计算住宿费上限和伙食、市内交通补助。目的地先按地区全名查找（如“广东/深圳”），再按省份，都没有时用“其他地区”。由财务处维护。"),
    note, msg,
    el("section", { class: "panel" }, el("div", { class: "table-wrap" }, el("table", { class: "table table-stack bs-travel-table" },
      el("thead", {}, el("tr", {}, ["地区", "职级", ...MONEY.map(([, l]) => l), "状态", ""].map((h) => el("th", { scope: "col" }, h)))), body)),
    el("div", { class: "actions" }, add, rows.some((r) => r.is_example) ? confirmAll : null, save),
    data.updated_at ? el("p", { class: "hint" }, `最近修改：${data.updated_at.slice(0, 10)}`) : null));
}
