// 人员管理: #/admin/users (search + paged table), #/admin/users/new (create), #/admin/users/<id>
// (edit details, posts incl. 兼职, roles, disable/enable, reset password).

import { el, replace, field, checkbox, button, busy, formMessage, loading, errorState, confirmDialog, toast,
  pagination, debounce, emptyState, uid } from "../../ui.js";
import { deptOptions } from "../../components/tree.js";
import { ROLE_LABELS } from "../../labels.js";

const PAGE_SIZE = 20;
let lastQuery = { q: "", offset: 0 };

export async function render(root, ctx) {
  const [sub] = ctx.params.path;
  if (sub === "new") return createPage(root, ctx);
  if (sub && /^\d+$/.test(sub)) return editPage(root, ctx, Number(sub));
  return listPage(root, ctx);
}

// List -------------------------------------------------------------------------------------------

async function listPage(root, ctx) {
  const { api, signal } = ctx;
  const qid = uid("uq");
  const q = el("input", { id: qid, type: "search", class: "search-input", value: lastQuery.q, autocomplete: "off",
    placeholder: "姓名、用户名或拼音" });
  const results = el("div", { "aria-live": "polite" });
  replace(root,
    el("div", { class: "toolbar" },
      el("div", { class: "search-bar search-inline", role: "search" }, el("label", { for: qid, class: "search-label" }, "查找人员"), q),
      el("a", { href: "#/admin/users/new", class: "btn btn-primary" }, "＋ 新建人员")),
    results);

  async function load(offset) {
    lastQuery = { q: q.value.trim(), offset };
    replace(results, loading());
    try {
      const data = await api.get("/api/admin/users", { query: { q: lastQuery.q, offset, limit: PAGE_SIZE }, signal });
      if (!data.items.length) {
        replace(results, emptyState({ title: "没有找到人员", text: lastQuery.q ? "换个关键词试试。" : "点击“新建人员”添加。" }));
        return;
      }
      replace(results, usersTable(data.items), pagination({ total: data.total, offset, limit: PAGE_SIZE, unit: "人", onChange: load }));
    } catch (err) {
      if (err.name !== "AbortError") replace(results, errorState(err, () => load(offset)));
    }
  }
  const search = debounce(() => load(0), 300);
  q.addEventListener("input", search, { signal });
  signal.addEventListener("abort", () => search.cancel());
  await load(lastQuery.offset);
}

function usersTable(items) {
  const head = ["姓名", "用户名", "部门 · 职务", "角色", "状态", "操作"];
  return el("div", { class: "table-wrap" },
    el("table", { class: "table table-stack" },
      el("caption", { class: "visually-hidden" }, "人员列表"),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, items.map((u) => el("tr", { class: u.is_active ? null : "row-muted" },
        el("td", { dataset: { label: "姓名" } }, el("strong", {}, u.name)),
        el("td", { dataset: { label: "用户名" } }, u.username),
        el("td", { dataset: { label: "部门" } }, postsText(u.posts) || "—"),
        el("td", { dataset: { label: "角色" } }, (u.role_labels || []).join("、") || "—"),
        el("td", { dataset: { label: "状态" } }, u.is_active ? el("span", { class: "tag tag-ok" }, "正常") : el("span", { class: "tag tag-off" }, "已停用")),
        el("td", { dataset: { label: "操作" } },
          el("a", { href: `#/admin/users/${u.id}`, class: "btn btn-secondary btn-small", "aria-label": `编辑 ${u.name}` }, "编辑")))))));
}

function postsText(posts) {
  return posts.map((p) => `${p.department}${p.title ? " · " + p.title : ""}${p.is_primary ? "" : "（兼职）"}`).join("；");
}

// Create -----------------------------------------------------------------------------------------

async function createPage(root, ctx) {
  const { api, signal } = ctx;
  replace(root, loading());
  let tree;
  try {
    tree = (await api.get("/api/directory/tree", { signal })).items;
  } catch (err) {
    if (err.name !== "AbortError") replace(root, errorState(err, () => createPage(root, ctx)));
    return;
  }
  const msg = formMessage();
  const f = {
    name: field({ label: "姓名", name: "name", required: true, maxlength: "50" }),
    username: field({ label: "用户名（登录用）", name: "username", required: true, maxlength: "64", autocapitalize: "off",
      spellcheck: "false", hint: "建议用姓名全拼，如 zhangwei；重名时加数字" }),
    password: field({ label: "初始密码", name: "password", type: "text", required: true, autocomplete: "off",
      hint: "至少 12 个字符；请当面或电话告知本人，并提醒其登录后修改" }),
    staff_no: field({ label: "工号", name: "staff_no", maxlength: "32" }),
    dept: field({ label: "所在部门", name: "department_id", type: "select", required: true,
      options: deptOptions(tree, { empty: "请选择部门" }), value: "" }),
    title: field({ label: "职务", name: "title", maxlength: "50", hint: "如：科员、副处长" }),
    phone: field({ label: "电话", name: "phone", type: "tel", maxlength: "40" }),
    office: field({ label: "办公室", name: "office", maxlength: "100" }),
    email: field({ label: "邮箱", name: "email", type: "email", maxlength: "200" }),
  };
  const roles = rolesFieldset(["staff"]);
  const submit = button("创建人员", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form form-grid", novalidate: true },
    Object.values(f).map((x) => x.wrap), roles.element, msg,
    el("div", { class: "actions" }, submit, el("a", { href: "#/admin/users", class: "btn btn-secondary" }, "取消")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const v = (k) => f[k].input.value.trim();
    const missing = [["name", "姓名"], ["username", "用户名"], ["password", "初始密码"], ["dept", "所在部门"]].find(([k]) => !v(k));
    if (missing) {
      f[missing[0]].input.focus();
      return msg.show(`请填写${missing[1]}`);
    }
    const body = {
      name: v("name"), username: v("username"), password: f.password.input.value, staff_no: v("staff_no"),
      phone: v("phone"), office: v("office"), email: v("email"), roles: roles.value(),
      posts: [{ department_id: Number(v("dept")), title: v("title"), is_primary: true }],
    };
    await busy(submit, "正在创建…", async () => {
      try {
        const made = await api.post("/api/admin/users", body);
        toast(`已创建 ${made.name}（${made.username}）`, "success");
        lastQuery = { q: made.username, offset: 0 };
        ctx.navigate("#/admin/users");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  replace(root, el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "新建人员"), form));
  f.name.input.focus();
}

function rolesFieldset(selected) {
  const boxes = Object.entries(ROLE_LABELS).map(([code, label]) =>
    checkbox({ label, name: "roles", value: code, checked: selected.includes(code) }));
  return {
    element: el("fieldset", { class: "fieldset roles" }, el("legend", {}, "角色（可多选）"), boxes.map((b) => b.wrap)),
    value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value),
  };
}

// Edit -------------------------------------------------------------------------------------------

async function editPage(root, ctx, id) {
  const { api, signal } = ctx;
  replace(root, loading());
  let user;
  let tree;
  try {
    [user, tree] = await Promise.all([
      api.get(`/api/directory/people/${id}`, { signal }),
      api.get("/api/directory/tree", { signal }).then((d) => d.items),
    ]);
  } catch (err) {
    if (err.name !== "AbortError") replace(root, errorState(err, () => editPage(root, ctx, id)));
    return;
  }
  const reload = () => editPage(root, ctx, id);
  replace(root,
    el("p", {}, el("a", { href: "#/admin/users", class: "back-link" }, "‹ 返回人员列表")),
    el("section", { class: "panel" },
      el("h2", { class: "panel-title" }, `${user.name}（${user.username}）`,
        user.is_active ? el("span", { class: "tag tag-ok" }, "正常") : el("span", { class: "tag tag-off" }, "已停用")),
      detailsForm(api, user)),
    el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "岗位"), postsForm(api, user, tree, reload)),
    el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "角色"), rolesForm(api, user, ctx)),
    el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "账号安全"), securityBlock(api, user, reload)));
}

function detailsForm(api, user) {
  const msg = formMessage();
  const f = {
    name: field({ label: "姓名", name: "name", value: user.name, required: true, maxlength: "50" }),
    staff_no: field({ label: "工号", name: "staff_no", value: user.staff_no, maxlength: "32" }),
    phone: field({ label: "电话", name: "phone", type: "tel", value: user.phone, maxlength: "40" }),
    office: field({ label: "办公室", name: "office", value: user.office, maxlength: "100" }),
    email: field({ label: "邮箱", name: "email", type: "email", value: user.email, maxlength: "200" }),
  };
  const save = button("保存基本信息", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form form-grid", novalidate: true }, Object.values(f).map((x) => x.wrap), msg,
    el("div", { class: "actions" }, save));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const body = Object.fromEntries(Object.entries(f).map(([k, x]) => [k, x.input.value.trim()]));
    if (!body.name) return msg.show("姓名不能为空");
    await busy(save, "正在保存…", async () => {
      try {
        await api.patch(`/api/admin/users/${user.id}`, body);
        msg.show("基本信息已保存", "success");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  return form;
}

function postsForm(api, user, tree, reload) {
  const msg = formMessage();
  const list = el("div", { class: "posts-edit" });
  const radioName = uid("primary");
  const rows = [];
  function addRow(p = { department_id: "", title: "", is_primary: rows.length === 0 }) {
    const dept = field({ label: "部门", name: "department_id", type: "select", options: deptOptions(tree, { empty: "请选择部门" }),
      value: p.department_id });
    const title = field({ label: "职务", name: "title", value: p.title, maxlength: "50" });
    const primary = checkbox({ label: "主岗（其余为兼职）", name: radioName, checked: p.is_primary });
    primary.input.type = "radio";
    const row = el("fieldset", { class: "post-row" }, el("legend", { class: "visually-hidden" }, "岗位"),
      dept.wrap, title.wrap, primary.wrap,
      button("移除", () => {
        rows.splice(rows.indexOf(entry), 1);
        row.remove();
      }, { kind: "link" }));
    const entry = { dept, title, primary, row };
    rows.push(entry);
    list.appendChild(row);
  }
  (user.posts.length ? user.posts : [undefined]).forEach((p) => addRow(p));
  const save = button("保存岗位", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form", novalidate: true },
    el("p", { class: "hint" }, "一人可在多个部门任职：主岗决定其所在部门，其余显示为“兼职”。"),
    list, el("div", { class: "actions" }, button("＋ 添加兼职", () => addRow({ department_id: "", title: "", is_primary: false })), save), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const posts = rows.map((r) => ({
      department_id: Number(r.dept.input.value), title: r.title.input.value.trim(), is_primary: r.primary.input.checked,
    }));
    if (posts.some((p) => !p.department_id)) return msg.show("每个岗位都要选择部门");
    if (posts.length && !posts.some((p) => p.is_primary)) posts[0].is_primary = true;
    await busy(save, "正在保存…", async () => {
      try {
        await api.put(`/api/admin/users/${user.id}/posts`, { posts });
        toast("岗位已保存", "success");
        reload();
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  return form;
}

function rolesForm(api, user, ctx) {
  const msg = formMessage();
  const roles = rolesFieldset(user.roles || []);
  const save = button("保存角色", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form", novalidate: true }, roles.element, msg, el("div", { class: "actions" }, save));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const chosen = roles.value();
    if (user.id === ctx.me.id && !chosen.includes("admin")) {
      const ok = await confirmDialog({ title: "取消自己的管理员角色", danger: true, confirmText: "确定取消",
        message: "保存后您将不能再进入“管理”。确定吗？" });
      if (!ok) return;
    }
    await busy(save, "正在保存…", async () => {
      try {
        const saved = await api.put(`/api/admin/users/${user.id}/roles`, { roles: chosen });
        msg.show(`角色已保存：${(saved.role_labels || []).join("、") || "无"}`, "success");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  return form;
}

function securityBlock(api, user, reload) {
  const msg = formMessage();
  const pwd = field({ label: "新密码", name: "password", type: "text", autocomplete: "off",
    hint: "至少 12 个字符。重置后该人员在所有设备上都会退出登录。" });
  const resetBtn = button("重置密码", null, { kind: "secondary", type: "submit" });
  const form = el("form", { class: "form form-narrow", novalidate: true }, pwd.wrap, msg, el("div", { class: "actions" }, resetBtn));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    if (!pwd.input.value) return msg.show("请填写新密码");
    const ok = await confirmDialog({ title: "重置密码", message: `确定把 ${user.name} 的密码重置为新密码吗？`, confirmText: "确定重置" });
    if (!ok) return;
    await busy(resetBtn, "正在重置…", async () => {
      try {
        await api.post(`/api/admin/users/${user.id}/reset-password`, { password: pwd.input.value });
        form.reset();
        msg.show("密码已重置，请告知本人。", "success");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  const toggle = user.is_active
    ? button("停用账号", async () => {
      const ok = await confirmDialog({ title: "停用账号", danger: true, confirmText: "确定停用",
        message: `停用后 ${user.name} 将无法登录，已登录的设备会立即退出。可随时重新启用。确定停用吗？` });
      if (!ok) return;
      try {
        await api.post(`/api/admin/users/${user.id}/disable`);
        toast(`已停用 ${user.name}`, "success");
        reload();
      } catch (err) {
        toast(err.message, "error");
      }
    }, { kind: "danger" })
    : button("重新启用账号", async () => {
      const ok = await confirmDialog({ title: "启用账号", confirmText: "确定启用", message: `确定重新启用 ${user.name} 的账号吗？` });
      if (!ok) return;
      try {
        await api.post(`/api/admin/users/${user.id}/enable`);
        toast(`已启用 ${user.name}`, "success");
        reload();
      } catch (err) {
        toast(err.message, "error");
      }
    }, { kind: "primary" });
  return el("div", {}, form, el("div", { class: "actions danger-zone" }, toggle));
}
