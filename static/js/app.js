// 通办 web shell: boot, login gate, workspace frame, hash router, page loading.
//
// ──────────────────────────────────────────────────────────────────────────────────────────────
// PAGE-MODULE CONTRACT (for everyone adding a section; you do not need to edit this file)
//
//   URL            #/<name>[/<sub>/<sub>…][?key=value&…]      e.g. #/docs/42?tab=history
//   Module         static/js/pages/<name>.js, loaded with dynamic import() on first visit.
//                  Nav sections: messages 消息, docs 公文, meetings 会议, banshi 办事, tianbao 数据填报, directory 通讯录,
//                  esign 签章, admin 管理 (admins only); also profile 个人设置. A phone (≤ 600 px)
//                  shows a tab bar instead: 工作台 (home), 消息, 公文, 会议 and 我的 (the rest).
//   Exports        export async function render(root, ctx)   — required
//                  export function dispose()                  — optional, called before the next page
//                  export function update(params)             — optional: the address changed within
//                    the page (#/messages/1 → #/messages/2, back, forward); show what it names
//                    without building the page again and return true (false: render afresh).
//                    ctx.params is already the new {path, query}.
//   root           an empty <div class="page"> inside <main>. Put an <h1> first: the shell moves
//                  keyboard focus to it and uses its text for the window title.
//   ctx            {
//                    me,        // /api/me: {id, name, username, staff_no, roles[], role_labels[], posts[],
//                               //   department_id, agency_id, elder_mode, watermark, csrf_token, …}
//                    api,       // api.get/post/put/patch/del(path, body?, {query, raw, signal}) → JSON;
//                               //   throws ApiError with a Chinese .message (see api.js)
//                    ws,        // EventStream: ws.subscribe("doc", fn, {signal}) → off(); ws.send(frame)
//                               //   (see ws.js; "resync" means reload your data)
//                    navigate,  // navigate("#/docs/42") or navigate("docs/42"); {replace: true} to
//                               //   replace history. Every navigation re-renders the target page.
//                    params,    // {path: ["42"], query: {tab: "history"}} for #/docs/42?tab=history
//                    signal,    // AbortSignal aborted when the user leaves the page: pass it to
//                               //   api calls, ws.subscribe and addEventListener to clean up for free
//                    refreshMe, // async () → fresh /api/me (also updates ctx.me and the frame)
//                  }
//   Helpers        import { el, toast, confirmDialog, openDialog, emptyState, pagination, loading,
//                  errorState, field, button } from "../ui.js"   — never innerHTML with user data.
//   Missing        If the module does not exist yet (404), the shell shows "该功能即将上线".
//                  If it exists but throws, the shell shows the error and logs it to the console.
//   Realtime       Frames are dispatched by type prefix; when the server says "resync" the shell
//                  re-renders the current page, so render() must load fresh data each time.
//   Offline shell  /sw.js (static/sw.js, served by office/pwa.py) keeps this shell — index.html,
//                  static/ — for the release it came with; never API answers or files.
// ──────────────────────────────────────────────────────────────────────────────────────────────

import { api, ApiError, hasSessionCookie, setCsrfToken, setUnauthorizedHandler } from "./api.js";
import { EventStream, CLOSE_SESSION_EXPIRED, CLOSE_TOO_MANY, CLOSE_ENROL_2FA } from "./ws.js";
import { startNotifier } from "./notify.js";
import { el, replace, button, icon, loading, emptyState, errorState, toast, today, openDialog } from "./ui.js";

// 工作台 (#/home, static/js/pages/home.js) is the first page after sign-in and the first tab on a phone.
const HOME_READY = true;
const SECTIONS = [
  ...(HOME_READY ? [{ name: "home", label: "工作台" }] : []),
  { name: "messages", label: "消息" },
  { name: "docs", label: "公文" },
  { name: "meetings", label: "会议" },
  { name: "banshi", label: "办事" },
  { name: "tianbao", label: "数据填报" },
  { name: "directory", label: "通讯录" },
  { name: "esign", label: "签章" },
  { name: "admin", label: "管理", role: "admin" },
];
const EXTRA_PAGES = { profile: "个人设置", incoming: "收文" };
// The phone's tab bar; every other page is reached from 我的, or from its section (收文 from 公文).
const TABS = [
  { name: "home", label: "工作台" },
  { name: "messages", label: "消息" },
  { name: "docs", label: "公文" },
  { name: "meetings", label: "会议" },
];
const TAB_OF = { incoming: "docs", banshi: "me", tianbao: "me", directory: "me", esign: "me", admin: "me", profile: "me" };
// What 我的 offers besides the account controls, in this order.
const MORE = [["banshi", "办事"], ["tianbao", "数据填报"], ["directory", "通讯录"], ["incoming", "收文"], ["esign", "签章"], ["admin", "管理", "admin"], ["profile", "个人设置"]];
// First-use guide: a short, dismissable note shown above each main page until the user closes it
// (remembered in localStorage); the 帮助 button in the sidebar brings back the current page's note.
const GUIDES = {
  messages: "在会话列表里点开一个会话即可聊天。输入框里按 Enter 发送，Shift+Enter 换行；有人 @ 您时会有提醒。",
  docs: "在这里起草、审核、签发公文。“待办”里是等您处理的文件；点“新建发文”起草一份。",
  incoming: "收到的来文在这里登记、拟办、批办和传阅；“待办”里是轮到您处理的收文。",
  meetings: "“我的日程”里是您的会议；点“预约会议”预订会议室、发出会议通知；点开会议可以看议程、材料和签到。",
  banshi: "请假、出差、报销、用印等事项在这里办：在“发起”里选择事项，填写后提交；“待我审批”里是等您审批的申请。",
  tianbao: "上级布置的填报任务在“待填报”里：表格已按登记过的数据预先填好，只需补填新的内容，改动预填值要写明原因。采集部门在“采集任务”里下发任务、看报送进度。",
  directory: "可以按部门浏览，也可以在上方输入姓名、拼音或首字母查找同事；点姓名看联系方式、发消息或打电话。",
  esign: "在“我的电子签名”里开通个人电子签名、设置签名密码（PIN）；在“验证文件”里核验带签章的文件是否被改动过。",
};
const GUIDE_LABELS = { incoming: "收文" }; // pages with a guide that are not in the navigation
const GUIDE_KEY = (name) => `tb_guide_seen_${name}`;
const DEFAULT_ROUTE = HOME_READY ? "home" : "messages";
const TOTP_ROUTE = "profile/2fa";

const appRoot = document.getElementById("app");
const state = {
  me: null,
  ws: null,
  frame: null, // {main, nav, user, ...} once the workspace is shown
  page: null, // {name, module, abort, token, ctx}
  token: 0,
  loggingOut: false,
  updateReady: false, // a new release's service worker took over: load it at the next navigation
};

// Boot -------------------------------------------------------------------------------------------

setUnauthorizedHandler(sessionExpired);

function sessionExpired() {
  if (state.me && !state.loggingOut) {
    toast("登录已过期，请重新登录", "error");
    showLogin();
  }
}

window.addEventListener("hashchange", () => {
  if (state.me) route();
});

boot();
registerServiceWorker();

async function boot() {
  // No CSRF cookie means no session: go straight to the login page instead of asking the server
  // (which would answer 401 and leave a red line in the browser console).
  if (!hasSessionCookie()) {
    showLogin();
    return;
  }
  try {
    const me = await api.get("/api/me");
    startWorkspace(me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showLogin();
    else replace(appRoot, el("main", { class: "boot-error" }, errorState(err, () => location.reload())));
  }
}

async function showLogin() {
  teardownWorkspace();
  document.title = "登录 - 通办";
  const root = el("div", { class: "login-page" });
  replace(appRoot, root);
  const mod = await import("./pages/login.js");
  await mod.render(root, { api, onLoggedIn: (me) => startWorkspace(me) });
}

function teardownWorkspace() {
  disposePage();
  state.notifier?.stop();
  state.notifier = null;
  if (state.ws) {
    state.ws.stop();
    state.ws = null;
  }
  state.me = null;
  state.frame = null;
  setCsrfToken("");
  applyPreferences({ elder_mode: false, watermark: false });
}

// Workspace frame --------------------------------------------------------------------------------

function startWorkspace(me) {
  state.me = me;
  setCsrfToken(me.csrf_token);
  applyPreferences(me);
  state.frame = buildFrame(me);
  replace(appRoot, state.frame.root);
  state.ws = new EventStream({ userId: me.id });
  state.ws.onStatus(onStreamStatus);
  state.ws.subscribe("resync", () => route({ fresh: true }));
  state.ws.start();
  // Badges, the count in the title, toasts and system notifications on every page (notify.js).
  state.notifier = startNotifier({ api, ws: state.ws, me, links: state.frame.links, navigate });
  route();
}

function buildFrame(me) {
  const isAdmin = me.roles.includes("admin");
  const links = new Map(); // page name -> the elements marked as current on it (sidebar link, tab)
  const mark = (name, node) => links.set(name, [...(links.get(name) || []), node]);
  const navList = el("ul", { class: "nav-list" });
  for (const s of SECTIONS) {
    if (s.role && !me.roles.includes(s.role)) continue;
    const a = el("a", { href: `#/${s.name}`, class: "nav-link" }, icon(s.name), el("span", {}, s.label));
    mark(s.name, a);
    navList.appendChild(el("li", {}, a));
  }
  const profileLink = el("a", { href: "#/profile", class: "btn btn-secondary" }, "个人设置");
  mark("profile", profileLink);
  const status = el("p", { class: "conn-status", role: "status", hidden: true });
  const main = el("main", { id: "main", class: "main", tabindex: "-1" });
  const skip = el("a", {
    href: "#main", class: "skip-link",
    onclick: (e) => { e.preventDefault(); main.focus(); },
  }, "跳到主要内容");
  const root = el("div", { class: "shell" },
    skip,
    el("header", { class: "sidebar" },
      el("div", { class: "brand" },
        el("span", { class: "brand-mark", "aria-hidden": "true" }, "通"),
        el("span", { class: "brand-name" }, "通办"),
        el("span", { class: "brand-sub" }, "协同办公")),
      el("nav", { class: "nav", "aria-label": "主要栏目" }, navList),
      el("section", { class: "userbox", "aria-label": "当前用户" },
        el("p", { class: "user-name" }, me.name),
        el("p", { class: "user-dept" }, userLine(me, isAdmin)),
        el("div", { class: "user-actions" },
          profileLink,
          elderButton(me),
          button("帮助", () => showGuide(parseHash().name, { force: true }),
            { kind: "secondary", class: "btn-help", "aria-label": "帮助：显示本页使用提示" }),
          button("退出", logout, { kind: "secondary", class: "btn-logout" })))),
    main,
    tabBar(me, mark),
    status,
    me.watermark ? watermark(me) : null);
  return { root, main, links, status };
}

function userLine(me, isAdmin) {
  const primary = me.posts.find((p) => p.is_primary) || me.posts[0];
  return [primary?.department, primary?.title].filter(Boolean).join(" · ") || (isAdmin ? "系统管理员" : "");
}

function elderButton(me) {
  const btn = el("button", {
    type: "button", class: "btn btn-secondary btn-toggle", "aria-pressed": String(!!me.elder_mode),
    dataset: { elder: "" }, onclick: () => toggleElder(),
  }, "长者模式");
  return btn;
}

/** The phone's bottom bar: 工作台, 消息, 公文, 会议 and 我的 (shown by CSS at ≤ 600 px). */
function tabBar(me, mark) {
  const items = TABS.map((t) => {
    const a = el("a", { href: `#/${t.name}`, class: "tab-link" }, icon(t.name), el("span", {}, t.label));
    mark(t.name, a);
    return el("li", {}, a);
  });
  const mine = el("button", {
    type: "button", class: "tab-link", "aria-haspopup": "dialog", onclick: () => openMine(me, mine),
  }, icon("profile"), el("span", {}, "我的"));
  mark("me", mine);
  return el("nav", { class: "tabbar", "aria-label": "主要栏目" }, el("ul", {}, items, el("li", {}, mine)));
}

/** 我的 on a phone: who is signed in, the sections without a tab, and the account controls. */
function openMine(me, opener) {
  const more = MORE.filter(([, , role]) => !role || me.roles.includes(role)).map(([name, label]) =>
    el("li", {}, el("a", { href: `#/${name}`, class: "mine-link", onclick: () => sheet.close() }, icon(name), el("span", {}, label))));
  const sheet = openDialog({
    title: "我的",
    body: [
      el("p", { class: "user-name" }, me.name),
      el("p", { class: "user-dept" }, userLine(me, me.roles.includes("admin"))),
      el("nav", { "aria-label": "更多栏目" }, el("ul", { class: "mine-links" }, more)),
      el("div", { class: "mine-actions" },
        elderButton(state.me || me),
        button("帮助", () => { sheet.close(); showGuide(parseHash().name, { force: true }); },
          { kind: "secondary", "aria-label": "帮助：显示本页使用提示" }),
        button("退出", () => { sheet.close(); logout(); }, { kind: "secondary" })),
    ],
  });
  sheet.dialog.classList.add("mine-sheet");
  opener.setAttribute("aria-expanded", "true");
  sheet.dialog.addEventListener("close", () => opener.setAttribute("aria-expanded", "false"));
}

function applyPreferences(me) {
  const elder = !!me.elder_mode;
  document.documentElement.classList.toggle("elder", elder);
  document.body.classList.toggle("elder", elder);
}

/** Every 长者模式 button (sidebar and 我的) shows the same state. */
function pressElder(on) {
  for (const b of document.querySelectorAll("[data-elder]")) b.setAttribute("aria-pressed", String(on));
}

async function toggleElder() {
  const next = !state.me.elder_mode;
  state.me.elder_mode = next;
  pressElder(next);
  applyPreferences({ elder_mode: next });
  try {
    const saved = await api.put("/api/me/preferences", { elder_mode: next });
    state.me.elder_mode = saved.elder_mode;
    // A success toast leaves by itself (ui.toast), so the larger page is not left covered.
    toast(saved.elder_mode ? "已开启长者模式：字更大、按钮更大" : "已关闭长者模式", "success");
  } catch (err) {
    state.me.elder_mode = !next;
    pressElder(!next);
    applyPreferences({ elder_mode: !next });
    toast(err.message, "error");
  }
}

async function logout() {
  state.loggingOut = true;
  // Stop the stream and the notifier first: the server closes the stream (1008) when the session
  // ends, and the notifier's next question would be answered 401.
  state.notifier?.stop();
  state.notifier = null;
  state.ws?.forget();
  state.ws?.stop();
  state.ws = null;
  try {
    await api.post("/api/auth/logout");
  } catch (err) {
    // Even if the server is unreachable, leave the workspace on this device.
    console.warn("退出时出错", err);
  } finally {
    state.loggingOut = false;
  }
  history.replaceState(null, "", location.pathname);
  showLogin();
  toast("您已安全退出", "success");
}

let statusTimer = 0;
function onStreamStatus(kind, detail) {
  const node = state.frame?.status;
  if (!node) return;
  clearTimeout(statusTimer);
  if (kind === "open") {
    node.hidden = true;
    return;
  }
  if (kind === "closed" && detail.code === CLOSE_SESSION_EXPIRED) {
    // The session ran out while the page stayed open (the server closes its sockets too).
    sessionExpired();
    return;
  }
  if (kind === "closed" && detail.code === CLOSE_ENROL_2FA) {
    // No live updates until two-step verification is set up; the page says what to do.
    node.hidden = true;
    return;
  }
  if (kind === "closed" && detail.code === CLOSE_TOO_MANY) {
    node.textContent = detail.reason || "打开的窗口过多，请关闭其他窗口";
    node.hidden = false;
    return;
  }
  if (kind === "closed" && detail.code === 1008) {
    // The server ended this session (logged out elsewhere, revoked, password changed…):
    // /api/me answers 401 and the unauthorized handler shows the login page.
    api.get("/api/me").catch(() => {});
    return;
  }
  // Only mention the connection when it stays down for a while; short blips are normal.
  statusTimer = setTimeout(() => {
    node.textContent = "网络连接中断，正在重新连接…";
    node.hidden = false;
  }, 4000);
}

/** A faint, repeated "name staff_no date" over the whole page, drawn once into a data URL. */
function watermark(me) {
  const text = `${me.name} ${me.staff_no || me.username} ${today()}`;
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  const w = 320;
  const h = 200;
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  if (g) {
    g.scale(ratio, ratio);
    g.translate(w / 2, h / 2);
    g.rotate(-Math.PI / 9);
    g.font = '16px "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
    g.fillStyle = "rgba(30, 45, 70, 0.09)";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(text, 0, 0);
  }
  return el("div", {
    class: "watermark",
    "aria-hidden": "true",
    dataset: { text },
    style: { backgroundImage: `url("${canvas.toDataURL("image/png")}")`, backgroundSize: `${w}px ${h}px` },
  });
}

function guideSeen(name) {
  try {
    return localStorage.getItem(GUIDE_KEY(name)) === "1";
  } catch {
    return false; // storage blocked: show the note, it is short
  }
}

/** The page's first-use note above its content; ``force`` (the 帮助 button) shows it again. */
function showGuide(name, { force = false } = {}) {
  const main = state.frame?.main;
  if (!main) return;
  main.querySelector(".guide")?.remove();
  const text = GUIDES[name];
  if (!text) {
    if (force) toast("本页没有使用提示。如有问题，请联系信息中心。", "info");
    return;
  }
  if (!force && guideSeen(name)) return;
  const label = SECTIONS.find((s) => s.name === name)?.label || GUIDE_LABELS[name] || name;
  const close = button("知道了", () => {
    try {
      localStorage.setItem(GUIDE_KEY(name), "1");
    } catch {
      // storage blocked: the note simply comes back next time
    }
    note.remove();
    main.querySelector("h1")?.focus({ preventScroll: true });
  }, { kind: "secondary", class: "guide-close", "aria-label": "知道了，关闭使用提示" });
  const note = el("aside", { class: "guide", "aria-label": `${label}使用提示` },
    el("p", { class: "guide-title" }, `${label} · 使用提示`),
    el("p", { class: "guide-text" }, text),
    close);
  main.prepend(note);
  if (force) close.focus();
}

// Router -----------------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [pathPart, queryPart = ""] = raw.split("?");
  const segments = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  return { name: segments[0] || "", path: segments.slice(1), query };
}

export function navigate(target, { replace: replaceHistory = false } = {}) {
  const hash = target.startsWith("#") ? target : `#/${target.replace(/^\//, "")}`;
  if (replaceHistory) {
    history.replaceState(null, "", hash);
    route();
  } else if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

function known(name) {
  return SECTIONS.some((s) => s.name === name) || name in EXTRA_PAGES;
}

async function route({ fresh = false } = {}) {
  const me = state.me;
  if (!me || !state.frame) return;
  if (state.updateReady) {
    // A new release's shell took over while this page was open: load it now, between pages.
    location.reload();
    return;
  }
  let { name, path, query } = parseHash();
  if (me.totp_setup_required && `${name}/${path.join("/")}` !== TOTP_ROUTE) {
    // The administrator requires two-factor sign-in for this user's role: nothing else until set up.
    history.replaceState(null, "", `#/${TOTP_ROUTE}`);
    ({ name, path, query } = parseHash());
  }
  if (!name || !known(name)) {
    history.replaceState(null, "", `#/${DEFAULT_ROUTE}`);
    ({ name, path, query } = parseHash());
  }
  markCurrent(name);
  const page = state.page;
  if (!fresh && page && page.name === name && page.module?.update && page.ctx) {
    page.ctx.params = { path, query };
    if (page.module.update(page.ctx.params) !== false) return;
  }
  disposePage();
  const token = ++state.token;
  const abort = new AbortController();
  state.page = { name, module: null, abort, token, ctx: null };
  const root = el("div", { class: "page", dataset: { page: name } });
  replace(state.frame.main, root);
  showGuide(name);
  root.appendChild(loading());
  const label = SECTIONS.find((s) => s.name === name)?.label || EXTRA_PAGES[name];
  document.title = `${label} - 通办`;

  const section = SECTIONS.find((s) => s.name === name);
  if (section?.role && !me.roles.includes(section.role)) {
    replace(root, el("h1", { tabindex: "-1" }, label),
      emptyState({ title: "没有权限", text: "该栏目仅对系统管理员开放。如需使用，请联系信息中心。", icon: "lock" }));
    focusHeading(root);
    return;
  }

  const module = await loadPage(name);
  if (token !== state.token) return;
  if (module === "missing") {
    replace(root, el("h1", { tabindex: "-1" }, label),
      emptyState({ title: "该功能即将上线", text: `“${label}”正在建设中，上线后会在这里直接使用。`, icon: "soon" }));
    focusHeading(root);
    return;
  }
  if (module instanceof Error) {
    replace(root, el("h1", { tabindex: "-1" }, label), errorState({ message: "页面加载出错，请刷新后重试。" }, () => route({ fresh: true })));
    focusHeading(root);
    return;
  }
  state.page.module = module;
  const ctx = {
    me,
    api,
    ws: state.ws,
    navigate,
    params: { path, query },
    signal: abort.signal,
    refreshMe,
  };
  state.page.ctx = ctx;
  try {
    root.replaceChildren();
    await module.render(root, ctx);
  } catch (err) {
    if (token !== state.token || err?.name === "AbortError") return;
    console.error(`页面 ${name} 出错`, err);
    replace(root, el("h1", { tabindex: "-1" }, label), errorState(err, () => route({ fresh: true })));
  }
  if (token === state.token) focusHeading(root);
}

const moduleCache = new Map();

async function loadPage(name) {
  if (moduleCache.has(name)) return moduleCache.get(name);
  const url = `./pages/${name}.js`;
  let result;
  try {
    result = await import(url);
  } catch (err) {
    // A missing file and a broken one both reject; ask the server which it is.
    const probe = await fetch(new URL(url, import.meta.url), { method: "HEAD" }).catch(() => null);
    if (probe && probe.status === 404) {
      return "missing"; // not cached: the module may be deployed while the tab stays open
    }
    console.error(`无法加载页面模块 ${name}`, err);
    return err instanceof Error ? err : new Error(String(err));
  }
  moduleCache.set(name, result);
  return result;
}

function disposePage() {
  const page = state.page;
  state.page = null;
  if (!page) return;
  page.abort.abort();
  try {
    page.module?.dispose?.();
  } catch (err) {
    console.error("dispose 出错", err);
  }
}

function markCurrent(name) {
  const tab = TAB_OF[name];
  for (const [key, nodes] of state.frame.links) {
    for (const node of nodes) {
      // A tab stands for its pages too (公文 for 收文, 我的 for 通讯录 …); a sidebar link only for itself.
      const current = key === name || (key === tab && node.classList.contains("tab-link"));
      if (current) node.setAttribute("aria-current", "page");
      else node.removeAttribute("aria-current");
    }
  }
}

function focusHeading(root) {
  const h = root.querySelector("h1");
  if (!h) return;
  if (!h.hasAttribute("tabindex")) h.setAttribute("tabindex", "-1");
  // Keep focus where it is if the user already moved into the page (e.g. typing in a search box).
  if (!root.contains(document.activeElement)) h.focus({ preventScroll: true });
  document.title = `${h.textContent} - 通办`;
}

async function refreshMe() {
  const me = await api.get("/api/me");
  Object.assign(state.me, me);
  setCsrfToken(me.csrf_token);
  applyPreferences(me);
  if (state.page) state.page.me = state.me;
  return state.me;
}

// Offline shell ------------------------------------------------------------------------------------

/**
 * Register /sw.js, which keeps this release's shell for instant and offline starts. A later release
 * installs itself in the background and takes over; the page then reloads at its next navigation
 * (state.updateReady), so one page never mixes two releases' modules. Without a secure context
 * (plain HTTP) there is no service worker and everything works as before.
 */
function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (hadController) state.updateReady = true;
  });
  // Once the page has loaded and gone quiet: installing fetches files, which should not compete
  // with starting the app.
  const register = () => navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("离线外壳未启用", err));
  const later = () => (window.requestIdleCallback ? requestIdleCallback(register, { timeout: 5000 }) : setTimeout(register, 1000));
  if (document.readyState === "complete") later();
  else window.addEventListener("load", later, { once: true });
}
