// Notifications wherever you are: badges on the navigation, the count in the window title, a toast
// (or, while the tab is hidden and the person allowed it, a system notification) for an @-mention,
// a DING, a DING reminder and a new 待办, all with a link to where it is dealt with.
//
//   const notifier = startNotifier({ api, ws, me, links, navigate });   // the shell, at sign-in
//   todoChanges.addEventListener("change", reload, { signal });           // the 工作台, to stay live
//   notifier.stop();                                                       // at sign-out
//
// Counts come from the server (GET /api/todo/summary, GET /api/messages/unread) and are asked again
// after the events each 待办 source names (office/todo.py: "docs.task", "chat.message?message.ding"
// = that type with a truthy member), after a reconnect or resync (the stream replays what was
// missed; the counts are asked afresh anyway), when the tab comes back, and once a minute (a 督办
// item falls due and a meeting's 签到 opens with no event). A 待办 is new when the summary's newest
// items name one this tab has not seen since it started.
//
// 免打扰 (me.quiet_hours, China time, kept on the server): in those hours no toast and no system
// notification; badges, the title and the lists still change.

import { el, loadCss, toast } from "./ui.js";
import { formatter } from "./time.js";

/** Tells open pages (the 工作台) that a 待办 may have changed. */
export const todoChanges = new EventTarget();

const TICK = 60_000;
const SETTLE = 150; // several events of one change arrive together: ask once
// Which badge each navigation item shows: 消息 the unread messages, 工作台 every 待办, the others
// the 待办 of the sources whose section they are.
const TITLE_PREFIX = /^\(\d+\+?\) /;

export function startNotifier({ api, ws, me, links, navigate }) {
  loadCss("notify");
  const state = { kinds: [], total: 0, unread: 0, seen: null, toasted: new Map(), offs: [], stopped: false, failed: false };
  const badges = new Map(); // nav name -> [badge elements]
  for (const [name, nodes] of links) {
    badges.set(name, nodes.map((node) => {
      const badge = el("span", { class: "nav-badge", hidden: true });
      node.appendChild(badge);
      return badge;
    }));
  }

  const later = (fn) => {
    let timer = 0;
    return () => { clearTimeout(timer); timer = setTimeout(fn, SETTLE); };
  };
  // A failed load (offline, or refused until two-factor sign-in is set up) is tried again at the
  // next navigation.
  const failed = () => { state.failed = true; };
  const askTodo = later(() => loadTodo().catch(failed));
  const askUnread = later(() => loadUnread().catch(failed));

  async function loadTodo() {
    if (state.stopped) return; // signed out while it waited
    if (me.totp_setup_required) return failed(); // refused until then: asked again after it is set up
    const summary = await api.get("/api/todo/summary");
    if (state.stopped) return;
    const before = JSON.stringify([state.kinds.map((k) => k.count), state.seen && [...state.seen]]);
    state.kinds = summary.kinds;
    state.total = summary.total;
    listenTo(summary.kinds);
    const fresh = summary.recent.filter((i) => state.seen && !state.seen.has(i.key));
    state.seen = new Set([...(state.seen || []), ...summary.recent.map((i) => i.key)]);
    for (const item of fresh.reverse()) {
      tell({ title: `新待办 · ${item.label}`, text: item.title, link: item.link, kind: "todo" });
    }
    draw();
    if (JSON.stringify([state.kinds.map((k) => k.count), [...state.seen]]) !== before) {
      todoChanges.dispatchEvent(new Event("change"));
    }
  }

  async function loadUnread() {
    if (state.stopped) return;
    if (me.totp_setup_required) return failed();
    const unread = await api.get("/api/messages/unread");
    if (state.stopped) return;
    state.unread = unread.total;
    draw();
  }

  // The events that change a kind's 待办, as the server names them; subscribed once each.
  const listening = new Set();
  function listenTo(kinds) {
    for (const spec of kinds.flatMap((k) => k.events)) {
      if (listening.has(spec)) continue;
      listening.add(spec);
      const [type, member] = spec.split("?");
      state.offs.push(ws.subscribe(type, (frame) => {
        if (!member || pick(frame, member)) {
          askTodo();
          todoChanges.dispatchEvent(new Event("event"));
        }
      }));
    }
  }

  function draw() {
    const bySection = {};
    for (const k of state.kinds) if (k.section) bySection[k.section] = (bySection[k.section] || 0) + k.count;
    const counts = { ...bySection, home: state.total, messages: state.unread };
    for (const [name, nodes] of badges) {
      const n = counts[name] || 0;
      const what = name === "messages" ? "条未读消息" : "项待办";
      for (const badge of nodes) {
        badge.hidden = n === 0;
        badge.replaceChildren(
          el("span", { "aria-hidden": "true" }, n > 99 ? "99+" : String(n)),
          el("span", { class: "visually-hidden" }, `，${n} ${what}`));
      }
    }
    retitle();
  }

  // The shell names each page in the title; the count goes in front, whatever the page set.
  function retitle() {
    const n = state.total + state.unread;
    const bare = document.title.replace(TITLE_PREFIX, "");
    const want = n ? `(${n > 99 ? "99+" : n}) ${bare}` : bare;
    if (document.title !== want) document.title = want;
  }
  const titleWatch = new MutationObserver(retitle);
  titleWatch.observe(document.querySelector("title") || document.head, { childList: true, subtree: true, characterData: true });

  /** A toast with a link, or a system notification while the tab is hidden; nothing in quiet hours. */
  function tell({ title, text, link, kind, ack }) {
    if (quietNow(me.quiet_hours)) return;
    // One thing arrives by two ways (a DING message, then the DING on the 待办 list): tell it once.
    const last = state.toasted.get(link);
    if (last && Date.now() - last < 30_000 && kind !== "remind") return;
    state.toasted.set(link, Date.now());
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      const note = new Notification(title, { body: text, tag: link, lang: "zh-CN" });
      note.onclick = () => { window.focus(); navigate(link); note.close(); };
      return;
    }
    const go = el("a", { href: link, class: "toast-link", onclick: (e) => e.currentTarget.closest(".toast")?.remove() }, "查看");
    const confirm = ack && el("button", {
      type: "button", class: "toast-link toast-ack",
      onclick: async (e) => {
        const item = e.currentTarget.closest(".toast");
        try {
          await api.post(ack);
          item?.remove();
        } catch (err) {
          toast(err.message, "error");
        }
      },
    }, "确认收到");
    const ding = kind === "ding" || kind === "remind";
    toast(el("span", { class: ["toast-note", ding && "toast-ding"] },
      el("strong", {}, title), " ", text, " ", go, confirm || null), ding ? "error" : "info", ding ? 15_000 : 8_000);
  }

  function viewing(cid) {
    return !document.hidden && new RegExp(`^#/messages/${cid}(\\?|$)`).test(location.hash);
  }

  state.offs.push(ws.subscribe("chat.message", (frame) => {
    askUnread();
    const m = frame.message;
    if (!m || m.sender_id === me.id || m.recalled) return;
    const link = `#/messages/${m.conversation_id}?seq=${m.seq}`;
    const text = `${m.sender_name}：${(m.text || "（附件）").slice(0, 60)}`;
    if (m.ding && (m.meta?.ding_user_ids || []).includes(me.id)) {
      const ack = `/api/messages/conversations/${m.conversation_id}/messages/${m.seq}/ding/ack`;
      if (!viewing(m.conversation_id)) tell({ title: "DING", text, link, kind: "ding", ack });
    } else if ((m.mentions || []).includes(me.id) || m.mention_all) {
      if (!viewing(m.conversation_id)) tell({ title: "有人@了你", text, link, kind: "mention" });
    }
  }));
  state.offs.push(ws.subscribe("chat.ding_remind", (frame) => {
    const ack = `/api/messages/conversations/${frame.conversation_id}/messages/${frame.seq}/ding/ack`;
    tell({
      title: `DING 提醒（第 ${frame.reminders} 次）`,
      text: `${frame.sender_name}：${frame.text}`,
      link: `#/messages/${frame.conversation_id}?seq=${frame.seq}`,
      kind: "remind",
      ack,
    });
  }));
  for (const type of ["chat.read", "chat.conversation", "chat.member"]) state.offs.push(ws.subscribe(type, askUnread));
  const refresh = () => {
    askTodo();
    askUnread();
    todoChanges.dispatchEvent(new Event("event"));
  };
  state.offs.push(ws.subscribe("resync", refresh));
  state.offs.push(ws.onStatus((status) => { if (status === "open") refresh(); }));
  const onVisible = () => { if (!document.hidden) refresh(); };
  document.addEventListener("visibilitychange", onVisible);
  const onNavigate = () => {
    if (!state.failed) return;
    state.failed = false;
    refresh();
  };
  window.addEventListener("hashchange", onNavigate);
  const tick = setInterval(refresh, TICK);

  // After the first page has asked for what it shows: the badges can wait a moment, the page cannot.
  const first = () => { loadTodo().catch(failed); loadUnread().catch(failed); };
  const idle = window.requestIdleCallback
    ? ((id) => () => window.cancelIdleCallback(id))(window.requestIdleCallback(first, { timeout: 800 }))
    : ((id) => () => clearTimeout(id))(setTimeout(first, 300));

  return {
    refresh,
    stop() {
      state.stopped = true;
      clearInterval(tick);
      idle(); // not yet loaded: no longer wanted
      titleWatch.disconnect();
      document.removeEventListener("visibilitychange", onVisible);
      window.removeEventListener("hashchange", onNavigate);
      for (const off of state.offs) off();
      for (const nodes of badges.values()) for (const b of nodes) b.remove();
      document.title = document.title.replace(TITLE_PREFIX, "");
    },
  };
}

function pick(frame, path) {
  return path.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), frame);
}

/** Whether now (China time) falls in the quiet hours {start: "22:00", end: "07:00"}; null: never. */
export function quietNow(quiet, now = new Date()) {
  if (!quiet) return false;
  const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const parts = formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, "en-GB").formatToParts(now);
  const at = Number(parts.find((p) => p.type === "hour").value) * 60 + Number(parts.find((p) => p.type === "minute").value);
  const from = minutes(quiet.start);
  const to = minutes(quiet.end);
  return from < to ? at >= from && at < to : at >= from || at < to;
}

/** Ask for permission to show system notifications (needs a click: browsers refuse otherwise). */
export async function askPermission() {
  if (!("Notification" in window)) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  return Notification.requestPermission();
}
