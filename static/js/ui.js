// Small DOM helpers shared by the shell and every page module.
//
// Rule: user data only ever reaches the page through textContent / attributes set here, never
// through innerHTML, so a name like "<img onerror=…>" is shown as text. Inline style attributes
// are blocked by the CSP (style-src 'self'); use classes, or element.style from JS.

import { beijingDate, formatter } from "./time.js";

let uidCounter = 0;

/** A unique id for label/input pairs: uid("pwd") -> "pwd-7". */
export function uid(prefix = "id") {
  uidCounter += 1;
  return `${prefix}-${uidCounter}`;
}

const PROPS = new Set(["value", "checked", "selected", "disabled", "readOnly", "required", "multiple", "indeterminate"]);

/**
 * Build an element: el("button", {class: "btn", onclick: fn, type: "button"}, "保存").
 * attrs: class, text, dataset {}, style {} (CSSOM, CSP-safe), on<event>: function,
 * value/checked/disabled… as properties, true -> empty attribute, false/null -> skipped.
 * Children: nodes, strings (as text), numbers, arrays, null/false (skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * A page's own stylesheet, added once: loadCss("docs") -> /static/css/docs.css. The promise resolves
 * when the rules apply (at once if they already do), for a page that measures its layout.
 */
export function loadCss(name) {
  let link = document.querySelector(`link[data-page-css="${name}"]`);
  if (!link) {
    link = el("link", { rel: "stylesheet", href: `/static/css/${name}.css`, dataset: { pageCss: name } });
    document.head.appendChild(link);
  }
  if (link.sheet) return Promise.resolve(link);
  return new Promise((resolve) => {
    link.addEventListener("load", () => resolve(link), { once: true });
    link.addEventListener("error", () => resolve(link), { once: true }); // unstyled beats blank
  });
}

/** Remove every child, then append the given ones. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function debounce(fn, ms = 250) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/**
 * Wrap an async loader so that of overlapping calls only the newest draws: ``fn(stale, ...args)``
 * checks ``stale()`` after each await and stops once a newer call has started. Without it a slow
 * answer (to an earlier search, or a reload started before a live event) can land last and put
 * stale data back on screen.
 */
export function newestWins(fn) {
  let latest = 0;
  return (...args) => {
    const mine = ++latest;
    return fn(() => mine !== latest, ...args);
  };
}

const dateFmt = formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });

/** "2025/03/01 09:30" in 北京时间 (time.js); "" for empty input. */
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFmt.format(d);
}

/** Today's date in 北京时间, "2026-12-07". */
export function today() {
  return beijingDate();
}

// Buttons ---------------------------------------------------------------------------------------

/** A button: button("保存", onClick, {kind: "primary" | "secondary" | "danger" | "link", type}). */
export function button(label, onclick, { kind = "secondary", type = "button", class: extra, ...attrs } = {}) {
  return el("button", { type, class: ["btn", `btn-${kind}`, extra], onclick, ...attrs }, label);
}

/** Disable a button while an async action runs; the label changes to `busyText`. */
export async function busy(btn, busyText, fn) {
  const old = btn.textContent;
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  if (busyText) btn.textContent = busyText;
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
    btn.textContent = old;
  }
}

// Forms -----------------------------------------------------------------------------------------

/**
 * A labelled control. field({label: "用户名", name: "username", type: "text", hint, required, ...})
 * returns {wrap, input}. `type: "select"` takes options [{value, label}], `type: "textarea"` a textarea.
 */
export function field({ label, name, type = "text", hint, options, value, mark = true, ...attrs }) {
  const id = uid(name || "f");
  const hintId = hint ? `${id}-hint` : null;
  let input;
  if (type === "select") {
    input = el("select", { id, name, "aria-describedby": hintId, ...attrs },
      (options || []).map((o) => el("option", { value: String(o.value), selected: String(o.value) === String(value ?? "") }, o.label)));
  } else if (type === "textarea") {
    input = el("textarea", { id, name, "aria-describedby": hintId, ...attrs });
    if (value !== undefined && value !== null) input.value = value;
  } else {
    input = el("input", { id, name, type, "aria-describedby": hintId, ...attrs });
    if (value !== undefined && value !== null) input.value = value;
  }
  const wrap = el("div", { class: "field" },
    el("label", { for: id }, label, attrs.required && mark ? el("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    hint ? el("p", { class: "hint", id: hintId }, hint) : null,
    input);
  return { wrap, input };
}

/** A checkbox with its label to the right. */
export function checkbox({ label, name, checked = false, value, ...attrs }) {
  const id = uid(name || "c");
  const input = el("input", { type: "checkbox", id, name, value, checked, ...attrs });
  return { wrap: el("div", { class: "check" }, input, el("label", { for: id }, label)), input };
}

/** A message area for a form: role=alert so screen readers announce it; hidden while empty. */
export function formMessage() {
  const node = el("p", { class: "form-msg", role: "alert", hidden: true });
  node.show = (text, kind = "error") => {
    node.textContent = text;
    node.className = `form-msg form-msg-${kind}`;
    node.hidden = !text;
  };
  node.clear = () => node.show("");
  return node;
}

// Feedback --------------------------------------------------------------------------------------

/**
 * A short notice at the bottom of the screen that leaves by itself (× closes it sooner).
 * kind: info | success | error. While a modal dialog is open the notice is shown inside it: the
 * dialog sits above everything else and would hide it.
 */
export function toast(message, kind = "info", timeout = kind === "error" ? 8000 : 4000) {
  const host = toastHost();
  if (!host) return;
  const close = () => item.remove();
  const item = el("div", { class: ["toast", `toast-${kind}`], role: kind === "error" ? "alert" : "status" },
    el("span", { class: "toast-text" }, message),
    el("button", { type: "button", class: "toast-close", "aria-label": "关闭提示", onclick: close }, "×"));
  host.appendChild(item);
  setTimeout(close, timeout);
}

function toastHost() {
  const dialog = [...document.querySelectorAll("dialog[open]")].pop();
  if (!dialog) return document.getElementById("toasts");
  let host = dialog.querySelector(":scope > .toasts");
  if (!host) {
    host = el("div", { class: "toasts", "aria-live": "polite" });
    dialog.appendChild(host);
  }
  return host;
}

/** A "loading" placeholder with role=status. */
export function loading(text = "正在加载…") {
  return el("div", { class: "loading", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }), text);
}

/** An empty state: emptyState({title, text, action}). */
export function emptyState({ title, text, action, icon: iconName = "empty" } = {}) {
  return el("div", { class: "empty" },
    el("div", { class: "empty-icon", "aria-hidden": "true" }, icon(iconName)),
    title ? el("h2", { class: "empty-title" }, title) : null,
    text ? el("p", { class: "empty-text" }, text) : null,
    action || null);
}

/** An error box with the server's Chinese message and an optional 重试 button. */
export function errorState(err, retry) {
  const message = (err && err.message) || "出现错误，请稍后重试";
  return el("div", { class: "error-box", role: "alert" },
    el("p", {}, message),
    retry ? button("重试", retry, { kind: "secondary" }) : null);
}

// Dialogs ---------------------------------------------------------------------------------------

/**
 * A modal <dialog>. openDialog({title, body: Node|Node[], actions: Node[], onClose}) -> {dialog, close}.
 * Escape and the 关闭 button close it; focus returns to the element that opened it.
 */
export function openDialog({ title, body, actions = [], onClose, wide = false }) {
  const opener = document.activeElement;
  const titleId = uid("dlg-title");
  const dialog = el("dialog", { class: ["dialog", wide && "dialog-wide"], "aria-labelledby": titleId },
    el("div", { class: "dialog-head" },
      el("h2", { id: titleId, class: "dialog-title" }, title),
      el("button", { type: "button", class: "dialog-x", "aria-label": "关闭", onclick: () => close() }, "×")),
    el("div", { class: "dialog-body" }, body),
    actions.length ? el("div", { class: "dialog-actions" }, actions) : null);
  let closed = false;
  function close(result) {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener && typeof opener.focus === "function" && opener.isConnected) opener.focus();
    if (onClose) onClose(result);
  }
  dialog.addEventListener("close", () => close());
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close(); // a click on the backdrop
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close };
}

/**
 * Ask before doing something: await confirmDialog({title, message, confirmText, danger}) -> true/false.
 * The safe choice (取消) has the initial focus.
 */
export function confirmDialog({ title = "请确认", message, confirmText = "确定", cancelText = "取消", danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const cancel = button(cancelText, () => ui.close(), { kind: "secondary" });
    const ok = button(confirmText, () => { answer = true; ui.close(); }, { kind: danger ? "danger" : "primary" });
    const ui = openDialog({
      title,
      body: el("p", { class: "dialog-message" }, message),
      actions: [cancel, ok],
      onClose: () => resolve(answer),
    });
    cancel.focus();
  });
}

// Pagination ------------------------------------------------------------------------------------

/**
 * 上一页 / 下一页 with "第 2 / 5 页，共 93 条". onChange(newOffset) is called on click.
 * Returns null when everything fits on one page.
 */
export function pagination({ total, offset, limit, onChange, unit = "条" }) {
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  if (total <= limit && offset === 0) {
    return el("p", { class: "pager-summary" }, `共 ${total} ${unit}`);
  }
  return el("nav", { class: "pager", "aria-label": "翻页" },
    button("‹ 上一页", () => onChange(Math.max(0, offset - limit)), { disabled: page <= 1 }),
    el("span", { class: "pager-status", "aria-live": "polite" }, `第 ${page} / ${pages} 页，共 ${total} ${unit}`),
    button("下一页 ›", () => onChange(offset + limit), { disabled: page >= pages }));
}

// Icons -----------------------------------------------------------------------------------------

const ICONS = {
  messages: ["M4 5h16v11H8l-4 4z"],
  docs: ["M6 3h9l4 4v14H6z", "M14 3v5h5", "M9 12h7", "M9 16h7"],
  meetings: ["M4 6h16v14H4z", "M4 10h16", "M8 3v5", "M16 3v5"],
  directory: ["M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z", "M2.5 20c.8-4 3.5-6 6.5-6s5.7 2 6.5 6", "M16 4.5a3.5 3.5 0 0 1 0 6.5", "M18 14c2 .8 3.2 2.8 3.6 6"],
  esign: ["M12 3a4 4 0 0 1 4 4c0 2-1.5 3-1.5 5h-5C9.5 10 8 9 8 7a4 4 0 0 1 4-4z", "M5 15h14v3H5z", "M4 21h16"],
  admin: ["M12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7z", "M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"],
  empty: ["M3 13h5l1.5 3h5l1.5-3h5", "M5.5 5h13L21 13v6H3v-6z"],
  soon: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v5l3 2"],
  lock: ["M6 11h12v10H6z", "M8.5 11V8a3.5 3.5 0 0 1 7 0v3"],
  search: ["M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M15.5 15.5 20 20"],
  profile: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4 21c1-4.5 4.2-7 8-7s7 2.5 8 7"],
  home: ["M3.5 11 12 4l8.5 7", "M6 9.5V20h12V9.5", "M10 20v-5h4v5"],
  banshi: ["M8 4h8v3H8z", "M8 5.5H5.5V21h13V5.5H16", "M8.5 13.5l2.5 2.5 4.5-5"],
  tianbao: ["M5 3h14v18H5z", "M8 8h8", "M8 12h8", "M8 16h4", "M15 15.5l1.5 1.5 3-3"],
  incoming: ["M4 13h4.5l1.5 2.5h4l1.5-2.5H20", "M6 5h12l2 8v6H4v-6z", "M12 3.5v6.5", "M9.5 7.5 12 10l2.5-2.5"],
};

/** A small decorative line icon (aria-hidden) by name. */
export function icon(name) {
  const svg = el("svg:svg", { viewBox: "0 0 24 24", class: "icon", "aria-hidden": "true", focusable: "false" });
  for (const d of ICONS[name] || []) {
    svg.appendChild(el("svg:path", { d }));
  }
  return svg;
}
