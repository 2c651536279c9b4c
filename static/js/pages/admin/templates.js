// 发文流程: the agency's route templates (one per 文种, "*" the generic one). Each step says who
// acts — 指定人员 and a role's 部门 are chosen with the people-and-department picker, never typed
// as numbers — what the step means (签发, 用印 …), and its time limit. The server checks the
// route (one 签发, 编号 before 用印, people inside the agency) and says what is wrong in Chinese.

import { el, replace, button, field, checkbox, loading, errorState, toast, formMessage, busy } from "../../ui.js";
import { ROLE_LABELS } from "../../labels.js";
import { picker } from "../../components/picker.js";

const TAGS = { "": "其他", review: "核稿/审核", countersign: "会签", sign_off: "签发", recheck: "复核", number: "编号",
  seal: "用印", distribute: "核发/分发", archive: "归档" };
const KINDS = { user: "指定人员", role: "按角色", drafter_head: "拟稿处室负责人", drafter: "拟稿人",
  context_departments: "会签部门负责人（起草时选定）" };

export async function render(root, ctx, selected = null) {
  const { api, signal } = ctx;
  replace(root, loading());
  let items;
  let tree;
  let docTypes;
  try {
    [{ items }, { items: tree }, { doc_types: docTypes }] = await Promise.all([
      api.get("/api/docs/templates", { signal }), api.get("/api/directory/tree", { signal }),
      api.get("/api/docs/meta", { signal })]);
  } catch (err) {
    if (err.name !== "AbortError") replace(root, errorState(err, () => render(root, ctx)));
    return;
  }
  const deptNames = new Map(flatten(tree).map((n) => [n.id, n.name]));
  const names = await personNames(api, items);
  const first = items.find((t) => t.doc_type === selected) || items[0];
  const which = field({ label: "流程模板", name: "template", type: "select", value: first?.doc_type,
    options: items.map((t) => ({ value: t.doc_type, label: `${t.name}（${t.doc_type === "*" ? "其他文种" : t.doc_type}）` })) });
  const editorBox = el("div");
  which.input.addEventListener("change", () => show(items.find((t) => t.doc_type === which.input.value)));
  // A 文种 without its own template follows the generic one ("*"); giving it its own starts from a copy
  // of the generic steps, saved only when the administrator presses 保存流程.
  const missing = docTypes.filter((d) => !items.some((t) => t.doc_type === d));
  const newType = field({ label: "为其他文种单独设置流程", name: "new-doc-type", type: "select", value: "",
    options: [{ value: "", label: missing.length ? "请选择文种" : "每个文种都已有流程" },
      ...missing.map((d) => ({ value: d, label: d }))] });
  newType.input.disabled = !missing.length;
  const create = button("新建流程", () => {
    const type = newType.input.value;
    if (!type) { toast("请先选择文种", "error"); newType.input.focus(); return; }
    const generic = items.find((t) => t.doc_type === "*") || items[0];
    const fresh = { doc_type: type, name: `${type}发文流程`, revision: 0, unsaved: true,
      steps: (generic ? generic.steps : []).map((st) => ({ ...st, actor: { ...st.actor } })) };
    showFresh(fresh);
  }, { kind: "secondary" });
  replace(root, el("section", { class: "panel" },
    el("h2", { class: "panel-title" }, "发文流程模板"),
    el("p", { class: "hint" }, "每个文种一套流程；没有单独流程的文种使用“其他文种”的流程。已在流转的公文不受修改影响。流程必须有且只有一个“签发”，“编号”在“用印”之前。"),
    which.wrap, el("div", { class: "actions" }, newType.wrap, create), editorBox));
  if (first) show(first);

  function show(t) {
    replace(editorBox, templateEditor(ctx, t, { deptNames, names, saved: (row) => {
      Object.assign(t, row);
      toast(`已保存“${row.name}”（第 ${row.revision} 版）`, "success");
    } }));
  }

  function showFresh(t) {
    which.input.value = "";
    replace(editorBox, templateEditor(ctx, t, { deptNames, names, saved: (row) => {
      toast(`已新建“${row.name}”`, "success");
      render(root, ctx, row.doc_type);
    } }));
  }
}

function templateEditor(ctx, t, { deptNames, names, saved }) {
  const steps = t.steps.map((s) => ({ ...s, actor: { ...s.actor } }));
  const name = field({ label: "模板名称", name: "name", value: t.name, maxlength: 100 });
  const list = el("ol", { class: "plain form" });
  const msg = formMessage();
  const draw = () => replace(list, steps.map((s, i) => el("li", { class: "route-step" },
    el("fieldset", { class: "fieldset" }, el("legend", {}, `第 ${i + 1} 步`),
      stepEditor(ctx, s, i, { deptNames, names, steps, draw })))));
  draw();
  const add = button("添加步骤", () => {
    let n = steps.length + 1;
    while (steps.some((s) => s.key === `step${n}`)) n += 1;
    steps.push({ key: `step${n}`, name: "新步骤", tag: "", mode: "any", actor: { kind: "drafter_head" }, deadline_hours: 24 });
    draw();
    list.lastElementChild?.querySelector("input")?.focus();
  }, { kind: "secondary" });
  const save = button("保存流程", (e) => busy(e.currentTarget, "正在保存…", async () => {
    msg.clear();
    try {
      const keys = new Set(steps.map((s) => s.key));
      const body = { name: name.input.value, steps: steps.map((s) => clean(s, keys)) };
      const row = await ctx.api.put(`/api/docs/templates/${encodeURIComponent(t.doc_type)}`, body);
      saved(row);
    } catch (err) { msg.show(err.message); }
  }), { kind: "primary" });
  return el("div", { class: "form" }, name.wrap, list, el("div", { class: "actions" }, add), msg,
    el("div", { class: "actions" }, save));
}

function stepEditor(ctx, s, i, { deptNames, names, steps, draw }) {
  const n = i + 1;
  const title = field({ label: "步骤名称", name: `name-${n}`, value: s.name, maxlength: 100 });
  title.input.addEventListener("input", () => { s.name = title.input.value; });
  const tag = field({ label: "步骤类型", name: `tag-${n}`, type: "select", value: s.tag || "",
    options: Object.entries(TAGS).map(([value, label]) => ({ value, label })) });
  tag.input.addEventListener("change", () => { s.tag = tag.input.value; });
  const kind = field({ label: "办理人", name: `kind-${n}`, type: "select", value: s.actor.kind,
    options: Object.entries(KINDS).map(([value, label]) => ({ value, label })) });
  kind.input.addEventListener("change", () => {
    s.actor = { kind: kind.input.value, ...(kind.input.value === "role" ? { role: "leader", department_id: null } : {}),
      ...(kind.input.value === "context_departments" ? { role: "dept_head", key: "countersign_department_ids" } : {}),
      ...(kind.input.value === "user" ? { user_ids: [] } : {}) };
    draw();
  });
  const mode = field({ label: "多人时", name: `mode-${n}`, type: "select", value: s.mode || "any",
    options: [{ value: "any", label: "一人办理即可" }, { value: "all", label: "全部办理（会签）" }] });
  mode.input.addEventListener("change", () => { s.mode = mode.input.value; });
  const hours = field({ label: "办理时限（小时，可空）", name: `hours-${n}`, type: "number", min: "1", max: "8760",
    value: s.deadline_hours ?? "" });
  hours.input.addEventListener("input", () => { s.deadline_hours = hours.input.value ? Number(hours.input.value) : null; });
  const edit = checkbox({ label: "可修改正文", name: `edit-${n}`, checked: !!s.can_edit });
  edit.input.addEventListener("change", () => { s.can_edit = edit.input.checked; });
  const agency = ctx.me.agency_id;
  const who = [];
  if (s.actor.kind === "user") {
    who.push(picker({ api: ctx.api, label: "指定人员", kind: "people", multiple: true, agencyId: agency, required: true,
      value: (s.actor.user_ids || []).map((id) => ({ id, name: names.get(id) || `人员 ${id}` })),
      onChange: (items) => {
        s.actor.user_ids = items.map((p) => p.id);
        for (const p of items) names.set(p.id, p.name); // the step is drawn again when another changes
      } }).element);
  }
  if (s.actor.kind === "role" || s.actor.kind === "context_departments") {
    const role = field({ label: "角色", name: `role-${n}`, type: "select", value: s.actor.role,
      options: Object.entries(ROLE_LABELS).filter(([r]) => r !== "admin").map(([value, label]) => ({ value, label })) });
    role.input.addEventListener("change", () => { s.actor.role = role.input.value; });
    who.push(role.wrap);
  }
  if (s.actor.kind === "role") {
    const dept = s.actor.department_id;
    who.push(picker({ api: ctx.api, label: "限定部门（可空：全机关）", kind: "departments", agencyId: agency,
      value: dept ? [{ type: "department", id: dept, name: deptNames.get(dept) || `部门 ${dept}` }] : [],
      onChange: (items) => { s.actor.department_id = items[0]?.id ?? null; } }).element);
  }
  const moveBy = (by) => {
    const j = i + by;
    if (j < 0 || j >= steps.length) return;
    [steps[i], steps[j]] = [steps[j], steps[i]];
    draw();
  };
  return [
    el("div", { class: "form-grid" }, title.wrap, tag.wrap, kind.wrap, mode.wrap, hours.wrap, edit.wrap),
    who.length ? el("div", { class: "form" }, who) : null,
    el("div", { class: "actions" },
      button("上移", () => moveBy(-1), { kind: "secondary", class: "btn-small", disabled: i === 0, "aria-label": `第 ${n} 步上移` }),
      button("下移", () => moveBy(1), { kind: "secondary", class: "btn-small", disabled: i === steps.length - 1, "aria-label": `第 ${n} 步下移` }),
      button("删除", () => { steps.splice(i, 1); draw(); }, { kind: "danger", class: "btn-small", "aria-label": `删除第 ${n} 步` })),
  ];
}

/** A step as the server takes it: a ``next`` naming a removed step goes (the order decides). */
function clean(s, keys) {
  const out = { key: s.key, name: s.name, tag: s.tag || "", mode: s.mode || "any", actor: s.actor,
    can_edit: !!s.can_edit, allow_add_signer: !!s.allow_add_signer, deadline_hours: s.deadline_hours ?? null };
  if (s.next && keys.has(s.next)) out.next = s.next;
  return out;
}

async function personNames(api, items) {
  const ids = [...new Set(items.flatMap((t) => t.steps).filter((s) => s.actor.kind === "user").flatMap((s) => s.actor.user_ids))];
  const names = new Map();
  await Promise.all(ids.map((id) => api.get(`/api/directory/people/${id}`).then((p) => names.set(id, p.name)).catch(() => {})));
  return names;
}

function flatten(items, out = []) {
  for (const n of items) {
    out.push(n);
    flatten(n.children || [], out);
  }
  return out;
}
