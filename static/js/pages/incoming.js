// 收文 pages: inbox and registration (#/incoming, #/incoming/new), handling page with 签收/登记/初审/拟办/
// 批办/承办 panels and 传阅 tracking (#/incoming/<id>), 督办 dashboard (#/incoming/supervision), archive
// browser (#/incoming/archive) and document search (#/incoming/search).
// User data only ever reaches the page through textContent (ui.el); no inline scripts or style attributes.

import { el, replace, toast, emptyState, errorState, loading, formatTime, newestWins, loadCss, field, formMessage, uid } from "../ui.js";
import { upload } from "../api.js";
import { picker } from "../components/picker.js";
import { dateTimeInput } from "../components/datefield.js";
import { fromBeijingLocal } from "../time.js";

const BOXES = [["todo", "待办"], ["done", "已办"], ["reading", "待阅"], ["all", "全部"]];
const SECTIONS = [["", "收文"], ["supervision", "督办"], ["archive", "归档"], ["search", "搜索"]];
const STEP_HINTS = {
  sign_for: "核对来文份数和完整性后签收。", register: "登记后自动生成本年度收文编号。",
  review: "审核是否属本机关办理、行文是否规范；不符合的退回来文单位并说明理由。",
  propose: "填写拟办意见，送领导批办。", instruct: "填写批办意见，指定主办、协办部门和办理时限。",
  handle: "填写办理情况，可上传答复文件或起草复函。", reply: "向来文单位答复后办结，系统自动归档。",
};
const READER_STATES = { waiting: "未到", holding: "在阅", read: "已阅" };

function subnav(ctx, current) {
  return el("nav", { class: "tabs", "aria-label": "收文栏目" }, el("ul", {},
    SECTIONS.map(([key, label]) => el("li", {}, el("a", {
      class: "tab", href: `#/incoming${key ? "/" + key : ""}`, "aria-current": key === current ? "page" : null,
    }, label)))));
}

function errorText(err) {
  return el("p", { class: "form-msg form-msg-error", role: "alert", text: (err && err.message) || "操作失败" });
}

function input(name, attrs = {}) {
  return el("input", { name, type: "text", ...attrs });
}

function labelled(label, control) {
  return el("label", { class: "field" }, el("span", { class: "field-label", text: label }), control);
}

/** A file input in Chinese whatever the browser's language: the input hidden, its label the button. */
function filePick(label) {
  const id = uid("in-file");
  const input = el("input", { id, type: "file", class: "visually-hidden" });
  const name = el("span", { class: "file-name", "aria-live": "polite" }, "尚未选择文件");
  input.addEventListener("change", () => { name.textContent = input.files[0] ? `已选择：${input.files[0].name}` : "尚未选择文件"; });
  return { input, wrap: el("div", { class: "file-pick" }, input, el("label", { for: id, class: "btn btn-secondary" }, label), name) };
}

/** Attach a file to a 收文 in the given role (main, reply …). */
function attach(id, role, file) {
  const form = new FormData();
  form.append("role", role);
  form.append("file", file);
  return upload(`/api/incoming/${id}/files`, form);
}

// A 办理时限 typed in its date and time boxes is 北京时间, as every page shows it (time.js).
const isoFromLocal = fromBeijingLocal;

export async function render(root, ctx) {
  loadCss("incoming");
  const [section, sub] = ctx.params.path || [];
  try {
    if (section === "supervision") await renderSupervision(root, ctx);
    else if (section === "archive") await renderArchive(root, ctx);
    else if (section === "search") await renderSearch(root, ctx);
    else if (section === "new") await renderNew(root, ctx);
    else if (section && /^\d+$/.test(section)) await renderDocument(root, ctx, Number(section));
    else await renderInbox(root, ctx, ctx.params.query.box || "todo");
  } catch (err) {
    replace(root, el("h1", { tabindex: "-1" }, "收文"), errorState(err, () => ctx.navigate(location.hash, { replace: true })));
  }
  void sub;
}

// Inbox ----------------------------------------------------------------------------------------------

async function renderInbox(root, ctx, box) {
  const meta = await ctx.api.get("/api/incoming/meta", { signal: ctx.signal });
  const boxes = el("div", { class: "button-row" }, BOXES.map(([key, label]) => el("button", {
    type: "button", class: key === box ? "btn btn-primary" : "btn", onclick: () => ctx.navigate(`#/incoming?box=${key}`),
  }, label)));
  if (meta.is_registrar) boxes.append(el("button", { type: "button", class: "btn btn-secondary", onclick: () => ctx.navigate("#/incoming/new") }, "录入来文"));
  const q = input("q", { type: "search", placeholder: "标题、收文编号或来文字号", "aria-label": "查找收文", class: "incoming-filter" });
  const list = el("ul", { class: "incoming-list" });
  replace(root, el("h1", { tabindex: "-1" }, "收文办理"), subnav(ctx, ""), boxes, q, list);
  const load = newestWins(async (stale) => {
    const data = await ctx.api.get("/api/incoming", { query: { box, q: q.value.trim() }, signal: ctx.signal });
    if (stale()) return; // a newer search or live reload owns the list
    replace(list);
    if (!data.items.length) list.append(el("li", {}, emptyState({ title: "暂无收文" })));
    for (const d of data.items) {
      list.append(el("li", { class: d.urgency ? "incoming-item urgent" : "incoming-item" },
        el("a", { href: `#/incoming/${d.id}`, class: "incoming-title", text: d.title }),
        el("div", { class: "incoming-meta", text: [d.reg_number, d.source_agency_name, d.original_number, d.urgency,
          d.status_label, d.current_step ? `当前：${d.current_step}` : "", d.deadline ? `时限 ${formatTime(d.deadline)}` : "",
          formatTime(d.received_at)].filter(Boolean).join(" · ") })));
    }
  });
  q.addEventListener("change", () => load().catch((e) => toast(e.message, "error")), { signal: ctx.signal });
  // Listening before the first load: a change committed while it runs is not missed.
  ctx.ws?.subscribe?.("incoming.", () => load().catch(() => {}), { signal: ctx.signal });
  await load();
}

// Registration -----------------------------------------------------------------------------------------

async function renderNew(root, ctx) {
  // Entering a paper or outside document by hand records its 签收 (the clerk has it in hand); the
  // record then waits at 登记, where 登记编号 gives it its number. The page says just that.
  const f = (label, name, attrs = {}) => field({ label, name, ...attrs });
  const fields = {
    title: f("标题", "title", { required: true, maxlength: 200 }),
    source_agency_name: f("来文机关", "source_agency_name", { required: true, maxlength: 100 }),
    original_number: f("来文字号", "original_number", { maxlength: 60, hint: "例如：粤审函〔2026〕8号" }),
    doc_type: f("文种", "doc_type", { maxlength: 20, placeholder: "通知、函、请示……" }),
    source: f("来文方式", "source", { type: "select", value: "paper",
      options: [{ value: "paper", label: "纸质来文（扫描件）" }, { value: "electronic", label: "外部电子公文" }] }),
    urgency: f("紧急程度", "urgency", { type: "select", value: "",
      options: [{ value: "", label: "普通" }, { value: "加急", label: "加急" }, { value: "特急", label: "特急" }] }),
    body_text: f("正文", "body_text", { type: "textarea", rows: 4, hint: "正文摘要或全文，用于检索" }),
  };
  const deadline = dateTimeInput({ label: "办理时限" });
  const due = el("div", { class: "field" }, el("span", { class: "field-label" }, "办理时限（可空）"), deadline.wrap);
  const file = filePick("选择扫描件或电子文件（可选）");
  const status = formMessage();
  const form = el("form", { class: "form panel", novalidate: true },
    el("p", { class: "hint" }, "录入手中的纸质来文或外部电子公文，同时记为已签收；下一步在办理页“登记编号”。"),
    fields.title.wrap, fields.source_agency_name.wrap,
    el("div", { class: "form-grid" }, fields.original_number.wrap, fields.doc_type.wrap, fields.source.wrap,
      fields.urgency.wrap, due),
    fields.body_text.wrap, file.wrap, status,
    el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary" }, "签收"),
      el("a", { class: "btn btn-secondary", href: "#/incoming" }, "取消")));
  replace(root, el("h1", { tabindex: "-1" }, "录入来文"), subnav(ctx, ""), form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.clear();
    const body = {};
    for (const [k, { input: node }] of Object.entries(fields)) if (node.value) body[k] = node.value.trim();
    if (deadline.value()) body.deadline = isoFromLocal(deadline.value());
    try {
      const doc = await ctx.api.post("/api/incoming", body);
      if (file.input.files[0]) await attach(doc.id, "main", file.input.files[0]);
      toast("已签收，下一步：登记编号", "success");
      ctx.navigate(`#/incoming/${doc.id}`);
    } catch (err) {
      status.show(err.message || "操作失败");
    }
  }, { signal: ctx.signal });
}

// Handling page ------------------------------------------------------------------------------------------

async function renderDocument(root, ctx, id) {
  const [doc, meta] = await Promise.all([ctx.api.get(`/api/incoming/${id}`, { signal: ctx.signal }),
    ctx.api.get("/api/incoming/meta", { signal: ctx.signal })]);
  const reload = () => renderDocument(root, ctx, id).catch((e) => toast(e.message, "error"));
  const info = el("dl", { class: "incoming-info" });
  for (const [k, v] of [["收文编号", doc.reg_number], ["来文机关", doc.source_agency_name], ["来文字号", doc.original_number],
    ["文种", doc.doc_type], ["紧急程度", doc.urgency], ["收文时间", formatTime(doc.received_at)],
    ["办理时限", doc.deadline ? formatTime(doc.deadline) : ""], ["状态", doc.status_label],
    ["拟办意见", doc.proposal], ["批办意见", doc.instruction], ["主办部门", doc.lead_department],
    ["协办部门", doc.co_departments.join("、")], ["退回理由", doc.return_reason]]) {
    if (v) info.append(el("dt", { text: k }), el("dd", { text: v }));
  }
  const files = el("ul", { class: "file-list" }, doc.files.map((f) => el("li", {},
    el("a", { href: `/api/incoming/${id}/files/${f.id}`, download: f.name, text: f.name }),
    el("span", { class: "muted", text: ` ${({ main: "正文", attachment: "附件", reply: "答复", signature: "签章记录" })[f.role] || f.role}` }))));
  replace(root, el("h1", { tabindex: "-1" }, doc.title), subnav(ctx, ""), info,
    doc.body_text ? el("section", { class: "panel" }, el("h2", {}, "正文"), el("p", { class: "body-text", text: doc.body_text })) : null,
    el("section", { class: "panel" }, el("h2", {}, "文件"), files),
    actionPanel(ctx, doc, meta, reload), resultsPanel(doc), circulationPanel(ctx, doc, meta, reload), routePanel(doc));
  shown.set(ctx.signal, doc.version);
  if (!watched.has(ctx.signal)) {
    // Someone else acted on this 收文: show the new state, unless this person has started typing.
    watched.add(ctx.signal);
    ctx.ws?.subscribe?.("incoming.", (ev) => {
      if (ev.incoming_id !== id || ev.version === shown.get(ctx.signal)) return;
      const typing = [...root.querySelectorAll("textarea, input[type=text], input:not([type])")].some((f) => f.value.trim());
      if (!typing) reload();
    }, { signal: ctx.signal });
  }
}

const watched = new WeakSet(); // page signals already listening for changes to their 收文
const shown = new WeakMap(); // page signal -> version of the 收文 on screen

function actionPanel(ctx, doc, meta, reload) {
  const acts = doc.allowed_actions;
  if (!acts.length) return null;
  const panel = el("section", { class: "panel actions" }, el("h2", {}, doc.my_step ? `办理：${doc.my_step.name}` : "操作"));
  const status = el("div", { role: "status" });
  const tag = doc.my_step?.tag;
  if (tag) panel.append(el("p", { class: "hint", text: STEP_HINTS[tag] || "" }));
  const opinion = el("textarea", { rows: "3", placeholder: tag === "handle" ? "办理情况" : "意见" });
  const send = async (action, extra = {}) => {
    replace(status);
    try {
      await ctx.api.post(`/api/incoming/${doc.id}/actions`, { action, version: doc.version, opinion: opinion.value.trim(), ...extra });
      toast("已办理", "success");
      reload();
    } catch (err) { status.append(errorText(err)); }
  };
  if (acts.includes("approve")) {
    const extras = {};
    if (tag === "instruct") {
      const scope = { api: ctx.api, kind: "departments", agencyId: ctx.me.agency_id };
      extras.lead = picker({ ...scope, label: "主办部门" });
      extras.co = picker({ ...scope, label: "协办部门（可多选）", multiple: true });
      extras.deadline = dateTimeInput({ label: "办理时限" });
      panel.append(extras.lead.element, extras.co.element,
        el("div", { class: "field" }, el("span", { class: "field-label" }, "办理时限"), extras.deadline.wrap));
    }
    if (tag === "handle") {
      extras.file = filePick("选择答复文件（可选）");
      panel.append(extras.file.wrap);
    }
    panel.append(labelled(tag === "propose" ? "拟办意见" : tag === "instruct" ? "批办意见" : "意见", opinion));
    const label = { sign_for: "签收", register: "登记编号", review: "初审通过", propose: "提交拟办", instruct: "批办",
      handle: "办理完毕", reply: "答复并办结" }[tag] || "同意";
    panel.append(el("button", { type: "button", class: "btn btn-primary", onclick: async () => {
      const body = {};
      if (tag === "instruct") {
        if (extras.lead.ids().length) body.lead_department_id = extras.lead.ids()[0];
        body.co_department_ids = extras.co.ids();
        if (extras.deadline.value()) body.deadline = isoFromLocal(extras.deadline.value());
      }
      if (tag === "handle" && extras.file.input.files[0]) {
        try {
          const f = await attach(doc.id, "reply", extras.file.input.files[0]);
          body.reply_file_ids = [f.id];
          doc.version += 1;
        } catch (err) { status.append(errorText(err)); return; }
      }
      send("approve", body);
    } }, label));
  }
  if (acts.includes("reject")) {
    panel.append(el("button", { type: "button", class: "btn btn-danger", onclick: () => send("reject", { reason: opinion.value.trim() }) }, "退回来文单位"));
  }
  if (acts.includes("return") && doc.return_targets.length) {
    const target = el("select", {}, doc.return_targets.map((t) => el("option", { value: t.key }, t.name)));
    panel.append(el("span", { class: "inline" }, labelled("退回到", target), el("button", { type: "button", class: "btn btn-secondary",
      onclick: () => send("return", { target: target.value, reason: opinion.value.trim() }) }, "退回")));
  }
  if (acts.includes("start_reply")) {
    panel.append(el("button", { type: "button", class: "btn btn-secondary", onclick: async () => {
      try {
        const r = await ctx.api.post(`/api/incoming/${doc.id}/reply`);
        ctx.navigate(`#/docs/${r.document_id}`);
      } catch (err) { status.append(errorText(err)); }
    } }, "起草复函"));
  }
  panel.append(status);
  return panel;
}

function resultsPanel(doc) {
  if (!doc.results.length) return null;
  return el("section", { class: "panel" }, el("h2", {}, "办理情况"), el("ul", {}, doc.results.map((r) => el("li", {},
    el("strong", { text: `${r.department}（${r.role}）` }), " ", el("span", { text: r.text }),
    el("span", { class: "muted", text: ` ${r.by} ${formatTime(r.at)}` })))));
}

function circulationPanel(ctx, doc, meta, reload) {
  const panel = el("section", { class: "panel" }, el("h2", {}, "传阅"));
  for (const c of doc.circulations) {
    panel.append(el("p", { class: "muted", text: `${c.mode === "parallel" ? "同时传阅" : "依次传阅"} · 已阅 ${c.read_count}/${c.reader_count}`
      + (c.holding.length ? ` · 在阅：${c.holding.join("、")}` : " · 传阅完毕") }));
    const table = el("table", { class: "table" }, el("thead", {}, el("tr", {}, ["传阅人", "状态", "收到", "阅毕", "意见"].map((h) => el("th", {}, h)))));
    const tbody = el("tbody");
    for (const r of c.readers) {
      const row = el("tr", {}, el("td", { text: r.name }), el("td", { text: READER_STATES[r.state] || r.state }),
        el("td", { text: r.received_at ? formatTime(r.received_at) : "" }), el("td", { text: r.read_at ? formatTime(r.read_at) : "" }),
        el("td", { text: r.comment }));
      if (r.user_id === ctx.me.id && r.state === "holding") {
        const comment = el("input", { type: "text", placeholder: "阅示意见（可空）" });
        row.append(el("td", {}, comment, el("button", { type: "button", class: "btn btn-primary", onclick: async () => {
          try {
            await ctx.api.post(`/api/incoming/circulations/${c.id}/read`, { comment: comment.value.trim() });
            reload();
          } catch (err) { toast(err.message, "error"); }
        } }, "阅毕")));
      }
      tbody.append(row);
    }
    table.append(tbody);
    panel.append(table);
  }
  if (doc.allowed_actions.includes("circulate")) {
    const people = picker({ api: ctx.api, label: "传阅人（按选择顺序）", kind: "people", multiple: true, agencyId: ctx.me.agency_id });
    const mode = el("select", {}, el("option", { value: "sequential" }, "依次传阅"), el("option", { value: "parallel" }, "同时传阅"));
    const status = el("div", { role: "status" });
    panel.append(people.element, labelled("方式", mode), el("button", { type: "button", class: "btn btn-secondary", onclick: async () => {
      try {
        await ctx.api.post(`/api/incoming/${doc.id}/circulations`, { user_ids: people.ids(), mode: mode.value });
        reload();
      } catch (err) { replace(status, errorText(err)); }
    } }, "发起传阅"), status);
  }
  return doc.circulations.length || doc.allowed_actions.includes("circulate") ? panel : null;
}

function routePanel(doc) {
  return el("section", { class: "panel" }, el("h2", {}, "办理过程"), el("ol", { class: "route" }, doc.route.steps.map((s) => el("li", {
    class: `step ${s.state}` }, el("strong", { text: s.name }), " ",
    el("span", { class: "muted", text: s.tasks.map((t) => `${t.assignee}${t.opinion ? "：" + t.opinion : ""}${t.acted_at ? "（" + formatTime(t.acted_at) + "）" : ""}`).join("；") })))));
}

// 督办 dashboard -----------------------------------------------------------------------------------------

async function renderSupervision(root, ctx) {
  const filters = { source: ctx.params.query.source || "", status: ctx.params.query.status || "" };
  const dash = await ctx.api.get("/api/supervision/dashboard", { query: filters, signal: ctx.signal });
  const items = await ctx.api.get("/api/supervision/items", { query: { ...filters, limit: 100 }, signal: ctx.signal });
  const t = dash.totals;
  const cards = el("div", { class: "stat-row" }, [["在办", t.open], ["即将到期", t.due_soon], ["已逾期", t.overdue],
    ["按期办结", t.done_on_time], ["逾期办结", t.done_late], ["平均办理（小时）", t.avg_hours ?? "—"]].map(([k, v]) =>
    el("div", { class: "stat" }, el("div", { class: "stat-value", text: String(v) }), el("div", { class: "stat-label", text: k }))));
  const source = el("select", { "aria-label": "来源" }, [["", "全部来源"], ["incoming", "收文"], ["meeting_task", "会议任务"], ["instruction", "领导批示"]]
    .map(([v, l]) => el("option", { value: v, selected: v === filters.source }, l)));
  const status = el("select", { "aria-label": "状态" }, [["", "全部状态"], ["open", "在办"], ["due_soon", "即将到期"], ["overdue", "已逾期"], ["done", "已办结"]]
    .map(([v, l]) => el("option", { value: v, selected: v === filters.status }, l)));
  const apply = () => ctx.navigate(`#/incoming/supervision?source=${source.value}&status=${status.value}`);
  source.addEventListener("change", apply, { signal: ctx.signal });
  status.addEventListener("change", apply, { signal: ctx.signal });
  const qs = new URLSearchParams(filters).toString();
  replace(root, el("h1", { tabindex: "-1" }, "督办"), subnav(ctx, "supervision"), el("div", { class: "button-row" }, source, status,
    el("a", { class: "btn btn-secondary", href: `/api/supervision/export?format=xlsx&${qs}` }, "导出 Excel"),
    el("a", { class: "btn btn-secondary", href: `/api/supervision/export?format=csv&${qs}` }, "导出 CSV")),
  cards, el("h2", {}, "各部门办理情况"), departmentBars(dash.departments), el("h2", {}, "逾期趋势（近 14 天）"), trendChart(dash.trend),
  el("h2", {}, "督办事项"), itemsTable(ctx, items.items));
}

function departmentBars(depts) {
  if (!depts.length) return emptyState({ title: "暂无督办事项" });
  const max = Math.max(1, ...depts.map((d) => d.open + d.done));
  return el("div", { class: "bars" }, depts.map((d) => {
    const seg = (n, cls, label) => n ? el("span", { class: `bar-seg ${cls}`, title: `${label} ${n}`, style: { width: `${(100 * n) / max}%` } }) : null;
    return el("div", { class: "bar-row" }, el("span", { class: "bar-label", text: d.department }),
      el("span", { class: "bar-track" }, seg(d.overdue, "overdue", "逾期"), seg(d.open - d.overdue, "open", "在办"),
        seg(d.done_on_time, "done", "按期办结"), seg(d.done_late, "late", "逾期办结")),
      el("span", { class: "bar-nums", text: `在办 ${d.open} · 逾期 ${d.overdue} · 办结 ${d.done}${d.avg_hours != null ? ` · 平均 ${d.avg_hours} 小时` : ""}` }));
  }));
}

function trendChart(trend) {
  const canvas = el("canvas", { width: "700", height: "160", class: "trend", role: "img",
    "aria-label": `逾期事项数：${trend.map((p) => `${p.date.slice(5)} ${p.overdue}`).join("，")}` });
  const g = canvas.getContext && canvas.getContext("2d");
  if (!g) return canvas;
  const max = Math.max(1, ...trend.map((p) => p.overdue));
  const w = 700 / trend.length;
  g.font = "12px sans-serif";
  trend.forEach((p, i) => {
    const h = (120 * p.overdue) / max;
    g.fillStyle = "#c0392b";
    g.fillRect(i * w + 6, 130 - h, w - 12, h);
    g.fillStyle = "#333";
    g.fillText(String(p.overdue), i * w + 8, 126 - h);
    g.fillText(p.date.slice(5), i * w + 4, 150);
  });
  return canvas;
}

function itemsTable(ctx, items) {
  if (!items.length) return emptyState({ title: "没有符合条件的事项" });
  return el("table", { class: "table" }, el("thead", {}, el("tr", {}, ["事项", "来源", "责任部门", "时限", "状态", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, items.map((it) => el("tr", { class: it.overdue ? "overdue" : "" },
      el("td", {}, it.link.startsWith("/incoming/") ? el("a", { href: `#${it.link}`, text: it.title }) : it.title),
      el("td", { text: it.source_label }), el("td", { text: it.owner_department }), el("td", { text: formatTime(it.deadline) }),
      el("td", { text: it.status === "done" ? (it.late ? "逾期办结" : "按期办结") : it.overdue ? `已逾期${it.escalation_level ? `（${it.escalation_level} 级督办）` : ""}` : "在办" }),
      el("td", {}, it.status === "open" ? el("button", { type: "button", class: "btn btn-secondary", onclick: async () => {
        try { await ctx.api.post(`/api/supervision/items/${it.id}/remind`, { message: "" }); toast("已催办", "success"); } catch (err) { toast(err.message, "error"); }
      } }, "催办") : null)))));
}

// Archive -------------------------------------------------------------------------------------------------

async function renderArchive(root, ctx) {
  const data = await ctx.api.get("/api/archive", { query: { q: ctx.params.query.q || "" }, signal: ctx.signal });
  const list = data.items.length ? el("table", { class: "table" }, el("thead", {}, el("tr", {}, ["标题", "编号", "类型", "保管期限", "归档时间", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, data.items.map((p) => el("tr", {}, el("td", { text: p.title }), el("td", { text: p.number }),
      el("td", { text: p.doc_kind === "incoming" ? "收文" : "发文" }), el("td", { text: p.retain_until ? `${p.retention}（至 ${p.retain_until}）` : p.retention }),
      el("td", { text: formatTime(p.created_at) }),
      el("td", {}, p.destroyed ? el("span", { text: `已销毁：${p.destroy_reason}` }) : [
        el("a", { class: "btn btn-secondary", href: `/api/archive/${p.id}/download` }, "下载"), " ",
        el("button", { type: "button", class: "btn btn-secondary", onclick: async () => {
          try {
            const v = await ctx.api.get(`/api/archive/${p.id}/verify`);
            toast(v.ok ? "校验通过：档案完整未被修改" : `校验失败：${v.problems.join("、")}`, v.ok ? "success" : "error");
          } catch (err) { toast(err.message, "error"); }
        } }, "校验")]))))) : emptyState({ title: "暂无档案" });
  replace(root, el("h1", { tabindex: "-1" }, "归档"), subnav(ctx, "archive"), el("p", { class: "muted", text: `共 ${data.total} 件` }), list);
}

// Search ---------------------------------------------------------------------------------------------------

function marked(text, spans) {
  const out = [];
  let at = 0;
  for (const [a, b] of spans) {
    if (a > at) out.push(text.slice(at, a));
    out.push(el("mark", { text: text.slice(a, b) }));
    at = b;
  }
  out.push(text.slice(at));
  return out;
}

async function renderSearch(root, ctx) {
  const query = ctx.params.query;
  const q = input("q", { type: "search", value: query.q || "", placeholder: "输入两个字以上，如：预算编制", "aria-label": "搜索词" });
  const kind = el("select", { "aria-label": "类型" }, [["", "全部"], ["outgoing", "发文"], ["incoming", "收文"]].map(([v, l]) => el("option", { value: v, selected: v === (query.kind || "") }, l)));
  const year = input("year", { type: "number", value: query.year || "", placeholder: "年份", "aria-label": "年份", min: "2000", max: "2100" });
  const agency = input("agency", { value: query.agency || "", placeholder: "机关", "aria-label": "机关" });
  const form = el("form", { class: "search-form", role: "search" }, q, kind, year, agency, el("button", { type: "submit", class: "btn btn-primary" }, "搜索"));
  const results = el("div", { "aria-live": "polite" });
  replace(root, el("h1", { tabindex: "-1" }, "公文搜索"), subnav(ctx, "search"), form, results);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams({ q: q.value.trim(), kind: kind.value, year: year.value, agency: agency.value.trim() });
    ctx.navigate(`#/incoming/search?${params}`);
  }, { signal: ctx.signal });
  if (!query.q) return;
  results.append(loading());
  try {
    const params = { q: query.q, kind: query.kind, year: query.year, agency: query.agency };
    const data = await ctx.api.get("/api/search", { query: params, signal: ctx.signal });
    replace(results, el("p", { class: "muted", text: data.capped ? `找到 ${data.total} 件以上（只统计前 ${data.total} 件，按最新排列；可加搜索词或筛选条件缩小范围）` : `找到 ${data.total} 件（按最新排列）` }), el("ol", { class: "search-results" }, data.items.map((r) => el("li", {},
      el("a", { href: `#${r.link}`, class: "result-title" }, marked(r.title.text, r.title.highlights)),
      el("div", { class: "muted" }, [r.kind === "incoming" ? "收文" : "发文", r.doc_type, r.date].filter(Boolean).join(" · "), " ",
        marked(r.number.text, r.number.highlights)),
      el("p", { class: "snippet" }, marked(r.snippet.text, r.snippet.highlights))))));
  } catch (err) {
    replace(results, errorText(err));
  }
}
