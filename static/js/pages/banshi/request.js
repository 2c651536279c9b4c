// 办事: one request, #/banshi/r/<id>. What I have to do now (同意 / 退回 / 拒绝 / 转交 / 加签 for an
// approver; 撤销 / 催办 for the applicant; change and submit again when it came back), the form's values,
// the route with who did what and when, 抄送, attachments, the system's proof and the print view.
// 拒绝, 撤销 and 退回 ask first: they end or turn back the request.

import { el, replace, button, field, toast, confirmDialog } from "../../ui.js";
import { picker } from "../../components/picker.js";
import { formFields, livePreview, infoBlock } from "./form.js";
import { routeSteps, historyList } from "./route.js";
import { STATUS_LABELS, fmtTime, isAbort, nameBook, requestValueNode } from "./common.js";
import { sizeText, uploadFile } from "./controls.js";

const DONE = { approve: "已同意", reject: "已拒绝", return: "已退回", transfer: "已转交", add_signer: "已加签",
  withdraw: "已撤销", urge: "已催办，审批人会收到提醒", submit: "已提交" };
const CONFIRM = {
  reject: { title: "拒绝申请", message: "拒绝后这份申请即结束，申请人会收到通知。确定拒绝？", confirmText: "拒绝", danger: true },
  withdraw: { title: "撤销申请", message: "撤销后审批停止，这份申请作废。确定撤销？", confirmText: "撤销", danger: true },
  return: { title: "退回申请", message: "退回后需要对方修改或重新办理。确定退回？", confirmText: "退回", danger: true },
};

export async function renderRequest(root, ctx, id) {
  const { api, signal } = ctx;
  const names = nameBook(api, signal);
  let req = await api.get(`/api/banshi/requests/${id}`, { signal });
  const view = { opinion: "", editing: false, fileIds: [] };
  const refresh = async () => {
    req = await api.get(`/api/banshi/requests/${id}`, { signal });
    draw();
  };

  function draw() {
    const focusedHeading = document.activeElement?.tagName === "H1";
    const editable = (req.actions || []).includes("submit") || (req.actions || []).includes("edit");
    // Read first, act after (as in DingTalk): the applicant and the content, then the route and its
    // history, and what I do now at the end — beside the content on a wide screen, in a bar fixed at
    // the bottom of a phone. A draft or a returned request is edited in place, its form first.
    const acts = editable ? null : actionPanel(ctx, req, view, refresh);
    const finished = acts?.classList.contains("bs-final");
    const side = acts && !finished ? acts : null;
    replace(root,
      el("a", { class: "back-link", href: "#/banshi?box=mine" }, "‹ 返回办事"),
      header(req),
      editable ? editPanel(ctx, req, names, refresh) : null,
      finished ? acts : null,
      el("div", { class: ["bs-req-layout", side && "bs-req-has-side", side?.classList.contains("bs-action-panel") && "bs-req-with-bar"] },
        el("div", { class: "bs-req-main" },
          // While it is being changed the form above shows the values (and the preview the info).
          editable ? null : infoBlock(req.info),
          editable ? null : valuesSection(req, names),
          filesSection(req),
          el("section", { class: "panel", "aria-labelledby": "bs-route-h" },
            el("h2", { class: "panel-title", id: "bs-route-h" }, "审批流程"),
            routeSteps(req.route, { applicant: req.applicant, submittedAt: req.submitted_at || req.route?.history?.find((h) => h.action === "submit")?.at }),
            ccLine(req), historyList(req.route)),
          proofSection(req)),
        side ? el("div", { class: "bs-req-side" }, side) : null));
    if (focusedHeading) root.querySelector("h1")?.focus({ preventScroll: true });
  }
  draw();
  ctx.ws.subscribe("banshi", (ev) => {
    const rid = ev.request_id ?? ev.subject_id;
    if (rid === id && !root.querySelector(".bs-edit-panel")) refresh().catch(() => {});
  }, { signal });
}

function header(req) {
  return el("header", { class: "bs-req-head" },
    el("h1", {}, req.title),
    el("p", { class: "bs-item-line" },
      el("span", { class: `tag bs-status bs-status-${req.status}` }, req.status_label || STATUS_LABELS[req.status] || req.status),
      el("span", { class: "bs-item-meta" }, [req.template?.name, req.serial ? `审批编号 ${req.serial}` : "",
        req.applicant ? `申请人 ${req.applicant.name}${req.applicant.department ? `（${req.applicant.department}）` : ""}` : ""]
        .filter(Boolean).join(" · "))),
    req.status !== "draft" ? el("a", { class: "btn btn-secondary btn-small bs-print-link", href: `#/banshi/r/${req.id}/print` }, "打印审批单") : null);
}

function valuesSection(req, names) {
  const dl = el("dl", { class: "facts bs-values" });
  for (const f of req.fields || []) {
    if (!(f.key in (req.values || {})) && f.type === "formula") continue;
    dl.append(el("dt", {}, f.label), el("dd", {}, requestValueNode(req, f, names)));
  }
  const links = (req.links || []).length ? el("p", {}, "关联：", req.links.map((l, i) => [i ? "、" : "",
    el("a", { href: l.kind === "document" ? `#/docs/${l.id}` : `#/banshi/r/${l.id}` }, l.title)])) : null;
  return el("section", { class: "panel", "aria-labelledby": "bs-values-h" },
    el("h2", { class: "panel-title", id: "bs-values-h" }, "申请内容"), dl, links);
}

function filesSection(req) {
  if (!(req.files || []).length) return null;
  return el("section", { class: "panel", "aria-labelledby": "bs-files-h" },
    el("h2", { class: "panel-title", id: "bs-files-h" }, "附件", el("span", { class: "panel-count" }, `${req.files.length} 个`)),
    el("ul", { class: "plain bs-files" }, req.files.map((f) => el("li", { class: "bs-file" },
      el("a", { href: `/api/banshi/files/${f.id}`, download: f.name }, f.name),
      f.size ? el("span", { class: "hint" }, sizeText(f.size)) : null,
      f.step ? el("span", { class: "hint" }, `（${f.step}${f.uploader ? ` · ${f.uploader}` : ""}）`) : null))));
}

function ccLine(req) {
  if (!(req.cc || []).length) return null;
  const stage = { submit: "提交时", end: "通过后" };
  return el("p", { class: "bs-cc-line" }, "抄送：", req.cc.map((c) => `${c.name}${stage[c.stage] ? `（${stage[c.stage]}）` : ""}`).join("、"));
}

function proofSection(req) {
  if (!req.proof || !Object.keys(req.proof).length) return null;
  const p = req.proof;
  return el("section", { class: "notice bs-proof", "aria-label": "系统签名" },
    el("p", { class: "notice-title" }, "审批结果已由系统电子签名"),
    el("p", {}, p.leaf_index !== undefined && p.leaf_index !== null ? `已记入公开日志第 ${Number(p.leaf_index) + 1} 条。` : "",
      "打印的审批单上有二维码，扫码即可核验。"),
    el("a", { class: "btn btn-secondary btn-small", href: `#/banshi/r/${req.id}/print` }, "打印审批单"));
}

// What I do now ---------------------------------------------------------------------------------------

function actionPanel(ctx, req, view, refresh) {
  const acts = req.actions || [];
  const { api } = ctx;
  const deciding = acts.includes("approve");
  const current = (req.route?.steps || []).find((s) => s.state === "current");
  if (!deciding) {
    const applicantActs = ["withdraw", "urge"].filter((a) => acts.includes(a));
    if (!current && !applicantActs.length) return finishedNote(req);
    const who = current ? current.tasks.filter((t) => t.state === "pending").map((t) => t.assignee).join("、") : "";
    const box = el("div", { class: "bs-waiting" },
      current ? el("p", {}, `当前：${current.name}（${who || "待分配"}审批）`) : null,
      el("div", { class: "actions" }, applicantActs.map((a) => {
        const b = button(a === "withdraw" ? "撤销申请" : "催办", () => run(ctx, req, a, {}, b, refresh),
          { kind: a === "withdraw" ? "danger" : "secondary", class: "btn-small" });
        return b;
      })));
    return box;
  }
  // On a phone the panel is a bar at the bottom of the screen; its button opens the 意见 box and the
  // actions above it (CSS hides the button on a wide screen, where the panel is always open).
  const actBody = el("div", { class: "bs-act-body", id: "bs-act-body" });
  const toggle = button("填写意见并审批", () => {
    const open = panel.classList.toggle("bs-act-open");
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "收起" : "填写意见并审批";
    if (open) opinion.input.focus();
  }, { kind: "primary", class: "bs-act-toggle", "aria-expanded": "false", "aria-controls": "bs-act-body" });
  const panel = el("section", { class: "panel bs-action-panel", "aria-labelledby": "bs-act-title" },
    el("div", { class: "bs-act-head" },
      el("h2", { class: "panel-title", id: "bs-act-title" }, `请您审批${current ? `：${current.name}` : ""}`), toggle),
    actBody);
  const opinion = field({ label: "审批意见", name: "opinion", type: "textarea", rows: 3, maxlength: 2000, value: view.opinion });
  opinion.input.addEventListener("input", () => { view.opinion = opinion.input.value; });
  const files = opinionFiles(ctx, view);
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const body = (extra = {}) => ({ opinion: opinion.input.value.trim(), version: req.version, file_ids: view.fileIds, ...extra });
  const act = (action, label, kind, extra = () => ({})) => {
    const b = button(label, async () => {
      status.hidden = true;
      const more = extra();
      if (more === null) return;
      const ok = await run(ctx, req, action, body(more), b, refresh, status);
      if (ok) { view.opinion = ""; view.fileIds = []; }
    }, { kind });
    return b;
  };
  actBody.append(opinion.wrap, files.node,
    el("div", { class: "actions" }, act("approve", "同意", "primary"),
      acts.includes("reject") ? act("reject", "拒绝", "danger", () => {
        if (!opinion.input.value.trim()) { status.show("请填写拒绝的理由。"); opinion.input.focus(); return null; }
        return {};
      }) : null));
  if (acts.includes("return") && (req.return_targets || []).length) {
    const target = field({ label: "退回到", name: "target", type: "select", value: req.return_targets[0].key,
      options: req.return_targets.map((t) => ({ value: t.key, label: t.name })) });
    actBody.append(el("div", { class: "bs-return-row" }, target.wrap, act("return", "退回", "danger", () => ({ target: target.input.value }))));
  }
  if (acts.includes("transfer") || acts.includes("add_signer")) {
    const chosen = { ids: [] };
    const more = el("details", { class: "disclosure" }, el("summary", {}, "转交或加签"));
    const who = picker({ api, label: "选择人员", kind: "people", multiple: true, agencyId: ctx.me.agency_id,
      hint: "转交：交给一人代您审批；加签：请他人先于或后于您审批。", onChange: (items) => { chosen.ids = items.map((i) => i.id); } });
    const position = field({ label: "加签的位置", name: "position", type: "select", value: "after",
      options: [{ value: "before", label: "在我之前（他们同意后再回到我）" }, { value: "after", label: "在我之后" }] });
    const need = (n) => {
      if (!chosen.ids.length) { status.show("请先选择人员。"); who.focus(); return false; }
      if (n === 1 && chosen.ids.length > 1) { status.show("转交只能交给一个人。"); who.focus(); return false; }
      return true;
    };
    const row = el("div", { class: "actions" },
      acts.includes("transfer") ? act("transfer", "转交", "secondary", () => (need(1) ? { user_id: chosen.ids[0] } : null)) : null,
      acts.includes("add_signer") ? act("add_signer", "加签", "secondary", () => (need(0) ? { user_ids: chosen.ids, position: position.input.value } : null)) : null);
    more.append(who.element, acts.includes("add_signer") ? position.wrap : null, row);
    actBody.append(more);
  }
  status.show = (text) => { status.textContent = text; status.className = "form-msg form-msg-error"; status.hidden = !text; };
  actBody.append(status);
  return panel;
}

function finishedNote(req) {
  const text = { approved: "本申请已审批通过", rejected: "本申请已被拒绝", withdrawn: "本申请已撤销" }[req.status];
  if (!text) return null;
  return el("section", { class: `notice bs-final bs-final-${req.status}` }, el("p", { class: "notice-title" }, text),
    req.finished_at ? el("p", {}, fmtTime(req.finished_at)) : null);
}

/** Attachments on the opinion (an invoice the approver adds, a signed scan). */
function opinionFiles(ctx, view) {
  const id = `bs-op-file-${Math.random().toString(36).slice(2, 8)}`;
  const input = el("input", { type: "file", id, multiple: true, class: "visually-hidden" });
  const list = el("ul", { class: "plain bs-files" });
  const picked = [];
  const draw = () => replace(list, picked.map((f) => el("li", { class: "bs-file" }, el("span", {}, f.name),
    button("移除", () => { picked.splice(picked.indexOf(f), 1); view.fileIds = picked.map((x) => x.id); draw(); }, { kind: "link", "aria-label": `移除附件${f.name}` }))));
  input.addEventListener("change", async () => {
    for (const file of [...input.files]) {
      try {
        picked.push(await uploadFile(ctx, file));
      } catch (err) {
        toast(err.message, "error");
      }
    }
    input.value = "";
    view.fileIds = picked.map((x) => x.id);
    draw();
  });
  return { node: el("div", { class: "bs-op-files" }, list, el("span", { class: "file-pick" }, input,
    el("label", { for: id, class: "btn btn-secondary btn-small" }, "＋ 意见附件"))) };
}

/** One action through POST /requests/{id}/{action}; asks first for the destructive ones. */
async function run(ctx, req, action, body, btn, refresh, status = null) {
  if (CONFIRM[action] && !(await confirmDialog(CONFIRM[action]))) return false;
  btn.disabled = true;
  try {
    await ctx.api.post(`/api/banshi/requests/${req.id}/${action}`, { version: req.version, opinion: "", ...body }, { signal: ctx.signal });
    toast(DONE[action] || "已办理", "success");
    await refresh();
    return true;
  } catch (err) {
    if (isAbort(err)) return false;
    btn.disabled = false;
    if (status) { status.textContent = err.message; status.className = "form-msg form-msg-error"; status.hidden = false; }
    else toast(err.message, "error");
    return false;
  }
}

// A draft, or a request that came back: change it and submit (again) ------------------------------------

function editPanel(ctx, req, names, refresh) {
  const returned = req.status === "returned";
  const last = [...(req.route?.history || [])].reverse().find((h) => h.action === "return");
  const routeBox = el("div", { class: "bs-route-preview", "aria-live": "polite" });
  const infoBox = el("div", { "aria-live": "polite" });
  let live = null;
  const form = formFields(ctx, req.fields || [], req.values || {}, { files: req.files || [], names, builtin: req.template?.builtin,
    onChange: (k) => live?.changed(k) });
  live = livePreview(ctx, req.template.id, form, { routeBox, infoBox });
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const fail = (err) => {
    if (isAbort(err)) return;
    if (!form.showError(err)) { status.textContent = err.message; status.className = "form-msg form-msg-error"; status.hidden = false; }
  };
  const save = async (submit, btn) => {
    status.hidden = true;
    form.clear();
    btn.disabled = true;
    try {
      const saved = await ctx.api.put(`/api/banshi/requests/${req.id}`, { values: form.read(), version: req.version }, { signal: ctx.signal });
      if (submit) await ctx.api.post(`/api/banshi/requests/${req.id}/submit`, { version: saved?.version ?? req.version + 1 }, { signal: ctx.signal });
      toast(submit ? "已提交，等待审批" : "已保存", "success");
      await refresh();
    } catch (err) {
      btn.disabled = false;
      fail(err);
    }
  };
  const submitBtn = button(returned ? "重新提交" : "提交", () => save(true, submitBtn), { kind: "primary" });
  const saveBtn = button("保存", () => save(false, saveBtn), { kind: "secondary" });
  const acts = req.actions || [];
  const withdraw = acts.includes("withdraw") ? button("撤销申请", () => run(ctx, req, "withdraw", {}, withdraw, refresh), { kind: "danger" }) : null;
  live.run();
  return el("section", { class: "panel bs-edit-panel bs-action-panel", "aria-labelledby": "bs-edit-title" },
    el("h2", { class: "panel-title", id: "bs-edit-title" }, returned ? "已退回：请按意见修改后重新提交" : "草稿：填写完整后提交"),
    last && returned ? el("blockquote", { class: "bs-opinion" }, `${last.actor}${last.step ? `（${last.step}）` : ""}退回意见：${last.opinion || "无"}`) : null,
    form.element, el("div", { class: "bs-side-inline" }, el("h3", {}, "审批流程"), infoBox, routeBox),
    status, el("div", { class: "actions" }, submitBtn, saveBtn, withdraw));
}
