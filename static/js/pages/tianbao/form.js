// One unit's return (#/tianbao/r/<id>). The filler sees the form in sections, already filled from
// the registry and computed sources, each such cell marked with where it came from; what they change
// is saved as they go (debounced PUT with the version), and changing a prefilled value asks why.
// The unit's reviewer sends it back or 报送; the collector accepts it or 退回 with comments on cells.
// The same page downloads the return as xlsx and takes it back, showing errors per cell.

import { el, replace, button, toast, openDialog, confirmDialog, field, debounce, uid, busy } from "../../ui.js";
import { csrfHeader } from "../../api.js";
import { control } from "../banshi/controls.js";
import { valueNode } from "../banshi/common.js";
import { statusTag, periodLabel, fmtTime, isAbort, nameOf } from "./common.js";

const EDIT_STATUSES = new Set(["not_started", "filling", "returned"]);
const norm = (a) => String(a).replace(/_/g, "-");
const NO_NAMES = { person: async (id) => `#${id}`, department: async (id) => `#${id}` };

/** The item as a field of 办事's form engine: its spec, keyed by the item id. */
function fieldOf(item) {
  const spec = item.spec || {};
  const unit = item.unit_label ? `（${item.unit_label}）` : "";
  return { ...spec, type: spec.type || "text", key: String(item.item_id ?? item.id), label: `${item.name}${unit}`,
    required: !!item.required, help: item.definition || spec.help || "" };
}

/** No value: the server's rule for a required item (tianbao.returns._filled: None, "", [] or {}). */
const empty = (v) => v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)
  || (typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length);
/** Whether two values are the same figure ("120" and 120 are). */
export function same(a, b) {
  if (empty(a) && empty(b)) return true;
  if (typeof a !== "object" && typeof b !== "object") {
    if (String(a).trim() === String(b).trim()) return true;
    const na = Number(a);
    const nb = Number(b);
    return String(a).trim() !== "" && String(b).trim() !== "" && Number.isFinite(na) && na === nb;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** "已预填 · 2026年第3季度 · 统计科填报 · 2026-10-12" */
function prefillText(p) {
  const label = String(p.label || (p.source === "computed" ? "系统计算" : periodLabel(p.period))).trim().replace(/\s+/g, " · ");
  const when = p.at && p.source !== "computed" ? fmtTime(p.at).slice(0, 10) : ""; // a computed value is as of now
  return ["已预填", label, when].filter(Boolean).join(" · ");
}

export async function renderForm(root, ctx, returnId) {
  const { api, signal } = ctx;
  let data = await api.get(`/api/tianbao/returns/${returnId}`, { signal });
  let version = data.return.version;
  const pending = new Map(); // item id → value not yet saved
  const pendingReasons = new Map(); // item id → reason not yet saved
  const reasons = new Map(); // item id → the reason shown (saved or pending)
  const comments = new Map(); // collector's comments being written: key → {item_id, row, column, text}
  const controls = new Map(); // item id → {ctl, slot, item}
  let saving = null;

  const saveState = el("p", { class: "tb-save-state", role: "status", "aria-live": "polite" });
  const progressBar = el("progress", { class: "tb-progress-bar", max: "1", value: "0", "aria-label": "填报进度" });
  const progressText = el("p", { class: "tb-progress-text" });
  const xlsxErrors = el("div", { class: "tb-xlsx-errors", role: "alert", hidden: true });
  const missingBox = el("div", { class: "notice notice-warn tb-missing", role: "alert", hidden: true });

  const actionsOf = () => new Set((data.actions || []).map(norm));
  const editable = () => {
    const acts = actionsOf();
    return acts.has("save") || (!data.actions && EDIT_STATUSES.has(data.return.status));
  };
  const reviewing = () => actionsOf().has("return");
  const allItems = () => data.sections.flatMap((s) => s.items);
  const itemId = (item) => String(item.item_id ?? item.id);

  function draw() {
    const ret = data.return;
    const task = data.task || {};
    controls.clear();
    for (const item of allItems()) if (item.reason) reasons.set(itemId(item), item.reason);
    const collector = [task.collector_agency_name, task.collector_dept_name].filter(Boolean).join(" ");
    const facts = [
      el("p", { class: "tb-item-meta tb-form-meta" }, [collector, periodLabel(task.period), task.deadline ? `截止 ${fmtTime(task.deadline)}` : ""]
        .filter(Boolean).join(" · ")),
      el("details", { class: "disclosure tb-people" }, el("summary", {}, `填报单位：${ret.unit_name || ""}`),
        el("dl", { class: "tb-facts" }, fact("填报单位", ret.unit_name), fact("填报人", nameOf(ret.filler)), fact("审核人", nameOf(ret.reviewer)),
          fact("打开时间", fmtTime(ret.opened_at)), fact("报送时间", fmtTime(ret.submitted_at)))),
    ];
    const sections = data.sections.map((s, i) => el("section", { class: "panel tb-section", "aria-labelledby": `tb-sec-${i}` },
      el("h2", { class: "panel-title", id: `tb-sec-${i}` }, s.name || "填报内容"),
      s.items.map((item) => itemBlock(item))));
    const notice = ret.status === "returned"
      ? el("div", { class: "notice notice-warn" }, el("p", { class: "notice-title" }, "上级已退回"), el("p", {}, "请按各项下方的批注修改后重新提交审核、报送。"))
      : ret.status === "in_review" && actionsOf().has("submit")
        ? el("div", { class: "notice" }, el("p", {}, "填报人已提交审核：请核对后报送，或退回填报人修改。")) : null;
    replace(root,
      el("a", { class: "back-link", href: reviewing() ? `#/tianbao/t/${task.id}` : "#/tianbao" }, reviewing() ? "‹ 返回报送情况" : "‹ 返回待填报"),
      el("div", { class: "tb-head tb-title-line" }, el("h1", {}, task.title || "填报"), el("p", { class: "tb-head-status" }, statusTag(ret.status, ret.late))),
      task.description ? el("p", { class: "lead" }, task.description) : null,
      facts, notice,
      el("div", { class: ["panel", "tb-progress", editable() && "tb-progress-sticky"] }, progressText, progressBar, editable() ? saveState : null),
      xlsxBox(), xlsxErrors,
      sections,
      missingBox,
      actionBar());
    drawProgress();
  }

  function fact(label, value) {
    return value ? [el("dt", {}, label), el("dd", {}, value)] : null;
  }

  function itemBlock(item) {
    const id = itemId(item);
    const f = fieldOf(item);
    const value = item.value; // the server's effective value: what was typed, else the prefill
    const slot = el("div", { class: "tb-item-block", dataset: { item: id } });
    const error = el("p", { class: "tb-field-error", id: uid("tb-err"), role: "alert", hidden: true });
    const meta = el("div", { class: "tb-item-meta-line" });
    if (editable()) {
      const ctl = control(ctx, f, value, () => changed(item), {});
      controls.set(id, { ctl, slot, item, error, meta, last: value });
      replace(slot, ctl.node, meta, error, commentsOf(item));
    } else {
      controls.set(id, { ctl: null, slot, item, error, meta, last: value });
      replace(slot, el("div", { class: "field bs-field tb-readonly" }, el("span", { class: "bs-label" }, f.label),
        f.help ? el("p", { class: "hint" }, f.help) : null, el("div", { class: "tb-value" }, valueNode(f, value, NO_NAMES))),
      meta, error, commentsOf(item), reviewing() ? commentTool(item, f) : null);
    }
    drawMeta(id, value);
    return slot;
  }

  function drawMeta(id, value) {
    const c = controls.get(id);
    const p = c.item.prefill;
    const reason = reasons.get(id);
    const parts = [];
    if (p && !empty(p.value)) {
      if (same(value, p.value)) parts.push(el("p", { class: "tb-prefill" }, prefillText(p)));
      else {
        parts.push(el("p", { class: "tb-prefill tb-prefill-changed" }, `已修改预填值（原为 ${shown(c.item, p.value)}，${prefillText(p).replace("已预填 · ", "")}）`));
        if (reason) parts.push(el("p", { class: "tb-reason" }, `修改原因：${reason}`));
      }
    }
    replace(c.meta, parts);
  }

  function shown(item, v) {
    if (typeof v === "object" && v !== null) return Array.isArray(v) ? v.join("、") : `${(v.rows || []).length} 行`;
    if (item.spec?.type === "money") return `${(Number(v) / 100).toFixed(2)} 元`;
    return `${v}${item.unit_label || ""}`;
  }

  function commentsOf(item) {
    const list = item.comments || [];
    if (!list.length) return null;
    return el("ul", { class: "tb-comments", "aria-label": `${item.name}的批注` }, list.map((c) => el("li", { class: "tb-comment" },
      el("span", { class: "tb-comment-who" }, `${nameOf(c.author) || "采集部门"}${c.round ? `（第 ${c.round} 次退回）` : ""}：`),
      c.row !== null && c.row !== undefined ? `第 ${Number(c.row) + 1} 行${c.column ? `「${columnLabel(item, c.column)}」` : ""}：` : "",
      c.text)));
  }

  function columnLabel(item, key) {
    return (item.spec?.columns || []).find((col) => col.key === key)?.label || key;
  }

  async function changed(item) {
    const id = itemId(item);
    const c = controls.get(id);
    const v = c.ctl.read();
    c.error.hidden = true;
    const p = item.prefill;
    if (p && !empty(p.value) && !same(v, p.value)) {
      if (!reasons.get(id)) {
        const reason = await askReason(item, p);
        if (!reason) {
          // Cancelled: the prefilled value stays.
          const back = control(ctx, fieldOf(item), c.last, () => changed(item), {});
          c.ctl.node.replaceWith(back.node);
          c.ctl = back;
          return;
        }
        reasons.set(id, reason);
        pendingReasons.set(id, reason);
      }
    } else if (reasons.has(id)) {
      reasons.delete(id);
      pendingReasons.set(id, "");
    }
    c.last = v;
    pending.set(id, v);
    drawMeta(id, v);
    drawProgress();
    saveSoon();
  }

  function askReason(item, p) {
    return new Promise((resolve) => {
      const r = field({ label: "修改原因", name: "reason", type: "textarea", rows: 3, maxlength: 200, required: true,
        hint: "预填值来自已登记的数据，修改后会更新登记库，请写明原因（如：口径调整、数据更正）。" });
      const msg = el("p", { class: "form-msg form-msg-error", role: "alert", hidden: true });
      let answer = "";
      const ok = button("确定修改", () => {
        if (!r.input.value.trim()) {
          msg.textContent = "请填写修改原因";
          msg.hidden = false;
          r.input.focus();
          return;
        }
        answer = r.input.value.trim();
        dlg.close();
      }, { kind: "primary" });
      const dlg = openDialog({
        title: `修改预填值：${item.name}`,
        body: [el("p", {}, prefillText(p)), r.wrap, msg],
        actions: [button("取消", () => dlg.close(), { kind: "secondary" }), ok],
        onClose: () => resolve(answer),
      });
      r.input.focus();
    });
  }

  const saveSoon = debounce(() => save().catch(() => {}), 800);

  /** Sends what changed; one save at a time, the next one waits for it (the version moves on). */
  async function save() {
    if (saving) await saving.catch(() => {});
    if (!pending.size && !pendingReasons.size) return;
    const values = Object.fromEntries(pending);
    const sentReasons = Object.fromEntries(pendingReasons);
    pending.clear();
    pendingReasons.clear();
    saveState.textContent = "正在保存…";
    saving = (async () => {
      try {
        const res = await api.put(`/api/tianbao/returns/${returnId}`, { values, reasons: sentReasons, version }, { signal });
        version = res?.return?.version ?? res?.version ?? version + 1;
        if (res?.return) data.return = { ...data.return, ...res.return };
        if (res?.progress) data.progress = res.progress;
        saveState.textContent = `已自动保存 ${fmtTime(new Date().toISOString()).slice(11)}`;
        drawProgress();
      } catch (err) {
        if (isAbort(err)) return;
        for (const [k, v] of Object.entries(values)) if (!pending.has(k)) pending.set(k, v);
        for (const [k, v] of Object.entries(sentReasons)) if (!pendingReasons.has(k)) pendingReasons.set(k, v);
        if (err.status === 409) {
          toast("这份填报已在别处修改，已重新加载", "error");
          pending.clear();
          pendingReasons.clear();
          await reload();
          return;
        }
        saveState.textContent = "未能保存";
        showFieldError(err);
        throw err;
      }
    })();
    try {
      await saving;
    } finally {
      saving = null;
    }
  }

  function showFieldError(err) {
    const key = err.body?.field;
    const c = key ? controls.get(String(key).split(".")[0]) : null;
    if (c) {
      c.error.textContent = err.message;
      c.error.hidden = false;
      focusField(c);
    } else toast(err.message, "error");
  }

  // The field itself takes the focus: after 提交审核 it was left on the page body, so a keyboard
  // (or a screen reader) had to hunt for the field the message is about.
  function focusField(c) {
    c.ctl?.focus?.();
    c.slot.scrollIntoView({ block: "center" });
  }

  /** An item's value now: what waits to be saved, else what the field last held, else the server's. */
  function valueNow(item) {
    const id = itemId(item);
    if (pending.has(id)) return pending.get(id);
    const c = controls.get(id);
    return c ? c.last : item.value;
  }

  /** The required items still empty, by the task's own item definitions (the server checks again). */
  const missingRequired = () => allItems().filter((i) => i.required && empty(valueNow(i)));

  /** Before 提交审核: every missing required item listed (each a link to its field), the first
   * focused. Asking "提交给本单位审核人？" first, then naming one missing item, wasted a round. */
  function checkRequired() {
    const missing = missingRequired();
    drawMissing(missing);
    if (!missing.length) return true;
    for (const item of missing) {
      const c = controls.get(itemId(item));
      if (c) {
        c.error.textContent = "此项为必填，请填写后再提交审核";
        c.error.hidden = false;
      }
    }
    const first = controls.get(itemId(missing[0]));
    if (first) focusField(first);
    return false;
  }

  function drawMissing(missing) {
    missingBox.hidden = !missing.length;
    replace(missingBox, missing.length ? [
      el("p", { class: "notice-title" }, `还有 ${missing.length} 项必填未填写，填好后才能提交审核：`),
      el("ul", { class: "tb-missing-list" }, missing.map((item) => el("li", {}, el("a", { href: `#tb-item-${itemId(item)}`,
        onclick: (e) => { e.preventDefault(); const c = controls.get(itemId(item)); if (c) focusField(c); } }, fieldOf(item).label)))),
    ] : []);
  }

  function drawProgress() {
    const items = allItems();
    if (!missingBox.hidden) drawMissing(missingRequired()); // the list shrinks as the items are filled
    const filled = items.filter((i) => !empty(valueNow(i))).length;
    const required = items.filter((i) => i.required);
    const reqFilled = required.filter((i) => !empty(valueNow(i))).length;
    progressBar.max = Math.max(1, items.length);
    progressBar.value = filled;
    progressText.textContent = `已填 ${filled} / ${items.length} 项${required.length ? `，必填 ${reqFilled} / ${required.length} 项` : ""}`;
  }

  // xlsx ---------------------------------------------------------------------------------------

  function xlsxBox() {
    const download = el("a", { class: "btn btn-secondary btn-small", href: `/api/tianbao/returns/${returnId}/xlsx`, download: "" }, "下载 Excel 表格");
    if (!editable()) return el("div", { class: "tb-xlsx" }, download);
    const inputId = uid("tb-xlsx");
    const file = el("input", { type: "file", id: inputId, class: "visually-hidden", accept: ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
    file.addEventListener("change", () => { if (file.files[0]) uploadXlsx(file.files[0]).finally(() => { file.value = ""; }); }, { signal });
    return el("div", { class: "tb-xlsx" },
      el("p", { class: "hint" }, "也可以下载表格离线填写，填好后上传：系统逐格检查，全部无误才会保存。"),
      el("div", { class: "actions" }, download, el("label", { for: inputId, class: "btn btn-secondary btn-small file-pick" }, "上传填好的表格"), file));
  }

  async function uploadXlsx(f) {
    xlsxErrors.hidden = true;
    try {
      await save().catch(() => {});
      const form = new FormData();
      form.append("file", f, f.name);
      form.append("version", String(version));
      const res = await api.upload(`/api/tianbao/returns/${returnId}/xlsx`, form, { signal });
      toast("表格已导入并保存", "success");
      if (res?.return && res?.sections) {
        data = res;
        version = data.return.version;
        reasons.clear();
        draw();
      } else await reload();
    } catch (err) {
      if (isAbort(err)) return;
      const cells = err.body?.cells || [];
      if (!cells.length) {
        toast(err.message, "error");
        return;
      }
      replace(xlsxErrors, el("p", { class: "notice-title" }, `表格中有 ${cells.length} 处错误，未保存任何内容。请改正后重新上传：`),
        el("ul", {}, cells.map((c) => el("li", {}, `${c.sheet ? `工作表“${c.sheet}” ` : ""}${c.cell ? `${c.cell} 格` : ""}${itemName(c.item_id, c.message)}：${c.message}`))));
      xlsxErrors.className = "notice notice-danger tb-xlsx-errors";
      xlsxErrors.hidden = false;
      xlsxErrors.scrollIntoView({ block: "center" });
      for (const c of cells) {
        const ctl = controls.get(String(c.item_id));
        if (ctl) {
          ctl.error.textContent = `表格 ${c.cell || ""} 格：${c.message}`;
          ctl.error.hidden = false;
        }
      }
    }
  }

  const itemName = (id, message) => {
    const item = allItems().find((i) => itemId(i) === String(id));
    return item && !String(message).includes(item.name) ? `（${item.name}）` : "";
  };

  // The collector's comments on cells ------------------------------------------------------------

  function commentTool(item, f) {
    const id = itemId(item);
    const box = el("div", { class: "tb-comment-tool" });
    const add = button("批注此项", () => {
      const key = uid("c");
      const text = field({ label: `对“${item.name}”的批注`, name: "comment", type: "textarea", rows: 2, maxlength: 500 });
      let row = null;
      let col = null;
      if (f.type === "table") {
        const rows = (item.value?.rows || []).length;
        row = field({ label: "行", name: "row", type: "select", options: [{ value: "", label: "整张表" },
          ...Array.from({ length: rows }, (_, i) => ({ value: String(i), label: `第 ${i + 1} 行` }))] });
        col = field({ label: "列", name: "column", type: "select", options: [{ value: "", label: "整行" },
          ...(f.columns || []).map((c) => ({ value: c.key, label: c.label }))] });
      }
      const read = () => {
        const t = text.input.value.trim();
        if (!t) comments.delete(key);
        else comments.set(key, { item_id: Number(id), text: t,
          ...(row && row.input.value !== "" ? { row: Number(row.input.value) } : {}),
          ...(col && col.input.value ? { column: col.input.value } : {}) });
      };
      for (const c of [text, row, col]) c?.input.addEventListener("input", read);
      for (const c of [row, col]) c?.input.addEventListener("change", read);
      const entry = el("div", { class: "tb-comment-entry" }, row ? el("div", { class: "tb-comment-cell" }, row.wrap, col.wrap) : null, text.wrap,
        button("删除批注", () => { comments.delete(key); entry.remove(); }, { kind: "link" }));
      box.append(entry);
      text.input.focus();
    }, { kind: "secondary", class: "btn-small" });
    box.append(add);
    return box;
  }

  // Actions ------------------------------------------------------------------------------------

  function actionBar() {
    const acts = actionsOf();
    const out = [];
    if (acts.has("to-review")) out.push(button("提交审核", (e) => act(e.currentTarget, "to-review", { check: true, confirm: "提交给本单位审核人？提交后不能再修改，除非审核人退回。" }), { kind: "primary" }));
    if (acts.has("submit")) out.push(button("报送", (e) => act(e.currentTarget, "submit", { confirm: "报送后数据将提交给采集部门，并更新数据登记库。确定报送？" }), { kind: "primary" }));
    if (acts.has("send-back")) out.push(button("退回填报人", (e) => act(e.currentTarget, "send-back", { ask: "退回意见" }), { kind: "secondary" }));
    if (acts.has("accept")) out.push(button("采纳", (e) => act(e.currentTarget, "accept", { confirm: "确定采纳这份报送？" }), { kind: "primary" }));
    if (acts.has("return")) out.push(button("退回修改", (e) => returnWithComments(e.currentTarget), { kind: "danger" }));
    if (!out.length) return editable() ? el("div", { class: "tb-action-bar" }, el("p", { class: "hint" }, "填写的内容会自动保存。")) : null;
    return el("div", { class: "tb-action-bar" }, editable() ? el("p", { class: "hint" }, "填写的内容会自动保存。") : null, out);
  }

  async function act(btn, action, { check, confirm, ask } = {}) {
    let comment;
    if (check && !checkRequired()) return; // the confirmation only once the form is complete
    if (confirm && !(await confirmDialog({ title: btn.textContent, message: confirm, confirmText: btn.textContent }))) return;
    if (ask) {
      comment = await askText(btn.textContent, ask);
      if (comment === null) return;
    }
    await busy(btn, "正在处理…", async () => {
      try {
        saveSoon.cancel();
        await save();
        const res = await api.post(`/api/tianbao/returns/${returnId}/${action}`, { version, ...(comment ? { comment } : {}) }, { signal });
        toast({ "to-review": "已提交审核", submit: "已报送", "send-back": "已退回填报人", accept: "已采纳" }[action] || "已完成", "success");
        if (res?.return?.version) version = res.return.version;
        await reload();
      } catch (err) {
        if (isAbort(err)) return;
        if (err.body?.field) showFieldError(err);
        else toast(err.message, "error");
        if (err.status === 409) await reload();
      }
    });
  }

  function askText(title, label) {
    return new Promise((resolve) => {
      const t = field({ label, name: "comment", type: "textarea", rows: 3, maxlength: 500, required: true });
      let answer = null;
      const dlg = openDialog({
        title, body: t.wrap,
        actions: [button("取消", () => dlg.close(), { kind: "secondary" }),
          button("确定", () => { if (t.input.value.trim()) { answer = t.input.value.trim(); dlg.close(); } else t.input.focus(); }, { kind: "primary" })],
        onClose: () => resolve(answer),
      });
      t.input.focus();
    });
  }

  async function returnWithComments(btn) {
    const list = [...comments.values()];
    if (!list.length) {
      toast("请先在需要修改的项目下点“批注此项”，写明要改什么", "error");
      root.querySelector(".tb-comment-tool .btn")?.focus();
      return;
    }
    if (!(await confirmDialog({ title: "退回修改", message: `将带 ${list.length} 条批注退回给填报单位修改。确定退回？`, confirmText: "退回", danger: true }))) return;
    await busy(btn, "正在退回…", async () => {
      try {
        await api.post(`/api/tianbao/returns/${returnId}/return`, { version, comments: list }, { signal });
        toast("已退回，填报单位会收到批注", "success");
        comments.clear();
        await reload();
      } catch (err) {
        if (!isAbort(err)) toast(err.message, "error");
      }
    });
  }

  async function reload() {
    data = await api.get(`/api/tianbao/returns/${returnId}`, { signal });
    version = data.return.version;
    reasons.clear();
    draw();
  }

  // Another person's change (the reviewer sends it back, the collector returns it): show it, unless
  // this page has unsaved typing.
  ctx.ws.subscribe("tianbao.return", (ev) => {
    if (Number(ev.return_id) !== returnId || ev.status === data.return.status) return;
    if (pending.size || saving) return;
    reload().catch(() => {});
  }, { signal });

  // Leaving with typing not yet saved: send it now.
  signal.addEventListener("abort", () => {
    if (!pending.size && !pendingReasons.size) return;
    const body = JSON.stringify({ values: Object.fromEntries(pending), reasons: Object.fromEntries(pendingReasons), version });
    fetch(`/api/tianbao/returns/${returnId}`, { method: "PUT", credentials: "same-origin", keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfHeader() }, body }).catch(() => {});
  });

  draw();
}
