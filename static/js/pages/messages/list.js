// 消息 · the conversation list and chat search (the left column; the whole screen on a phone).
// Choosing a conversation or a search hit changes the address (#/messages/<id>[?seq=<n>]); the page
// entry opens what the address names, so reload, back and links behave the same way.
import { el, button, replace, debounce } from "../../ui.js";
import { P, fmtTime, showError } from "./common.js";
import { openNewGroup } from "./groups.js";

const KINDS = { department: "部门", group: "群聊", direct: "", notice: "通知" };

export function conversationList(ctx, state, { total }) {
  const { api, signal } = ctx;
  const search = el("input", {
    type: "search", class: "msg-search", placeholder: "搜索聊天记录", "aria-label": "搜索聊天记录（至少 2 个字）",
  });
  const newGroup = button("＋ 新建群聊", () => openNewGroup(ctx, { created: created }), { class: "btn-small msg-new" });
  const list = el("ul", { class: "msg-list" });
  const results = el("ul", { class: "msg-list msg-results", hidden: true });
  const root = el("aside", { class: "msg-side", "aria-label": "会话列表" },
    el("div", { class: "msg-side-tools" }, search, newGroup), list, results);

  search.addEventListener("input", debounce(() => runSearch().catch(showError), 250), { signal });

  function go(hash) {
    state.backToList = true; // the pane's "‹ 会话列表" can then simply go back
    ctx.navigate(hash);
  }

  async function created(conv) {
    await load();
    go(`#/messages/${conv.id}`);
  }

  async function runSearch() {
    const q = search.value.trim();
    if (q.length < 2) {
      results.hidden = true;
      list.hidden = false;
      return;
    }
    const data = await api.get(`${P}/search`, { query: { q }, signal });
    replace(results, data.items.map((hit) => el("li", {},
      el("button", {
        type: "button", class: "msg-conv msg-hit",
        onclick: () => go(`#/messages/${hit.conversation_id}?seq=${hit.message.seq}`),
      }, el("span", { class: "msg-hit-conv" }, hit.conversation_name),
      el("span", { class: "msg-hit-sender" }, hit.message.sender_name),
      highlight(hit.message.text, q)))));
    if (!data.items.length) results.appendChild(el("li", { class: "msg-empty" }, "没有找到相关消息"));
    results.hidden = false;
    list.hidden = true;
  }

  async function load() {
    const data = await api.get(`${P}/conversations`, { signal });
    state.convs = data.items;
    draw();
  }

  function draw() {
    const unread = state.convs.reduce((n, c) => n + (c.muted ? 0 : c.unread || 0), 0);
    total.textContent = unread ? `${unread} 条未读` : "";
    replace(list, state.convs.map((c) => el("li", {}, item(c))));
    if (!state.convs.length) list.appendChild(el("li", { class: "msg-empty" }, "还没有会话"));
  }

  function item(c) {
    const current = state.current && state.current.id === c.id;
    const badge = c.unread
      ? el("span", { class: ["msg-badge", c.muted && "is-muted"], "aria-label": `${c.unread} 条未读` }, c.unread > 99 ? "99+" : c.unread)
      : null;
    return el("button", {
      type: "button", class: ["msg-conv", current && "is-active"], "aria-current": current ? "true" : null,
      dataset: { conv: c.id }, onclick: () => go(`#/messages/${c.id}`),
    },
    el("span", { class: "msg-conv-top" },
      el("span", { class: "msg-conv-name" }, c.name || "（未命名）"),
      KINDS[c.kind] ? el("span", { class: "msg-tag" }, KINDS[c.kind]) : null,
      c.last_message_at && c.last_message ? el("span", { class: "msg-conv-time" }, fmtTime(c.last_message_at)) : null,
      badge),
    el("span", { class: "msg-conv-preview" }, preview(c)));
  }

  function focusCurrent() {
    list.querySelector(".is-active")?.focus();
  }

  return { root, load, draw, focusCurrent };
}

function preview(c) {
  const m = c.last_message;
  if (!m) return "暂无消息";
  if (m.recalled) return m.recall_notice;
  const who = m.sender_name ? `${m.sender_name}：` : "";
  return who + (m.attachment ? `[${m.kind === "image" ? "图片" : "文件"}] ` : "") + m.text.slice(0, 60);
}

function highlight(text, q) {
  const span = el("span", { class: "msg-hit-text" });
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  let i = 0;
  for (;;) {
    const j = lower.indexOf(needle, i);
    if (j < 0) {
      span.append(text.slice(i));
      return span;
    }
    span.append(text.slice(i, j), el("mark", {}, text.slice(j, j + q.length)));
    i = j + q.length;
  }
}
