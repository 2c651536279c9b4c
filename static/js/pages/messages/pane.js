// 消息 · the open conversation: header, history (older pages as the reader scrolls up), the typing
// line and the composer. Where the reader is matters:
// - pinned to the newest message, the view stays there whatever grows below (a message, a picture
//   that finishes loading);
// - scrolled up, new messages do not move the view: a "新消息 ↓" button says they came;
// - a message counts as read only once it was on screen while the page was visible (not while the
//   list is shown on a phone, the tab is in the background, or the reader is further up).
import { el, button, replace } from "../../ui.js";
import { retryDelay } from "../../api.js";
import { P, PAGE, showError } from "./common.js";
import { messageView } from "./message.js";
import { createComposer } from "./composer.js";
import { openSettings } from "./groups.js";

const NEAR = 60; // px from the bottom that still count as "at the newest message"

export function conversationPane(ctx, state, { list, shell }) {
  const { api, ws, signal } = ctx;
  const title = el("h2", { class: "msg-title" });
  const memberCount = el("span", { class: "msg-member-count" });
  const settingsBtn = button("群设置", () => settings(), { class: "btn-small" });
  const header = el("header", { class: "msg-header" },
    button(["‹", el("span", { class: "msg-back-text" }, " 会话列表")], () => back(), { class: "btn-small msg-back" }),
    title, memberCount, settingsBtn);
  const announce = el("div", { class: "msg-announce", hidden: true });
  const ul = el("ul", { class: "msg-items", "aria-live": "polite" });
  const scroller = el("div", { class: "msg-scroller", tabindex: "0", "aria-label": "消息记录" }, ul);
  const pill = button("新消息 ↓", () => toNewest(), { kind: "primary", class: "msg-new-pill", hidden: true });
  const historyBox = el("div", { class: "msg-history" }, scroller, pill);
  const typingLine = el("div", { class: "msg-typing" });
  const empty = el("div", { class: "msg-placeholder" }, "请在左侧选择一个会话开始聊天");
  const root = el("section", { class: "msg-pane", "aria-label": "聊天内容" }, empty);

  const view = messageView(ctx, state, {
    reply: (m) => { state.editing = null; state.replyTo = m; composer.showContext(); },
    edit: (m) => { state.replyTo = null; state.editing = m; composer.showContext(); },
    redraw: () => draw(),
    toggleReactions,
  });
  const composer = createComposer(ctx, state, { merge, sent: () => toNewest(), dropTargets: [scroller] });

  let pinned = true; // the reader is at the newest message
  let unseen = 0; // live messages that arrived below the reader's view
  let drawn = new Map(); // seq -> {li, key}: unchanged messages keep their element (and focus)

  scroller.addEventListener("scroll", () => {
    pinned = nearBottom();
    if (pinned && !state.hasAfter) hidePill();
    if (scroller.scrollTop < 80 && state.hasBefore && !state.loading) loadOlder().catch(showError);
    if (pinned && state.hasAfter && !state.loading) loadNewer().catch(showError);
    noteSeen();
  }, { signal });
  // Whatever makes the list taller (a message, a picture loading, a font) keeps a pinned reader at
  // the newest message.
  const grows = new ResizeObserver(() => { if (pinned && state.current) toBottom(); });
  grows.observe(ul);
  signal.addEventListener("abort", () => grows.disconnect());
  document.addEventListener("visibilitychange", () => noteSeen(), { signal });
  window.addEventListener("focus", () => noteSeen(), { signal });

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR;
  }

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // Opening and closing ------------------------------------------------------------------------

  async function open(id, aroundSeq) {
    const opening = { id, held: [] };
    state.opening = opening;
    try {
      await load(id, aroundSeq, opening);
    } finally {
      if (state.opening === opening) state.opening = null;
      // What arrived meanwhile goes on top of the loaded history (merge dedups by seq). If another
      // address superseded this load the handlers still run: they update the list, and their own
      // "is this the open conversation" checks keep the pane right.
      for (const [fn, ev] of opening.held) {
        try { fn(ev); } catch (err) { console.error(err); }
      }
    }
  }

  async function load(id, aroundSeq, opening) {
    const conv = await api.get(`${P}/conversations/${id}`, { signal });
    if (state.opening !== opening) return;
    state.current = conv;
    state.replyTo = state.editing = state.reacting = null;
    state.items = [];
    drawn = new Map();
    ul.replaceChildren(); // not the previous conversation's messages under this one's title
    replace(root, header, announce, historyBox, typingLine, composer.root);
    title.textContent = conv.name;
    memberCount.textContent = conv.kind === "direct" || conv.kind === "notice" ? "" : `${conv.members.length} 人`;
    settingsBtn.hidden = conv.kind !== "group" && conv.kind !== "department";
    settingsBtn.textContent = conv.kind === "group" ? "群设置" : "成员";
    announce.hidden = !conv.announcement;
    announce.textContent = conv.announcement ? `群公告：${conv.announcement}` : "";
    composer.reset();
    composer.setEnabled(conv.kind !== "notice" && !conv.dissolved);
    shell.classList.add("show-pane");
    hidePill();
    const query = aroundSeq ? { around: aroundSeq, limit: PAGE } : { limit: PAGE };
    const page = await api.get(`${P}/conversations/${id}/messages`, { query, signal });
    if (state.current !== conv || state.opening !== opening) return;
    state.items = page.items;
    state.hasBefore = page.has_more_before;
    state.hasAfter = page.has_more_after;
    draw();
    const target = aroundSeq && ul.querySelector(`[data-seq="${aroundSeq}"]`);
    if (target) {
      target.classList.add("is-found");
      target.scrollIntoView({ block: "center" });
      pinned = nearBottom() && !state.hasAfter;
    } else {
      pinned = true;
      toBottom();
    }
    noteSeen();
    ws.send({ type: "presence.watch", user_ids: conv.members.map((m) => m.user_id).slice(0, 500) });
    list.draw();
  }

  /** Show the open conversation again (a phone shows either the list or the conversation). */
  function reveal() {
    shell.classList.add("show-pane");
    noteSeen();
  }

  function close() {
    state.current = null;
    state.opening = null;
    replace(root, empty);
    shell.classList.remove("show-pane");
    list.draw();
    list.focusCurrent();
  }

  function back() {
    // Came here from the list: go back to it (the browser's back does the same); from a link or a
    // reload there is nothing to go back to, so go to the list's own address.
    if (state.backToList) history.back();
    else ctx.navigate("#/messages");
  }

  function settings() {
    const conv = state.current;
    openSettings(ctx, conv, {
      changed: () => open(conv.id),
      left: async () => { await list.load(); ctx.navigate("#/messages", { replace: true }); },
      reloadList: () => list.load().catch(showError),
    });
  }

  // History ------------------------------------------------------------------------------------

  async function loadOlder() {
    state.loading = true;
    try {
      const first = state.items[0];
      const page = await api.get(`${P}/conversations/${state.current.id}/messages`,
        { query: { before: first.seq, limit: PAGE }, signal });
      const oldHeight = scroller.scrollHeight;
      const oldTop = scroller.scrollTop;
      state.items = page.items.concat(state.items);
      state.hasBefore = page.has_more_before;
      draw();
      scroller.scrollTop = oldTop + scroller.scrollHeight - oldHeight;
    } finally {
      state.loading = false;
    }
  }

  async function loadNewer() {
    state.loading = true;
    try {
      const last = state.items[state.items.length - 1];
      const page = await api.get(`${P}/conversations/${state.current.id}/messages`,
        { query: { after: last.seq, limit: PAGE }, signal });
      merge(page.items);
      state.hasAfter = page.has_more_after;
      if (!state.hasAfter && pinned) hidePill();
    } finally {
      state.loading = false;
    }
  }

  /** Insert by seq; a message already present (the ack and the event) replaces, never doubles. */
  function merge(msgs) {
    for (const m of msgs) {
      const i = state.items.findIndex((x) => x.seq === m.seq);
      if (i >= 0) state.items[i] = { ...state.items[i], ...m };
      else state.items.push(fresh(m));
    }
    state.items.sort((a, b) => a.seq - b.seq);
    draw();
    if (pinned) toBottom();
  }

  function fresh(m) {
    // A message that arrives live (send answer or chat.message) carries no per-reader fields yet.
    const me = ctx.me;
    if (m.sender_id === me.id && m.read_count === undefined && m.kind !== "system" && state.current) {
      const others = state.current.members.filter((x) => x.user_id !== me.id).length;
      return { ...m, read_count: 0, unread_count: others };
    }
    if (m.ding && m.sender_id !== me.id && m.ding_acked === undefined) {
      const ids = (m.meta && m.meta.ding_user_ids) || [];
      if (ids.includes(me.id)) return { ...m, ding_acked: false };
    }
    return m;
  }

  function patch(seq, fields) {
    const m = state.items.find((x) => x.seq === seq);
    if (m) {
      Object.assign(m, fields);
      merge([]);
    }
  }

  /** A live message for the open conversation: shown, and announced when the reader is elsewhere. */
  function arrived(msg) {
    const mine = msg.sender_id === ctx.me.id;
    if (!state.hasAfter) merge([msg]);
    if (!mine && (!pinned || state.hasAfter)) showPill(++unseen);
    noteSeen();
  }

  // Drawing ------------------------------------------------------------------------------------

  function draw() {
    const keep = new Map();
    for (const m of state.items) {
      const key = JSON.stringify(m) + (state.reacting === m.seq ? "+" : "");
      const old = drawn.get(m.seq);
      if (old && old.key === key) {
        keep.set(m.seq, old);
        continue;
      }
      const entry = { li: view.draw(m), key };
      if (old && old.li.parentNode === ul) swap(old.li, entry.li);
      keep.set(m.seq, entry);
    }
    for (const [seq, entry] of drawn) if (!keep.has(seq)) entry.li.remove();
    let at = ul.firstChild;
    for (const { li } of keep.values()) {
      if (li !== at) ul.insertBefore(li, at);
      else at = at.nextSibling;
    }
    drawn = keep;
  }

  /** Replace a message's element; a button focused in the old one is focused in the new one. */
  function swap(old, li) {
    const focused = old.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    old.replaceWith(li);
    if (focused) li.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  function toggleReactions(m, { focus = true } = {}) {
    const opening = state.reacting !== m.seq;
    state.reacting = opening ? m.seq : null;
    draw();
    if (!focus) return;
    const li = ul.querySelector(`[data-seq="${m.seq}"]`);
    (opening ? li?.querySelector(".msg-react-choice") : li?.querySelector('[data-focus="react"]'))?.focus();
  }

  // Reading ------------------------------------------------------------------------------------

  function showPill(n) {
    pill.textContent = n > 1 ? `${n} 条新消息 ↓` : "新消息 ↓";
    pill.hidden = false;
  }

  function hidePill() {
    unseen = 0;
    pill.hidden = true;
  }

  function toNewest() {
    if (state.hasAfter && state.current) {
      open(state.current.id).catch(showError); // the newest page, at the bottom
      return;
    }
    pinned = true;
    toBottom();
    hidePill();
    noteSeen();
  }

  /** The newest message the reader can see now, or 0 (hidden tab, list shown, nothing in view). */
  function newestVisibleSeq() {
    if (document.visibilityState !== "visible" || !scroller.clientHeight || !state.current) return 0;
    const box = scroller.getBoundingClientRect();
    for (let li = ul.lastElementChild; li; li = li.previousElementSibling) {
      const r = li.getBoundingClientRect();
      if (r.top >= box.bottom) continue; // below the view
      if (r.bottom <= box.top) return 0; // above it: nothing in view
      // Its end is in view, or it fills much of the view (a long message): it has been seen.
      if (r.bottom <= box.bottom + 2 || box.bottom - r.top >= box.height / 2) return Number(li.dataset.seq);
    }
    return 0;
  }

  let readTimer = 0;
  let readRefusals = 0; // in a row: the busy server's refusals back off as the composer's do
  function noteSeen() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => markRead(newestVisibleSeq()).then(() => { readRefusals = 0; }, readRefused), 300);
  }

  // A busy server (503 overloaded) is asked again after its Retry-After, backing off, quietly: a read
  // mark can wait (past the policy's tries, the next scroll or message asks again).
  function readRefused(err) {
    if (!(err && err.retryAfter)) return showError(err);
    clearTimeout(readTimer);
    const wait = retryDelay(err, readRefusals++);
    if (wait === null) readRefusals = 0;
    else readTimer = setTimeout(noteSeen, wait);
  }

  async function markRead(seq) {
    const conv = state.current && state.convs.find((c) => c.id === state.current.id);
    if (!seq || !conv || conv.last_read_seq >= seq) return;
    const r = await api.post(`${P}/conversations/${conv.id}/read`, { seq });
    conv.last_read_seq = Math.max(conv.last_read_seq, r.last_read_seq);
    conv.unread = r.unread;
    list.draw();
  }

  function drawTyping() {
    const now = Date.now();
    const names = [...state.typing.values()].filter((t) => now - t.at < 3000).map((t) => t.name);
    typingLine.textContent = names.length ? `${names.join("、")} 正在输入…` : "";
  }

  return { root, open, reveal, close, merge, patch, arrived, drawTyping };
}
