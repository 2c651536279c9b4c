// 电子签章: my signing certificate (enrol, change PIN, revoke), seal management for the 印章管理员
// (list, create with preview, authorised users, suspend/resume/revoke, 用印登记), applying a seal
// to a Word file, and verifying a sealed file (drop a .docx, read the report).
//
// Other pages import the PIN dialog:   import { askPin } from "./esign.js";
//                                       const pin = await askPin("签发：请输入签名 PIN 码");  // null = cancelled
//
// Strict CSP: no inline scripts or styles; user data only ever goes through textContent.

import { el as h, loadCss, replace as clear } from "../ui.js";
import { upload } from "../api.js";
import { picker } from "../components/picker.js";
import { dateTime } from "../time.js";

const DOCX = ".docx,application/vnd.openxmlformats-officedocument.wordprocessingml.document";
// The verification page also takes the official copy (版式 PDF) sealed at 用印.
const SEALED = DOCX + ",.pdf,application/pdf,.ofd,application/ofd";
const KIND_LABELS = { official: "机关公章/专用章", department: "部门章", name: "领导名章" };
const STATUS_LABELS = { active: "启用", suspended: "已暂停", revoked: "已吊销", locked: "已锁定" };

// --- page-local helpers (elements come from ../ui.js) ------------------------------------------

function message(kind = "error") {
  const box = h("p", { class: `form-msg form-msg-${kind}`, role: kind === "error" ? "alert" : "status", hidden: true });
  box.show = (text, k = kind) => { box.className = `form-msg form-msg-${k}`; box.textContent = text; box.hidden = false; };
  box.clear = () => { box.textContent = ""; box.hidden = true; };
  return box;
}

function input(label, attrs = {}) {
  const id = `esign-${Math.random().toString(36).slice(2, 9)}`;
  const field = h("input", { id, ...attrs });
  return { input: field, wrap: h("div", { class: "field" }, h("label", { for: id }, label), field,
    attrs.hint ? h("p", { class: "hint" }, attrs.hint) : null) };
}

/** A file input in Chinese whatever the browser's language (Chromium's own says "Choose File / No
 * file chosen"): the input visually hidden, a label styled as a button, the chosen file's name shown.
 * The input is named by the field's label and the button's text together. */
function filePick(label, button, attrs = {}) {
  const id = `esign-${Math.random().toString(36).slice(2, 9)}`;
  const field = h("input", { id, type: "file", class: "visually-hidden", "aria-labelledby": `${id}-l ${id}-b`, ...attrs });
  const name = h("span", { class: "file-name", "aria-live": "polite" }, "尚未选择文件");
  field.addEventListener("change", () => { name.textContent = field.files[0] ? `已选择：${field.files[0].name}` : "尚未选择文件"; });
  return { input: field, wrap: h("div", { class: "field" }, h("span", { class: "field-label", id: `${id}-l` }, label),
    h("div", { class: "file-pick" }, field, h("label", { for: id, id: `${id}-b`, class: "btn btn-secondary" }, button), name)) };
}

function select(label, options, value) {
  const id = `esign-${Math.random().toString(36).slice(2, 9)}`;
  const node = h("select", { id }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return { input: node, wrap: h("div", { class: "field" }, h("label", { for: id }, label), node) };
}

function time(iso) {
  return iso ? dateTime(iso) : "—"; // 北京时间 (time.js)
}

function errorText(err) {
  if (err && err.body && typeof err.body.attempts_left === "number") return `${err.message}`;
  return (err && err.message) || "操作失败，请稍后再试";
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, class: "btn btn-secondary" }, `下载 ${name}`);
  setTimeout(() => URL.revokeObjectURL(url), 10 * 60 * 1000);
  return link;
}

// --- the PIN dialog other pages use ------------------------------------------------------------

/** Ask for the signing PIN in a modal <dialog>; resolves to the PIN, or null when cancelled. */
export function askPin(title = "请输入签名 PIN 码", hint = "PIN 码只用于本次签名，不会被保存。连续输错 5 次密钥将被锁定。") {
  return new Promise((resolve) => {
    const pin = h("input", { type: "password", inputmode: "numeric", autocomplete: "off", minlength: "6",
      maxlength: "64", required: true, "aria-describedby": "esign-pin-hint" });
    const ok = h("button", { type: "submit", class: "btn btn-primary" }, "确定");
    const cancel = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
    pin.id = "esign-pin-input";
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "esign-pin-title" },
      h("form", { method: "dialog" },
        h("div", { class: "dialog-head" }, h("h2", { id: "esign-pin-title", class: "dialog-title" }, title)),
        h("div", { class: "dialog-body form" },
          h("div", { class: "field" }, h("label", { for: "esign-pin-input" }, title.includes("印章") ? "印章 PIN 码" : "签名 PIN 码"), pin,
            h("p", { id: "esign-pin-hint", class: "hint" }, hint))),
        h("div", { class: "dialog-actions" }, cancel, ok)));
    let result = null;
    dialog.querySelector("form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (pin.value.length < 6) { pin.focus(); return; }
      result = pin.value;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { pin.value = ""; dialog.remove(); resolve(result); });
    document.body.appendChild(dialog);
    dialog.showModal();
    pin.focus();
  });
}

/** Ask to confirm a dangerous action; resolves true/false. */
function confirmDanger(title, text, action) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", class: "btn btn-danger" }, action);
    const cancel = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
    const dialog = h("dialog", { class: "dialog", role: "alertdialog", "aria-label": title },
      h("form", { method: "dialog" }, h("div", { class: "dialog-head" }, h("h2", { class: "dialog-title" }, title)),
        h("div", { class: "dialog-body" }, h("p", { class: "dialog-message" }, text)),
        h("div", { class: "dialog-actions" }, cancel, ok)));
    let answer = false;
    dialog.querySelector("form").addEventListener("submit", (e) => { e.preventDefault(); answer = true; dialog.close(); });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

// --- page -----------------------------------------------------------------------------------------

export async function render(root, ctx) {
  loadCss("esign");
  const tabs = [["mine", "我的电子签名"], ["apply", "文件用印"], ["verify", "验证文件"]];
  let me;
  try {
    me = await ctx.api.get("/api/esign/me", { signal: ctx.signal });
  } catch (err) {
    if (err && err.name === "AbortError") return;
    clear(root, h("h1", {}, "电子签章"), h("p", { class: "form-msg form-msg-error", role: "alert" }, errorText(err)));
    return;
  }
  if (me.is_seal_keeper) tabs.splice(1, 0, ["seals", "印章管理"]);
  const wanted = (ctx.params && ctx.params.path && ctx.params.path[0]) || "mine";
  const current = tabs.some(([k]) => k === wanted) ? wanted : "mine";
  const body = h("div", { class: "esign-body" });
  const nav = h("nav", { class: "tabs", "aria-label": "电子签章" }, h("ul", {}, tabs.map(([key, label]) =>
    h("li", {}, h("a", { href: key === "mine" ? "#/esign" : `#/esign/${key}`, class: "tab", "aria-current": key === current ? "page" : null }, label)))));
  clear(root, h("h1", {}, "电子签章"), nav, body);
  const views = { mine: renderMine, seals: renderSeals, apply: renderApply, verify: renderVerify };
  await views[current](body, ctx, me);
}

// My certificate -------------------------------------------------------------------------------

async function renderMine(box, ctx, me) {
  me = await ctx.api.get("/api/esign/me").catch(() => me);
  const msg = message();
  if (!me.enrolled) {
    const pin = input("设置签名 PIN 码", { type: "password", inputmode: "numeric", autocomplete: "new-password",
      minlength: "6", maxlength: "64", hint: "6 位以上。签发、盖章时都要输入；系统不保存 PIN 码，忘记只能吊销后重新开通。" });
    const again = input("再次输入", { type: "password", inputmode: "numeric", autocomplete: "new-password" });
    const form = h("form", { class: "form form-narrow" }, pin.wrap, again.wrap, msg,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "开通电子签名")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      msg.clear();
      if (pin.input.value !== again.input.value) return msg.show("两次输入的 PIN 码不一致");
      try {
        await ctx.api.post("/api/esign/enrol", { pin: pin.input.value });
        renderMine(box, ctx, me);
      } catch (err) { msg.show(errorText(err)); }
    });
    clear(box, h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "开通电子签名"),
      h("p", {}, "开通后，本机关签发 CA 为您签发个人签名证书，您的签名密钥只用您设置的 PIN 码加密保存。"), form));
    return;
  }
  const facts = [["状态", STATUS_LABELS[me.status] || me.status], ["证书主题", me.subject], ["算法", me.alg],
    ["证书序列号", me.serial], ["有效期至", time(me.not_after)], ["剩余 PIN 尝试次数", String(me.attempts_left)]];
  const oldPin = input("当前 PIN 码", { type: "password", inputmode: "numeric", autocomplete: "current-password" });
  const newPin = input("新 PIN 码", { type: "password", inputmode: "numeric", autocomplete: "new-password" });
  const pinMsg = message();
  const pinForm = h("form", { class: "form form-narrow" }, oldPin.wrap, newPin.wrap, pinMsg,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "修改 PIN 码")));
  pinForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    pinMsg.clear();
    try {
      await ctx.api.post("/api/esign/pin", { old_pin: oldPin.input.value, new_pin: newPin.input.value });
      oldPin.input.value = newPin.input.value = "";
      pinMsg.show("PIN 码已修改", "success");
    } catch (err) { pinMsg.show(errorText(err)); }
  });
  const revoke = h("button", { type: "button", class: "btn btn-danger" }, "吊销我的证书");
  revoke.addEventListener("click", async () => {
    if (!(await confirmDanger("吊销签名证书", "吊销后不能再用此证书签名；此前的签名仍然有效。忘记 PIN 码或密钥被锁定时请吊销后重新开通。", "吊销"))) return;
    try { await ctx.api.post("/api/esign/revoke", { reason: "unspecified" }); renderMine(box, ctx, me); } catch (err) { msg.show(errorText(err)); }
  });
  const recent = (me.signatures || []).map((s) => h("li", {}, `${time(s.signed_at)}　${s.purpose}${s.leaf_index == null ? "" : `（公开日志第 ${s.leaf_index + 1} 条）`}`));
  clear(box,
    h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "我的签名证书"),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])), msg,
      h("div", { class: "actions" }, revoke)),
    me.status === "active" ? h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "修改 PIN 码"), pinForm) : null,
    h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "最近的签名"),
      recent.length ? h("ul", { class: "list" }, recent) : h("p", { class: "hint" }, "还没有签名记录")));
}

// Seal management (印章管理员) ------------------------------------------------------------------

async function renderSeals(box, ctx) {
  const msg = message();
  let seals = [];
  try { seals = (await ctx.api.get("/api/esign/seals")).items; } catch (err) { msg.show(errorText(err)); }
  const list = h("ul", { class: "seal-cards" }, seals.map((s) => sealCard(s, ctx, () => renderSeals(box, ctx))));
  clear(box, h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "本机关印章"), msg,
    seals.length ? list : h("p", { class: "hint" }, "还没有印章")), createForm(ctx, () => renderSeals(box, ctx)));
}

const openSeals = new Set(); // seals whose 授权使用人 panel stays open across refreshes

function sealCard(seal, ctx, refresh) {
  const img = h("img", { alt: `${seal.display_name}印模`, class: "seal-image", width: "96", height: "96" });
  fetch(`/api/esign/seals/${seal.id}/image`, { credentials: "same-origin" }).then((r) => r.blob())
    .then((b) => { img.src = URL.createObjectURL(b); }).catch(() => {});
  const msg = message();
  const act = async (fn) => { msg.clear(); try { await fn(); refresh(); } catch (err) { msg.show(errorText(err)); } };
  const buttons = [];
  if (seal.status === "active") buttons.push(h("button", { type: "button", class: "btn btn-secondary", onclick: () => act(() => ctx.api.post(`/api/esign/seals/${seal.id}/suspend`, {})) }, "暂停使用"));
  if (seal.status === "suspended") buttons.push(h("button", { type: "button", class: "btn btn-secondary", onclick: () => act(() => ctx.api.post(`/api/esign/seals/${seal.id}/resume`, {})) }, "恢复使用"));
  if (seal.status !== "revoked") {
    buttons.push(h("button", { type: "button", class: "btn btn-danger", onclick: async () => {
      const reason = window.prompt("吊销原因（如：印章遗失、机构撤销）", "");
      if (!reason) return;
      if (!(await confirmDanger(`吊销“${seal.display_name}”`, "吊销不可撤销：之后不能再用此印章盖章，此前盖章的文件仍然有效。", "确认吊销"))) return;
      act(() => ctx.api.post(`/api/esign/seals/${seal.id}/revoke`, { reason }));
    } }, "吊销"));
  }
  if (seal.can_manage && seal.status !== "revoked") {
    const on = !seal.requires_authorisation;
    buttons.push(h("button", { type: "button", class: "btn btn-secondary", onclick: () => act(() => ctx.api.put(`/api/esign/seals/${seal.id}/policy`, { requires_authorisation: on })) },
      on ? "设为须凭用印申请使用" : "取消须凭用印申请"));
  }
  const usesBox = h("div", { class: "seal-uses" });
  buttons.push(h("button", { type: "button", class: "btn btn-secondary", onclick: () => showUses(seal, ctx, usesBox) }, "用印登记"));
  const users = (seal.users || []).map((u) => h("li", {}, `${u.name}${u.keeper ? "（印章管理员）" : ""}${u.enrolled ? "" : "，未开通签名"}${u.enrolled && !u.in_seal ? "，待重新确认" : ""}`));
  return h("li", { class: "seal-card" }, img,
    h("div", {}, h("h3", {}, seal.display_name),
      h("p", {}, `${KIND_LABELS[seal.kind] || seal.kind}　状态：${STATUS_LABELS[seal.status] || seal.status}　有效期至 ${time(seal.valid_end)}`),
      h("p", { class: "hint" }, `印章编码 ${seal.es_id}　证书序列号 ${seal.serial}`),
      seal.revoke_reason ? h("p", { class: "hint" }, `吊销原因：${seal.revoke_reason}`) : null,
      seal.requires_authorisation ? h("p", { class: "hint" }, "须凭已批准的用印申请用印（公文凭签发用印）") : null,
      h("details", { class: "disclosure", open: openSeals.has(seal.id),
        ontoggle: (e) => { if (e.target.open) openSeals.add(seal.id); else openSeals.delete(seal.id); } },
        h("summary", {}, `授权使用人（${users.length}）`), h("ul", { class: "seal-users" }, users), usersForm(seal, ctx, refresh)),
      msg, h("div", { class: "actions" }, buttons), usesBox));
}

function usersForm(seal, ctx, refresh) {
  if (seal.status === "revoked") return null;
  // Pick people from the directory; the seal PIN confirms the new list.
  const listed = (seal.users || []).filter((u) => u.listed).map((u) => ({ id: u.user_id, name: u.name }));
  const people = picker({ api: ctx.api, label: "授权使用人", kind: "people", multiple: true, value: listed,
    agencyId: ctx.me.agency_id });
  const msg = message();
  const form = h("form", { class: "form esign-users-form" }, people.element, msg,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "保存授权（需印章 PIN 码）")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const pin = await askPin("请输入印章 PIN 码", "印章 PIN 码由印章管理员设定，用于确认授权名单。");
    if (pin === null) return;
    try { await ctx.api.put(`/api/esign/seals/${seal.id}/users`, { user_ids: people.ids(), seal_pin: pin }); refresh(); } catch (err) { msg.show(errorText(err)); }
  });
  return form;
}

async function showUses(seal, ctx, box) {
  try {
    const { items } = await ctx.api.get(`/api/esign/seals/${seal.id}/uses`);
    clear(box, items.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["时间", "用印人", "文件", "用印申请", "盖章后文件 SHA-256", "公开日志"].map((t) => h("th", {}, t)))),
      h("tbody", {}, items.map((u) => h("tr", {}, h("td", {}, time(u.at)), h("td", {}, u.user_name), h("td", {}, u.reference),
        h("td", {}, u.authorisation ? h("a", { href: u.authorisation.link || "#" }, u.authorisation.title || u.authorisation.reference) : "—"),
        h("td", { class: "mono" }, `${u.sealed_sha256.slice(0, 16)}…`), h("td", {}, `第 ${u.leaf_index + 1} 条`))))) : h("p", { class: "hint" }, "暂无用印记录"));
  } catch (err) { clear(box, h("p", { class: "form-msg form-msg-error" }, errorText(err))); }
}

function createForm(ctx, refresh) {
  const kind = select("印章种类", Object.entries(KIND_LABELS), "official");
  const sealType = select("印章类型", [["公章", "公章"], ["合同专用章", "合同专用章"], ["财务专用章", "财务专用章"], ["业务专用章", "业务专用章"]], "公章");
  const scope = { api: ctx.api, agencyId: ctx.me.agency_id };
  const dept = picker({ ...scope, label: "部门（部门章）", kind: "departments" });
  const holder = picker({ ...scope, label: "持章人（名章）", kind: "people" });
  dept.wrap = dept.element;
  holder.wrap = holder.element;
  const text = input("预览文字（留空用机关名称）", { type: "text", maxlength: "40" });
  const image = filePick("上传印模（PNG，可选）", "选择图片", { accept: "image/png" });
  const pin = input("设置印章 PIN 码", { type: "password", inputmode: "numeric", autocomplete: "new-password",
    hint: "只有印章管理员知道；变更授权使用人时需要输入。用印人使用各自的签名 PIN 码。" });
  const preview = h("img", { alt: "印模预览", class: "seal-image seal-preview", width: "160", height: "160", hidden: true });
  let previewBlob = null;
  const msg = message();
  const syncKind = () => {
    sealType.wrap.hidden = kind.input.value === "name";
    dept.wrap.hidden = kind.input.value !== "department";
    holder.wrap.hidden = kind.input.value !== "name";
  };
  kind.input.addEventListener("change", syncKind);
  syncKind();
  const doPreview = async () => {
    msg.clear();
    const q = new URLSearchParams({ kind: kind.input.value, seal_type: kind.input.value === "name" ? "" : sealType.input.value, text: text.input.value });
    const r = await fetch(`/api/esign/seals/preview?${q}`, { credentials: "same-origin" });
    if (!r.ok) { const b = await r.json().catch(() => null); return msg.show((b && b.message) || "无法生成预览"); }
    previewBlob = text.input.value.trim() ? await r.blob() : null;
    preview.src = URL.createObjectURL(previewBlob || await r.blob());
    preview.hidden = false;
  };
  [kind.input, sealType.input, text.input].forEach((x) => x.addEventListener("change", () => { previewBlob = null; preview.hidden = true; }));
  const form = h("form", { class: "form esign-create" }, h("div", { class: "esign-create-grid" },
    h("div", { class: "form" }, kind.wrap, sealType.wrap, dept.wrap, holder.wrap, text.wrap,
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn btn-secondary", onclick: doPreview }, "生成预览"))),
    h("div", { class: "esign-preview-box" }, preview)),
    image.wrap, pin.wrap, msg, h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "制作印章")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const data = new FormData();
    data.set("kind", kind.input.value);
    data.set("seal_type", kind.input.value === "name" ? "" : sealType.input.value);
    data.set("seal_pin", pin.input.value);
    if (dept.ids().length) data.set("department_id", String(dept.ids()[0]));
    if (holder.ids().length) data.set("holder_user_id", String(holder.ids()[0]));
    if (image.input.files && image.input.files[0]) data.set("image", image.input.files[0]);
    else if (previewBlob) data.set("image", previewBlob, "seal.png"); // the previewed custom text is what gets made
    try { await upload("/api/esign/seals", data); refresh(); } catch (err) { msg.show(errorText(err)); }
  });
  return h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "制作新印章"), form);
}

// Apply a seal ---------------------------------------------------------------------------------------

async function renderApply(box, ctx) {
  const msg = message();
  let seals = [];
  try { seals = (await ctx.api.get("/api/esign/seals")).items.filter((s) => s.status === "active"); } catch (err) { msg.show(errorText(err)); }
  if (!seals.length) {
    clear(box, h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "文件用印"), msg,
      h("p", { class: "hint" }, "您没有可以使用的印章。公文用印请在公文流程的“用印”步骤进行。")));
    return;
  }
  const seal = select("印章", seals.map((s) => [String(s.id), s.display_name]), String(seals[0].id));
  const file = filePick("Word 文件（.docx）", "选择文件", { accept: DOCX });
  const ref = input("文件标识（如发文字号）", { type: "text", maxlength: "200", required: true });
  // A seal that requires a 用印申请: its keeper picks one of the approved, unused ones (the file must be
  // the one that request attached; the server checks its SHA-256).
  const grant = select("用印申请", [], "");
  const syncGrant = async () => {
    const s = seals.find((x) => String(x.id) === seal.input.value);
    grant.wrap.hidden = !(s && s.requires_authorisation);
    if (grant.wrap.hidden) return;
    let items = [];
    if (s.can_manage) {
      try { items = (await ctx.api.get(`/api/esign/seals/${s.id}/authorisations?open=1`)).items; } catch (err) { msg.show(errorText(err)); }
    }
    clear(grant.input, h("option", { value: "" }, items.length ? "请选择已批准的用印申请" : "没有待用印的已批准申请"),
      items.map((a) => h("option", { value: String(a.id) }, `${a.title || a.reference}（${a.applicant_name}，已用 ${a.times_used}/${a.times_allowed} 次）`)));
  };
  seal.input.addEventListener("change", syncGrant);
  syncGrant();
  const result = h("div", { class: "result" });
  const form = h("form", { class: "form form-narrow" }, seal.wrap, grant.wrap, file.wrap, ref.wrap, msg,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "盖章")), result);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const f = file.input.files && file.input.files[0];
    if (!f || !ref.input.value.trim()) return msg.show("请选择文件并填写文件标识");
    const pin = await askPin("用印：请输入您的签名 PIN 码");
    if (pin === null) return;
    const data = new FormData();
    data.set("file", f);
    data.set("pin", pin);
    data.set("reference", ref.input.value.trim());
    if (!grant.wrap.hidden && grant.input.value) data.set("authorisation_id", grant.input.value);
    try {
      const blob = await upload(`/api/esign/seals/${seal.input.value}/apply`, data);
      clear(result, h("p", { role: "status" }, "盖章完成，已登记用印并记入公开日志。"), download(blob, f.name.replace(/\.docx$/i, "") + "（已盖章）.docx"));
    } catch (err) { msg.show(errorText(err)); }
  });
  clear(box, h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "文件用印"), form));
}

// Verification -------------------------------------------------------------------------------------

function renderVerify(box, ctx) {
  const msg = message();
  const out = h("div", { class: "verify-report", "aria-live": "polite" });
  const picker = h("input", { type: "file", accept: SEALED, id: "esign-verify-file" });
  const zone = h("div", { class: "dropzone", tabindex: "0" },
    h("p", {}, "把盖章的 Word 文件（.docx）或 PDF、OFD 版式文件拖到这里，或 "), h("label", { for: "esign-verify-file", class: "btn btn-secondary" }, "选择文件"), picker);
  const run = async (f) => {
    msg.clear();
    clear(out, h("p", { role: "status" }, "正在验证…"));
    const data = new FormData();
    data.set("file", f);
    try { clear(out, reportView(await upload("/api/esign/verify", data), f.name)); } catch (err) { clear(out); msg.show(errorText(err)); }
  };
  picker.addEventListener("change", () => picker.files[0] && run(picker.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dropzone-active"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dropzone-active"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dropzone-active");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) run(f);
  });
  clear(box, h("section", { class: "panel" }, h("h2", { class: "panel-title" }, "验证文件"),
    h("p", { class: "hint" }, "验证签章人、印章、可信时间、内容是否被修改、证书吊销状态和公开日志登记。文件不会被保存。"),
    zone, msg, out));
}

function revocationText(what, r) {
  if (!r) return null;
  if (!r.checked) return `${what}：未能检查吊销状态`;
  if (r.revoked) return `${what}：签章时已被吊销（${time(r.revoked_at)}）`;
  if (r.revoked_at) return `${what}：签章时有效（其后于 ${time(r.revoked_at)} 被吊销，不影响本签章）`;
  return `${what}：未被吊销`;
}

const ALG_LABELS = { "ECDSA-P256-SHA256": "国际通用算法（ECDSA P-256 / SHA-256）", "SM2-SM3": "国密算法（SM2 / SM3）" };

/** Where the signature stands in the public log, in words: "已记入公开日志第 6 条". */
function logText(log) {
  if (!log.checked) return "未查询公开日志";
  if (!log.included) return "公开日志中没有这次签章的记录";
  return `已记入公开日志第 ${log.leaf_index + 1} 条（日志现有 ${log.tree_size} 条记录，记录无法事后删改）`;
}

export function reportView(report, name = "") {
  const verdict = h("p", { class: report.valid ? "verdict verdict-ok" : "verdict verdict-bad" },
    `${name ? name + "：" : ""}${report.valid ? "签章有效，内容未被修改" : "验证未通过"}`);
  const items = report.signatures.map((s) => {
    const log = s.log || {};
    const rows = [
      ["签章人", `${s.signer || "未知"}（${s.organization || "未知单位"}）`],
      ["印章", s.seal_name || "个人签名（无印章）"],
      ["签章时间", `${time(s.trusted_time)}${s.time_trusted ? "（可信时间戳）" : "（签章人自报）"}`],
      ["算法", ALG_LABELS[s.alg] || s.alg || "未知"],
      ...(s.reference ? [["文件标识", `${s.reference}（随签章签署）`]] : []),
      ["内容", s.changed_parts.length ? "签章后被修改：" + s.changed_parts.map((c) => `${c.label}（${c.part}）`).join("、") : (s.valid ? "签章后未被修改" : "见下方原因")],
      ["证书", revocationText("签章人证书", s.signer_revocation)],
      ["印章证书", revocationText("印章证书", s.seal_revocation) || "—"],
      ["公开日志", logText(log)],
    ];
    return h("article", { class: s.valid ? "sig sig-ok" : "sig sig-bad" },
      h("h3", {}, `第 ${s.sequence} 个签章：${s.valid ? "有效" : "无效"}`),
      h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      s.errors.length ? h("ul", { class: "reasons reasons-error" }, s.errors.map((e) => h("li", {}, e.message))) : null,
      s.warnings.length ? h("ul", { class: "reasons reasons-warning" }, s.warnings.map((w) => h("li", {}, w.message))) : null,
      log.included ? h("details", {}, h("summary", {}, "公开日志的证明数据（供技术人员离线核对）"),
        h("pre", { class: "mono" }, JSON.stringify({ leaf_index: log.leaf_index, tree_size: log.tree_size, proof: log.proof, sth: log.sth }, null, 2))) : null);
  });
  return h("div", {}, verdict, report.errors.map((e) => h("p", { class: "form-msg form-msg-error" }, e.message)), items);
}
