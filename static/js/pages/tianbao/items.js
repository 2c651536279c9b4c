// 数据项 (#/tianbao/items): the registry (一数一源). Everyone reads the items they may; a department
// registers its own items (it is their 数源部门); a collector asks for a new item (申请新增) and the
// owner department approves or rejects it (采集需求审核).

import { el, replace, button, loading, emptyState, errorState, toast, field, openDialog, formMessage, pagination, newestWins, debounce } from "../../ui.js";
import { picker } from "../../components/picker.js";
import { head, isAbort, CYCLES, LEVELS, TYPES, ITEM_STATUS } from "./common.js";

const LIMIT = 20;

export async function renderItems(root, ctx) {
  const { api, signal } = ctx;
  const qv = ctx.params.query;
  const page = Math.max(1, Number(qv.page) || 1);
  const q = el("input", { type: "search", id: "tb-items-q", value: qv.q || "", placeholder: "名称、编码", autocomplete: "off" });
  const status = field({ label: "状态", name: "status", type: "select", value: qv.status || "",
    options: [{ value: "", label: "全部" }, ...Object.entries(ITEM_STATUS).map(([value, label]) => ({ value, label }))] });
  const mine = field({ label: "范围", name: "owner", type: "select", value: qv.owner || "",
    options: [{ value: "", label: "我能查看的" }, { value: "mine", label: "本部门负责的" }] });
  const list = el("section", { class: "panel tb-list", "aria-label": "数据项" }, loading());
  const go = (changes = {}) => {
    const all = { q: q.value.trim(), status: status.input.value, owner: mine.input.value, ...changes };
    ctx.navigate(`#/tianbao/items?${new URLSearchParams(Object.entries(all).filter(([, v]) => v))}`);
  };
  const tools = el("div", { class: "actions" },
    button("登记数据项", () => editor(ctx, { propose: false, done: () => load() }), { kind: "primary" }),
    button("申请新增", () => editor(ctx, { propose: true, done: () => load() }), { kind: "secondary" }));
  replace(root, head("数据填报", "items", tools),
    el("form", { class: "filters tb-filters", role: "search", "aria-label": "查找数据项", onsubmit: (e) => { e.preventDefault(); go(); } },
      el("div", { class: "field" }, el("label", { for: "tb-items-q" }, "关键词"), q), status.wrap, mine.wrap,
      el("div", { class: "actions" }, button("查找", null, { kind: "primary", type: "submit" }))),
    list);
  status.input.addEventListener("change", () => go(), { signal });
  mine.input.addEventListener("change", () => go(), { signal });

  const load = newestWins(async (stale) => {
    const data = await api.get("/api/tianbao/items", { query: { q: qv.q, status: qv.status, owner: qv.owner, page }, signal });
    if (stale()) return;
    const items = data.items || [];
    if (!items.length) {
      replace(list, emptyState({ title: qv.q || qv.status || qv.owner ? "没有符合条件的数据项" : "登记库里还没有数据项",
        text: "数源部门登记数据项（编码、名称、口径、计量单位、更新周期、分级）后，各采集任务即可选用。" }));
      return;
    }
    replace(list, el("ul", { class: "tb-items" }, items.map((it) => itemRow(ctx, it, () => load()))),
      pagination({ total: data.total ?? items.length, offset: (page - 1) * LIMIT, limit: LIMIT, onChange: (offset) => go({ page: String(offset / LIMIT + 1) }) }));
  });
  ctx.ws.subscribe("tianbao", debounce(() => load().catch(() => {}), 500), { signal });
  try {
    await load();
  } catch (err) {
    if (!isAbort(err)) replace(list, errorState(err, () => load().catch(() => {})));
  }
}

function itemRow(ctx, it, reload) {
  const meta = [it.code, TYPES[it.type || it.spec?.type] || "", it.unit_label, `${CYCLES[it.cycle] || it.cycle}更新`, it.level_name || LEVELS[it.level],
    it.owner_dept_name ? `数源：${it.owner_agency_name ? `${it.owner_agency_name} ` : ""}${it.owner_dept_name}` : "",
    it.source_label ? `可自动计算：${it.source_label}` : ""].filter(Boolean).join(" · ");
  const mayReview = it.status === "proposed" && ctx.me.posts?.some((p) => p.department_id === it.owner_dept_id);
  return el("li", { class: "tb-item" },
    el("p", { class: "tb-item-line" }, el("span", { class: "tb-item-title" }, it.name),
      el("span", { class: `tag tb-item-status tb-item-${it.status}` }, ITEM_STATUS[it.status] || it.status),
      it.level === "sensitive" ? el("span", { class: "tag tb-late" }, "敏感") : null),
    el("p", { class: "tb-item-meta" }, meta),
    it.definition ? el("p", { class: "tb-item-def" }, `口径：${it.definition}`) : null,
    it.status === "proposed" && it.proposed_by_dept_name ? el("p", { class: "tb-item-meta" }, `由 ${it.proposed_by_dept_name}${it.proposed_by_name ? ` ${it.proposed_by_name}` : ""} 申请`) : null,
    it.review_note ? el("p", { class: "tb-item-meta" }, `审核意见：${it.review_note}`) : null,
    mayReview ? el("div", { class: "actions" },
      button("通过", () => review(ctx, it, true, reload), { kind: "primary", class: "btn-small", "aria-label": `通过：${it.name}` }),
      button("不通过", () => review(ctx, it, false, reload), { kind: "secondary", class: "btn-small", "aria-label": `不通过：${it.name}` })) : null);
}

function review(ctx, it, approve, reload) {
  const note = field({ label: approve ? "审核意见（可选）" : "不通过的原因", name: "note", type: "textarea", rows: 2, maxlength: 200, required: !approve });
  const msg = formMessage();
  const ok = button(approve ? "通过" : "不通过", async () => {
    if (!approve && !note.input.value.trim()) { msg.show("请写明不通过的原因"); return; }
    try {
      await ctx.api.post(`/api/tianbao/items/${it.id}/review`, { approve, note: note.input.value.trim(), version: it.version }, { signal: ctx.signal });
      dlg.close();
      toast(approve ? "已通过，该数据项可用于采集任务" : "已退回申请", "success");
      reload();
    } catch (err) {
      if (!isAbort(err)) msg.show(err.message);
    }
  }, { kind: approve ? "primary" : "danger" });
  const dlg = openDialog({ title: `审核新增数据项：${it.name}`, body: [note.wrap, msg], actions: [button("取消", () => dlg.close()), ok] });
  note.input.focus();
}

/** 登记 (the owner department) or 申请新增 (a collector): one dialog, two routes. */
function editor(ctx, { propose, done }) {
  const code = field({ label: "编码", name: "code", required: true, maxlength: 40, placeholder: "如 A01.003" });
  const name = field({ label: "名称", name: "name", required: true, maxlength: 100 });
  const def = field({ label: "口径（定义）", name: "definition", type: "textarea", rows: 2, maxlength: 2000 });
  const unit = field({ label: "计量单位", name: "unit_label", maxlength: 20, placeholder: "如 万人、亿元、个" });
  const type = field({ label: "类型", name: "type", type: "select", value: "number", options: Object.entries(TYPES).map(([value, label]) => ({ value, label })) });
  const options = field({ label: "选项（每行一个）", name: "options", type: "textarea", rows: 3, hint: "单选、多选用" });
  const columns = field({ label: "表格的列（每行一列，数字列写成“列名:数字”）", name: "columns", type: "textarea", rows: 3, hint: "如：项目名称 / 总投资:数字" });
  const cycle = field({ label: "更新周期", name: "cycle", type: "select", value: "year", options: Object.entries(CYCLES).map(([value, label]) => ({ value, label })) });
  const level = field({ label: "分级", name: "level", type: "select", value: "internal", options: Object.entries(LEVELS).map(([value, label]) => ({ value, label })) });
  const owner = propose ? picker({ api: ctx.api, label: "数源部门", kind: "departments", required: true,
    hint: "应当负责这项数据的部门，由它审核" }) : null;
  const msg = formMessage();
  const showExtra = () => {
    options.wrap.hidden = !["select", "multiselect"].includes(type.input.value);
    columns.wrap.hidden = type.input.value !== "table";
  };
  type.input.addEventListener("change", showExtra);
  showExtra();
  const spec = () => {
    const t = type.input.value;
    const s = { type: t };
    if (t === "select" || t === "multiselect") s.options = options.input.value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (t === "table") {
      s.columns = columns.input.value.split("\n").map((x) => x.trim()).filter(Boolean).map((line, i) => {
        const [label, kind] = line.split(/[:：]/);
        return { key: `c${i + 1}`, label: label.trim(), type: kind && kind.trim() === "数字" ? "number" : "text" };
      });
    }
    return s;
  };
  const ok = button(propose ? "提交申请" : "登记", async () => {
    msg.clear();
    const body = { code: code.input.value.trim(), name: name.input.value.trim(), definition: def.input.value.trim(), unit_label: unit.input.value.trim(),
      spec: spec(), cycle: cycle.input.value, level: level.input.value, owner_dept_id: propose ? owner.ids()[0] : ctx.me.department_id };
    if (propose && !body.owner_dept_id) { msg.show("请选择数源部门"); return; }
    if (!body.code || !body.name) { msg.show("请填写编码和名称"); return; }
    try {
      await ctx.api.post(propose ? "/api/tianbao/items/propose" : "/api/tianbao/items", body, { signal: ctx.signal });
      dlg.close();
      toast(propose ? "申请已提交，等待数源部门审核" : "数据项已登记", "success");
      done();
    } catch (err) {
      if (!isAbort(err)) msg.show(err.message);
    }
  }, { kind: "primary" });
  const dlg = openDialog({
    title: propose ? "申请新增数据项" : "登记数据项", wide: true,
    body: [propose ? el("p", { class: "hint" }, "登记库里没有需要的数据项时，可申请新增，由该数据的数源部门审核通过后使用。") : null,
      el("div", { class: "form-grid" }, code.wrap, name.wrap, unit.wrap, type.wrap, cycle.wrap, level.wrap), owner?.element, def.wrap, options.wrap, columns.wrap, msg],
    actions: [button("取消", () => dlg.close()), ok],
  });
  code.input.focus();
}
