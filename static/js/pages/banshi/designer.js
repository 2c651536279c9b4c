// 办事 form designer for agency administrators: #/banshi/admin lists the agency's forms and makes a
// new one; #/banshi/admin/<id> edits its draft version — fields (add, order, configure every type of
// design §1), the route (designer_route.js), options — previews the form at phone width, saves the
// draft (PUT …/draft, checked by the server: a 422 names what is wrong) and publishes it as a new
// version. Requests already made keep the version they were made with.

import { el, replace, button, field, checkbox, toast, confirmDialog, emptyState, debounce, openDialog } from "../../ui.js";
import { formFields } from "./form.js";
import { routeEditor } from "./designer_route.js";
import { settingsPanel } from "./settings.js";
import { templateMetaPanel } from "./template_meta.js";
import { isAbort, nameBook, fmtTime } from "./common.js";

const TYPES = [
  ["text", "单行文字"], ["textarea", "多行文字"], ["number", "数字"], ["money", "金额"], ["date", "日期"],
  ["datetime", "日期时间"], ["daterange", "起止日期"], ["select", "单选"], ["multiselect", "多选"], ["person", "人员"],
  ["department", "部门"], ["attachment", "附件"], ["table", "明细表"], ["formula", "计算公式"], ["link", "关联申请/公文"],
];
const COLUMN_TYPES = TYPES.filter(([t]) => ["text", "number", "money", "date", "select", "formula"].includes(t));
const TYPE_LABEL = Object.fromEntries(TYPES);
const TEMPLATE_STATUS = { active: "启用", disabled: "停用" };

export async function renderAdmin(root, ctx, id) {
  if (!ctx.me.roles.includes("admin")) {
    replace(root, el("h1", {}, "表单设计"), emptyState({ title: "没有权限", text: "表单设计仅对本机关的系统管理员开放。", icon: "lock" }));
    return;
  }
  if (id) return renderDesigner(root, ctx, id);
  const data = await ctx.api.get("/api/banshi/admin/templates", { signal: ctx.signal });
  const items = data.items || data.templates || (Array.isArray(data) ? data : []);
  const create = button("＋ 新建表单", () => newTemplate(ctx), { kind: "primary" });
  replace(root, el("a", { class: "back-link", href: "#/banshi" }, "‹ 返回办事"),
    el("div", { class: "bs-head" }, el("h1", {}, "表单设计"), create),
    items.length ? el("section", { class: "panel" }, el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
      el("thead", {}, el("tr", {}, ["名称", "分类", "状态", "版本", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, items.map((t) => el("tr", {},
        el("td", { "data-label": "名称" }, el("a", { href: `#/banshi/admin/${t.id}` }, t.name), t.builtin ? el("span", { class: "tag tag-off" }, "内置") : null),
        el("td", { "data-label": "分类" }, t.category || ""),
        el("td", { "data-label": "状态" }, TEMPLATE_STATUS[t.status] || t.status || ""),
        el("td", { "data-label": "版本" }, t.published_version_id ? "已发布" : "未发布",
          t.draft_version_id ? el("span", { class: "tag" }, "有未发布的修改") : null),
        el("td", { "data-label": "操作" }, el("a", { class: "btn btn-secondary btn-small", href: `#/banshi/admin/${t.id}` }, "设计"))))))))
      : emptyState({ title: "还没有表单", text: "点“新建表单”设计第一个表单。", action: null }));
  root.append(await settingsPanel(ctx));
}

function newTemplate(ctx) {
  const name = field({ label: "表单名称", name: "name", required: true, maxlength: 60, placeholder: "如 采购申请" });
  const category = field({ label: "分类", name: "category", maxlength: 20, value: "行政", hint: "发起页面按分类分组，如 人事、财务、行政" });
  const msg = el("p", { class: "form-msg", role: "alert", hidden: true });
  const ok = button("创建", async () => {
    ok.disabled = true;
    try {
      const t = await ctx.api.post("/api/banshi/admin/templates", { name: name.input.value.trim(), category: category.input.value.trim() || "其他" });
      dlg.close();
      ctx.navigate(`/banshi/admin/${t.id}`);
    } catch (err) {
      ok.disabled = false;
      msg.textContent = err.message;
      msg.className = "form-msg form-msg-error";
      msg.hidden = false;
    }
  }, { kind: "primary" });
  const dlg = openDialog({ title: "新建表单", body: [name.wrap, category.wrap, msg], actions: [button("取消", () => dlg.close()), ok] });
  name.input.focus();
}

async function renderDesigner(root, ctx, id) {
  const { api, signal } = ctx;
  const [list, draftIn] = await Promise.all([
    api.get("/api/banshi/admin/templates", { signal }),
    api.get(`/api/banshi/admin/templates/${id}/draft`, { signal }),
  ]);
  const meta = (list.items || []).find((t) => t.id === id) || null;
  // The forms a link field may name (link_form): the agency's published forms, built-in or designed,
  // by their code (travel → 出差审批, form_3 → 办公设备维修), which the server checks a linked request against.
  const linkable = (list.items || []).filter((t) => t.published_version_id && t.status === "active");
  const draft = {
    fields: structuredClone(draftIn.fields || []),
    route: structuredClone(draftIn.route || {}),
    options: { dedupe: "adjacent", skip_applicant: true, batch: false, ...(draftIn.options || {}) },
  };
  const names = nameBook(api, signal);
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const saved = el("p", { class: "hint", "aria-live": "polite" });
  let dirty = false;
  const phone = el("div", { class: "bs-phone-frame", "aria-label": "手机预览（375 像素宽）", role: "region" });
  const drawPreview = debounce(() => {
    try {
      replace(phone, el("p", { class: "bs-phone-title" }, meta?.name || "表单预览"), formFields(ctx, draft.fields, {}, { builtin: meta?.builtin }).element);
    } catch {
      replace(phone, el("p", { class: "hint" }, "字段设置不完整，暂无法预览。"));
    }
  }, 300);
  const touch = () => {
    dirty = true;
    saved.textContent = "有未保存的修改";
    drawPreview();
  };
  const fieldsBox = el("div", {});
  const drawFields = () => replace(fieldsBox,
    draft.fields.length ? el("ol", { class: "bs-field-cards" }, draft.fields.map((f, i) => el("li", {}, fieldCard(ctx, draft, f, i, touch, drawFields, linkable))))
      : el("p", { class: "hint" }, "还没有字段。"),
    addFieldRow(draft, touch, drawFields));
  drawFields();
  let routeBox = routeEditor(ctx, draft, names, touch).element;
  // The route names fields; after the fields change, the route editor's lists follow on 刷新.
  const refreshRoute = button("按当前字段刷新流程设置", () => {
    const fresh = routeEditor(ctx, draft, names, touch).element;
    routeBox.replaceWith(fresh);
    routeBox = fresh;
  }, { kind: "link" });

  async function save() {
    status.hidden = true;
    await api.put(`/api/banshi/admin/templates/${id}/draft`, draft, { signal });
    dirty = false;
    saved.textContent = `草稿已保存 ${fmtTime(new Date().toISOString())}`;
  }
  const fail = (err) => {
    if (isAbort(err)) return;
    const where = err.body?.field ? draft.fields.find((f) => f.key === err.body.field) : null;
    status.textContent = where ? `字段“${where.label}”：${err.message}` : err.message;
    status.className = "form-msg form-msg-error";
    status.hidden = false;
    status.scrollIntoView({ block: "center" });
  };
  const saveBtn = button("保存草稿", async () => {
    saveBtn.disabled = true;
    try { await save(); toast("草稿已保存", "success"); } catch (err) { fail(err); } finally { saveBtn.disabled = false; }
  }, { kind: "secondary" });
  const publishBtn = button("发布新版本", async () => {
    if (!(await confirmDialog({ title: "发布新版本", message: "发布后，新提交的申请使用新版本；已提交的申请仍按原版本办理。确定发布？", confirmText: "发布" }))) return;
    publishBtn.disabled = true;
    try {
      if (dirty) await save();
      const r = await api.post(`/api/banshi/admin/templates/${id}/publish`, {}, { signal });
      toast(`已发布${r?.no ? `第 ${r.no} 版` : "新版本"}，员工现在就可以使用`, "success");
      saved.textContent = "已发布";
    } catch (err) { fail(err); } finally { publishBtn.disabled = false; }
  }, { kind: "primary" });

  const opts = optionsEditor(draft.options, touch);
  const metaPanel = await templateMetaPanel(ctx, meta, names);
  const bar = el("div", { class: "actions bs-designer-bar" }, saveBtn, publishBtn, saved);
  replace(root, el("a", { class: "back-link", href: "#/banshi/admin" }, "‹ 返回表单列表"),
    el("h1", {}, `设计：${meta?.name || "表单"}`),
    draftIn.no ? el("p", { class: "hint" }, `正在编辑第 ${draftIn.no} 版${draftIn.state === "draft" ? "（草稿，发布后生效）" : ""}`) : null,
    bar, status,
    el("div", { class: "bs-designer" },
      el("div", { class: "bs-designer-main" },
        el("section", { class: "panel", "aria-labelledby": "bs-d-fields" }, el("h2", { class: "panel-title", id: "bs-d-fields" }, "表单字段"), fieldsBox),
        el("section", { class: "panel", "aria-labelledby": "bs-d-route" }, el("h2", { class: "panel-title", id: "bs-d-route" }, "审批流程"),
          refreshRoute, routeBox),
        el("section", { class: "panel", "aria-labelledby": "bs-d-opts" }, el("h2", { class: "panel-title", id: "bs-d-opts" }, "选项"), opts),
        metaPanel),
      el("aside", { class: "panel bs-designer-preview", "aria-labelledby": "bs-d-prev" },
        el("h2", { class: "panel-title", id: "bs-d-prev" }, "手机预览"), phone)));
  drawPreview();
}

function addFieldRow(draft, touch, redraw) {
  const type = field({ label: "新字段类型", name: "new_type", type: "select", value: "text", options: TYPES.map(([value, label]) => ({ value, label })) });
  const add = button("＋ 添加字段", () => {
    const used = new Set(draft.fields.map((f) => f.key));
    let n = draft.fields.length + 1;
    while (used.has(`f${n}`)) n += 1;
    const t = type.input.value;
    const f = { key: `f${n}`, label: TYPE_LABEL[t], type: t, required: false, help: "" };
    if (t === "select" || t === "multiselect") f.options = ["选项一", "选项二"];
    if (t === "daterange") Object.assign(f, { count: "workdays", halves: false });
    if (t === "table") Object.assign(f, { columns: [{ key: "item", label: "项目", type: "text" }, { key: "amount", label: "金额", type: "money", total: true }], min_rows: 1, max_rows: 50 });
    if (t === "formula") Object.assign(f, { expr: "", result: "number" });
    if (t === "link") f.to = "request";
    draft.fields.push(f);
    touch();
    redraw();
    document.querySelector(".bs-field-cards > li:last-child details")?.setAttribute("open", "");
  }, { kind: "secondary" });
  return el("div", { class: "bs-add-field" }, type.wrap, add);
}

function fieldCard(ctx, draft, f, i, touch, redraw, linkable) {
  const summary = el("summary", {}, el("span", { class: "bs-card-name" }, f.label || "（未命名）"),
    el("span", { class: "hint" }, ` ${TYPE_LABEL[f.type] || f.type}${f.required ? " · 必填" : ""} · ${f.key}`));
  const set = (k, parse = (v) => v) => (e) => { f[k] = parse(e.target.type === "checkbox" ? e.target.checked : e.target.value); touch(); };
  const input = (label, k, attrs = {}, parse) => {
    const x = field({ label, value: f[k] ?? "", ...attrs });
    x.input.addEventListener("change", set(k, parse));
    return x.wrap;
  };
  const num = (v) => (v === "" ? null : Number(v));
  const check = (label, k) => {
    const c = checkbox({ label, checked: !!f[k] });
    c.input.addEventListener("change", set(k));
    return c.wrap;
  };
  const label = field({ label: "标题", value: f.label, maxlength: 40 });
  label.input.addEventListener("change", () => { f.label = label.input.value.trim(); summary.firstChild.textContent = f.label; touch(); });
  const parts = [el("div", { class: "form-grid" }, label.wrap,
    input("字段代码（英文小写，提交后不再改）", "key", { maxlength: 40, pattern: "[a-z][a-z0-9_]*" }),
    check("必填", "required")), input("填写说明（可空）", "help", { maxlength: 200 })];
  parts.push(...typeOptions(f, input, check, num, touch, linkable));
  parts.push(visibility(f, draft, touch));
  const tools = el("div", { class: "actions" },
    button("上移", () => { [draft.fields[i - 1], draft.fields[i]] = [draft.fields[i], draft.fields[i - 1]]; touch(); redraw(); },
      { kind: "secondary", class: "btn-small", disabled: i === 0, "aria-label": `${f.label}上移` }),
    button("下移", () => { [draft.fields[i + 1], draft.fields[i]] = [draft.fields[i], draft.fields[i + 1]]; touch(); redraw(); },
      { kind: "secondary", class: "btn-small", disabled: i === draft.fields.length - 1, "aria-label": `${f.label}下移` }),
    button("删除字段", () => { draft.fields.splice(i, 1); touch(); redraw(); }, { kind: "danger", class: "btn-small", "aria-label": `删除字段${f.label}` }));
  return el("details", { class: "bs-field-card", dataset: { key: f.key } }, summary, parts, tools);
}

function typeOptions(f, input, check, num, touch, linkable) {
  const lines = (label, k) => {
    const x = field({ label, type: "textarea", rows: 3, value: (f[k] || []).join("\n"), hint: "每行一个选项" });
    x.input.addEventListener("change", () => { f[k] = x.input.value.split("\n").map((s) => s.trim()).filter(Boolean); touch(); });
    return x.wrap;
  };
  const choose = (label, k, options) => {
    const x = field({ label, type: "select", value: f[k] ?? options[0][0], options: options.map(([value, l]) => ({ value, label: l })) });
    x.input.addEventListener("change", () => { f[k] = x.input.value; touch(); });
    return x.wrap;
  };
  const yuan = (label, k) => {
    const x = field({ label, value: f[k] === undefined || f[k] === null ? "" : String(f[k] / 100), inputmode: "decimal" });
    x.input.addEventListener("change", () => { f[k] = x.input.value.trim() === "" ? null : Math.round(Number(x.input.value) * 100); touch(); });
    return x.wrap;
  };
  switch (f.type) {
    case "text": return [el("div", { class: "form-grid" }, input("最多字数", "max_length", { inputmode: "numeric" }, num), input("格式（正则，可空）", "pattern", { maxlength: 200 }))];
    case "textarea": return [input("最多字数", "max_length", { inputmode: "numeric" }, num)];
    case "number": return [el("div", { class: "form-grid" }, input("最小值", "min", {}, num), input("最大值", "max", {}, num), input("小数位数（0–4）", "decimals", {}, num))];
    case "money": return [el("div", { class: "form-grid" }, yuan("最小金额（元）", "min"), yuan("最大金额（元）", "max"))];
    case "daterange": return [el("div", { class: "form-grid" }, choose("天数计算", "count", [["workdays", "工作日（按工作日历，含节假日和调休）"], ["calendar", "自然日"]]), check("可选上午/下午（半天）", "halves"))];
    case "select": case "multiselect": return [lines("选项", "options")];
    case "person": case "department": return [check("可选多个", "multiple")];
    case "attachment": return [input("最多文件数（≤20）", "max_files", { inputmode: "numeric" }, num)];
    case "formula": return [input("公式", "expr", { maxlength: 300, hint: "可用 + - * / ( )、字段代码、明细表代码.列代码（该列合计），函数 min max round abs sum" }),
      choose("结果", "result", [["number", "数字"], ["money", "金额"]])];
    case "link": return linkOptions(f, linkable, touch);
    case "table": return [el("div", { class: "form-grid" }, input("最少行数", "min_rows", {}, num), input("最多行数（≤200）", "max_rows", {}, num)), columnsEditor(f, touch)];
    default: return [];
  }
}

/** A link field: to another request or a 公文; a request link may name the form it must be of
 * (link_form, checked by the server at submit: 差旅费报销's 出差审批单 holds only a 出差审批), picked by
 * name from the agency's published forms. A 公文 link names none (the server refuses one). */
function linkOptions(f, linkable, touch) {
  const to = field({ label: "关联", type: "select", value: f.to ?? "request",
    options: [["request", "另一份申请"], ["document", "公文"]].map(([value, label]) => ({ value, label })) });
  const forms = linkable.map((t) => ({ value: t.code, label: t.name }));
  if (f.link_form && !forms.some((o) => o.value === f.link_form)) forms.push({ value: f.link_form, label: `${f.link_form}（未发布或已停用）` });
  const form = field({ label: "限定表单", type: "select", value: f.link_form || "", hint: "只能关联所选表单的申请；不限则可关联申请人的任一申请",
    options: [{ value: "", label: "不限表单" }, ...forms] });
  const sync = () => {
    form.wrap.hidden = to.input.value !== "request";
    form.input.disabled = form.wrap.hidden;
  };
  to.input.addEventListener("change", () => {
    f.to = to.input.value;
    if (f.to !== "request") { delete f.link_form; form.input.value = ""; }
    sync();
    touch();
  });
  form.input.addEventListener("change", () => {
    if (form.input.value) f.link_form = form.input.value; else delete f.link_form;
    touch();
  });
  sync();
  return [el("div", { class: "form-grid" }, to.wrap, form.wrap)];
}

function columnsEditor(f, touch) {
  f.columns ||= [];
  const box = el("fieldset", { class: "fieldset" }, el("legend", {}, "明细列"));
  const draw = () => replace(box, el("legend", {}, "明细列"), f.columns.map((c, i) => {
    const one = (label, k, parse = (s) => s, shown = c[k] ?? "") => {
      const x = field({ label: `第 ${i + 1} 列${label}`, value: shown });
      x.input.addEventListener("change", () => { c[k] = parse(x.input.value.trim()); touch(); });
      return x.wrap;
    };
    const type = field({ label: `第 ${i + 1} 列类型`, type: "select", value: c.type, options: COLUMN_TYPES.map(([value, label]) => ({ value, label })) });
    type.input.addEventListener("change", () => { c.type = type.input.value; touch(); draw(); });
    const total = checkbox({ label: `第 ${i + 1} 列合计`, checked: !!c.total });
    total.input.addEventListener("change", () => { c.total = total.input.checked; touch(); });
    return el("div", { class: "bs-column-row" }, one("标题", "label"), one("代码", "key"), type.wrap,
      ["number", "money", "formula"].includes(c.type) ? total.wrap : null,
      c.type === "select" ? one("选项（顿号分隔）", "options", (t) => t.split(/[、,，]/).map((x) => x.trim()).filter(Boolean),
        (c.options || []).join("、")) : null,
      c.type === "formula" ? one("公式", "expr") : null,
      button("删除列", () => { f.columns.splice(i, 1); touch(); draw(); }, { kind: "link", "aria-label": `删除第 ${i + 1} 列` }));
  }), button("＋ 添加列", () => { f.columns.push({ key: `c${f.columns.length + 1}`, label: "新列", type: "text" }); touch(); draw(); }, { kind: "secondary", class: "btn-small" }));
  draw();
  return box;
}

function visibility(f, draft, touch) {
  const v = f.visible_to || null;
  const offices = [["personnel", "人事处"], ["finance", "财务处"]];
  const restricted = checkbox({ label: "仅部分审批人可见（如病假原因仅人事处可见）", checked: !!v });
  const box = el("div", { class: "bs-visibility", hidden: !v });
  const draw = () => {
    const cur = f.visible_to || { steps: [], offices: [] };
    const steps = [...(draft.route.branches || []).flatMap((b) => b.steps), ...(draft.route.default?.steps || [])];
    replace(box, el("p", { class: "hint" }, "申请人本人始终可见。勾选可以看到此字段的审批步骤和处室："),
      el("div", { class: "bs-checks" },
        steps.map((s) => {
          const c = checkbox({ label: `步骤：${s.name}`, checked: (cur.steps || []).includes(s.key) });
          c.input.addEventListener("change", () => { cur.steps = c.input.checked ? [...(cur.steps || []), s.key] : cur.steps.filter((k) => k !== s.key); f.visible_to = cur; touch(); });
          return c.wrap;
        }),
        offices.map(([o, l]) => {
          const c = checkbox({ label: l, checked: (cur.offices || []).includes(o) });
          c.input.addEventListener("change", () => { cur.offices = c.input.checked ? [...(cur.offices || []), o] : cur.offices.filter((k) => k !== o); f.visible_to = cur; touch(); });
          return c.wrap;
        })));
  };
  restricted.input.addEventListener("change", () => {
    f.visible_to = restricted.input.checked ? { steps: [], offices: [] } : null;
    box.hidden = !restricted.input.checked;
    draw();
    touch();
  });
  draw();
  return el("div", {}, restricted.wrap, box);
}

function optionsEditor(o, touch) {
  const dedupe = field({ label: "审批人去重", type: "select", value: o.dedupe || "adjacent", options: [
    { value: "none", label: "不去重" }, { value: "adjacent", label: "相邻步骤是同一人时只审批一次" }, { value: "all", label: "同一人在流程中只审批一次" }] });
  dedupe.input.addEventListener("change", () => { o.dedupe = dedupe.input.value; touch(); });
  const skip = checkbox({ label: "审批人是申请人本人时自动跳过", checked: !!o.skip_applicant });
  skip.input.addEventListener("change", () => { o.skip_applicant = skip.input.checked; touch(); });
  const batch = checkbox({ label: "允许批量同意（简单事项）", checked: !!o.batch });
  batch.input.addEventListener("change", () => { o.batch = batch.input.checked; touch(); });
  const title = field({ label: "申请标题格式", value: o.title || "{applicant}的{template}", maxlength: 60, hint: "{applicant} 为申请人姓名，{template} 为表单名称" });
  title.input.addEventListener("change", () => { o.title = title.input.value.trim(); touch(); });
  return el("div", { class: "form" }, dedupe.wrap, skip.wrap, batch.wrap, title.wrap);
}
