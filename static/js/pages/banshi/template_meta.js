// The designer's 查阅与状态 panel: the offices that read every request made on the form
// (reader_department_ids — e.g. 办公室 reads every 用车申请) and whether staff may start one (启用/停用).
// Both are saved at once through PUT /api/banshi/admin/templates/{id}, apart from the draft: they
// are not part of a version, so they take effect without publishing.

import { el, button, toast, confirmDialog } from "../../ui.js";
import { picker } from "../../components/picker.js";
import { isAbort } from "./common.js";

const STATUS_TEXT = {
  active: "启用中：员工可以发起这份表单。",
  disabled: "已停用：员工不能再发起；已提交的申请照常办理。",
};

export async function templateMetaPanel(ctx, meta, names) {
  const { api, signal } = ctx;
  const box = el("section", { class: "panel", "aria-labelledby": "bs-d-meta" },
    el("h2", { class: "panel-title", id: "bs-d-meta" }, "查阅与状态"));
  if (!meta) return box;
  const ids = meta.reader_department_ids || [];
  const value = await Promise.all(ids.map(async (id) => ({ id, type: "department", name: await names.department(id) })));
  const readers = picker({
    api, label: "可查阅全部申请的部门", kind: "departments", multiple: true, agencyId: ctx.me.agency_id, value,
    hint: "这些部门的人员可查看用此表单提交的每一份申请（只读），如办公室查阅全部用车申请。",
  });
  const saveReaders = button("保存查阅部门", async () => {
    saveReaders.disabled = true;
    try {
      const t = await api.put(`/api/banshi/admin/templates/${meta.id}`, { reader_department_ids: readers.ids() }, { signal });
      meta.reader_department_ids = t?.reader_department_ids ?? readers.ids();
      toast("查阅部门已保存", "success");
    } catch (err) {
      if (!isAbort(err)) toast(err.message, "error");
    } finally {
      saveReaders.disabled = false;
    }
  }, { kind: "secondary" });

  const statusLine = el("p", { class: "bs-status-line", "aria-live": "polite" });
  const toggle = button("", async () => {
    const enabling = meta.status !== "active";
    const ok = await confirmDialog(enabling
      ? { title: "启用表单", message: `启用后，本机关员工可以发起“${meta.name}”。确定启用？`, confirmText: "启用" }
      : { title: "停用表单", message: `停用后，员工不能再发起“${meta.name}”；已提交的申请照常办理，可随时重新启用。确定停用？`, confirmText: "停用", danger: true });
    if (!ok) return;
    toggle.disabled = true;
    try {
      const t = await api.put(`/api/banshi/admin/templates/${meta.id}`, { status: enabling ? "active" : "disabled" }, { signal });
      meta.status = t?.status || (enabling ? "active" : "disabled");
      drawStatus();
      toast(enabling ? "表单已启用" : "表单已停用", "success");
    } catch (err) {
      if (!isAbort(err)) toast(err.message, "error");
    } finally {
      toggle.disabled = false;
    }
  }, { kind: "secondary" });
  const drawStatus = () => {
    const active = meta.status === "active";
    statusLine.textContent = STATUS_TEXT[meta.status] || meta.status || "";
    statusLine.classList.toggle("bs-status-off", !active);
    toggle.textContent = active ? "停用表单" : "启用表单";
    toggle.className = `btn ${active ? "btn-danger" : "btn-primary"} btn-small`;
  };
  drawStatus();
  box.append(readers.element, el("div", { class: "actions" }, saveReaders),
    el("h3", { class: "bs-sub-h" }, "状态"), el("div", { class: "bs-status-row" }, statusLine, toggle));
  return box;
}
