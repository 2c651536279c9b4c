// 部门管理: the organisation tree; create an agency (机关) or a department under a chosen node,
// rename, delete (only when empty; the server explains otherwise).

import { el, replace, field, button, busy, formMessage, loading, errorState, confirmDialog, toast, emptyState } from "../../ui.js";
import { deptTree } from "../../components/tree.js";

let selected = null;

export async function render(root, ctx) {
  const { api, signal } = ctx;
  const treeBox = el("div", { class: "panel dir-tree" }, loading());
  const detail = el("section", { class: "panel", "aria-live": "polite" });
  replace(root,
    el("div", { class: "toolbar" },
      button("＋ 新建机关", () => showCreate(null), { kind: "primary" })),
    el("div", { class: "dir-layout" }, treeBox, detail));

  let tree;
  async function load() {
    try {
      tree = (await api.get("/api/directory/tree", { signal })).items;
    } catch (err) {
      if (err.name !== "AbortError") replace(treeBox, errorState(err, load));
      return;
    }
    if (!tree.length) {
      replace(treeBox, emptyState({ title: "还没有任何机关", text: "点击上方“新建机关”开始，或在“导入导出”中批量导入。" }));
      showCreate(null);
      return;
    }
    const view = deptTree({
      items: tree, label: "组织架构", selectedId: selected, expandDepth: 2, countOf: (n) => (n.kind === "agency" && !n.member_count ? null : n.member_count),
      onSelect: (n) => { selected = n.id; showDetail(n); },
    });
    replace(treeBox, el("h2", { class: "panel-title" }, "组织架构"), view.element);
    const node = selected && view.node(selected);
    if (node) showDetail(node);
    else replace(detail, emptyState({ title: "请选择部门", text: "在左侧点击一个机关或部门，即可改名、删除或新建下级部门。" }));
  }

  function showDetail(n) {
    const msg = formMessage();
    const name = field({ label: "名称", name: "name", value: n.name, required: true, maxlength: "100" });
    const code = n.kind === "agency"
      ? field({ label: "机关代字（用于发文字号，如“粤府办”）", name: "code", value: n.code || "", maxlength: "20" })
      : null;
    const save = button("保存修改", null, { kind: "primary", type: "submit" });
    const form = el("form", { class: "form form-narrow", novalidate: true }, name.wrap, code?.wrap, msg, el("div", { class: "actions" }, save));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      msg.clear();
      const body = { name: name.input.value.trim() };
      if (code) body.code = code.input.value.trim() || null;
      if (!body.name) return msg.show("名称不能为空");
      await busy(save, "正在保存…", async () => {
        try {
          await api.patch(`/api/admin/departments/${n.id}`, body);
          toast("已保存", "success");
          await load();
        } catch (err) {
          msg.show(err.message);
        }
      });
    });
    const del = button("删除此部门", async () => {
      const ok = await confirmDialog({
        title: "删除部门", danger: true, confirmText: "确定删除",
        message: `确定删除“${n.name}”吗？删除后不能恢复。部门下还有人员或下级部门时不能删除。`,
      });
      if (!ok) return;
      try {
        await api.del(`/api/admin/departments/${n.id}`);
        toast(`已删除“${n.name}”`, "success");
        selected = n.parent_id;
        await load();
      } catch (err) {
        toast(err.message, "error");
      }
    }, { kind: "danger" });
    replace(detail,
      el("h2", { class: "panel-title" }, n.name, el("span", { class: "tag" }, n.kind === "agency" ? "机关" : "处室")),
      el("p", { class: "hint" }, `人员 ${n.member_count} 人 · 下级部门 ${n.children.length} 个`),
      form,
      el("div", { class: "actions actions-split" },
        button("＋ 新建下级部门", () => showCreate(n), { kind: "secondary" }),
        del));
  }

  function showCreate(parent) {
    const msg = formMessage();
    const name = field({ label: parent ? "新部门名称" : "机关名称", name: "name", required: true, maxlength: "100",
      hint: parent ? `将建在“${parent.name}”下` : "例如：省政府办公厅" });
    const kind = parent
      ? field({ label: "类型", name: "kind", type: "select", value: "department",
        options: [{ value: "department", label: "处室/科室" }, { value: "agency", label: "下属机关" }] })
      : null;
    const code = field({ label: "机关代字（可不填）", name: "code", maxlength: "20", hint: "仅机关需要，如“粤府办”" });
    const save = button("创建", null, { kind: "primary", type: "submit" });
    const cancel = button("取消", () => (parent ? showDetail(parent) : load()), { kind: "secondary" });
    const form = el("form", { class: "form form-narrow", novalidate: true },
      name.wrap, kind?.wrap, code.wrap, msg, el("div", { class: "actions" }, save, cancel));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      msg.clear();
      const body = { name: name.input.value.trim(), parent_id: parent ? parent.id : null,
        kind: parent ? kind.input.value : "agency" };
      if (code.input.value.trim()) body.code = code.input.value.trim();
      if (!body.name) {
        name.input.focus();
        return msg.show("请填写名称");
      }
      await busy(save, "正在创建…", async () => {
        try {
          const made = await api.post("/api/admin/departments", body);
          toast(`已创建“${made.name}”`, "success");
          selected = made.id;
          await load();
        } catch (err) {
          msg.show(err.message);
        }
      });
    });
    replace(detail, el("h2", { class: "panel-title" }, parent ? "新建下级部门" : "新建机关"), form);
    name.input.focus();
  }

  await load();
}
