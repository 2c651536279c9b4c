// An accessible, collapsible department tree (WAI-ARIA "treeview" pattern).
//
// Keyboard: ↑/↓ move, → opens a branch or goes to its first child, ← closes it or goes to the
// parent, Home/End jump, Enter/Space select. One item is in the tab order at a time (roving
// tabindex), so Tab leaves the tree in one step.
//
//   const t = deptTree({ items, label: "部门", selectedId, onSelect: (node) => …, countOf: (n) => n.member_count });
//   container.append(t.element);  t.select(id);

import { el } from "../ui.js";

export function deptTree({ items, label, selectedId = null, onSelect, countOf, expandDepth = 1 }) {
  const byId = new Map();
  const parentOf = new Map();
  const expanded = new Set();
  let current = selectedId;

  (function walk(nodes, parent, depth) {
    for (const n of nodes) {
      byId.set(n.id, n);
      parentOf.set(n.id, parent);
      if (depth < expandDepth && n.children?.length) expanded.add(n.id);
      walk(n.children || [], n.id, depth + 1);
    }
  })(items, null, 0);
  // Make sure the selected node is visible.
  for (let p = parentOf.get(selectedId); p != null; p = parentOf.get(p)) expanded.add(p);

  const root = el("ul", { class: "tree", role: "tree", "aria-label": label });
  root.addEventListener("keydown", onKey);

  function render() {
    const focused = document.activeElement?.closest?.(".tree-item")?.dataset.id;
    root.replaceChildren(...items.map((n) => renderNode(n, 1)));
    const tabbable = root.querySelector(`[data-id="${current}"]`) || root.querySelector(".tree-item");
    if (tabbable) tabbable.tabIndex = 0;
    if (focused) root.querySelector(`[data-id="${focused}"]`)?.focus();
  }

  function renderNode(n, level) {
    const hasKids = !!n.children?.length;
    const open = expanded.has(n.id);
    const count = countOf ? countOf(n) : null;
    const item = el("li", {
      class: ["tree-item", n.kind === "agency" && "tree-agency"],
      role: "treeitem",
      tabindex: "-1",
      "aria-level": String(level),
      "aria-selected": String(n.id === current),
      "aria-expanded": hasKids ? String(open) : null,
      dataset: { id: String(n.id) },
    },
    el("div", { class: "tree-row", onclick: (e) => { e.stopPropagation(); choose(n.id, true); } },
      el("span", {
        class: ["tree-toggle", hasKids && (open ? "is-open" : "is-closed")],
        "aria-hidden": "true",
        onclick: hasKids ? (e) => { e.stopPropagation(); toggle(n.id); } : null,
      }, hasKids ? (open ? "▾" : "▸") : ""),
      el("span", { class: "tree-name" }, n.name),
      count !== null && count !== undefined ? el("span", { class: "tree-count" }, `${count} 人`) : null),
    hasKids && open ? el("ul", { role: "group" }, n.children.map((c) => renderNode(c, level + 1))) : null);
    return item;
  }

  function visibleItems() {
    return [...root.querySelectorAll(".tree-item")];
  }

  function focusItem(item) {
    if (!item) return;
    for (const i of root.querySelectorAll('.tree-item[tabindex="0"]')) i.tabIndex = -1;
    item.tabIndex = 0;
    item.focus();
  }

  function toggle(id, force) {
    const open = force ?? !expanded.has(id);
    if (open) expanded.add(id);
    else expanded.delete(id);
    render();
    focusItem(root.querySelector(`[data-id="${id}"]`));
  }

  function choose(id, fromClick = false) {
    current = id;
    const node = byId.get(id);
    if (fromClick && node.children?.length && !expanded.has(id)) expanded.add(id);
    render();
    focusItem(root.querySelector(`[data-id="${id}"]`));
    if (onSelect) onSelect(node);
  }

  function onKey(e) {
    const item = e.target.closest(".tree-item");
    if (!item) return;
    const id = Number(item.dataset.id);
    const node = byId.get(id);
    const list = visibleItems();
    const idx = list.indexOf(item);
    const hasKids = !!node.children?.length;
    switch (e.key) {
      case "ArrowDown": focusItem(list[idx + 1]); break;
      case "ArrowUp": focusItem(list[idx - 1]); break;
      case "Home": focusItem(list[0]); break;
      case "End": focusItem(list[list.length - 1]); break;
      case "ArrowRight":
        if (hasKids && !expanded.has(id)) toggle(id, true);
        else if (hasKids) focusItem(root.querySelector(`[data-id="${node.children[0].id}"]`));
        break;
      case "ArrowLeft":
        if (hasKids && expanded.has(id)) toggle(id, false);
        else if (parentOf.get(id) != null) focusItem(root.querySelector(`[data-id="${parentOf.get(id)}"]`));
        break;
      case "Enter":
      case " ":
        choose(id);
        break;
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  render();
  return {
    element: root,
    select: (id) => choose(id),
    node: (id) => byId.get(id),
  };
}

/** Flatten a tree into [{id, name, depth, kind, node}] in display order (for <select> options). */
export function flattenTree(items, depth = 0, out = []) {
  for (const n of items) {
    out.push({ id: n.id, name: n.name, depth, kind: n.kind, node: n });
    flattenTree(n.children || [], depth + 1, out);
  }
  return out;
}

/** Options for a department <select>: nested names indented with full-width spaces. */
export function deptOptions(items, { empty } = {}) {
  const opts = flattenTree(items).map((d) => ({ value: d.id, label: "\u3000".repeat(d.depth) + d.name }));
  return empty ? [{ value: "", label: empty }, ...opts] : opts;
}
