// 采集任务: the tasks my department collects (#/tianbao/tasks) and a draft's editor
// (#/tianbao/tasks/new, #/tianbao/t/<id>/edit): title, period, deadline, the items from the registry
// (in sections, each required or not) and the units from the tree this agency may collect from.
// A draft is saved, then 下发 makes one return per unit.

import { el, replace, button, loading, emptyState, errorState, toast, field, checkbox, confirmDialog, pagination,
  formMessage, debounce, newestWins, busy } from "../../ui.js";
import { dateTimeInput } from "../../components/datefield.js";
import { beijingDate, beijingHm, fromBeijingLocal } from "../../time.js";
import { head, statusTag, periodLabel, periodOptions, fmtTime, isAbort, CYCLES, LEVELS, TYPES } from "./common.js";

const LIMIT = 20;

export async function renderTasks(root, ctx) {
  const page = Math.max(1, Number(ctx.params.query.page) || 1);
  const box = ctx.params.query.box === "all" ? "all" : "collecting";
  const list = el("section", { class: "panel tb-list", "aria-label": "采集任务" }, loading());
  const boxes = el("div", { class: "tb-boxes", role: "group", "aria-label": "任务范围" },
    [["collecting", "进行中", "#/tianbao/tasks"], ["all", "全部（含已结束）", "#/tianbao/tasks?box=all"]].map(([key, label, href]) =>
      el("a", { class: ["btn", key === box ? "btn-primary" : "btn-secondary", "btn-small"], href, "aria-current": key === box ? "page" : null }, label)));
  replace(root, head("数据填报", "tasks", el("a", { class: "btn btn-primary", href: "#/tianbao/tasks/new" }, "新建采集任务")), boxes, list);
  const load = newestWins(async (stale) => {
    const data = await ctx.api.get("/api/tianbao/tasks", { query: { box, page }, signal: ctx.signal });
    if (stale()) return;
    const items = data.items || [];
    if (!items.length) {
      replace(list, emptyState({ title: box === "all" ? "还没有采集任务" : "没有进行中的采集任务", text: "从数据项登记库里选择要采集的项目，选定下级单位，设定报告期和截止时间后下发。",
        action: el("a", { class: "btn btn-primary", href: "#/tianbao/tasks/new" }, "新建采集任务") }));
      return;
    }
    replace(list, el("ul", { class: "tb-items" }, items.map(taskItem)),
      pagination({ total: data.total ?? items.length, offset: (page - 1) * LIMIT, limit: LIMIT,
        onChange: (offset) => ctx.navigate(`#/tianbao/tasks?${new URLSearchParams({ box, page: String(offset / LIMIT + 1) })}`) }));
  });
  ctx.ws.subscribe("tianbao", debounce(() => load().catch(() => {}), 500), { signal: ctx.signal });
  try {
    await load();
  } catch (err) {
    if (!isAbort(err)) replace(list, errorState(err, () => load().catch(() => {})));
  }
}

function taskItem(t) {
  const href = t.status === "draft" ? `#/tianbao/t/${t.id}/edit` : `#/tianbao/t/${t.id}`;
  const c = t.counts || {};
  const done = (c.submitted || 0) + (c.accepted || 0);
  const total = t.units_total ?? t.unit_count ?? Object.entries(c).filter(([k]) => k !== "late").reduce((a, [, v]) => a + v, 0);
  const meta = [periodLabel(t.period), t.deadline ? `截止 ${fmtTime(t.deadline)}` : "",
    total ? `已报送 ${done} / ${total} 个单位` : "", c.late ? `逾期 ${c.late}` : ""].filter(Boolean).join(" · ");
  return el("li", { class: "tb-item" },
    el("p", { class: "tb-item-line" }, el("a", { class: "tb-item-title", href }, t.title), statusTag(t.status)),
    el("p", { class: "tb-item-meta" }, meta));
}

// The editor ---------------------------------------------------------------------------------------

export async function renderEditor(root, ctx, taskId) {
  const { api, signal } = ctx;
  const task = taskId ? await api.get(`/api/tianbao/tasks/${taskId}`, { signal }) : null;
  const t = task?.task || task || {};
  if (taskId && t.status && t.status !== "draft") {
    ctx.navigate(`#/tianbao/t/${taskId}`, { replace: true });
    return;
  }
  let version = t.version;
  const chosenItems = new Map(); // item id → {item, section, required}
  for (const it of t.items || []) chosenItems.set(Number(it.item_id), { item: it.item || { id: it.item_id, name: it.name || `#${it.item_id}`, code: it.code || "" }, section: it.section || "", required: it.required !== false });
  const chosenUnits = new Map((t.units || []).map((u) => [Number(u.unit_id ?? u.id), u]));

  const title = field({ label: "任务名称", name: "title", required: true, maxlength: 100, value: t.title || "", placeholder: "如：2026年第4季度经济运行数据" });
  const desc = field({ label: "填报说明", name: "description", type: "textarea", rows: 2, maxlength: 2000, value: t.description || "" });
  const period = field({ label: "报告期", name: "period", type: "select", value: t.period || periodOptions()[0].value, options: periodOptions() });
  const deadline = dateTimeInput({ label: "截止时间", required: true });
  if (t.deadline) { // shown and typed in 北京时间, as every page shows times (time.js)
    deadline.date.input.value = beijingDate(t.deadline);
    deadline.clock.input.value = beijingHm(t.deadline);
  }
  const remind = field({ label: "截止前提醒（小时）", name: "remind_hours", type: "number", min: 0, max: 720, value: t.remind_hours ?? 24 });
  const msg = formMessage();

  const itemList = el("ol", { class: "tb-chosen", "aria-label": "已选数据项" });
  const itemCount = el("span", { class: "panel-count" });
  const unitCount = el("span", { class: "panel-count" });
  const unitList = el("div", { class: "tb-unit-tree" }, loading("正在加载可采集的单位…"));

  function drawItems() {
    itemCount.textContent = `已选 ${chosenItems.size} 项`;
    if (!chosenItems.size) {
      replace(itemList, el("li", { class: "hint" }, "还没有选择数据项：在上方查找并添加。"));
      return;
    }
    replace(itemList, [...chosenItems.entries()].map(([id, c]) => {
      const section = el("input", { type: "text", value: c.section, maxlength: 40, "aria-label": `${c.item.name}：所属栏目`, placeholder: "栏目，如 基本情况" });
      section.addEventListener("change", () => { c.section = section.value.trim(); });
      const req = checkbox({ label: "必填", name: `req-${id}`, checked: c.required });
      req.input.addEventListener("change", () => { c.required = req.input.checked; });
      return el("li", { class: "tb-chosen-item" },
        el("span", { class: "tb-chosen-name" }, el("strong", {}, c.item.name), c.item.code ? el("span", { class: "tb-code" }, ` ${c.item.code}`) : null),
        section, req.wrap,
        button("移除", () => { chosenItems.delete(id); drawItems(); }, { kind: "link", "aria-label": `移除 ${c.item.name}` }));
    }));
  }

  // The registry search: active items only.
  const q = el("input", { type: "search", id: "tb-item-q", placeholder: "输入名称或编码，如 常住人口、A01", autocomplete: "off" });
  const results = el("ul", { class: "tb-results", "aria-live": "polite" });
  const search = newestWins(async (stale) => {
    const data = await api.get("/api/tianbao/items", { query: { q: q.value.trim(), status: "active" }, signal });
    if (stale()) return;
    const items = data.items || [];
    replace(results, items.length ? items.slice(0, 20).map((it) => el("li", { class: "tb-result" },
      el("span", { class: "tb-result-name" }, el("strong", {}, it.name), ` ${it.code} · ${TYPES[it.spec?.type] || ""}${it.unit_label ? ` · ${it.unit_label}` : ""} · ${CYCLES[it.cycle] || ""} · ${LEVELS[it.level] || ""}`),
      chosenItems.has(it.id) ? el("span", { class: "hint" }, "已添加")
        : button("添加", () => { chosenItems.set(it.id, { item: it, section: "", required: true }); drawItems(); search(); },
          { kind: "secondary", class: "btn-small", "aria-label": `添加 ${it.name}` }))) : el("li", { class: "hint" }, "没有找到可用的数据项。"));
  });
  q.addEventListener("input", debounce(() => search().catch(() => {}), 250), { signal });

  // The unit tree, with a checkbox per unit.
  async function loadUnits() {
    const data = await api.get("/api/tianbao/units", { signal });
    const nodes = Array.isArray(data) ? data : data.items || data.units || [];
    if (!nodes.length) {
      replace(unitList, emptyState({ title: "没有可采集的单位", text: "本机关可向本系统内的下级单位采集；跨机关采集需要管理员设置采集关系。" }));
      return;
    }
    replace(unitList, unitTree(nodes, 0));
    drawUnitCount();
  }
  function unitTree(nodes, depth) {
    return el("ul", { class: "tb-tree", role: depth ? "group" : null }, nodes.map((n) => {
      const box = checkbox({ label: n.name, name: `unit-${n.id}`, checked: chosenUnits.has(n.id), disabled: n.selectable === false });
      box.input.addEventListener("change", () => {
        if (box.input.checked) chosenUnits.set(n.id, { unit_id: n.id, name: n.name });
        else chosenUnits.delete(n.id);
        drawUnitCount();
      });
      const kids = n.children?.length ? unitTree(n.children, depth + 1) : null;
      return el("li", { class: "tb-tree-node" }, el("div", { class: ["tb-tree-row", n.kind === "agency" && "tb-tree-agency"] }, box.wrap), kids);
    }));
  }
  function drawUnitCount() {
    unitCount.textContent = `已选 ${chosenUnits.size} 个单位`;
  }

  const body = () => ({
    title: title.input.value.trim(),
    description: desc.input.value.trim(),
    period: period.input.value,
    deadline: deadline.value() ? fromBeijingLocal(deadline.value()) : "",
    remind_hours: Number(remind.input.value) || 0,
    items: [...chosenItems.entries()].map(([id, c]) => ({ item_id: id, section: c.section, required: c.required })),
    units: [...chosenUnits.keys()].map((id) => ({ unit_id: id })),
    ...(version ? { version } : {}),
  });

  async function saveDraft() {
    msg.clear();
    const b = body();
    if (!b.title) { msg.show("请填写任务名称"); title.input.focus(); return null; }
    if (!b.deadline) { msg.show("请填写截止时间"); deadline.date.input.focus(); return null; }
    const saved = taskId ? await api.put(`/api/tianbao/tasks/${taskId}`, b, { signal }) : await api.post("/api/tianbao/tasks", b, { signal });
    const s = saved.task || saved;
    version = s.version;
    if (!taskId) {
      taskId = s.id;
      history.replaceState(null, "", `#/tianbao/t/${taskId}/edit`);
    }
    return s;
  }

  const saveBtn = button("保存草稿", async () => {
    await busy(saveBtn, "正在保存…", async () => {
      try {
        if (await saveDraft()) toast("草稿已保存", "success");
      } catch (err) {
        if (!isAbort(err)) msg.show(err.message);
      }
    });
  }, { kind: "secondary" });
  const issueBtn = button("下发", async () => {
    if (!chosenItems.size) { msg.show("请至少选择一个数据项"); return; }
    if (!chosenUnits.size) { msg.show("请至少选择一个填报单位"); return; }
    const ok = await confirmDialog({ title: "下发采集任务", confirmText: "下发",
      message: `将向 ${chosenUnits.size} 个单位下发“${title.input.value.trim() || "采集任务"}”（${chosenItems.size} 项，${periodLabel(period.input.value)}）。下发后各单位即可填报。` });
    if (!ok) return;
    await busy(issueBtn, "正在下发…", async () => {
      try {
        const s = await saveDraft();
        if (!s) return;
        await api.post(`/api/tianbao/tasks/${taskId}/issue`, { version }, { signal });
        toast("任务已下发", "success");
        ctx.navigate(`#/tianbao/t/${taskId}`);
      } catch (err) {
        if (!isAbort(err)) msg.show(err.message);
      }
    });
  }, { kind: "primary" });

  replace(root,
    el("a", { class: "back-link", href: "#/tianbao/tasks" }, "‹ 返回采集任务"),
    el("h1", {}, taskId ? "编辑采集任务" : "新建采集任务"),
    el("form", { class: "tb-editor", novalidate: true, onsubmit: (e) => e.preventDefault() },
      el("section", { class: "panel", "aria-labelledby": "tb-ed-basic" }, el("h2", { class: "panel-title", id: "tb-ed-basic" }, "基本信息"),
        el("div", { class: "form-grid tb-basic" }, title.wrap, period.wrap,
          el("div", { class: "field", role: "group", "aria-label": "截止时间" }, el("span", { class: "bs-label", "aria-hidden": "true" }, "截止时间", el("span", { class: "req" }, " *")), deadline.wrap),
          remind.wrap), desc.wrap),
      el("section", { class: "panel", "aria-labelledby": "tb-ed-items" }, el("h2", { class: "panel-title", id: "tb-ed-items" }, "数据项 ", itemCount),
        el("p", { class: "hint" }, "只能选用已登记的数据项（一数一源）；登记库里没有的，可在“数据项”里申请新增，由数源部门审核。"),
        el("div", { class: "search-bar", role: "search" }, el("label", { for: "tb-item-q", class: "search-label" }, "查找数据项"), q), results,
        el("h3", { class: "tb-chosen-title" }, "已选数据项", el("span", { class: "hint" }, "（同一栏目的项目在表中排在一起）")), itemList),
      el("section", { class: "panel", "aria-labelledby": "tb-ed-units" }, el("h2", { class: "panel-title", id: "tb-ed-units" }, "填报单位 ", unitCount),
        el("p", { class: "hint" }, "每个单位的填报人默认为该单位的文书，审核人为单位负责人。"), unitList),
      msg,
      el("div", { class: "tb-action-bar" }, saveBtn, issueBtn)));
  drawItems();
  drawUnitCount();
  search().catch(() => {});
  loadUnits().catch((err) => { if (!isAbort(err)) replace(unitList, errorState(err, () => loadUnits())); });
}
