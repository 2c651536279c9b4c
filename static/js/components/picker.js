// One people-and-department picker for every form that names colleagues or departments: 传阅人,
// 主办/协办部门, 代参会人, seal holders, group members, 分发 agencies, route steps.
//
// Find by name, full pinyin or initials (people through /api/directory/search, which already knows
// "zhangwei" and "zw"; departments through the tree, whose nodes carry their pinyin), or browse the
// department tree and pick from a department's members. The search box is an ARIA 1.2 combobox
// over a listbox (↑/↓ move, Enter picks, Esc closes then clears, Backspace on an empty box removes
// the last pick); the chosen appear as chips, each with its own 移除 button.
//
//   const p = picker({ api: ctx.api, label: "传阅人", kind: "people", multiple: true, agencyId: ctx.me.agency_id });
//   form.append(p.element);  …  p.ids() → [12, 7]      p.value() → [{type, id, name, meta}]
//
// kind: "people" | "departments" | "agencies" (机关, e.g. 主送) | "any" (people and departments).
// agencyId: offer only that agency's departments and people (the server checks again).
// onPick(item): instead of keeping chips, hand each pick to the caller (which lists them itself);
// isChosen(item) then says which options to show as chosen.

import { el, replace, uid, debounce, newestWins, loadCss } from "../ui.js";
import { deptTree } from "./tree.js";

const TYPE_PERSON = "person";
const TYPE_DEPT = "department";

export function picker({
  api, label, kind = "people", multiple = false, agencyId = null, value = [], hint = "", required = false,
  placeholder, onChange, onPick, isChosen,
}) {
  loadCss("picker");
  const id = uid("pick");
  const listId = `${id}-list`;
  const browseId = `${id}-browse`;
  const statusId = `${id}-status`;
  const wantsPeople = kind === "people" || kind === "any";
  const wantsDepts = kind !== "people";
  let chosen = value.map(normal);
  let options = []; // the items the open listbox shows
  let active = -1;
  let treePromise = null;

  const input = el("input", {
    id, type: "text", class: "picker-input", autocomplete: "off", spellcheck: "false",
    role: "combobox", "aria-expanded": "false", "aria-controls": listId, "aria-autocomplete": "list",
    "aria-describedby": [hint ? `${id}-hint` : null, statusId].filter(Boolean).join(" "),
    placeholder: placeholder || defaultPlaceholder(kind),
    required: required && !chosen.length,
  });
  const list = el("ul", {
    id: listId, class: "picker-list", role: "listbox", hidden: true, "aria-label": `${label}：查找结果`,
    "aria-multiselectable": multiple ? "true" : null,
  });
  const status = el("p", { id: statusId, class: "picker-status", role: "status", "aria-live": "polite" });
  const chips = el("ul", { class: "picker-chips", "aria-label": `已选${label}` });
  const browseBtn = el("button", {
    type: "button", class: "btn btn-secondary btn-small picker-browse-btn", "aria-expanded": "false",
    "aria-controls": browseId, onclick: () => toggleBrowse(),
  }, kind === "agencies" ? "浏览机关" : "按部门浏览");
  const browse = el("div", { id: browseId, class: "picker-browse", hidden: true });
  const element = el("div", { class: "picker field", dataset: { kind } },
    el("label", { for: id }, label, required ? el("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    onPick ? null : chips,
    el("div", { class: "picker-bar" }, input, browseBtn),
    list, status, browse);

  // Search ---------------------------------------------------------------------------------------

  const search = newestWins(async (stale, q) => {
    if (!q) return close();
    const found = [];
    if (wantsDepts) found.push(...matchDepartments(await loadTree(), q));
    if (stale()) return;
    if (wantsPeople) {
      try {
        const { items } = await api.get("/api/directory/search", { query: { q, limit: agencyId ? 60 : 20 } });
        if (stale()) return;
        found.push(...items.filter(inAgency).slice(0, 20).map(personItem));
      } catch (err) {
        if (stale()) return;
        status.textContent = err.message || "查找失败，请稍后再试";
        return close();
      }
    }
    show(found, found.length ? `找到 ${found.length} 项，按 ↓ 选择` : "没有找到，请换个写法，例如全拼或首字母");
  });
  const typed = debounce(() => search(input.value.trim()), 200);
  input.addEventListener("input", () => typed());
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => setTimeout(() => {
    if (!element.contains(document.activeElement)) close();
  }, 150));

  function onKey(e) {
    const open = !list.hidden;
    switch (e.key) {
      case "ArrowDown":
        if (!open) { typed.cancel(); search(input.value.trim()); } else move(1);
        break;
      case "ArrowUp":
        if (open) move(-1);
        break;
      case "Home": case "End":
        if (!open) return;
        move(e.key === "Home" ? -Infinity : Infinity);
        break;
      case "Enter":
        if (!open) return; // let the form submit
        pick(options[active >= 0 ? active : 0]);
        break;
      case "Escape":
        if (open) close();
        else if (input.value) input.value = "";
        else return;
        e.stopPropagation(); // a dialog around the picker stays open
        break;
      case "Backspace":
        if (input.value || !chosen.length || onPick) return;
        remove(chosen[chosen.length - 1]);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  function move(by) {
    if (!options.length) return;
    const next = by === -Infinity ? 0 : by === Infinity ? options.length - 1
      : active < 0 ? (by > 0 ? 0 : options.length - 1) : (active + by + options.length) % options.length;
    setActive(next);
  }

  function setActive(i) {
    active = i;
    for (const [n, li] of [...list.children].entries()) li.classList.toggle("is-active", n === i);
    const li = list.children[i];
    if (li) {
      input.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  }

  function show(items, message) {
    options = items;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    status.textContent = message;
    replace(list, items.map((item, i) => optionNode(item, `${listId}-${i}`, () => pick(item))));
    list.hidden = !items.length;
    input.setAttribute("aria-expanded", String(!list.hidden));
  }

  function close() {
    options = [];
    active = -1;
    list.hidden = true;
    replace(list);
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  // Choosing ---------------------------------------------------------------------------------------

  function has(item) {
    if (onPick) return isChosen ? !!isChosen(item) : false;
    return chosen.some((c) => same(c, item));
  }

  function pick(item, { keepOpen = false } = {}) {
    if (!item) return;
    if (onPick) {
      onPick(item);
      status.textContent = `已选择${item.name}`;
    } else if (has(item)) {
      if (multiple) return remove(item, { refocus: !keepOpen });
      status.textContent = `已选择${item.name}`;
    } else {
      chosen = multiple ? [...chosen, item] : [item];
      status.textContent = `已选择${item.name}`;
      changed();
    }
    if (!keepOpen) {
      input.value = "";
      close();
      input.focus();
    }
    refreshBrowse();
  }

  function remove(item, { refocus = true } = {}) {
    chosen = chosen.filter((c) => !same(c, item));
    status.textContent = `已移除${item.name}`;
    changed();
    refreshBrowse();
    if (refocus) input.focus();
  }

  function changed() {
    input.required = required && !chosen.length;
    drawChips();
    if (onChange) onChange(chosen.slice());
  }

  function drawChips() {
    replace(chips, chosen.map((c) => el("li", { class: "picker-chip" },
      el("span", { class: "picker-chip-name" }, c.name),
      c.meta ? el("span", { class: "picker-chip-meta" }, c.meta) : null,
      el("button", { type: "button", class: "picker-chip-x", "aria-label": `移除${c.name}`, onclick: () => remove(c) }, "×"))));
    chips.hidden = !chosen.length;
  }

  function optionNode(item, optionId, onclick) {
    return el("li", {
      id: optionId, role: "option", class: "picker-option", "aria-selected": String(has(item)),
      onmousedown: (e) => e.preventDefault(), // keep focus in the box
      onclick,
    },
    el("span", { class: "picker-option-name" }, item.name),
    item.meta ? el("span", { class: "picker-option-meta" }, item.meta) : null);
  }

  // Browsing the tree ------------------------------------------------------------------------------

  let members = null; // {list, dept} while a department's members are shown
  function loadTree() {
    treePromise ||= api.get("/api/directory/tree").then((d) => scopeTree(d.items)).catch((err) => {
      treePromise = null;
      throw err;
    });
    return treePromise;
  }

  function scopeTree(items) {
    let roots = items;
    if (agencyId != null) roots = flatten(items).filter((n) => n.id === agencyId);
    if (kind === "agencies") roots = flatten(items).filter((n) => n.kind === "agency").map((n) => ({ ...n, children: [] }));
    return roots;
  }

  async function toggleBrowse() {
    const open = browse.hidden;
    browse.hidden = !open;
    browseBtn.setAttribute("aria-expanded", String(open));
    if (!open || browse.childElementCount) return;
    replace(browse, el("p", { class: "hint" }, "正在加载部门…"));
    let roots;
    try {
      roots = await loadTree();
    } catch (err) {
      replace(browse, el("p", { class: "form-msg form-msg-error" }, err.message || "无法加载部门"));
      return;
    }
    const tree = deptTree({
      items: roots, label: `${label}：部门`, expandDepth: 1, selectedId: null,
      onSelect: (node) => (wantsPeople ? showMembers(node) : pickable(node) && pick(deptItem(node), { keepOpen: true })),
      countOf: wantsPeople ? (n) => (n.kind === "agency" ? null : n.member_count) : null,
    });
    const hintText = wantsPeople ? "选择部门，再从右侧人员中点选。" : "选择部门即加入（再选一次移除）。";
    replace(browse, el("p", { class: "hint" }, hintText),
      el("div", { class: wantsPeople ? "picker-browse-grid" : "picker-browse-one" },
        el("div", { class: "picker-tree" }, tree.element),
        wantsPeople ? (members = { box: el("div", { class: "picker-members" }), dept: null }).box : null));
  }

  async function showMembers(node) {
    if (!members) return;
    members.dept = node;
    const head = el("p", { class: "picker-members-title" }, node.name);
    const whole = kind === "any" && pickable(node)
      ? el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => pick(deptItem(node), { keepOpen: true }) },
        has(deptItem(node)) ? `移除整个${node.name}` : `选择整个${node.name}`)
      : null;
    members.whole = whole;
    replace(members.box, head, whole, el("p", { class: "hint" }, "正在加载…"));
    try {
      const data = await api.get(`/api/directory/departments/${node.id}/members`, { query: { limit: 200 } });
      if (members.dept !== node) return;
      members.redraw = null;
      const people = data.items.map((p) => personItem(p, node));
      replace(members.box, head, whole, people.length ? memberList(node, people)
        : el("p", { class: "hint" }, node.children?.length ? "本部门暂无人员，请选择下级部门。" : "本部门暂无人员。"));
    } catch (err) {
      replace(members.box, head, el("p", { class: "form-msg form-msg-error" }, err.message || "无法加载人员"));
    }
  }

  function memberList(node, people) {
    // A listbox that keeps focus itself (aria-activedescendant): ↑/↓ move, Enter or Space picks.
    const box = el("ul", {
      class: "picker-list picker-members-list", role: "listbox", tabindex: "0", "aria-label": `${node.name}的人员`,
      "aria-multiselectable": multiple ? "true" : null,
    });
    let at = 0;
    const ids = people.map((_, i) => `${browseId}-m${node.id}-${i}`);
    const draw = () => {
      replace(box, people.map((p, i) => {
        const li = optionNode(p, ids[i], () => { at = i; pick(p, { keepOpen: true }); box.focus(); });
        li.classList.toggle("is-active", i === at);
        return li;
      }));
      box.setAttribute("aria-activedescendant", ids[at]);
    };
    box.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") at = Math.min(at + 1, people.length - 1);
      else if (e.key === "ArrowUp") at = Math.max(at - 1, 0);
      else if (e.key === "Home") at = 0;
      else if (e.key === "End") at = people.length - 1;
      else if (e.key === "Enter" || e.key === " ") pick(people[at], { keepOpen: true });
      else return;
      e.preventDefault();
      draw();
      box.querySelector(".is-active")?.scrollIntoView({ block: "nearest" });
    });
    members.redraw = draw;
    draw();
    return box;
  }

  function refreshBrowse() {
    if (!members?.box.isConnected) return;
    if (members.redraw) members.redraw();
    if (members.whole) members.whole.textContent = `${has(deptItem(members.dept)) ? "移除" : "选择"}整个${members.dept.name}`;
  }

  // Items -------------------------------------------------------------------------------------------

  function inAgency(p) {
    return agencyId == null || (p.posts || []).some((x) => x.agency_id === agencyId) || p.agency_id === agencyId;
  }

  function pickable(node) {
    if (kind === "agencies") return node.kind === "agency";
    return node.kind === "department" && (agencyId == null || node.agency_id === agencyId);
  }

  function matchDepartments(roots, q) {
    const needle = q.toLowerCase();
    const scored = [];
    for (const n of flatten(roots)) {
      if (!pickable(n)) continue;
      const name = n.name.toLowerCase();
      const score = name === needle ? 0 : name.startsWith(needle) ? 1 : (n.initials || "").startsWith(needle) ? 2
        : (n.pinyin || "").startsWith(needle) ? 2 : name.includes(needle) ? 3 : (n.code || "").toLowerCase() === needle ? 3 : -1;
      if (score >= 0) scored.push([score, n]);
    }
    const byId = new Map(flatten(roots).map((n) => [n.id, n]));
    return scored.sort((a, b) => a[0] - b[0]).slice(0, 12).map(([, n]) => deptItem(n, byId.get(n.parent_id)));
  }

  drawChips();
  return {
    element,
    input,
    value: () => chosen.slice(),
    ids: () => chosen.map((c) => c.id),
    set(items) { chosen = items.map(normal); changed(); },
    clear() { chosen = []; changed(); },
    focus: () => input.focus(),
  };
}

function defaultPlaceholder(kind) {
  return { people: "输入姓名、全拼或首字母，如 zhangwei、zw", departments: "输入部门名称或拼音首字母",
    agencies: "输入机关名称、代字或拼音首字母", any: "输入姓名、部门名称或拼音" }[kind];
}

function personItem(p, inDept = null) {
  const post = (inDept && (p.posts || []).find((x) => x.department_id === inDept.id))
    || (p.posts || []).find((x) => x.is_primary) || {};
  const dept = post.department || p.department || "";
  const title = post.title || p.title || "";
  return { type: TYPE_PERSON, id: p.id, name: p.name, meta: [dept, title].filter(Boolean).join(" · ") };
}

function deptItem(n, parent = null) {
  return { type: TYPE_DEPT, id: n.id, name: n.name, meta: n.kind === "agency" ? (n.code || "") : (parent?.name || "") };
}

function normal(item) {
  return { type: item.type || TYPE_PERSON, id: Number(item.id), name: item.name || `#${item.id}`, meta: item.meta || "" };
}

function same(a, b) {
  return a.type === b.type && a.id === b.id;
}

function flatten(items, out = []) {
  for (const n of items) {
    out.push(n);
    flatten(n.children || [], out);
  }
  return out;
}
