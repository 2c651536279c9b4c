// 办事 lists: #/banshi (发起: the agency's forms grouped and searchable) and #/banshi?box=todo|done|mine|cc
// (待我审批 / 我已审批 / 我发起的 / 抄送我的) with filters, cursor pages and 批量同意 on 待我审批 for the
// forms that allow it: only a todo item with `batch: true` (its form's options.batch) gets a checkbox.

import { el, replace, button, loading, emptyState, errorState, toast, openDialog, newestWins, field, debounce } from "../../ui.js";
import { dateInput, normalDate } from "../../components/datefield.js";
import { STATUS_LABELS, fmtTime, isAbort } from "./common.js";

export const BOXES = [["start", "发起"], ["todo", "待我审批"], ["done", "我已审批"], ["mine", "我发起的"], ["cc", "抄送我的"]];
const EMPTY = {
  todo: ["没有待审批的申请", "同事提交、轮到您审批的申请会出现在这里。"],
  done: ["还没有审批过申请", "您同意、退回或拒绝过的申请会出现在这里。"],
  mine: ["还没有发起过申请", "在“发起”里选择一个事项（如请假、出差、报销），填写后提交。"],
  cc: ["没有抄送给您的申请", "别人的申请抄送给您时会出现在这里。"],
};
const LIMIT = 20;

export function tabsNav(box, counts = {}) {
  const nav = el("nav", { class: "tabs bs-tabs", "aria-label": "办事分类" },
    el("ul", {}, BOXES.map(([key, label]) => el("li", {},
      el("a", { class: "tab", href: key === "start" ? "#/banshi" : `#/banshi?box=${key}`, "aria-current": key === box ? "page" : null },
        label, counts[key] ? el("span", { class: "bs-tab-count" }, String(counts[key]), el("span", { class: "visually-hidden" }, key === "cc" ? " 项未读" : " 项")) : null)))));
  return nav;
}

function head(ctx) {
  const links = [["#/banshi/leave", "我的假期"], ["#/banshi/ledger", "台账"], ["#/banshi/verify", "审批单验证"]];
  if (ctx.me.roles.includes("admin")) links.push(["#/banshi/admin", "表单设计"]);
  return el("div", { class: "bs-head" }, el("h1", {}, "办事"),
    el("nav", { class: "bs-head-links", "aria-label": "办事工具" }, el("ul", {}, links.map(([href, label]) =>
      el("li", {}, el("a", { class: "btn btn-secondary btn-small", href }, label))))));
}

// 发起 -------------------------------------------------------------------------------------------------

export async function renderStart(root, ctx) {
  const search = el("input", { type: "search", id: "bs-q", placeholder: "输入事项名称，如 请假、报销", autocomplete: "off" });
  const body = el("div", { "aria-live": "polite" }, loading());
  replace(root, head(ctx), tabsNav("start"),
    el("div", { class: "search-bar", role: "search" }, el("label", { for: "bs-q", class: "search-label" }, "查找事项"), search), body);
  const data = await ctx.api.get("/api/banshi/templates", { signal: ctx.signal });
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const groups = data.groups.map((g) => ({ ...g, items: g.items.filter((t) => !q || `${t.name}${t.description || ""}${t.code}`.toLowerCase().includes(q)) }))
      .filter((g) => g.items.length);
    if (!groups.length) {
      replace(body, emptyState({ title: q ? "没有找到事项" : "暂无可发起的事项", text: q ? "请换个名称试试。" : "管理员发布表单后会出现在这里。" }));
      return;
    }
    replace(body, groups.map((g) => el("section", { class: "panel bs-group-panel", "aria-label": g.category },
      el("h2", { class: "panel-title" }, g.category),
      el("ul", { class: "bs-templates" }, g.items.map((t) => el("li", {},
        el("a", { class: "bs-template", href: `#/banshi/new/${t.id}` },
          el("span", { class: "bs-template-name" }, t.name),
          t.description ? el("span", { class: "bs-template-desc" }, t.description) : null)))))));
  };
  search.addEventListener("input", debounce(draw, 150), { signal: ctx.signal });
  draw();
}

// 待我审批 / 我已审批 / 我发起的 / 抄送我的 -------------------------------------------------------------------

export async function renderBox(root, ctx, box) {
  const { api, signal } = ctx;
  const q = ctx.params.query;
  const filters = { template_id: q.template_id || "", status: q.status || "", q: q.q || "", date_from: q.date_from || "", date_to: q.date_to || "" };
  const cursor = q.cursor || "";
  const href = (changes) => {
    const all = { box, ...filters, cursor: "", ...changes };
    return `#/banshi?${new URLSearchParams(Object.entries(all).filter(([, v]) => v))}`;
  };
  const list = el("section", { class: "panel bs-list", "aria-label": BOXES.find(([k]) => k === box)[1] }, loading());
  const tabs = el("div", {}, tabsNav(box));
  replace(root, head(ctx), tabs, filterForm(ctx, filters, (f) => ctx.navigate(href(f))), list);

  const load = newestWins(async (stale) => {
    const data = await api.get("/api/banshi/requests", { query: { box, ...filters, cursor, limit: LIMIT }, signal });
    if (stale()) return;
    replace(tabs, tabsNav(box, { todo: data.counts?.todo, cc: data.counts?.cc_unread }));
    draw(data);
  });

  function draw(data) {
    if (!data.items.length) {
      const filtered = Object.values(filters).some(Boolean);
      const [title, text] = filtered ? ["没有符合条件的申请", "请修改筛选条件后再查。"] : EMPTY[box];
      replace(list, emptyState({ title, text }), cursor ? pager(null) : null);
      return;
    }
    const picks = new Map(); // id -> item, for 批量同意
    // A server from before the `batch` flag sends none: then every item is offered and it refuses the others.
    const batchable = (item) => box === "todo" && ("batch" in item ? item.batch === true : true);
    const bar = box === "todo" && data.items.some(batchable) ? batchBar(ctx, picks, data.items.filter(batchable), () => load()) : null;
    replace(list, bar?.node,
      el("ul", { class: "bs-items" }, data.items.map((item) => requestItem(item, box, batchable(item) ? (on) => {
        if (on) picks.set(item.id, item);
        else picks.delete(item.id);
        bar.update();
      } : null))),
      pager(data.next_cursor));
  }

  function pager(next) {
    if (!next && !cursor) return null;
    return el("nav", { class: "pager", "aria-label": "翻页" },
      cursor ? el("a", { class: "btn btn-secondary", href: href({}) }, "« 回到第一页") : null,
      next ? el("a", { class: "btn btn-secondary", href: href({ cursor: next }) }, "下一页 ›") : el("span", { class: "pager-status" }, "已是最后一页"));
  }

  // Listening before the first load: a change committed while it is under way still reloads.
  const again = debounce(() => load().catch(() => {}), 300);
  ctx.ws.subscribe("banshi", again, { signal });
  try {
    await load();
  } catch (err) {
    if (!isAbort(err)) replace(list, errorState(err, () => load().catch(() => {})));
  }
}

function requestItem(item, box, onPick) {
  const tag = el("span", { class: `tag bs-status bs-status-${item.status}` }, item.status_label || STATUS_LABELS[item.status] || item.status);
  const meta = [item.template?.name, item.applicant ? `${item.applicant.name}${item.applicant.department ? `（${item.applicant.department}）` : ""}` : "",
    item.current_step && item.status === "running" ? `当前：${item.current_step}` : "", item.serial ? `编号 ${item.serial}` : "",
    fmtTime(item.finished_at || item.submitted_at)].filter(Boolean).join(" · ");
  const pick = onPick ? el("input", { type: "checkbox", class: "bs-pick", "aria-label": `选择：${item.title}`,
    onchange: (e) => onPick(e.target.checked) }) : null;
  return el("li", { class: ["bs-item", box === "cc" && item.unread && "bs-unread"] },
    pick,
    el("div", { class: "bs-item-main" },
      el("p", { class: "bs-item-line" }, el("a", { class: "bs-item-title", href: `#/banshi/r/${item.id}` }, item.title), tag),
      item.summary ? el("p", { class: "bs-item-summary" }, item.summary) : null,
      el("p", { class: "bs-item-meta" }, meta)));
}

function filterForm(ctx, filters, go) {
  const template = el("select", { id: "bs-f-template" }, el("option", { value: "" }, "全部事项"));
  ctx.api.get("/api/banshi/templates", { signal: ctx.signal }).then((d) => {
    for (const g of d.groups) for (const t of g.items) template.append(el("option", { value: String(t.id), selected: String(t.id) === filters.template_id }, t.name));
  }).catch(() => {});
  const status = field({ label: "状态", name: "status", type: "select", value: filters.status,
    options: [{ value: "", label: "全部状态" }, ...Object.entries(STATUS_LABELS).filter(([k]) => k !== "draft").map(([value, label]) => ({ value, label }))] });
  const q = field({ label: "关键词", name: "q", type: "search", value: filters.q, placeholder: "标题、申请人或编号" });
  const from = dateInput({ id: "bs-f-from", value: filters.date_from });
  const to = dateInput({ id: "bs-f-to", value: filters.date_to });
  const form = el("form", { class: "filters bs-filters", role: "search", "aria-label": "筛选申请" },
    el("div", { class: "field" }, el("label", { for: "bs-f-template" }, "事项"), template), status.wrap, q.wrap,
    el("div", { class: "field" }, el("label", { for: "bs-f-from" }, "提交日期从"), from.wrap),
    el("div", { class: "field" }, el("label", { for: "bs-f-to" }, "到"), to.wrap),
    el("div", { class: "actions" }, button("筛选", null, { kind: "primary", type: "submit" }),
      Object.values(filters).some(Boolean) ? button("清除", () => go({ template_id: "", status: "", q: "", date_from: "", date_to: "" }), { kind: "link" }) : null));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go({ template_id: template.value, status: status.input.value, q: q.input.value.trim(),
      date_from: normalDate(from.input.value) || "", date_to: normalDate(to.input.value) || "" });
  });
  const wrap = el("details", { class: "disclosure bs-filter-box", open: Object.values(filters).some(Boolean) },
    el("summary", {}, "筛选"), form);
  return wrap;
}

function batchBar(ctx, picks, items, reload) {
  const all = el("input", { type: "checkbox", id: "bs-pick-all" });
  const go = button("批量同意", () => confirmBatch(), { kind: "primary", disabled: true });
  const count = el("span", { class: "hint", "aria-live": "polite" }, "可勾选简单事项一次同意");
  all.addEventListener("change", () => {
    const on = all.checked; // each item's change below redraws the bar, this box included
    for (const cb of document.querySelectorAll(".bs-items .bs-pick")) {
      if (cb.checked !== on) { cb.checked = on; cb.dispatchEvent(new Event("change")); }
    }
  });
  const update = () => {
    go.disabled = !picks.size;
    count.textContent = picks.size ? `已选 ${picks.size} 项` : "可勾选简单事项一次同意";
    all.checked = picks.size > 0 && picks.size === items.length;
  };
  async function confirmBatch() {
    const opinion = field({ label: "审批意见（可选）", name: "opinion", type: "textarea", rows: 2, maxlength: 500, value: "同意" });
    const chosen = [...picks.values()];
    const ok = button(`同意 ${chosen.length} 项`, async () => {
      ok.disabled = true;
      try {
        const versions = await Promise.all(chosen.map(async (it) => it.version
          ?? (await ctx.api.get(`/api/banshi/requests/${it.id}`, { signal: ctx.signal })).version));
        const r = await ctx.api.post("/api/banshi/requests/batch-approve",
          { items: chosen.map((it, i) => ({ id: it.id, version: versions[i] })), opinion: opinion.input.value }, { signal: ctx.signal });
        dlg.close();
        if (r.failed.length) {
          const titles = new Map(chosen.map((it) => [it.id, it.title]));
          toast(`已同意 ${r.done.length} 项；${r.failed.length} 项未能同意：${r.failed.map((f) => `${titles.get(f.id) || f.id}（${f.message}）`).join("；")}`, "error", 15000);
        } else {
          toast(`已同意 ${r.done.length} 项`, "success");
        }
        reload();
      } catch (err) {
        ok.disabled = false;
        if (!isAbort(err)) toast(err.message, "error");
      }
    }, { kind: "primary" });
    const dlg = openDialog({
      title: "批量同意",
      body: [el("p", {}, `将同意以下 ${chosen.length} 项申请：`), el("ul", { class: "bs-batch-list" }, chosen.map((it) => el("li", {}, it.title))), opinion.wrap],
      actions: [button("取消", () => dlg.close(), { kind: "secondary" }), ok],
    });
  }
  const node = el("div", { class: "bs-batch" }, el("div", { class: "check" }, all, el("label", { for: "bs-pick-all" }, "全选")), count, go);
  return { node, update };
}
