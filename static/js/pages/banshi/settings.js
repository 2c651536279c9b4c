// 办事 settings for agency administrators, on #/banshi/admin: who the 主要领导 is, each department's
// 分管领导 (the route's "supervisor" and "principal" approvers), and which departments are the
// agency's 人事处 and 财务处 (the "offices" approvers, and who reads leave and expenses).

import { el, replace, button, toast } from "../../ui.js";
import { picker } from "../../components/picker.js";
import { isAbort } from "./common.js";

const person = (p) => (p ? [{ id: p.id, name: p.name, type: "person" }] : []);
const dept = (d) => (d ? [{ id: d.id, name: d.name, type: "department" }] : []);

export async function settingsPanel(ctx) {
  const { api, signal } = ctx;
  const box = el("section", { class: "panel", "aria-labelledby": "bs-set-h" },
    el("h2", { class: "panel-title", id: "bs-set-h" }, "分管领导与职能处室"));
  let leaders;
  let offices;
  try {
    [leaders, offices] = await Promise.all([api.get("/api/banshi/admin/leaders", { signal }), api.get("/api/banshi/admin/offices", { signal })]);
  } catch (err) {
    if (!isAbort(err)) box.append(el("p", { class: "hint" }, err.message));
    return box;
  }
  const agencyId = ctx.me.agency_id;
  const principal = picker({ api, label: "主要领导", kind: "people", agencyId, value: person(leaders.principal) });
  const rows = leaders.supervisors.map((s) => ({ dept: dept({ id: s.department_id, name: s.department }), user: person({ id: s.user_id, name: s.name }) }));
  const list = el("div", { class: "bs-supervisors" });
  const pickers = [];
  const draw = () => {
    pickers.length = 0;
    replace(list, rows.map((r, i) => {
      const d = picker({ api, label: `第 ${i + 1} 个部门`, kind: "departments", agencyId, value: r.dept, onChange: (v) => { r.dept = v; } });
      const u = picker({ api, label: `第 ${i + 1} 个部门的分管领导`, kind: "people", agencyId, value: r.user, onChange: (v) => { r.user = v; } });
      pickers.push({ d, u });
      return el("div", { class: "bs-supervisor-row" }, d.element, u.element,
        button("删除", () => { rows.splice(i, 1); draw(); }, { kind: "link", "aria-label": `删除第 ${i + 1} 个部门的分管领导` }));
    }));
  };
  draw();
  const saveLeaders = button("保存领导设置", async () => {
    saveLeaders.disabled = true;
    try {
      const body = {
        principal: principal.ids()[0] ?? null,
        supervisors: rows.filter((r) => r.dept.length && r.user.length).map((r) => ({ department_id: r.dept[0].id, user_id: r.user[0].id })),
      };
      await api.put("/api/banshi/admin/leaders", body, { signal });
      toast("领导设置已保存", "success");
    } catch (err) {
      if (!isAbort(err)) toast(err.message, "error");
    } finally {
      saveLeaders.disabled = false;
    }
  }, { kind: "primary" });
  const personnel = picker({ api, label: "人事处", kind: "departments", agencyId, value: dept(offices.personnel) });
  const finance = picker({ api, label: "财务处", kind: "departments", agencyId, value: dept(offices.finance) });
  const saveOffices = button("保存处室设置", async () => {
    saveOffices.disabled = true;
    try {
      await api.put("/api/banshi/admin/offices", { personnel_department_id: personnel.ids()[0] ?? null, finance_department_id: finance.ids()[0] ?? null }, { signal });
      toast("处室设置已保存", "success");
    } catch (err) {
      if (!isAbort(err)) toast(err.message, "error");
    } finally {
      saveOffices.disabled = false;
    }
  }, { kind: "primary" });
  box.append(
    el("p", { class: "hint" }, "审批流程中的“分管领导”按申请人所在部门向上查找；“主要领导”为本机关主要负责人。"),
    principal.element,
    el("h3", { class: "bs-sub-h" }, "分管领导"), list,
    button("＋ 添加部门的分管领导", () => { rows.push({ dept: [], user: [] }); draw(); }, { kind: "secondary", class: "btn-small" }),
    el("div", { class: "actions" }, saveLeaders),
    el("h3", { class: "bs-sub-h" }, "职能处室"),
    el("p", { class: "hint" }, "人事处可查看全部请假并调整假期；财务处可查看出差和报销；两者都可查看台账。"),
    el("div", { class: "form-grid" }, personnel.element, finance.element),
    el("div", { class: "actions" }, saveOffices));
  return box;
}
