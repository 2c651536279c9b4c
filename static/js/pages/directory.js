// 通讯录: department tree, members of the chosen department (paged), search as you type
// (name, pinyin "zhangwei", initials "zw", title, department), and a person card.

import { el, replace, loading, emptyState, errorState, pagination, debounce, openDialog, button, uid } from "../ui.js";
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
          : emptyState({ title: "本部门暂无人员", text: dept.children?.length ? "请在左侧选择下级部门。" : "" }),
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
      el("button", { type: "button", class: "person", onclick: () => personCard(api, p.id) },
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

/** The person card dialog; exported so other pages (messages, docs…) can show it too. */
export async function personCard(api, personId) {
  const body = el("div", { class: "card-body" }, loading());
  const ui = openDialog({ title: "人员信息", body, actions: [button("关闭", () => ui.close(), { kind: "secondary" })] });
  try {
    const p = await api.get(`/api/directory/people/${personId}`);
    ui.dialog.querySelector(".dialog-title").textContent = p.name;
    const primary = p.posts.find((x) => x.is_primary) || p.posts[0];
    const others = p.posts.filter((x) => x !== primary);
    const rows = [
      ["职务", p.title || primary?.title],
      ["部门", p.department || primary?.department],
      others.length ? ["兼职", el("ul", { class: "plain" }, others.map((o) => el("li", {}, [o.department, o.title].filter(Boolean).join(" · "))))] : null,
      ["电话", p.phone ? el("a", { href: `tel:${p.phone.replace(/[^\d+]/g, "")}` }, p.phone) : null],
      ["办公室", p.office],
      ["邮箱", p.email ? el("a", { href: `mailto:${p.email}` }, p.email) : null],
    ].filter(Boolean);
    replace(body,
      el("div", { class: "card-head" },
        el("span", { class: "avatar avatar-lg", "aria-hidden": "true" }, (p.name || "?").slice(-2)),
        el("div", {},
          el("p", { class: "card-name" }, p.name),
          p.role_labels?.length ? el("p", { class: "card-roles" }, p.role_labels.join("、")) : null)),
      el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v || "未填写")])));
  } catch (err) {
    replace(body, errorState(err));
  }
}
