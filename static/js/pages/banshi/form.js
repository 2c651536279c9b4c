// 办事: a form from its template's fields (every type of design §1, controls.js), the live preview
// from POST /api/banshi/preview (working days, totals, formulas, who will approve, the leave balance),
// and the 发起 page #/banshi/new/<template id>: 提交 or 保存草稿.

import { el, replace, button, toast, debounce, newestWins, errorState } from "../../ui.js";
import { newClientId } from "../../api.js";
import { control } from "./controls.js";
import { isAbort, nameBook, formatFen, fmtTime, yuanMessage, scrollingTable } from "./common.js";

/**
 * The form's controls: {element, read(), preview(values), showError(err) → bool, clear()}.
 * onChange() is called after any change (debounce it yourself).
 */
export function formFields(ctx, fields, values = {}, { onChange = () => {}, files = [], names, builtin = "" } = {}) {
  const book = names || nameBook(ctx.api, ctx.signal);
  const controls = new Map();
  const errors = new Map();
  const element = el("div", { class: "bs-form-fields" });
  for (const f of fields) {
    const c = control(ctx, f, values[f.key], () => { clearOne(f.key); onChange(f.key); }, { files, names: book, builtin });
    controls.set(f.key, c);
    element.append(c.node);
  }
  function clearOne(key) {
    const node = errors.get(key);
    if (!node) return;
    node.remove();
    errors.delete(key);
    controls.get(key)?.node.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  }
  return {
    element,
    read() {
      const out = {};
      for (const [key, c] of controls) {
        const v = c.read();
        if (v !== undefined) out[key] = v;
      }
      return out;
    },
    /** The server's computed values (days, totals, formulas) into the controls that show them. */
    preview(computed, info) {
      for (const [key, c] of controls) if (c.preview && computed && key in computed) c.preview(computed[key], info);
    },
    waiting() {
      for (const c of controls.values()) c.waiting?.();
    },
    /** Whether a required field is still empty (the preview waits: the server would only say so);
     * `except` names field types not to count (attachments, for the partial preview). */
    incomplete({ except = [] } = {}) {
      return fields.some((f) => {
        if (!f.required || f.type === "formula" || except.includes(f.type)) return false;
        const v = controls.get(f.key).read();
        // A detail table always shows one row; it counts as filled once some cell is.
        const blankRows = f.type === "table" && Array.isArray(v) && v.every((row) => Object.values(row).every((c) => c === null || c === ""));
        return v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length) || blankRows;
      });
    },
    /** A 422 naming a field: its message under the field, focus on it. False when it names none here. */
    showError(err, { focus = true } = {}) {
      const key = err?.body?.field;
      const c = key && controls.get(key);
      if (!c) return false;
      clearOne(key);
      const where = err.body.row !== undefined && err.body.row !== null && !err.message.includes("行") ? `第 ${err.body.row} 行：` : "";
      const msg = el("p", { class: "bs-field-error", role: "alert" }, `${where}${yuanMessage(err.message)}`);
      errors.set(key, msg);
      c.node.append(msg);
      if (c.input) c.input.setAttribute("aria-invalid", "true");
      if (focus) {
        if (c.focusCell && err.body.row !== undefined) c.focusCell(Number(err.body.row), err.body.column);
        else c.focus();
        c.node.scrollIntoView({ block: "center" });
      }
      return true;
    },
    clear() {
      for (const key of [...errors.keys()]) clearOne(key);
    },
  };
}

/** Who will approve, as the server resolved it now: steps with people, skipped steps, 抄送. */
export function routePreview(preview) {
  if (!preview) return el("p", { class: "hint" }, "填写表单后，这里显示审批流程。");
  const steps = preview.route || [];
  return el("div", {},
    steps.length ? el("ol", { class: "bs-preview-steps" }, steps.map((s) => el("li", {},
      el("span", { class: "bs-step-name" }, s.name),
      el("span", { class: "bs-step-people" }, (s.people || []).map((p) => p.name).join("、") || "（待定）"),
      (s.people || []).length > 1 ? el("span", { class: "hint" }, s.mode === "all" ? "（会签：每人都要同意）" : "（或签：一人同意即可）") : null)))
      : el("p", { class: "hint" }, "无需审批，提交后即通过。"),
    (preview.skipped || []).length ? el("p", { class: "hint" }, "自动跳过：",
      preview.skipped.map((s) => `${s.name || s.step || ""}${s.reason ? `（${s.reason}）` : ""}`).join("；")) : null,
    (preview.cc || []).length ? el("p", { class: "bs-cc-line" }, "抄送：", preview.cc.map((p) => p.name).join("、")) : null);
}

/** 年休假: what the year gives, what is taken, waiting and left ({entitled, used, pending, available, forfeited}). */
export function balanceBlock(b, { title = "年休假" } = {}) {
  if (!b) return null;
  return el("section", { class: "notice bs-info", "aria-label": title },
    el("p", { class: "notice-title" }, title),
    (b.forfeited || []).length ? el("p", {}, `今年不享受年休假：${b.forfeited.join("；")}`)
      : el("dl", { class: "facts bs-info-facts" },
        el("dt", {}, "今年应休"), el("dd", {}, `${b.entitled} 天`),
        el("dt", {}, "已休"), el("dd", {}, `${b.used} 天`),
        b.pending ? [el("dt", {}, "审批中"), el("dd", {}, `${b.pending} 天`)] : null,
        el("dt", {}, "还可休"), el("dd", { class: "bs-strong" }, `${b.available ?? b.remaining} 天`)));
}

/** 差旅费: each leg's days, the lodging allowed under the cap, the meal and transport allowances. */
export function allowancesBlock(a) {
  if (!a || !(a.rows || []).length) return null;
  const yuan = (fen) => formatFen(fen);
  return el("section", { class: "notice bs-info", "aria-label": "差旅费标准计算" },
    el("p", { class: "notice-title" }, "按差旅费标准计算"),
    scrollingTable(el("table", { class: "table table-stack bs-allowances" },
      el("thead", {}, el("tr", {}, ["行", "地点", "天数", "住宿费（核定/上限）", "伙食补助", "市内交通", "小计"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, a.rows.map((r) => el("tr", { class: r.over_cap ? "bs-over" : null },
        el("td", { "data-label": "行" }, String(r.row)), el("td", { "data-label": "地点" }, r.region),
        el("td", { "data-label": "天数", class: "num" }, `${r.days} 天 / ${r.nights} 晚`),
        el("td", { "data-label": "住宿费", class: "num" }, `${yuan(r.lodging)} / ${yuan(r.lodging_cap)}`, r.over_cap ? el("span", { class: "bs-over-note" }, ` 超标 ${yuan(r.over_by)}，按上限报销`) : null),
        el("td", { "data-label": "伙食补助", class: "num" }, yuan(r.meal)),
        el("td", { "data-label": "市内交通", class: "num" }, yuan(r.transport)),
        el("td", { "data-label": "小计", class: "num" }, yuan(r.total))))),
      a.totals ? el("tfoot", {}, el("tr", { class: "bs-total-row" }, el("th", { scope: "row", colspan: "6" }, "合计（元）"),
        el("td", { class: "num" }, yuan(a.totals.total)))) : null)),
    a.examples_used ? el("p", { class: "hint" }, a.example_note || "所用标准为示例数据，以财务处确认的标准为准。") : null);
}

/** 用印申请: the seal asked for; once approved, the 用印授权 and each use the seal keeper made of it. */
function sealBlock(a) {
  if (!a.seal && !(a.authorisations || []).length) return null;
  return el("section", { class: "notice bs-info", "aria-label": "用印授权" },
    el("p", { class: "notice-title" }, a.seal ? `申请用印：${a.seal.name}` : "用印授权"),
    (a.authorisations || []).map((g) => el("div", {},
      el("p", {}, `已授权用印 ${g.times_allowed} 次，已用 ${g.times_used} 次${g.revoked_at ? "（已撤销）" : g.open ? "" : "（已用完）"}`),
      (g.uses || []).length ? el("ul", {}, g.uses.map((u) => el("li", {}, `${fmtTime(u.at)} ${u.user_name} 用印`))) : null)),
    a.seal && !(a.authorisations || []).length ? el("p", { class: "hint" }, "审批通过后，印章管理员凭本申请对所附文件用印。") : null);
}

/** The built-in form's extra block (leave balance, allowances used) from the server's info. */
export function infoBlock(info) {
  if (!info || typeof info !== "object") return null;
  const parts = [];
  if (info.leave) {
    parts.push(el("p", { class: "hint bs-leave-note" }, `${info.leave.label}：${info.leave.note || ""}`));
    if (info.leave.balance) parts.push(balanceBlock(info.leave.balance));
  }
  if (info.allowances) parts.push(allowancesBlock(info.allowances));
  if (info.seal_authorisation) parts.push(sealBlock(info.seal_authorisation));
  return parts.length ? el("div", { class: "bs-info-wrap" }, parts) : null;
}

/** Preview on every change (debounced); returns {run(), last()} so submit can ask for it at once.
 * Once every required field but the attachments has a value, the preview is asked for with
 * `partial: true` (the server skips the required check), so a 差旅费报销 shows its allowances and
 * a 病假 the balance before the invoices or the certificate are attached. Before that it waits (the
 * behaviours need their inputs: a preview would only be refused). A server without `partial`
 * refuses the field: then the preview waits for the attachments too. */
let partialPreview = true;
export function livePreview(ctx, templateId, form, { routeBox, infoBox, onInfo = () => {} }) {
  let last = null;
  const run = newestWins(async (stale) => {
    const incomplete = form.incomplete();
    if (incomplete && (!partialPreview || form.incomplete({ except: ["attachment"] }))) {
      replace(routeBox, el("p", { class: "hint" }, "填写完必填项后，这里显示由谁审批。"));
      return;
    }
    form.waiting();
    try {
      const body = { template_id: templateId, values: form.read(), ...(incomplete ? { partial: true } : {}) };
      const data = await ctx.api.post("/api/banshi/preview", body, { signal: ctx.signal });
      if (stale()) return;
      if (!incomplete) last = data;
      form.preview(data.values, data.info);
      replace(routeBox, incomplete ? el("div", {}, routePreview(data), el("p", { class: "hint" }, "尚缺附件，添加后即可提交。"))
        : routePreview(data));
      replace(infoBox, infoBlock({ allowances: data.values?.allowances, ...(data.info || {}) }));
      onInfo(data.info || {});
    } catch (err) {
      if (stale() || isAbort(err)) return;
      if (incomplete && err.code === "invalid_field" && err.body?.field === "partial") {
        partialPreview = false;
        run();
        return;
      }
      // An unfinished form is normal while typing: the route waits; a field already touched shows why.
      replace(routeBox, el("p", { class: "hint" }, err.body?.field ? "请先把表单填写完整，这里会显示审批流程。" : err.message));
      if (err.body?.field && touched.has(err.body.field)) form.showError(err, { focus: false });
    }
  });
  const touched = new Set();
  const later = debounce(() => run(), 400);
  return { run, last: () => last, changed: (key) => { if (key) touched.add(key); later(); } };
}

// 发起: #/banshi/new/<template id> ----------------------------------------------------------------------

export async function renderNew(root, ctx, templateId) {
  const t = await ctx.api.get(`/api/banshi/templates/${templateId}`, { signal: ctx.signal });
  const fields = t.version?.fields || [];
  const routeBox = el("div", { class: "bs-route-preview", "aria-live": "polite" }, routePreview(null));
  const infoBox = el("div", { "aria-live": "polite" });
  let live = null;
  const form = formFields(ctx, fields, {}, { onChange: (key) => live?.changed(key), builtin: t.builtin });
  const balanceBox = el("div", {});
  // The preview's info carries the balance too once the dates are chosen: then it shows only there.
  live = livePreview(ctx, t.id, form, { routeBox, infoBox, onInfo: (info) => { balanceBox.hidden = !!info.leave?.balance; } });
  if (t.builtin === "leave") {
    // How much annual leave is left, before the dates are chosen (the server refuses more anyway).
    ctx.api.get("/api/banshi/leave/balance", { signal: ctx.signal })
      .then((b) => replace(balanceBox, balanceBlock(b.annual, { title: `${b.year} 年年休假` }))).catch(() => {});
  }
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const clientId = newClientId(); // pressing 提交 again after a lost answer makes no second request

  async function send(submit, btn) {
    status.hidden = true;
    form.clear();
    btn.disabled = true;
    try {
      const r = await ctx.api.post("/api/banshi/requests", { template_id: t.id, values: form.read(), client_id: clientId, submit },
        { signal: ctx.signal });
      toast(submit ? "已提交，等待审批" : "草稿已保存", "success");
      ctx.navigate(`/banshi/r/${r.id}`);
    } catch (err) {
      if (isAbort(err)) return;
      btn.disabled = false;
      if (!form.showError(err)) {
        status.textContent = err.message;
        status.className = "form-msg form-msg-error";
        status.hidden = false;
      }
    }
  }
  // The buttons sit after the column that says who will approve (on a phone: read it, then submit);
  // they belong to the form through its id.
  const formId = `bs-new-${t.id}`;
  const submitBtn = button("提交", null, { kind: "primary", type: "submit", form: formId });
  const draftBtn = button("保存草稿", () => send(false, draftBtn), { kind: "secondary" });
  const formEl = el("form", { id: formId, class: "form bs-form", novalidate: true, "aria-label": t.name }, form.element, status);
  const bar = el("div", { class: "actions bs-submit-bar" }, submitBtn, draftBtn, el("a", { class: "btn btn-link", href: "#/banshi" }, "取消"));
  formEl.addEventListener("submit", (ev) => {
    ev.preventDefault();
    send(true, submitBtn);
  });
  replace(root,
    el("a", { class: "back-link", href: "#/banshi" }, "‹ 返回办事"),
    el("h1", {}, t.name),
    t.description ? el("p", { class: "hint bs-lead" }, t.description) : null,
    el("div", { class: "bs-new-layout" },
      el("section", { class: "panel bs-new-form" }, formEl),
      el("aside", { class: "panel bs-side", "aria-labelledby": "bs-route-title" },
        balanceBox, infoBox, el("h2", { class: "panel-title", id: "bs-route-title" }, "审批流程"), routeBox),
      bar));
  if (!fields.length) formEl.prepend(errorState({ message: "该表单还没有字段，请联系管理员。" }));
  live.run();
}
