// 消息: the page entry. The conversation list (messages/list.js), the open conversation
// (messages/pane.js, with messages/message.js and messages/composer.js) and the group dialogs
// (messages/groups.js) share one state; this module builds them, opens what the address names
// (#/messages/<conversation id>[?seq=<n>]) and applies live events.
//
// Page-module contract (see app.js): render(root, ctx) builds the page; update(params) handles a
// new address within it (another conversation, back, forward) without building it again.
// Everything it listens to is tied to ctx.signal, so leaving the page cleans up.
import { el, loadCss, replace } from "../ui.js";
import { showError } from "./messages/common.js";
import { conversationList } from "./messages/list.js";
import { conversationPane } from "./messages/pane.js";

let shown = null; // the page on screen: {show(params)}

export async function render(root, ctx) {
  await loadCss("messages");
  const state = {
    convs: [], current: null, items: [], hasBefore: false, hasAfter: false, loading: false,
    replyTo: null, editing: null, reacting: null, typing: new Map(), backToList: false,
    // While a conversation's history is loading, its live events wait here: applied to the old
    // list they would be wiped by the history that lands after them.
    opening: null, // { id, held: [[fn, ev], ...] }
  };
  const total = el("span", { class: "msg-total" });
  const shell = el("div", { class: "msg-shell" });
  root.classList.add("msg-page");
  replace(root, el("div", { class: "msg-head" }, el("h1", {}, "消息"), total), shell);
  const list = conversationList(ctx, state, { total });
  const pane = conversationPane(ctx, state, { list, shell });
  shell.append(list.root, pane.root);
  listen(ctx, state, list, pane);

  async function show({ path = [], query = {} }) {
    const id = Number(path[0]) || 0;
    const seq = Number(query.seq) || undefined;
    if (!id) pane.close();
    else if (state.current && state.current.id === id && !seq) pane.reveal();
    else await pane.open(id, seq);
  }
  // An address naming a conversation that cannot be opened (not a member, or gone): say so and
  // show the list, rather than an error page.
  const page = {
    show: (params) => show(params).catch((err) => {
      showError(err);
      if (err && err.status === 404) ctx.navigate("#/messages", { replace: true });
    }),
  };
  shown = page;
  ctx.signal.addEventListener("abort", () => { if (shown === page) shown = null; });

  await list.load();
  await page.show(ctx.params || {});
}

/** A new address within the page: open what it names. */
export function update(params) {
  if (!shown) return false;
  shown.show(params);
  return true;
}

function listen(ctx, state, list, pane) {
  const { ws, me, signal } = ctx;
  const inCurrent = (ev) => state.current && ev.conversation_id === state.current.id;
  const reload = () => list.load().catch(showError);
  function on(prefix, fn) {
    ws.subscribe(prefix, (ev) => {
      if (signal.aborted) return;
      if (state.opening && ev.conversation_id === state.opening.id) state.opening.held.push([fn, ev]);
      else fn(ev);
    }, { signal });
  }

  on("chat.message", (ev) => {
    const conv = state.convs.find((c) => c.id === ev.conversation_id);
    if (conv) {
      conv.last_message = ev.message;
      conv.last_seq = Math.max(conv.last_seq, ev.seq);
      conv.last_message_at = ev.message.created_at;
      if (ev.message.sender_id === me.id) conv.last_read_seq = Math.max(conv.last_read_seq, ev.seq);
      conv.unread = Math.max(conv.last_seq - conv.last_read_seq, 0);
      state.convs.sort((a, b) => (a.last_message_at < b.last_message_at ? 1 : -1));
      list.draw();
    } else reload();
    if (inCurrent(ev) && state.typing.delete(ev.message.sender_id)) pane.drawTyping();
    if (inCurrent(ev)) pane.arrived(ev.message);
  });
  on("chat.edit", (ev) => inCurrent(ev) && pane.patch(ev.seq, { text: ev.text, edited_at: ev.edited_at }));
  on("chat.recall", (ev) => {
    const conv = state.convs.find((c) => c.id === ev.conversation_id);
    if (conv && conv.last_message && conv.last_message.seq === ev.seq) {
      conv.last_message = { ...conv.last_message, recalled: true, recall_notice: ev.notice };
      list.draw();
    }
    if (inCurrent(ev)) pane.patch(ev.seq, { recalled: true, text: "", recall_notice: ev.notice, attachment: null });
  });
  on("chat.reaction", (ev) => {
    const m = inCurrent(ev) && state.items.find((x) => x.seq === ev.seq);
    if (!m) return;
    const rx = m.reactions || [];
    let r = rx.find((x) => x.emoji === ev.emoji);
    if (!r) rx.push((r = { emoji: ev.emoji, user_ids: [] }));
    r.user_ids = r.user_ids.filter((u) => u !== ev.user_id);
    if (ev.op === "add") r.user_ids.push(ev.user_id);
    pane.patch(ev.seq, { reactions: rx.filter((x) => x.user_ids.length) });
  });
  on("chat.read", (ev) => {
    if (ev.user_id === me.id) {
      const conv = state.convs.find((c) => c.id === ev.conversation_id);
      if (conv) {
        conv.last_read_seq = Math.max(conv.last_read_seq, ev.seq);
        conv.unread = ev.unread;
        list.draw();
      }
      return;
    }
    if (!inCurrent(ev)) return;
    for (const m of state.items) {
      if (m.sender_id === me.id && m.read_count !== undefined && m.seq > ev.from_seq && m.seq <= ev.seq) {
        m.read_count += 1;
        m.unread_count = Math.max(m.unread_count - 1, 0);
      }
    }
    pane.merge([]);
  });
  on("chat.ding_ack", (ev) => {
    if (!inCurrent(ev)) return;
    if (ev.user_id === me.id) pane.patch(ev.seq, { ding_acked: true });
    else pane.patch(ev.seq, { ding_pending: ev.pending });
  });
  on("chat.member", reload);
  on("chat.conversation", (ev) => {
    reload();
    if (inCurrent(ev) && ev.op === "remove") ctx.navigate("#/messages", { replace: true });
  });
  on("chat.typing", (ev) => {
    if (!inCurrent(ev)) return;
    state.typing.set(ev.user_id, { name: ev.name, at: Date.now() });
    pane.drawTyping();
    setTimeout(pane.drawTyping, 3500);
  });
  document.addEventListener("visibilitychange",
    () => ws.send({ type: "presence.set", status: document.hidden ? "away" : "online" }), { signal });
}
