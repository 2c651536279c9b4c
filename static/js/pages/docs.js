// 公文 (办文) pages: 待办 / 已办 / 我起草的 / 全部, new document, document view with draft sheet,
// body editor, .docx import, route picture with opinions, version diff, discussion and actions.
// User data is only ever written with textContent; no inline scripts or style attributes (strict CSP).

const BOXES = [["todo", "待办"], ["done", "已办"], ["mine", "我起草的"], ["all", "全部"]];
const ACTION_LABELS = {
  submit: "送审", approve: "同意", return: "退回", withdraw: "撤回", transfer: "转办", add_signer: "加签",
  number: "编号",
};
let currentPanel = null;  // the action panel of the document on screen (for quoting comments)
const BLOCK_LABELS = { heading: "标题", paragraph: "段落", list_item: "列表项", table: "表格" };
const STEP_STATES = { done: "已办", current: "办理中", upcoming: "未到", skipped: "跳过" };
const TASK_STATES = { pending: "待办", approved: "已同意", returned: "已退回", transferred: "已转办", cancelled: "无需办理" };
const HISTORY_LABELS = {
  create: "创建", submit: "送审", approve: "同意", return: "退回", withdraw: "撤回", transfer: "转办",
  add_signer: "加签", skip: "跳过", finish: "办结",
};

function el(tag, opts = {}, ...children) {
  const node = document.createElement(tag);
  if (opts.cls) node.className = opts.cls;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  for (const [k, v] of Object.entries(opts.attrs || {})) node.setAttribute(k, v);
  if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) node.addEventListener(ev, fn);
  for (const c of children) if (c) node.append(c);
  return node;
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function errorBox(err) {
  return el("p", { cls: "error", text: (err && (err.message || err.error)) || "操作失败" });
}

function field(label, input) {
  return el("label", { cls: "field" }, el("span", { cls: "field-label", text: label }), input);
}

function input(value, attrs = {}) {
  const i = el("input", { attrs: { type: "text", ...attrs } });
  i.value = value ?? "";
  return i;
}

function select(options, value) {
  const s = el("select");
  for (const [v, label] of options) {
    const o = el("option", { text: label, attrs: { value: v } });
    if (v === value) o.selected = true;
    s.append(o);
  }
  return s;
}

function splitList(text) {
  return text.split(/[,，、;；\n]/).map((s) => s.trim()).filter(Boolean);
}

// Entry ------------------------------------------------------------------------------------------

export async function render(root, ctx) {
  root.replaceChildren();
  root.classList.add("docs-page");
  root.append(el("nav", { cls: "tabs docs-links" }, ...[["#/incoming", "收文"], ["#/incoming/supervision", "督办"],
    ["#/incoming/archive", "归档"], ["#/incoming/search", "搜索"]].map(([href, text]) => el("a", { cls: "tab", text, attrs: { href } }))));
  const params = ctx.params || {};
  try {
    if (params.id === "new") await renderNew(root, ctx);
    else if (params.id) await renderDocument(root, ctx, Number(params.id));
    else await renderList(root, ctx, params.box || "todo");
  } catch (err) {
    root.append(errorBox(err));
  }
}

// Lists ------------------------------------------------------------------------------------------

async function renderList(root, ctx, box) {
  const tabs = el("nav", { cls: "tabs" });
  for (const [key, label] of BOXES) {
    tabs.append(el("button", { cls: key === box ? "tab active" : "tab", text: label,
      on: { click: () => ctx.navigate(`/docs?box=${key}`) } }));
  }
  tabs.append(el("button", { cls: "primary", text: "新建发文", on: { click: () => ctx.navigate("/docs/new") } }));
  const search = input("", { placeholder: "搜索标题或文号", type: "search" });
  const list = el("ul", { cls: "doc-list" });
  root.append(el("h1", { text: "公文办理" }), tabs, search, list);

  async function load() {
    const q = encodeURIComponent(search.value.trim());
    const data = await ctx.api.get(`/api/docs?box=${box}&q=${q}`);
    list.replaceChildren();
    if (!data.items.length) list.append(el("li", { cls: "empty", text: "暂无公文" }));
    for (const d of data.items) {
      const item = el("li", { cls: `doc-item${d.urgency ? " urgent" : ""}`,
        on: { click: () => ctx.navigate(`/docs/${d.id}`) } },
        el("div", { cls: "doc-title", text: d.title }),
        el("div", { cls: "doc-meta", text: [d.doc_type, d.number, d.urgency, d.status_label,
          d.current_step ? `当前：${d.current_step}` : "", d.drafter, fmtTime(d.updated_at)].filter(Boolean).join(" · ") }));
      list.append(item);
    }
  }
  search.addEventListener("change", load);
  await load();
  if (ctx.ws) ctx.ws.on("docs.", () => load().catch(() => {}));
}

// New document (发文稿纸) ----------------------------------------------------------------------------

async function renderNew(root, ctx) {
  const meta = await ctx.api.get("/api/docs/meta");
  const form = el("form", { cls: "sheet" });
  const docType = select(meta.doc_types.map((t) => [t, t]), "通知");
  const title = input("", { maxlength: "200", required: "required" });
  const main = el("textarea", { attrs: { rows: "2", placeholder: "多个机关用顿号分隔" } });
  const cc = el("textarea", { attrs: { rows: "2" } });
  const secrecy = select([["", "非密"], ["内部", "内部"]], "");
  const urgency = select(meta.urgency.map((u) => [u, u || "普通"]), "");
  const code = select(meta.number_codes.map((c) => [c, c]), meta.number_codes[0]);
  const phone = input("", { maxlength: "40" });
  const attachments = el("textarea", { attrs: { rows: "2", placeholder: "附件名称，每行一个" } });
  const countersign = el("fieldset", { cls: "checks" }, el("legend", { text: "会签部门" }));
  const boxes = meta.departments.map((d) => {
    const cb = el("input", { attrs: { type: "checkbox", value: String(d.id) } });
    countersign.append(el("label", { cls: "check" }, cb, el("span", { text: d.name })));
    return cb;
  });
  const status = el("div", { cls: "status" });
  form.append(
    el("h1", { text: "新建发文" }),
    el("p", { cls: "hint", text: `密级只能是非密或内部。${meta.refused_secrecy.join("、")}等涉密公文不得在本系统处理。` }),
    field("文种", docType), field("标题", title), field("主送机关", main), field("抄送机关", cc),
    field("密级", secrecy), field("紧急程度", urgency), field("机关代字", code), field("拟稿人电话", phone),
    field("附件", attachments), countersign, status,
    el("button", { cls: "primary", text: "创建草稿", attrs: { type: "submit" } }),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    try {
      const doc = await ctx.api.post("/api/docs", {
        doc_type: docType.value, title: title.value, main_recipients: splitList(main.value),
        cc_recipients: splitList(cc.value), secrecy: secrecy.value, urgency: urgency.value, number_code: code.value,
        drafter_phone: phone.value, attachments: splitList(attachments.value).map((name) => ({ name })),
        countersign_department_ids: boxes.filter((b) => b.checked).map((b) => Number(b.value)), body: [],
      });
      ctx.navigate(`/docs/${doc.id}`);
    } catch (err) {
      status.append(errorBox(err));
    }
  });
  root.append(form);
}

// Document view --------------------------------------------------------------------------------------

async function renderDocument(root, ctx, id) {
  let doc = await ctx.api.get(`/api/docs/${id}`);
  const refresh = async () => {
    doc = await ctx.api.get(`/api/docs/${id}`);
    draw();
  };

  function draw() {
    root.replaceChildren(
      el("a", { cls: "back", text: "‹ 返回列表", attrs: { href: "/docs" },
        on: { click: (e) => { e.preventDefault(); ctx.navigate("/docs"); } } }),
      header(doc), sheetView(doc), bodySection(ctx, doc, refresh), actionPanel(ctx, doc, refresh),
      routePicture(doc.route), versionsSection(ctx, doc), commentsSection(ctx, doc),
    );
  }
  draw();
  if (ctx.ws) {
    ctx.ws.on("docs.", (ev) => {
      if (ev.document_id === id || ev.subject_id === id) refresh().catch(() => {});
    });
  }
}

function header(doc) {
  return el("header", { cls: "doc-header" },
    el("h1", { text: doc.title }),
    el("p", { cls: "doc-meta", text: [doc.doc_type, doc.number || "（未编号）", doc.status_label,
      doc.urgency, doc.secrecy].filter(Boolean).join(" · ") }));
}

function sheetView(doc) {
  const rows = [
    ["主送", doc.main_recipients.join("、")], ["抄送", doc.cc_recipients.join("、")],
    ["拟稿", `${doc.drafting_dept} ${doc.drafter} ${doc.drafter_phone}`.trim()],
    ["签发人", doc.signer_name], ["成文日期", doc.written_date], ["印发机关", doc.issuing_agency_name],
    ["印发日期", doc.issued_date], ["附件", doc.attachments.map((a) => a.name).join("、")], ["附注", doc.note],
  ];
  const dl = el("dl", { cls: "sheet-view" });
  for (const [k, v] of rows) {
    if (!v) continue;
    dl.append(el("dt", { text: k }), el("dd", { text: v }));
  }
  if (doc.signed_hash) dl.append(el("dt", { text: "签发版本" }),
    el("dd", { cls: "hash", text: `第 ${doc.signed_version_no} 版 · ${doc.signed_hash.slice(0, 16)}…` }));
  return el("section", { cls: "card" }, el("h2", { text: "发文稿纸" }), dl);
}

// Body: preview and editor --------------------------------------------------------------------------

function blockView(b) {
  if (b.kind === "heading") return el(`h${Math.min(b.level + 2, 6)}`, { cls: "doc-heading", text: b.text });
  if (b.kind === "list_item") return el("p", { cls: "doc-list-item", text: b.text });
  if (b.kind === "table") {
    const t = el("table", { cls: "doc-table" });
    for (const r of b.rows) t.append(el("tr", {}, ...r.map((c) => el("td", { text: c }))));
    return t;
  }
  return el("p", { cls: "doc-paragraph", text: b.text });
}

function bodySection(ctx, doc, refresh) {
  const section = el("section", { cls: "card" }, el("h2", { text: `正文（第 ${doc.body_version_no} 版）` }));
  const preview = el("article", { cls: "doc-preview" }, ...doc.body.map(blockView));
  if (!doc.body.length) preview.append(el("p", { cls: "empty", text: "正文为空" }));
  section.append(preview);
  const bar = el("div", { cls: "toolbar" });
  bar.append(el("a", { cls: "button", text: "下载 Word", attrs: { href: `/api/docs/${doc.id}/docx`, download: "" } }));
  if (doc.allowed_actions.includes("edit")) {
    bar.append(el("button", { text: "编辑正文", on: { click: () => section.replaceWith(editor(ctx, doc, refresh)) } }));
  }
  section.append(bar);
  return section;
}

function editor(ctx, doc, refresh) {
  const blocks = doc.body.map((b) => ({ ...b }));
  const wrap = el("section", { cls: "card editor" }, el("h2", { text: "编辑正文" }));
  const titleInput = input(doc.title, { maxlength: "200" });
  const list = el("div", { cls: "blocks" });
  const status = el("div", { cls: "status" });
  const note = input("", { placeholder: "修改说明（可选）", maxlength: "200" });

  function drawBlocks() {
    list.replaceChildren();
    blocks.forEach((b, i) => {
      const kind = select(Object.entries(BLOCK_LABELS), b.kind);
      const level = select([["1", "一级"], ["2", "二级"], ["3", "三级"], ["4", "四级"]], String(b.level || 1));
      level.hidden = b.kind !== "heading";
      const text = el("textarea", { attrs: { rows: b.kind === "paragraph" ? "4" : "2" } });
      text.value = b.kind === "table" ? b.rows.map((r) => r.join("\t")).join("\n") : b.text;
      kind.addEventListener("change", () => {
        b.kind = kind.value;
        if (b.kind === "heading") b.level = Number(level.value);
        sync();
        drawBlocks();
      });
      level.addEventListener("change", () => { b.level = Number(level.value); });
      function sync() {
        if (b.kind === "table") {
          b.rows = text.value.split("\n").filter((l) => l.length).map((l) => l.split("\t"));
          delete b.text;
        } else {
          b.text = text.value;
          delete b.rows;
        }
        if (b.kind !== "heading") delete b.level;
      }
      text.addEventListener("input", sync);
      const remove = el("button", { cls: "small", text: "删除", attrs: { type: "button" },
        on: { click: () => { blocks.splice(i, 1); drawBlocks(); } } });
      const up = el("button", { cls: "small", text: "上移", attrs: { type: "button" },
        on: { click: () => { if (i > 0) { [blocks[i - 1], blocks[i]] = [blocks[i], blocks[i - 1]]; drawBlocks(); } } } });
      list.append(el("div", { cls: "block-row" }, kind, level, text, up, remove));
    });
  }
  drawBlocks();
  const add = (kind) => el("button", { text: `+${BLOCK_LABELS[kind]}`, attrs: { type: "button" },
    on: { click: () => { blocks.push(kind === "heading" ? { kind, level: 1, text: "" }
      : kind === "table" ? { kind, rows: [["", ""]] } : { kind, text: "" }); drawBlocks(); } } });
  const file = el("input", { attrs: { type: "file", accept: ".docx" } });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    status.replaceChildren(el("p", { text: "正在导入…" }));
    try {
      const data = await upload(ctx, `/api/docs/${doc.id}/import`, file.files[0], {});
      blocks.splice(0, blocks.length, ...data.body);
      drawBlocks();
      status.replaceChildren(el("p", { text: `已导入 ${data.body.length} 段，请检查后保存` }));
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  const save = el("button", { cls: "primary", text: "保存（生成新版本）", attrs: { type: "button" },
    on: { click: async () => {
      status.replaceChildren();
      try {
        await ctx.api.put(`/api/docs/${doc.id}`, { version: doc.version, title: titleInput.value, body: blocks,
          note_for_version: note.value });
        await refresh();
      } catch (err) {
        status.append(errorBox(err));
      }
    } } });
  const cancel = el("button", { text: "取消", attrs: { type: "button" }, on: { click: () => refresh() } });
  wrap.append(field("标题", titleInput), list,
    el("div", { cls: "toolbar" }, add("heading"), add("paragraph"), add("list_item"), add("table")),
    field("从 Word 导入（.docx）", file), note, status, el("div", { cls: "toolbar" }, save, cancel));
  return wrap;
}

async function upload(ctx, path, fileObj, fields) {
  if (ctx.api.upload) return ctx.api.upload(path, fileObj, fields);
  const form = new FormData();
  form.append("file", fileObj);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const csrf = (document.cookie.match(/(?:^|;\s*)tb_csrf=([^;]+)/) || [])[1] || "";
  const r = await fetch(path, { method: "POST", body: form, credentials: "same-origin",
    headers: { "x-csrf-token": decodeURIComponent(csrf) } });
  const data = await r.json();
  if (!r.ok) throw data;
  return data;
}

// Actions ---------------------------------------------------------------------------------------------

function actionPanel(ctx, doc, refresh) {
  currentPanel = null;
  const acts = doc.allowed_actions.filter((a) => ACTION_LABELS[a]);
  const panel = el("section", { cls: "card actions" });
  if (!acts.length) return panel;
  if (doc.my_step) {
    panel.append(el("p", { cls: "my-step", text: `当前步骤：${doc.my_step.name}` +
      (doc.my_step.due_at ? `，请于 ${fmtTime(doc.my_step.due_at)} 前办理` : "") +
      (doc.my_step.on_behalf_of ? "（代办）" : "") }));
  }
  const opinion = el("textarea", { cls: "opinion", attrs: { rows: "3", placeholder: "意见", maxlength: "5000" } });
  panel.opinion = opinion;
  const status = el("div", { cls: "status" });
  const pin = input("", { type: "password", placeholder: "签章密码（PIN）", autocomplete: "off" });
  const target = select(doc.return_targets.map((t) => [t.key, t.name]), doc.return_targets[0]?.key);
  const userId = input("", { placeholder: "人员编号", inputmode: "numeric" });
  panel.append(opinion);
  if (doc.needs_pin) panel.append(field("PIN", pin));
  if (acts.includes("return")) panel.append(field("退回到", target));
  if (acts.includes("transfer") || acts.includes("add_signer")) panel.append(field("转办/加签给", userId));
  const bar = el("div", { cls: "toolbar" });
  for (const a of acts) {
    bar.append(el("button", { cls: a === "approve" || a === "submit" ? "primary" : "", text: ACTION_LABELS[a],
      on: { click: async () => {
        status.replaceChildren();
        try {
          if (a === "number") {
            await ctx.api.post(`/api/docs/${doc.id}/number`, { version: doc.version });
          } else {
            const body = { action: a, version: doc.version, opinion: opinion.value };
            if (a === "return") Object.assign(body, { target: target.value, reason: opinion.value });
            if (a === "transfer" || a === "add_signer") body.user_id = Number(userId.value);
            if (doc.needs_pin && a === "approve") body.pin = pin.value;
            if (panel.quoteId) body.quote_comment_id = panel.quoteId;
            await ctx.api.post(`/api/docs/${doc.id}/actions`, body);
          }
          await refresh();
        } catch (err) {
          status.append(errorBox(err));
        }
      } } }));
  }
  panel.append(bar, status);
  currentPanel = panel;
  return panel;
}

// Route picture ---------------------------------------------------------------------------------------

function routePicture(route) {
  const ol = el("ol", { cls: "route" });
  for (const s of route.steps) {
    const li = el("li", { cls: `step step-${s.state}` },
      el("div", { cls: "step-name", text: `${s.name}（${STEP_STATES[s.state] || s.state}）` }));
    if (s.deadline_hours) li.append(el("div", { cls: "step-deadline", text: `时限 ${s.deadline_hours} 小时` }));
    for (const t of s.tasks) {
      const who = t.acted_by ? `${t.acted_by}（代 ${t.assignee}）` : t.assignee;
      const line = el("div", { cls: `task task-${t.state}${t.overdue ? " overdue" : ""}` },
        el("span", { cls: "who", text: `${who}${t.is_added ? "（加签）" : ""}` }),
        el("span", { cls: "state", text: TASK_STATES[t.state] || t.state }),
        el("span", { cls: "when", text: t.acted_at ? fmtTime(t.acted_at) : (t.due_at ? `限 ${fmtTime(t.due_at)}` : "") }));
      if (t.opinion) line.append(el("blockquote", { cls: "opinion-text", text: t.opinion }));
      if (t.overdue) line.append(el("span", { cls: "badge", text: "已超时" }));
      li.append(line);
    }
    ol.append(li);
  }
  const history = el("details", { cls: "history" }, el("summary", { text: "流转记录" }));
  const hl = el("ul");
  for (const h of route.history) {
    const who = h.on_behalf_of ? `${h.actor}（代 ${h.on_behalf_of}）` : h.actor;
    hl.append(el("li", { text: `${fmtTime(h.at)} ${who} ${HISTORY_LABELS[h.action] || h.action}` +
      (h.step ? ` · ${h.step}` : "") + (h.opinion ? `：${h.opinion}` : "") }));
  }
  history.append(hl);
  return el("section", { cls: "card" }, el("h2", { text: "办理流程" }), ol, history);
}

// Versions and 留痕 ---------------------------------------------------------------------------------

function versionsSection(ctx, doc) {
  const section = el("section", { cls: "card" }, el("h2", { text: "版本与留痕" }));
  const out = el("div", { cls: "diff" });
  const list = el("ul", { cls: "versions" });
  const a = select([], "");
  const b = select([], "");
  ctx.api.get(`/api/docs/${doc.id}/versions`).then((data) => {
    for (const v of data.items) {
      list.append(el("li", { text: `第 ${v.no} 版 · ${v.author} · ${v.step} · ${fmtTime(v.created_at)}${v.note ? ` · ${v.note}` : ""}` }));
      a.append(el("option", { text: `第 ${v.no} 版`, attrs: { value: String(v.no) } }));
      b.append(el("option", { text: `第 ${v.no} 版`, attrs: { value: String(v.no) } }));
    }
    if (data.items.length > 1) {
      a.value = String(data.items[data.items.length - 2].no);
      b.value = String(data.items[data.items.length - 1].no);
    }
  }).catch((err) => section.append(errorBox(err)));
  const show = el("button", { text: "比较", on: { click: async () => {
    try {
      const d = await ctx.api.get(`/api/docs/${doc.id}/diff?a=${a.value}&b=${b.value}`);
      out.replaceChildren(el("p", { cls: "diff-meta", text: `第 ${d.a.no} 版（${d.a.author}）→ 第 ${d.b.no} 版（${d.b.author}，${fmtTime(d.b.created_at)}）` }));
      const pre = el("div", { cls: "diff-text" });
      for (const op of d.ops) {
        pre.append(el(op.op === "insert" ? "ins" : op.op === "delete" ? "del" : "span", { text: op.text }));
      }
      out.append(pre);
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  } } });
  section.append(list, el("div", { cls: "toolbar" }, a, b, show), out);
  return section;
}

// Discussion ---------------------------------------------------------------------------------------

function commentsSection(ctx, doc) {
  const section = el("section", { cls: "card" }, el("h2", { text: "讨论" }));
  const list = el("ul", { cls: "comments" });
  const text = el("textarea", { attrs: { rows: "2", maxlength: "5000", placeholder: "发表讨论意见" } });
  const status = el("div", { cls: "status" });
  async function load() {
    const data = await ctx.api.get(`/api/docs/${doc.id}/comments`);
    list.replaceChildren();
    for (const c of data.items) {
      const li = el("li", {}, el("div", { cls: "comment-meta", text: `${c.author} · 第 ${c.version_no} 版 · ${fmtTime(c.created_at)}` }),
        el("p", { text: c.text }));
      if (currentPanel && currentPanel.opinion) {
        li.append(el("button", { cls: "small", text: "引用到意见", on: { click: () => {
          currentPanel.quoteId = c.id;  // the server appends the quoted comment to the opinion
          currentPanel.opinion.placeholder = `意见（将引用 ${c.author} 的讨论）`;
          currentPanel.opinion.focus();
        } } }));
      }
      list.append(li);
    }
  }
  const send = el("button", { text: "发表", on: { click: async () => {
    status.replaceChildren();
    try {
      await ctx.api.post(`/api/docs/${doc.id}/comments`, { text: text.value });
      text.value = "";
      await load();
    } catch (err) {
      status.append(errorBox(err));
    }
  } } });
  load().catch((err) => section.append(errorBox(err)));
  section.append(list, text, el("div", { cls: "toolbar" }, send), status);
  return section;
}
