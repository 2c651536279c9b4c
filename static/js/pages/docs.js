// 公文 (办文): 待办 / 已办 / 我起草的 / 全部, new document, and the document page: what I have to do
// now (action panel), body preview and editor, .docx import and download, 发文稿纸, route picture
// with opinions, versions with diff, discussion.
//
//   #/docs?box=todo      lists          #/docs/new      new 发文       #/docs/42      one document
//
// User data is only ever written with textContent; no inline scripts or style attributes (strict CSP).
import { el, replace, button, field, loading, emptyState, errorState, toast, confirmDialog, newestWins, loadCss } from "../ui.js";
import { newClientId, upload } from "../api.js";
import { picker } from "../components/picker.js";
import { jointIssuersPicker, jointIssuersText, jointSealPanel } from "./docs/joint.js";
import { blockEditor } from "./docs/blocks.js";
import { annexesPanel } from "./docs/annexes.js";
import { dateTime } from "../time.js";

const BOXES = [["todo", "待办"], ["done", "已办"], ["mine", "我起草的"], ["all", "全部"]];
const STEP_STATES = { done: "已完成", current: "办理中", upcoming: "未开始", skipped: "已跳过" };
const TASK_STATES = { pending: "待办理", approved: "已同意", returned: "已退回", transferred: "已转办", cancelled: "无需办理" };
const HISTORY_LABELS = {
  create: "创建", submit: "送审", approve: "同意", return: "退回", withdraw: "撤回", transfer: "转办",
  add_signer: "加签", skip: "跳过", finish: "办结",
};
// What "approve" means at each kind of step (docs_flow/templates.py tags).
const APPROVE_LABELS = {
  review: "审核通过", countersign: "会签同意", sign_off: "签发", recheck: "复核通过", number: "编号完成，送下一步",
  seal: "用印", distribute: "确认分发", archive: "归档",
};
const DONE_TOASTS = { submit: "已送审", approve: "已办理", return: "已退回", withdraw: "已撤回", transfer: "已转办",
  add_signer: "已加签", number: "已编号" };

const fmtTime = dateTime; // "2026-12-07 09:30" in 北京时间 (time.js)

// 主送/抄送 as typed: groups split at commas, semicolons and new lines; a 顿号 stays inside its group
// ("各处室、各直属单位") so the file prints the punctuation the drafter chose. Distribution still
// finds each agency a group names.
function splitList(text) {
  return text.split(/[,，;；\n]/).map((s) => s.trim()).filter(Boolean);
}

/** 主送/抄送 agencies picked from the directory into a text box (分发 delivers to them by name). */
function agencyAdder(ctx, box, label) {
  const names = () => splitList(box.value);
  return picker({ api: ctx.api, label, kind: "agencies", multiple: true,
    hint: "选中的机关加入上栏（再选一次移除）；系统内的机关会收到电子公文。",
    isChosen: (a) => names().includes(a.name),
    onPick: (a) => {
      const now = names();
      box.value = (now.includes(a.name) ? now.filter((n) => n !== a.name) : [...now, a.name]).join("，");
    } }).element;
}

/** Plain text to body blocks: "一、…" is a level-1 heading, "（一）…" level 2, other lines paragraphs. */
export function textToBlocks(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    if (/^[一二三四五六七八九十]+、/.test(line)) return { kind: "heading", level: 1, text: line };
    if (/^（[一二三四五六七八九十]+）/.test(line)) return { kind: "heading", level: 2, text: line };
    return { kind: "paragraph", text: line };
  });
}

function isAbort(err) {
  return err && err.name === "AbortError";
}

// Entry ------------------------------------------------------------------------------------------

export async function render(root, ctx) {
  loadCss("docs");
  root.classList.add("docs-page");
  const [first] = ctx.params.path;
  try {
    if (first === "new") await renderNew(root, ctx);
    else if (first && /^\d+$/.test(first)) await renderDocument(root, ctx, Number(first));
    else await renderList(root, ctx, BOXES.some(([k]) => k === ctx.params.query.box) ? ctx.params.query.box : "todo");
  } catch (err) {
    if (isAbort(err)) return;
    replace(root, el("h1", {}, "公文"), errorState(err, () => ctx.navigate(location.hash, { replace: true })));
  }
}

// Lists ------------------------------------------------------------------------------------------

async function renderList(root, ctx, box) {
  const { api, signal } = ctx;
  const tabs = el("nav", { class: "tabs", "aria-label": "公文分类" },
    el("ul", {}, BOXES.map(([key, label]) => el("li", {},
      el("a", { class: "tab", href: `#/docs?box=${key}`, "aria-current": key === box ? "page" : null }, label)))));
  const search = el("input", { type: "search", id: "docs-q", placeholder: "输入标题或文号", autocomplete: "off" });
  const list = el("section", { class: "panel", "aria-live": "polite" }, loading());
  replace(root,
    el("div", { class: "docs-head" },
      el("h1", {}, "公文"),
      el("a", { class: "btn btn-primary", href: "#/docs/new" }, "＋ 新建发文")),
    el("nav", { class: "tabs docs-links", "aria-label": "收文与督办" },
      el("ul", {}, [["#/incoming", "收文"], ["#/incoming/supervision", "督办"], ["#/incoming/archive", "归档"],
        ["#/incoming/search", "搜索公文"]].map(([href, label]) => el("li", {}, el("a", { class: "tab", href }, label))))),
    tabs,
    el("div", { class: "search-bar", role: "search" }, el("label", { for: "docs-q", class: "search-label" }, "查找公文"), search),
    list,
    formatCheckPanel());

  const load = newestWins(async (stale) => {
    const data = await api.get("/api/docs", { query: { box, q: search.value.trim() }, signal });
    if (stale()) return; // a newer search or reload owns the list
    const label = BOXES.find(([k]) => k === box)[1];
    if (!data.items.length) {
      replace(list, emptyState({ title: box === "todo" ? "没有待办公文" : "暂无公文",
        text: box === "todo" ? "需要您办理的公文会出现在这里。" : "" }));
      return;
    }
    replace(list, el("h2", { class: "panel-title" }, label, el("span", { class: "panel-count" }, `共 ${data.total} 件`)),
      el("ul", { class: "doc-list" }, data.items.map((d) => el("li", { class: "doc-item" },
        el("a", { class: "doc-link", href: `#/docs/${d.id}` }, d.title),
        el("p", { class: "doc-line" },
          el("span", { class: `tag doc-status doc-status-${d.status}` }, d.status_label),
          d.urgency ? el("span", { class: "tag doc-urgent" }, d.urgency) : null,
          el("span", { class: "doc-meta" }, [d.doc_type, d.number, d.current_step ? `当前：${d.current_step}` : "",
            d.drafter ? `拟稿：${d.drafter}` : "", fmtTime(d.updated_at)].filter(Boolean).join(" · ")))))));
  });
  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch((e) => isAbort(e) || replace(list, errorState(e))), 300);
  }, { signal });
  // Listening before the first load: a change committed while it is under way still reloads.
  ctx.ws.subscribe("docs", () => load().catch(() => {}), { signal });
  await load();
}

// New document (发文稿纸) ----------------------------------------------------------------------------

async function renderNew(root, ctx) {
  const { api, signal } = ctx;
  const meta = await api.get("/api/docs/meta", { signal });
  const docType = field({ label: "文种", name: "doc_type", type: "select", value: "通知",
    options: meta.doc_types.map((t) => ({ value: t, label: t })) });
  const title = field({ label: "标题", name: "title", required: true, maxlength: 200,
    hint: "例如：关于开展2025年度安全生产检查的通知" });
  const main = field({ label: "主送机关", name: "main", type: "textarea", rows: 2, hint: "多个机关用顿号（、）分隔" });
  const cc = field({ label: "抄送机关", name: "cc", type: "textarea", rows: 2 });
  main.wrap.append(agencyAdder(ctx, main.input, "从通讯录添加主送机关"));
  cc.wrap.append(agencyAdder(ctx, cc.input, "从通讯录添加抄送机关"));
  const secrecy = field({ label: "密级", name: "secrecy", type: "select", value: "",
    options: [{ value: "", label: "非密" }, { value: "内部", label: "内部" }] });
  const urgency = field({ label: "紧急程度", name: "urgency", type: "select", value: "",
    options: meta.urgency.map((u) => ({ value: u, label: u || "普通" })) });
  const code = field({ label: "机关代字", name: "code", type: "select", value: meta.number_codes[0],
    options: meta.number_codes.map((c) => ({ value: c, label: c })) });
  const phone = field({ label: "拟稿人电话", name: "phone", maxlength: 40 });
  const body = field({ label: "正文", name: "body", type: "textarea", rows: 10,
    hint: "每行一段；以“一、”开头的行作为一级标题，以“（一）”开头的行作为二级标题。送审后仍可修改。" });
  const attachments = field({ label: "附件名称", name: "attachments", type: "textarea", rows: 2, hint: "每行一个，没有可不填" });
  const boxes = meta.departments.map((d) => {
    const id = `cs-${d.id}`;
    const cb = el("input", { type: "checkbox", id, value: String(d.id) });
    return { cb, wrap: el("div", { class: "check" }, cb, el("label", { for: id }, d.name)) };
  });
  const countersign = el("fieldset", { class: "fieldset roles" }, el("legend", {}, "会签部门（可多选，同时会签）"),
    boxes.map((b) => b.wrap));
  const joint = jointIssuersPicker(api);
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const submit = button("创建草稿", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form panel", novalidate: true },
    el("p", { class: "hint" }, `密级只能是非密或内部。${meta.refused_secrecy.join("、")}等涉密公文不得在本系统处理。`),
    el("div", { class: "form-grid" }, docType.wrap, urgency.wrap, secrecy.wrap, code.wrap),
    title.wrap, main.wrap, cc.wrap, body.wrap, attachments.wrap, countersign, joint.element, phone.wrap, status,
    el("div", { class: "actions" }, submit, el("a", { class: "btn btn-secondary", href: "#/docs?box=mine" }, "取消")));
  const clientId = newClientId(); // one per form: pressing 创建草稿 again after a lost answer makes no second draft
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.hidden = true;
    try {
      const doc = await api.post("/api/docs", {
        client_id: clientId, doc_type: docType.input.value, title: title.input.value, main_recipients: splitList(main.input.value),
        cc_recipients: splitList(cc.input.value), secrecy: secrecy.input.value, urgency: urgency.input.value,
        number_code: code.input.value, drafter_phone: phone.input.value,
        attachments: attachments.input.value.split("\n").map((s) => s.trim()).filter(Boolean).map((name) => ({ name })),
        countersign_department_ids: boxes.filter((b) => b.cb.checked).map((b) => Number(b.cb.value)),
        joint_issuers: joint.ids(),
        body: textToBlocks(body.input.value),
      });
      toast("草稿已创建", "success");
      ctx.navigate(`/docs/${doc.id}`);
    } catch (err) {
      status.textContent = err.message;
      status.className = "form-msg form-msg-error";
      status.hidden = false;
    }
  });
  replace(root, el("a", { class: "back-link", href: "#/docs?box=mine" }, "‹ 返回公文列表"), el("h1", {}, "新建发文"), form);
}

// Document view --------------------------------------------------------------------------------------

async function renderDocument(root, ctx, id) {
  const { api, signal } = ctx;
  let doc = await api.get(`/api/docs/${id}`, { signal });
  const view = { editing: false, opinion: "" };
  const refresh = async () => {
    doc = await api.get(`/api/docs/${id}`, { signal });
    draw();
  };

  function draw() {
    const focusedHeading = document.activeElement?.tagName === "H1";
    replace(root,
      el("a", { class: "back-link", href: "#/docs" }, "‹ 返回公文列表"),
      header(doc),
      jointSealPanel(api, doc, refresh),
      actionPanel(ctx, doc, view, refresh),
      bodySection(ctx, doc, view, refresh),
      annexesPanel(ctx, doc, view, refresh),
      sheetView(doc),
      routePicture(doc.route),
      versionsSection(ctx, doc),
      commentsSection(ctx, doc, view));
    if (focusedHeading) root.querySelector("h1")?.focus({ preventScroll: true });
  }
  draw();
  ctx.ws.subscribe("docs", (ev) => {
    if ((ev.document_id === id || ev.subject_id === id) && !view.editing) refresh().catch(() => {});
  }, { signal });
}

function header(doc) {
  return el("header", { class: "doc-header" },
    el("h1", {}, doc.title),
    el("p", { class: "doc-line" },
      el("span", { class: `tag doc-status doc-status-${doc.status}` }, doc.status_label),
      doc.urgency ? el("span", { class: "tag doc-urgent" }, doc.urgency) : null,
      doc.secrecy ? el("span", { class: "tag tag-off" }, doc.secrecy) : null,
      el("span", { class: "doc-meta" }, [doc.doc_type, doc.number ? `文号：${doc.number}` : "尚未编号"].join(" · "))));
}

function sheetView(doc) {
  const rows = [
    ["主送", doc.main_recipients.join("，")], ["抄送", doc.cc_recipients.join("，")],
    ["拟稿", `${doc.drafting_dept} ${doc.drafter} ${doc.drafter_phone}`.trim()],
    ["联合发文机关", jointIssuersText(doc)],
    ["发文字号", doc.number], ["签发人", doc.signer_name], ["成文日期", doc.written_date],
    ["印发机关", doc.issuing_agency_name], ["印发日期", doc.issued_date],
    ["附件", doc.attachments.map((a) => a.name).join("、")], ["附注", doc.note],
  ];
  const dl = el("dl", { class: "facts" });
  for (const [k, v] of rows) if (v) dl.append(el("dt", {}, k), el("dd", {}, v));
  if (doc.signed_hash) {
    dl.append(el("dt", {}, "签发版本"), el("dd", { class: "mono" }, `第 ${doc.signed_version_no} 版 · ${doc.signed_hash.slice(0, 16)}…`));
  }
  return el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "发文稿纸"), dl);
}

// Actions ---------------------------------------------------------------------------------------------

function actionPanel(ctx, doc, view, refresh) {
  const { api } = ctx;
  const acts = doc.allowed_actions;
  const routeActs = ["submit", "approve", "return", "withdraw", "transfer", "add_signer", "number"].filter((a) => acts.includes(a));
  if (!routeActs.length || (routeActs.length === 1 && routeActs[0] === "withdraw")) {
    if (doc.status === "archived") {
      return el("section", { class: "notice notice-done" }, el("p", { class: "notice-title" }, "本公文已办结归档"),
        el("p", {}, `${doc.number ? `文号 ${doc.number}，` : ""}可在“正文”处下载${doc.official_pdf_sha256 ? "盖章的正式文件（PDF）和 " : ""}Word 文件。`));
    }
    const current = doc.route.steps.find((s) => s.state === "current");
    if (!current) return null;
    const who = current.tasks.filter((t) => t.state === "pending").map((t) => t.assignee).join("、") || "待分配";
    const box = el("div", { class: "doc-waiting" }, el("p", {}, `当前步骤：${current.name}（${who}办理）`));
    if (routeActs.length) {
      // The drafter may take it back while nobody has acted on it yet.
      const b = button("撤回", async () => {
        if (!(await confirmDialog({ title: "撤回公文", message: "撤回后流程停止，您可以修改后重新送审。确定撤回？", confirmText: "撤回" }))) return;
        try {
          await api.post(`/api/docs/${doc.id}/actions`, { action: "withdraw", version: doc.version, opinion: "" });
          toast("已撤回", "success");
          await refresh();
        } catch (err) { if (!isAbort(err)) toast(err.message, "error"); }
      }, { kind: "secondary", class: "btn-small" });
      box.append(b);
    }
    return box;
  }
  const step = doc.my_step;
  const tag = step ? step.tag : "";
  const drafting = acts.includes("submit");
  const panel = el("section", { class: "panel action-panel", "aria-labelledby": "act-title" });
  const last = doc.route.history[doc.route.history.length - 1];
  const returned = drafting && last && last.action === "return";
  panel.append(el("h2", { class: "panel-title", id: "act-title" },
    returned ? "已退回：请按意见修改后重新送审"
      : drafting ? (doc.status === "draft" ? "草稿：请完善正文后送审" : "已撤回：修改后可重新送审")
        : step ? `请您办理：${step.name}` : "请您办理"));
  if (returned) {
    panel.append(el("blockquote", { class: "opinion-text" }, `${last.actor}${last.step ? `（${last.step}）` : ""}退回意见：${last.opinion || "无"}`));
  }
  const note = drafting ? null : submitNote(doc.route.history);
  if (note) {
    // What the drafter asked of the reviewers, where they read first, not folded in the history.
    panel.append(el("blockquote", { class: "opinion-text submit-note" }, el("strong", {}, `${note.actor}的送审说明：`), note.opinion));
  }
  if (step && (step.due_at || step.on_behalf_of)) {
    panel.append(el("p", { class: "hint" }, [step.due_at ? `请于 ${fmtTime(step.due_at)} 前办理` : "",
      step.on_behalf_of ? "（您正在代他人办理）" : ""].join("")));
  }
  const opinion = field({ label: drafting ? "送审说明（可选）" : "办理意见", name: "opinion", type: "textarea", rows: 3,
    maxlength: 5000, value: view.opinion });
  opinion.input.addEventListener("input", () => { view.opinion = opinion.input.value; });
  panel.append(opinion.wrap);
  if (view.quote) {
    panel.append(el("p", { class: "hint" }, `将引用 ${view.quote.author} 的讨论意见`,
      button("不引用", () => { view.quote = null; refresh(); }, { kind: "link" })));
  }
  const pin = field({ label: tag === "seal" ? "您的签名密码（PIN，用于加盖电子公章）" : "您的签名密码（PIN）", name: "pin", type: "password", autocomplete: "off" });
  const keyNote = el("div", { "aria-live": "polite" });
  if (doc.needs_pin) panel.append(keyNote, pin.wrap);
  pin.wrap.hidden = true; // shown once the signing key is known to be ready (below)
  if (tag === "seal" && doc.official_copy && !doc.official_copy.available) {
    panel.append(el("p", { class: "form-msg form-msg-error" },
      `正式版式文件（PDF）服务暂不可用，暂不能用印：${doc.official_copy.message || "请联系管理员"}`));
  }
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });

  async function run(action, btn) {
    status.hidden = true;
    btn.disabled = true;
    try {
      if (action === "number") {
        await api.post(`/api/docs/${doc.id}/number`, { version: doc.version });
      } else {
        const body = { action, version: doc.version, opinion: opinion.input.value };
        if (action === "return") Object.assign(body, { target: target.input.value, reason: opinion.input.value });
        if (action === "transfer" || action === "add_signer") body.user_id = person.id;
        if (doc.needs_pin && action === "approve") body.pin = pin.input.value;
        if (view.quote) body.quote_comment_id = view.quote.id;
        await api.post(`/api/docs/${doc.id}/actions`, body);
        view.opinion = "";
        view.quote = null;
      }
      toast(DONE_TOASTS[action] || "已办理", "success");
      await refresh();
    } catch (err) {
      if (isAbort(err)) return;
      status.textContent = err.message;
      status.className = "form-msg form-msg-error";
      status.hidden = false;
      btn.disabled = false;
    }
  }
  const primary = el("div", { class: "actions" });
  const act = (action, label, kind) => {
    const b = button(label, () => run(action, b), { kind });
    return b;
  };
  if (acts.includes("submit")) primary.append(act("submit", "送审", "primary"));
  if (acts.includes("number")) primary.append(act("number", "编发文字号", "primary"));
  const approve = acts.includes("approve") ? act("approve", APPROVE_LABELS[tag] || "同意", "primary") : null;
  if (approve) primary.append(approve);
  panel.append(primary);
  if (doc.needs_pin) checkSigningKey(api, { note: keyNote, pin: pin.wrap, approve, what: tag === "seal" ? "用印" : "签发" });

  let target = null;
  if (acts.includes("return") && doc.return_targets.length) {
    target = field({ label: "退回到", name: "target", type: "select", value: doc.return_targets[0].key,
      options: doc.return_targets.map((t) => ({ value: t.key, label: t.name })) });
    panel.append(el("div", { class: "return-row" }, target.wrap, act("return", "退回", "danger")));
  }
  const person = { id: null };
  if (acts.includes("transfer") || acts.includes("add_signer")) {
    const more = el("details", { class: "disclosure" }, el("summary", {}, "转办或加签给其他人"));
    const who = picker({ api, label: "选择人员", kind: "people", agencyId: ctx.me.agency_id,
      onChange: (items) => { person.id = items[0]?.id ?? null; } });
    const buttons = el("div", { class: "actions" });
    if (acts.includes("transfer")) buttons.append(act("transfer", "转办", "secondary"));
    if (acts.includes("add_signer")) buttons.append(act("add_signer", "加签", "secondary"));
    more.append(who.element, buttons);
    panel.append(more);
  }
  panel.append(status);
  return panel;
}

/** The latest 送审 with a note: what the drafter wrote when sending the draft on. */
function submitNote(history) {
  const sent = history.filter((h) => h.action === "submit");
  const last = sent[sent.length - 1];
  return last && last.opinion ? last : null;
}

/**
 * 签发 and 用印 sign with the person's own key under their PIN: before the PIN is asked, make sure
 * there is a key to unlock, and if not, say so with the way to make one (the server refuses anyway).
 */
async function checkSigningKey(api, { note, pin, approve, what }) {
  let key;
  try {
    key = await api.get("/api/esign/me");
  } catch {
    pin.hidden = false; // cannot tell: ask, and let the server answer
    return;
  }
  if (key.enrolled && key.status === "active") {
    pin.hidden = false;
    return;
  }
  if (approve) approve.disabled = true;
  const locked = key.enrolled && key.status === "locked";
  replace(note, el("div", { class: "notice notice-warn" },
    el("p", { class: "notice-title" }, locked ? "您的签名密钥已被锁定" : "您还没有开通个人电子签名"),
    el("p", {}, locked ? `签名 PIN 码错误次数过多，密钥已锁定。请在“电子签章”中吊销后重新开通，再回来${what}。`
      : `${what}要用您本人的签名密钥和签名 PIN 码。请先开通电子签名，再回来${what}。`),
    el("a", { class: "btn btn-primary", href: "#/esign" }, locked ? "前往电子签章" : "开通电子签名")));
}

// Body: preview and editor --------------------------------------------------------------------------

function blockView(b) {
  if (b.kind === "heading") return el(`h${Math.min(b.level + 2, 6)}`, { class: `doc-heading doc-h${b.level}` }, b.text);
  if (b.kind === "list_item") return el("p", { class: "doc-list-item" }, b.text);
  if (b.kind === "table") {
    return el("div", { class: "table-wrap" }, el("table", { class: "table doc-table" },
      el("tbody", {}, b.rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }
  return el("p", { class: "doc-paragraph" }, b.text);
}

function bodySection(ctx, doc, view, refresh) {
  if (view.editing) return editor(ctx, doc, view, refresh);
  const section = el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "正文",
    el("span", { class: "panel-count" }, `第 ${doc.body_version_no} 版`)));
  const preview = el("article", { class: "doc-preview", "aria-label": "正文预览" },
    el("p", { class: "doc-preview-title" }, doc.title), doc.body.map(blockView));
  if (!doc.body.length) preview.append(el("p", { class: "hint" }, "正文为空，请点击“编辑正文”填写。"));
  section.append(preview);
  const bar = el("div", { class: "actions" },
    el("a", { class: "btn btn-secondary", href: `/api/docs/${doc.id}/docx`, download: "" },
      doc.sealed ? "下载 Word（已盖章）" : "下载 Word"));
  if (doc.official_ofd_sha256) {
    // The same pages as OFD (GB/T 33190), the national format for electronic official documents.
    bar.prepend(el("a", { class: "btn btn-secondary", href: `/api/docs/${doc.id}/ofd`, download: "" },
      "下载正式文件（OFD，已盖章）"));
  }
  if (doc.official_pdf_sha256) {
    // The official copy: fixed pages, sealed, what is archived and sent.
    bar.prepend(el("a", { class: "btn btn-primary", href: `/api/docs/${doc.id}/pdf`, download: "" },
      "下载正式文件（PDF，已盖章）"));
  }
  if (doc.allowed_actions.includes("edit")) {
    bar.prepend(button("编辑正文", () => { view.editing = true; refresh(); }, { kind: "secondary" }));
  }
  section.append(bar);
  return section;
}

function editor(ctx, doc, view, refresh) {
  const blocks = doc.body.map((b) => ({ ...b }));
  const wrap = el("section", { class: "panel editor", "aria-labelledby": "edit-title" },
    el("h2", { class: "panel-title", id: "edit-title" }, "编辑正文"));
  const title = field({ label: "标题", name: "title", maxlength: 200, value: doc.title });
  const recipients = field({ label: "主送", name: "main_recipients", maxlength: 1000,
    value: doc.main_recipients.join("，"), hint: "多个主送用逗号分隔；同类并列用顿号，如“各处室、各直属单位”" });
  recipients.wrap.append(agencyAdder(ctx, recipients.input, "从通讯录添加主送机关"));
  // 联合行文: the other issuers are chosen while drafting only (they sign and seal along the route).
  const drafting = doc.status === "draft" || doc.status === "withdrawn";
  const joint = drafting ? jointIssuersPicker(ctx.api, doc.joint_issuers) : null;
  // 纪要: the attendance block (GB/T 9704 §10.3), one entry per line: 单位 姓名.
  const minutes = doc.doc_type === "纪要";
  const attendance = minutes ? [["present", "出席"], ["on_leave", "请假"], ["sitting_in", "列席"]].map(([key, label]) =>
    [key, field({ label: `${label}（每行一人：单位 姓名）`, name: `attendance-${key}`, type: "textarea", rows: 3,
      value: ((doc.attendance || {})[key] || []).join("\n") })]) : [];
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const note = field({ label: "修改说明（可选）", name: "note", maxlength: 200 });

  const blockTools = blockEditor(blocks);
  const fileId = `import-${doc.id}`;
  const file = el("input", { type: "file", id: fileId, accept: ".docx", class: "visually-hidden" });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    try {
      const data = await upload(`/api/docs/${doc.id}/import`, file.files[0]);
      blocks.splice(0, blocks.length, ...data.body);
      blockTools.redraw();
      // The Word title and 主送 line go to their own fields, not into the body: say what was taken.
      const taken = [];
      if (data.title) { title.input.value = data.title; taken.push(`标题“${data.title}”`); }
      if (data.main_recipients.length) {
        recipients.input.value = data.main_recipients.join("，");
        taken.push(`主送“${recipients.input.value}”`);
      }
      toast(`已导入${taken.length ? taken.join("、") + "和" : ""}正文 ${data.body.length} 段，请检查后保存`, "success");
    } catch (err) {
      toast(err.message || "导入失败", "error");
    }
    file.value = "";
  });
  const save = button("保存（生成新版本）", async () => {
    status.hidden = true;
    try {
      await ctx.api.put(`/api/docs/${doc.id}`, { version: doc.version, title: title.input.value, body: blocks,
        main_recipients: splitList(recipients.input.value),
        ...(joint ? { joint_issuers: joint.ids() } : {}),
        ...(minutes ? { attendance: Object.fromEntries(attendance.map(([key, f]) =>
          [key, f.input.value.split("\n").map((v) => v.trim()).filter(Boolean)])) } : {}),
        note_for_version: note.input.value });
      view.editing = false;
      toast("正文已保存", "success");
      await refresh();
    } catch (err) {
      status.textContent = err.message;
      status.className = "form-msg form-msg-error";
      status.hidden = false;
    }
  }, { kind: "primary" });
  const cancel = button("取消", () => { view.editing = false; refresh(); }, { kind: "secondary" });
  wrap.append(title.wrap, recipients.wrap, ...(joint ? [joint.element] : []), ...attendance.map(([, f]) => f.wrap),
    blockTools.list, el("div", { class: "actions" }, ...blockTools.tools,
      el("span", { class: "file-pick" }, file, el("label", { for: fileId, class: "btn btn-secondary btn-small" }, "从 Word 导入"))),
    note.wrap, status, el("div", { class: "actions" }, save, cancel));
  return wrap;
}

// 格式检查: any Word file, prepared in Tongban or elsewhere, measured against GB/T 9704-2012.
function formatCheckPanel() {
  const input = el("input", { type: "file", id: "docs-check-file", accept: ".docx", class: "visually-hidden" });
  const result = el("div", { class: "check-result", "aria-live": "polite" });
  input.addEventListener("change", async () => {
    if (!input.files.length) return;
    replace(result, loading());
    try {
      const report = await upload("/api/docs/check", input.files[0]);
      if (report.ok) {
        replace(result, el("p", { class: "form-msg form-msg-success" }, `“${input.files[0].name}”符合 GB/T 9704-2012 版式要求。`));
      } else {
        replace(result,
          el("p", { class: "form-msg form-msg-error" }, `“${input.files[0].name}”有 ${report.deviations.length} 处不符合：`),
          el("ol", { class: "check-list" }, report.deviations.map((d) => el("li", {},
            d.paragraph !== null && d.paragraph !== undefined ? `第 ${d.paragraph + 1} 段：${d.message}` : d.message))));
      }
    } catch (err) {
      replace(result, el("p", { class: "form-msg form-msg-error" }, err.message || "检查失败"));
    }
    input.value = "";
  });
  return el("section", { class: "panel", "aria-labelledby": "docs-check-title" },
    el("h2", { class: "panel-title", id: "docs-check-title" }, "公文格式检查"),
    el("p", { class: "hint" }, "选择一个 Word 文件（.docx），按 GB/T 9704-2012 检查页面、字体字号、版头、文号、日期和页码。"),
    el("span", { class: "file-pick" }, input, el("label", { for: "docs-check-file", class: "btn btn-secondary" }, "选择 Word 文件检查")),
    result);
}

// Route picture ---------------------------------------------------------------------------------------

function routePicture(route) {
  const ol = el("ol", { class: "route" });
  for (const s of route.steps) {
    const li = el("li", { class: `step step-${s.state}`, "aria-current": s.state === "current" ? "step" : null },
      el("div", { class: "step-head" },
        el("span", { class: "step-name" }, s.name),
        el("span", { class: `step-state step-state-${s.state}` }, STEP_STATES[s.state] || s.state),
        s.mode === "all" && s.tasks.length > 1 ? el("span", { class: "hint" }, "（多人同时办理）") : null));
    for (const t of s.tasks) {
      const who = t.acted_by ? `${t.acted_by}（代 ${t.assignee}）` : t.assignee;
      const line = el("div", { class: `task task-${t.state}${t.overdue ? " overdue" : ""}` },
        el("span", { class: "who" }, `${who}${t.is_added ? "（加签）" : ""}`),
        el("span", { class: "task-state" }, TASK_STATES[t.state] || t.state),
        el("span", { class: "when" }, t.acted_at ? fmtTime(t.acted_at) : (t.due_at ? `限 ${fmtTime(t.due_at)}` : "")),
        t.overdue ? el("span", { class: "tag doc-urgent" }, "已超时") : null);
      li.append(line);
      if (t.opinion) li.append(el("blockquote", { class: "opinion-text" }, t.opinion));
    }
    ol.append(li);
  }
  const history = el("details", { class: "disclosure history" }, el("summary", {}, `流转记录（${route.history.length}）`),
    el("ul", { class: "plain history-list" }, route.history.map((h) => {
      const who = h.on_behalf_of ? `${h.actor}（代 ${h.on_behalf_of}）` : h.actor;
      return el("li", {}, el("span", { class: "when" }, fmtTime(h.at)), ` ${who} ${HISTORY_LABELS[h.action] || h.action}`,
        h.step ? ` · ${h.step}` : "", h.opinion ? `：${h.opinion}` : "");
    })));
  return el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "办理流程"), ol, history);
}

// Versions and 留痕 ---------------------------------------------------------------------------------

function versionsSection(ctx, doc) {
  const section = el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "版本与留痕"));
  const out = el("div", { class: "diff", "aria-live": "polite" });
  const list = el("ul", { class: "plain versions" });
  const a = el("select", { "aria-label": "旧版本" });
  const b = el("select", { "aria-label": "新版本" });
  const compare = button("比较两个版本", async () => {
    try {
      const d = await ctx.api.get(`/api/docs/${doc.id}/diff`, { query: { a: a.value, b: b.value } });
      replace(out, el("p", { class: "hint" }, `第 ${d.a.no} 版（${d.a.author}）→ 第 ${d.b.no} 版（${d.b.author}，${fmtTime(d.b.created_at)}）`),
        el("div", { class: "diff-text" }, d.ops.map((op) => el(op.op === "insert" ? "ins" : op.op === "delete" ? "del" : "span", {}, op.text))));
    } catch (err) {
      replace(out, errorState(err));
    }
  }, { kind: "secondary" });
  const tools = el("div", { class: "actions", hidden: true }, a, el("span", {}, "→"), b, compare);
  ctx.api.get(`/api/docs/${doc.id}/versions`, { signal: ctx.signal }).then((data) => {
    for (const v of data.items) {
      list.append(el("li", {}, `第 ${v.no} 版 · ${v.author} · ${v.step} · ${fmtTime(v.created_at)}${v.note ? ` · ${v.note}` : ""}`));
      a.append(el("option", { value: String(v.no) }, `第 ${v.no} 版`));
      b.append(el("option", { value: String(v.no) }, `第 ${v.no} 版`));
    }
    if (data.items.length > 1) {
      a.value = String(data.items[data.items.length - 2].no);
      b.value = String(data.items[data.items.length - 1].no);
      tools.hidden = false;
    }
  }).catch((err) => isAbort(err) || section.append(errorState(err)));
  section.append(list, tools, out);
  return section;
}

// Discussion ---------------------------------------------------------------------------------------

function commentsSection(ctx, doc, view) {
  const section = el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "讨论"));
  const list = el("ul", { class: "plain comments" });
  const text = field({ label: "发表讨论意见", name: "comment", type: "textarea", rows: 2, maxlength: 5000 });
  const canQuote = doc.allowed_actions.includes("approve") || doc.allowed_actions.includes("return");
  async function load() {
    const data = await ctx.api.get(`/api/docs/${doc.id}/comments`, { signal: ctx.signal });
    if (!data.items.length) { replace(list, el("li", { class: "hint" }, "还没有讨论。")); return; }
    replace(list, data.items.map((c) => el("li", { class: "comment" },
      el("p", { class: "comment-meta" }, `${c.author} · 第 ${c.version_no} 版 · ${fmtTime(c.created_at)}`),
      el("p", { class: "comment-text" }, c.text),
      canQuote ? button("引用到办理意见", () => {
        view.quote = { id: c.id, author: c.author };
        toast(`办理时将引用 ${c.author} 的讨论`, "info");
        document.querySelector(".action-panel textarea")?.focus();
      }, { kind: "link" }) : null)));
  }
  const send = button("发表", async () => {
    try {
      await ctx.api.post(`/api/docs/${doc.id}/comments`, { text: text.input.value });
      text.input.value = "";
      await load();
    } catch (err) {
      toast(err.message, "error");
    }
  }, { kind: "secondary" });
  load().catch((err) => isAbort(err) || section.append(errorState(err)));
  section.append(list, text.wrap, el("div", { class: "actions" }, send));
  return section;
}
