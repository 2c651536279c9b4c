// 通讯录: department tree, members of the chosen department (paged), search as you type
// (name, pinyin "zhangwei", initials "zw", title, department), and a person card.

import { el, replace, loading, emptyState, errorState, pagination, debounce, openDialog, button, uid, busy, field, toast } from "../ui.js";
import { newClientId } from "../api.js";
import { deptTree } from "../components/tree.js";

const PAGE_SIZE = 20;
// Remember the chosen department while the tab stays open.
let lastDept = null;

export async function render(root, ctx) {
  const { api, signal } = ctx;
  const searchId = uid("dir-q");
  const search = el("input", {
    id: searchId, type: "search", class: "search-input", autocomplete: "off", spellcheck: "false",
    placeholder: "例如：张伟、zhangwei、zw、处长", "aria-describedby": `${searchId}-hint`,
  });
  const treeBox = el("div", { class: "panel dir-tree" }, loading("正在加载部门…"));
  const list = el("section", { class: "panel dir-list", "aria-live": "polite" });
  replace(root,
    el("h1", {}, "通讯录"),
    el("div", { class: "search-bar", role: "search" },
      el("label", { for: searchId, class: "search-label" }, "查找同事"),
      el("p", { id: `${searchId}-hint`, class: "hint" }, "可输入姓名、全拼、首字母、职务或部门"),
      search),
    el("div", { class: "dir-layout" }, treeBox, list));

  let tree;
  try {
    tree = (await api.get("/api/directory/tree", { signal })).items;
  } catch (err) {
    if (err.name === "AbortError") return;
    replace(treeBox, errorState(err, () => ctx.navigate("#/directory")));
    return;
  }
  if (!tree.length) {
    replace(treeBox, emptyState({ title: "还没有部门", text: "管理员导入组织架构后，这里会显示部门。" }));
    return;
  }
  const myDept = ctx.me.department_id;
  const start = lastDept ?? myDept ?? firstDepartment(tree)?.id ?? tree[0].id;
  const treeView = deptTree({
    items: tree,
    label: "部门",
    selectedId: start,
    expandDepth: 1,
    countOf: (n) => (n.kind === "agency" && !n.member_count ? null : n.member_count),
    onSelect: (n) => {
      lastDept = n.id;
      search.value = "";
      showMembers(n, 0);
    },
  });
  replace(treeBox, el("h2", { class: "panel-title" }, "部门"), treeView.element);

  async function showMembers(dept, offset) {
    replace(list, el("h2", { class: "panel-title" }, dept.name), loading());
    try {
      const data = await api.get(`/api/directory/departments/${dept.id}/members`, {
        query: { offset, limit: PAGE_SIZE }, signal,
      });
      const items = data.items.map((p) => personRow(p, dept.id));
      replace(list,
        el("h2", { class: "panel-title" }, dept.name, el("span", { class: "panel-count" }, `${data.total} 人`)),
        items.length ? el("ul", { class: "people" }, items)
          : emptyState({ title: "本部门暂无人员", text: dept.children?.length ? "请在“部门”里选择下级部门。" : "" }),
        pagination({ total: data.total, offset, limit: PAGE_SIZE, unit: "人", onChange: (o) => showMembers(dept, o) }));
    } catch (err) {
      if (err.name === "AbortError") return;
      replace(list, errorState(err, () => showMembers(dept, offset)));
    }
  }

  function personRow(p, inDept) {
    const post = (inDept && p.posts.find((x) => x.department_id === inDept)) || p.posts.find((x) => x.is_primary) || {};
    const concurrent = inDept && post.department_id === inDept && !post.is_primary;
    return el("li", {},
      el("button", { type: "button", class: "person", onclick: () => personCard(ctx, p.id) },
        el("span", { class: "avatar", "aria-hidden": "true" }, (p.name || "?").slice(-2)),
        el("span", { class: "person-main" },
          el("span", { class: "person-name" }, p.name),
          el("span", { class: "person-meta" },
            [post.title || p.title, post.department || p.department].filter(Boolean).join(" · "),
            concurrent ? el("span", { class: "tag" }, "兼职") : null)),
        p.phone ? el("span", { class: "person-phone" }, p.phone) : null));
  }

  let seq = 0;
  const runSearch = debounce(async () => {
    const q = search.value.trim();
    const mine = ++seq;
    if (!q) {
      const dept = treeView.node(lastDept ?? start);
      if (dept) showMembers(dept, 0);
      return;
    }
    replace(list, el("h2", { class: "panel-title" }, "查找结果"), loading("正在查找…"));
    try {
      const { items } = await api.get("/api/directory/search", { query: { q, limit: 30 }, signal });
      if (mine !== seq) return; // a newer search is on its way
      replace(list,
        el("h2", { class: "panel-title" }, `“${q}”的查找结果`, el("span", { class: "panel-count" }, `${items.length} 人`)),
        items.length ? el("ul", { class: "people" }, items.map((p) => personRow(p, null)))
          : emptyState({ title: "没有找到", text: "请换个写法试试，例如姓名的全拼或首字母。", icon: "search" }));
    } catch (err) {
      if (err.name === "AbortError" || mine !== seq) return;
      replace(list, errorState(err, runSearch));
    }
  }, 250);
  search.addEventListener("input", runSearch, { signal });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && search.value) {
      search.value = "";
      runSearch();
    }
  }, { signal });
  signal.addEventListener("abort", () => runSearch.cancel());

  const dept = treeView.node(start);
  if (dept) showMembers(dept, 0);
}

function firstDepartment(items) {
  for (const n of items) {
    if (n.kind === "department") return n;
    const found = firstDepartment(n.children || []);
    if (found) return found;
  }
  return null;
}

/**
 * The person card: who they are by post (部门 and 职务 for each post; system roles only for
 * administrators, whom the server sends them to), and what one does with a colleague: 发消息 (the
 * one-to-one conversation, opened or created), 发DING, 电话. Exported so other pages can show it.
 */
export async function personCard(ctx, personId) {
  const { api } = ctx;
  const body = el("div", { class: "card-body" }, loading());
  const ui = openDialog({ title: "人员信息", body, actions: [button("关闭", () => ui.close(), { kind: "secondary" })] });
  try {
    const p = await api.get(`/api/directory/people/${personId}`);
    ui.dialog.querySelector(".dialog-title").textContent = p.name;
    const primary = p.posts.find((x) => x.is_primary) || p.posts[0];
    const others = p.posts.filter((x) => x !== primary);
    const postLine = (x) => [x.department, x.title].filter(Boolean).join(" · ");
    const rows = [
      ["职务", primary?.title || p.title],
      ["部门", primary?.department || p.department],
      others.length ? ["兼职", el("ul", { class: "plain" }, others.map((o) => el("li", {}, postLine(o))))] : null,
      ["电话", p.phone ? el("a", { href: telHref(p.phone) }, p.phone) : null],
      ["办公室", p.office],
      ["邮箱", p.email ? el("a", { href: `mailto:${p.email}` }, p.email) : null],
      p.role_labels?.length ? ["系统角色", p.role_labels.join("、")] : null,
    ].filter(Boolean);
    replace(body,
      el("div", { class: "card-head" },
        el("span", { class: "avatar avatar-lg", "aria-hidden": "true" }, (p.name || "?").slice(-2)),
        el("div", {},
          el("p", { class: "card-name" }, p.name),
          primary ? el("p", { class: "card-post" }, postLine(primary)) : null)),
      personActions(ctx, p, ui),
      el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v || "未填写")])));
  } catch (err) {
    replace(body, errorState(err));
  }
}

function telHref(phone) {
  return `tel:${phone.replace(/[^\d+]/g, "")}`;
}

function personActions(ctx, p, ui) {
  const self = ctx.me && ctx.me.id === p.id;
  const ding = el("div", { class: "card-ding", hidden: true });
  const openChat = async () => {
    const conv = await ctx.api.post("/api/messages/direct", { user_id: p.id });
    return conv.id;
  };
  const message = button("发消息", (e) => busy(e.currentTarget, "正在打开…", async () => {
    try {
      const id = await openChat();
      ui.close();
      ctx.navigate(`#/messages/${id}`);
    } catch (err) { toast(err.message, "error"); }
  }), { kind: "primary" });
  const dingButton = button("发DING", () => {
    ding.hidden = !ding.hidden;
    dingButton.setAttribute("aria-expanded", String(!ding.hidden));
    if (!ding.hidden) ding.querySelector("textarea").focus();
  }, { kind: "secondary", "aria-expanded": "false", "aria-controls": `ding-${p.id}` });
  ding.id = `ding-${p.id}`;
  const text = field({ label: `DING ${p.name}（对方确认前会持续提醒）`, name: "ding", type: "textarea", rows: 2, maxlength: 2000 });
  const send = button("发送 DING", (e) => busy(e.currentTarget, "正在发送…", async () => {
    const words = text.input.value.trim();
    if (!words) { toast("请填写 DING 的内容", "error"); text.input.focus(); return; }
    try {
      const id = await openChat();
      await ctx.api.post(`/api/messages/conversations/${id}/messages`, { text: words, ding: true, client_id: newClientId() });
      toast(`已向${p.name}发出 DING`, "success");
      text.input.value = "";
      ding.hidden = true;
      dingButton.setAttribute("aria-expanded", "false");
    } catch (err) { toast(err.message, "error"); }
  }), { kind: "primary" });
  ding.append(text.wrap, el("div", { class: "actions" }, send));
  const phone = p.phone ? el("a", { class: "btn btn-secondary", href: telHref(p.phone), "aria-label": `电话 ${p.phone}` }, "电话") : null;
  if (self) return phone ? el("div", { class: "actions card-actions" }, phone) : null;
  return [el("div", { class: "actions card-actions" }, message, dingButton, phone), ding];
}
