// 办事 form designer, the route half: branches in priority order with their conditions, the default
// steps, each step's approvers (every approver kind of banshi/routing, design §2), 会签/或签, time
// limit and 抄送. It edits the draft's route object in place and calls touch() after each change.

import { el, replace, button, field, checkbox, uid } from "../../ui.js";
import { picker } from "../../components/picker.js";

export const APPROVER_KINDS = [
  ["head", "直属主管（申请人所在部门负责人）"],
  ["heads", "连续多级主管"],
  ["supervisor", "分管领导"],
  ["principal", "主要领导"],
  ["role", "按角色"],
  ["users", "指定人员"],
  ["form_department", "表单中所选部门的负责人"],
  ["chosen", "申请人自选（表单中的人员字段）"],
  ["offices", "职能处室（人事处 / 财务处）"],
];
// A step's name follows its approver while the administrator has not named it otherwise.
const STEP_NAMES = {
  head: "部门负责人审批", heads: "逐级主管审批", supervisor: "分管领导审批", principal: "主要领导审批", role: "审批",
  users: "审批", form_department: "相关部门负责人审批", chosen: "审批", offices: "职能处室审核",
};
const ROLES = [["dept_head", "处室负责人"], ["leader", "机关领导"], ["clerk", "文书/收发员"], ["seal_keeper", "印章管理员"], ["staff", "科员"]];
const SCOPES = [["applicant_department", "申请人所在部门"], ["agency", "本机关"], ["department", "指定部门"]];
const OFFICES = [["personnel", "人事处"], ["finance", "财务处"]];
const OPS = [["==", "等于"], ["!=", "不等于"], [">", "大于"], [">=", "大于等于"], ["<", "小于"], ["<=", "小于等于"], ["in", "属于"], ["not_in", "不属于"], ["contains", "包含"]];

const sel = (label, value, options, onchange, attrs = {}) => {
  const f = field({ label, type: "select", value, options: options.map(([v, l]) => ({ value: v, label: l })), ...attrs });
  f.input.addEventListener("change", () => onchange(f.input.value));
  return f;
};
const text = (label, value, onchange, attrs = {}) => {
  const f = field({ label, value: value ?? "", ...attrs });
  f.input.addEventListener("change", () => onchange(f.input.value.trim()));
  return f;
};

/** The whole route editor: {element}. ctx for pickers, draft {fields, route}, names for people's names. */
export function routeEditor(ctx, draft, names, touch) {
  const route = draft.route;
  route.branches ||= [];
  route.default ||= { steps: [] };
  route.cc ||= { submit: [], end: [] };
  const element = el("div", { class: "bs-route-editor" });
  const redraw = () => {
    replace(element,
      el("p", { class: "hint" }, "条件分支按顺序判断，第一个满足条件的分支生效；都不满足时走“默认流程”。"),
      route.branches.map((b, i) => branchCard(i, b)),
      button("＋ 添加条件分支", () => {
        route.branches.push({ name: `条件分支${route.branches.length + 1}`, when: { all: [] }, steps: [] });
        touch();
        redraw();
      }, { kind: "secondary", class: "btn-small" }),
      el("fieldset", { class: "fieldset bs-branch" }, el("legend", {}, "默认流程"), stepsEditor(route.default.steps)),
      el("fieldset", { class: "fieldset bs-branch" }, el("legend", {}, "抄送"),
        ccEditor("提交时抄送", route.cc, "submit"), ccEditor("审批通过后抄送", route.cc, "end")));
  };

  function branchCard(i, b) {
    const name = text("分支名称", b.name, (v) => { b.name = v; touch(); }, { maxlength: 20 });
    const tools = el("div", { class: "actions" },
      button("上移", () => { [route.branches[i - 1], route.branches[i]] = [route.branches[i], route.branches[i - 1]]; touch(); redraw(); },
        { kind: "secondary", class: "btn-small", disabled: i === 0, "aria-label": `${b.name}上移` }),
      button("删除分支", () => { route.branches.splice(i, 1); touch(); redraw(); }, { kind: "danger", class: "btn-small", "aria-label": `删除${b.name}` }));
    return el("fieldset", { class: "fieldset bs-branch" }, el("legend", {}, `第 ${i + 1} 个条件分支`),
      name.wrap, conditionEditor(b), el("h4", { class: "bs-sub-h" }, "满足条件时的审批步骤"), stepsEditor(b.steps), tools);
  }

  function conditionEditor(b) {
    // Stored as {all: [...]} or {any: [...]}; a single clause is wrapped on first edit.
    if (!b.when || (!b.when.all && !b.when.any)) b.when = { all: b.when ? [b.when] : [] };
    const join = b.when.all ? "all" : "any";
    const list = b.when[join];
    const box = el("div", { class: "bs-conditions" });
    const draw = () => replace(box,
      sel("条件之间", join, [["all", "全部满足"], ["any", "满足任一"]], (v) => {
        b.when = { [v]: list };
        touch();
        redraw();
      }).wrap,
      list.map((c, n) => clauseRow(c, n, list, draw)),
      button("＋ 添加条件", () => {
        // An amount or a number of days is what a branch usually turns on: offer that first.
        const all = subjects();
        list.push({ field: (all.find((x) => x[2] !== "text") || all[0] || [""])[0], op: ">=", value: 0 });
        touch();
        draw();
      },
        { kind: "secondary", class: "btn-small" }));
    draw();
    return box;
  }

  function subjects() {
    const out = [];
    for (const f of draft.fields) {
      if (["number", "money", "formula"].includes(f.type)) out.push([f.key, f.label, f.type === "money" || f.result === "money" ? "money" : "number"]);
      else if (f.type === "daterange") out.push([`${f.key}.days`, `${f.label}（天数）`, "number"]);
      else if (["select", "multiselect", "text"].includes(f.type)) out.push([f.key, f.label, "text"]);
      else if (f.type === "table") for (const c of f.columns || []) if (c.total) out.push([`${f.key}.${c.key}`, `${f.label}·${c.label}合计`, c.type === "money" ? "money" : "number"]);
    }
    return out;
  }

  function clauseRow(c, n, list, draw) {
    const subs = [...subjects(), ["@department", "申请人部门"], ["@role", "申请人角色"], ["@post", "申请人职务"]];
    const current = c.applicant ? `@${c.applicant}` : c.field;
    const kind = (subs.find(([k]) => k === current) || [])[2] || "text";
    const subject = sel(`条件 ${n + 1}：依据`, current, subs.map(([k, l]) => [k, l]), (v) => {
      // A select field is asked which options (属于); an amount or a count, how much (≥).
      const choice = draft.fields.some((f) => f.key === v && ["select", "multiselect"].includes(f.type));
      list[n] = v.startsWith("@") ? { applicant: v.slice(1), op: "in", value: [] } : choice ? { field: v, op: "in", value: [] } : { field: v, op: ">=", value: 0 };
      touch();
      draw();
    });
    const ops = c.applicant ? OPS.filter(([o]) => o === "in" || o === "not_in") : OPS;
    const many = (o) => o === "in" || o === "not_in";
    const op = sel("比较", c.op, ops, (v) => {
      // 属于/不属于 take a list, the others one value: carry what was typed over, redraw the value's control.
      if (many(v) !== many(c.op) && !c.applicant) c.value = many(v) ? [c.value].flat().filter((x) => x !== "" && x != null) : [c.value].flat()[0] ?? "";
      c.op = v;
      touch();
      draw();
    });
    const choice = c.applicant ? null : draft.fields.find((f) => f.key === c.field && ["select", "multiselect"].includes(f.type) && (f.options || []).length);
    const chosen = choice && many(c.op) ? choice : null;
    let value;
    if (choice && (c.op === "==" || c.op === "!=")) {
      const current = [c.value].flat()[0] ?? "";
      if (!choice.options.includes(current)) c.value = choice.options[0];
      value = sel(`条件 ${n + 1}：取值`, c.value, choice.options.map((o) => [o, o]), (v) => { c.value = v; touch(); }).wrap;
    } else if (chosen) {
      // A select field's 属于/不属于: tick its options rather than type them (a typo would never match).
      value = el("fieldset", { class: "bs-checks bs-clause-options" }, el("legend", {}, `条件 ${n + 1}：取值（可多选）`),
        chosen.options.map((o) => {
          const cb = checkbox({ label: o, checked: [c.value].flat().includes(o) });
          cb.input.addEventListener("change", () => {
            const now = [c.value].flat().filter((x) => chosen.options.includes(x));
            c.value = cb.input.checked ? [...new Set([...now, o])] : now.filter((x) => x !== o);
            touch();
          });
          return cb.wrap;
        }));
    } else if (c.applicant === "department") {
      const p = picker({ api: ctx.api, label: "部门", kind: "departments", multiple: true, agencyId: ctx.me.agency_id,
        onChange: (items) => { c.value = items.map((i) => i.id); touch(); } });
      Promise.all((c.value || []).map((id) => names.department(id))).then((ns) =>
        p.set((c.value || []).map((id, i) => ({ id, name: ns[i], type: "department" }))));
      value = p.element;
    } else if (c.applicant === "role") {
      value = el("div", { class: "bs-checks" }, ROLES.map(([r, l]) => {
        const cb = checkbox({ label: l, checked: (c.value || []).includes(r) });
        cb.input.addEventListener("change", () => {
          c.value = cb.input.checked ? [...new Set([...(c.value || []), r])] : (c.value || []).filter((x) => x !== r);
          touch();
        });
        return cb.wrap;
      }));
    } else {
      const shown = Array.isArray(c.value) ? c.value.join("、") : kind === "money" && typeof c.value === "number" ? String(c.value / 100) : String(c.value ?? "");
      value = text(kind === "money" ? "值（元）" : c.applicant === "post" ? "职务（多个用顿号分隔）" : "值", shown, (v) => {
        const many = c.op === "in" || c.op === "not_in" || c.applicant;
        const parse = (s) => (kind === "money" ? Math.round(Number(s) * 100) : kind === "number" ? Number(s) : s);
        c.value = many ? v.split(/[、,，]/).map((s) => s.trim()).filter(Boolean).map(parse) : parse(v);
        touch();
      }).wrap;
    }
    return el("div", { class: "bs-clause" }, subject.wrap, op.wrap, value,
      button("删除条件", () => { list.splice(n, 1); touch(); draw(); }, { kind: "link", "aria-label": `删除条件 ${n + 1}` }));
  }

  function stepsEditor(steps) {
    const box = el("div", { class: "bs-steps-editor" });
    const draw = () => replace(box,
      steps.length ? el("ol", { class: "bs-step-cards" }, steps.map((s, i) => el("li", {}, stepCard(steps, s, i, draw))))
        : el("p", { class: "hint" }, "还没有审批步骤。"),
      button("＋ 添加审批步骤", () => {
        steps.push({ key: nextKey(), name: "部门负责人审批", mode: "any", approvers: { kind: "head" }, cc: [], deadline_hours: null });
        touch();
        draw();
        box.querySelector(".bs-step-cards > li:last-child details")?.setAttribute("open", "");
      }, { kind: "secondary", class: "btn-small" }));
    draw();
    return box;
  }

  function nextKey() {
    const all = [...route.branches.flatMap((b) => b.steps), ...route.default.steps].map((s) => s.key);
    let n = all.length + 1;
    while (all.includes(`s${n}`)) n += 1;
    return `s${n}`;
  }

  function stepCard(steps, s, i, draw) {
    const name = text("步骤名称", s.name, (v) => { s.name = v; touch(); }, { maxlength: 30 });
    const mode = sel("多人时", s.mode, [["any", "或签：一人同意即可"], ["all", "会签：每人都要同意"]], (v) => { s.mode = v; touch(); });
    const hours = text("办理时限（小时，可空）", s.deadline_hours ?? "", (v) => { s.deadline_hours = v ? Number(v) : null; touch(); }, { inputmode: "numeric" });
    const who = el("div", {});
    const title = el("span", { class: "bs-card-name" }, s.name);
    const kindOf = () => ((APPROVER_KINDS.find(([k]) => k === s.approvers?.kind) || [])[1] || "").replace(/（.*$/, "");
    const kindNote = el("span", { class: "hint" }, kindOf());
    const drawWho = () => replace(who, approverEditor(s.approvers, (a) => {
      if (Object.values(STEP_NAMES).includes(s.name)) {
        s.name = STEP_NAMES[a.kind] || s.name;
        name.input.value = s.name;
        title.textContent = s.name;
      }
      s.approvers = a;
      kindNote.textContent = kindOf();
      touch();
      drawWho();
    }));
    drawWho();
    const cc = el("div", {}, usersPicker("本步完成后抄送", s.cc || [], (list) => { s.cc = list; touch(); }));
    name.input.addEventListener("change", () => { title.textContent = s.name; });
    return el("details", { class: "bs-step-card" },
      el("summary", {}, title, kindNote),
      el("div", { class: "form-grid" }, name.wrap, mode.wrap, hours.wrap), who, cc,
      el("div", { class: "actions" },
        button("上移", () => { [steps[i - 1], steps[i]] = [steps[i], steps[i - 1]]; touch(); draw(); },
          { kind: "secondary", class: "btn-small", disabled: i === 0, "aria-label": `步骤${s.name}上移` }),
        button("删除步骤", () => { steps.splice(i, 1); touch(); draw(); }, { kind: "danger", class: "btn-small", "aria-label": `删除步骤${s.name}` })));
  }

  function approverEditor(a, set) {
    const kind = sel("审批人", a.kind, APPROVER_KINDS, (v) => set(defaults(v)));
    const parts = [kind.wrap];
    if (a.kind === "users") {
      const p = picker({ api: ctx.api, label: "人员", kind: "people", multiple: true, agencyId: ctx.me.agency_id,
        onChange: (items) => { a.user_ids = items.map((x) => x.id); touch(); } });
      fillPeople(p, a.user_ids || []);
      parts.push(p.element);
    } else if (a.kind === "role") {
      parts.push(sel("角色", a.role, ROLES, (v) => { a.role = v; touch(); }).wrap,
        sel("范围", a.scope, SCOPES, (v) => { set({ ...a, scope: v }); }).wrap);
      if (a.scope === "department") {
        const p = picker({ api: ctx.api, label: "部门", kind: "departments", agencyId: ctx.me.agency_id,
          onChange: (items) => { a.department_id = items[0]?.id ?? null; touch(); } });
        if (a.department_id) names.department(a.department_id).then((n) => p.set([{ id: a.department_id, name: n, type: "department" }]));
        parts.push(p.element);
      }
    } else if (a.kind === "heads") {
      parts.push(text("向上几级", a.levels ?? 2, (v) => { a.levels = Number(v) || 1; touch(); }, { inputmode: "numeric" }).wrap,
        text("最高到第几层（可空）", a.stop_depth ?? "", (v) => { a.stop_depth = v ? Number(v) : null; touch(); }, { inputmode: "numeric" }).wrap);
    } else if (a.kind === "form_department" || a.kind === "chosen") {
      const type = a.kind === "chosen" ? "person" : "department";
      const opts = draft.fields.filter((f) => f.type === type).map((f) => [f.key, f.label]);
      parts.push(opts.length ? sel("表单字段", a.field, opts, (v) => { a.field = v; touch(); }).wrap
        : el("p", { class: "form-msg form-msg-error" }, `请先在表单中添加一个${type === "person" ? "人员" : "部门"}字段。`));
      if (!a.field && opts.length) a.field = opts[0][0];
    } else if (a.kind === "offices") {
      parts.push(sel("处室", a.office, OFFICES, (v) => { a.office = v; touch(); }).wrap,
        sel("由谁审批", a.role || "", [["dept_head", "处室负责人"], ["", "处室全体人员（或签）"]], (v) => { a.role = v || null; touch(); }).wrap);
    }
    return el("div", { class: "bs-approver" }, parts);
  }

  function defaults(kind) {
    return {
      users: { kind, user_ids: [] }, role: { kind, role: "dept_head", scope: "applicant_department" }, head: { kind },
      heads: { kind, levels: 2, stop_depth: null }, form_department: { kind, field: "", role: "dept_head" },
      chosen: { kind, field: "" }, supervisor: { kind }, principal: { kind }, offices: { kind, office: "personnel", role: "dept_head" },
    }[kind];
  }

  function fillPeople(p, ids) {
    if (!ids.length) return;
    Promise.all(ids.map((id) => names.person(id))).then((ns) => p.set(ids.map((id, i) => ({ id, name: ns[i], type: "person" }))));
  }

  /** 抄送: named people, and the 人事处 / 财务处 as offices. Stored as approver objects. */
  function usersPicker(label, list, set) {
    const users = list.find((a) => a.kind === "users") || { kind: "users", user_ids: [] };
    const offices = new Set(list.filter((a) => a.kind === "offices").map((a) => a.office));
    const save = () => set([...(users.user_ids.length ? [users] : []), ...[...offices].map((o) => ({ kind: "offices", office: o, role: null }))]);
    const p = picker({ api: ctx.api, label, kind: "people", multiple: true, agencyId: ctx.me.agency_id,
      onChange: (items) => { users.user_ids = items.map((x) => x.id); save(); } });
    fillPeople(p, users.user_ids);
    const boxes = OFFICES.map(([o, l]) => {
      const cb = checkbox({ label: `${label}：${l}`, checked: offices.has(o) });
      cb.input.addEventListener("change", () => { if (cb.input.checked) offices.add(o); else offices.delete(o); save(); });
      return cb.wrap;
    });
    return el("div", { class: "bs-cc-editor" }, p.element, el("div", { class: "bs-checks" }, boxes));
  }

  function ccEditor(label, cc, stage) {
    return usersPicker(label, cc[stage] || [], (list) => { cc[stage] = list; touch(); });
  }

  redraw();
  return { element, id: uid("route") };
}
