// 消息: conversation list, message pane, composer. User data is only ever set with textContent.
//
// Page-module contract (see app.js): render(root, ctx) builds the page; everything it listens to
// (websocket frames, document events) is tied to ctx.signal, so leaving the page cleans up.
import { confirmDialog, openDialog, toast } from "../ui.js";
import { csrfHeader, newClientId } from "../api.js";

const P = "/api/messages";
const PAGE = 40;
const RECALL_MS = 120_000; // messaging.config recall_seconds
const SOURCES = { docs_flow: "公文", meetings: "会议", esign: "签章" }; // who sent a 工作通知

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function btn(label, cls, onClick, ariaLabel) {
  const b = el("button", cls || "btn btn-secondary btn-small", label);
  b.type = "button";
  if (ariaLabel) b.setAttribute("aria-label", ariaLabel);
  b.addEventListener("click", onClick);
  return b;
}
const LINK = "msg-link-btn";
function fmtTime(iso) {
  const d = new Date(iso);
  const now = new Date();
  const hm = d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
  return d.toDateString() === now.toDateString() ? hm : `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}
function ensureCss() {
  if (document.querySelector('link[data-page="messages"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/css/messages.css";
  link.dataset.page = "messages";
  document.head.appendChild(link);
}
function showError(err) {
  if (err && err.name === "AbortError") return;
  toast((err && err.message) || "操作失败，请重试", "error");
}

export async function render(root, ctx) {
  ensureCss();
  const { api, ws, me, signal } = ctx;
  const state = {
    convs: [], current: null, items: [], hasBefore: false, hasAfter: false, loading: false,
    replyTo: null, editing: null, typing: new Map(),
    // While a conversation's history is loading, its live events wait here: applied to the old
    // list they would be wiped by the history that lands after them.
    opening: null, // { id, held: [[fn, ev], ...] }
  };
  root.textContent = "";
  root.classList.add("msg-page");
  const head = el("div", "msg-head");
  const h1 = el("h1", null, "消息");
  const total = el("span", "msg-total");
  head.append(h1, total);
  const shell = el("div", "msg-shell");
  const side = el("aside", "msg-side");
  side.setAttribute("aria-label", "会话列表");
  const pane = el("section", "msg-pane");
  pane.setAttribute("aria-label", "聊天内容");
  shell.append(side, pane);
  root.append(head, shell);

  // Sidebar ----------------------------------------------------------------------------------
  const search = el("input", "msg-search");
  search.type = "search";
  search.placeholder = "搜索聊天记录";
  search.setAttribute("aria-label", "搜索聊天记录（至少 2 个字）");
  const newGroup = btn("＋ 新建群聊", "btn btn-secondary btn-small msg-new", () => openNewGroup());
  const sideTools = el("div", "msg-side-tools");
  sideTools.append(search, newGroup);
  const list = el("ul", "msg-list");
  const results = el("ul", "msg-list msg-results");
  results.hidden = true;
  side.append(sideTools, list, results);

  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch().catch(showError), 250);
  });

  async function runSearch() {
    const q = search.value.trim();
    if (q.length < 2) { results.hidden = true; list.hidden = false; return; }
    const data = await api.get(`${P}/search`, { query: { q }, signal });
    results.textContent = "";
    for (const hit of data.items) {
      const li = el("li");
      const b = el("button", "msg-conv msg-hit");
      b.type = "button";
      b.append(el("span", "msg-hit-conv", hit.conversation_name), el("span", "msg-hit-sender", hit.message.sender_name));
      b.appendChild(highlight(hit.message.text, q));
      b.addEventListener("click", () => openConversation(hit.conversation_id, hit.message.seq).catch(showError));
      li.appendChild(b);
      results.appendChild(li);
    }
    if (!data.items.length) results.appendChild(el("li", "msg-empty", "没有找到相关消息"));
    results.hidden = false;
    list.hidden = true;
  }

  function highlight(text, q) {
    const div = el("span", "msg-hit-text");
    const lower = text.toLowerCase();
    const needle = q.toLowerCase();
    let i = 0;
    for (;;) {
      const j = lower.indexOf(needle, i);
      if (j < 0) { div.appendChild(document.createTextNode(text.slice(i))); break; }
      div.appendChild(document.createTextNode(text.slice(i, j)));
      div.appendChild(el("mark", null, text.slice(j, j + q.length)));
      i = j + q.length;
    }
    return div;
  }

  async function loadConversations() {
    const data = await api.get(`${P}/conversations`, { signal });
    state.convs = data.items;
    drawList();
  }

  function preview(c) {
    const m = c.last_message;
    if (!m) return "暂无消息";
    if (m.recalled) return m.recall_notice;
    const who = m.sender_name ? `${m.sender_name}：` : "";
    return who + (m.attachment ? `[${m.kind === "image" ? "图片" : "文件"}] ` : "") + m.text.slice(0, 60);
  }

  function drawList() {
    const unread = state.convs.reduce((n, c) => n + (c.muted ? 0 : c.unread || 0), 0);
    total.textContent = unread ? `${unread} 条未读` : "";
    list.textContent = "";
    const kinds = { department: "部门", group: "群聊", direct: "", notice: "通知" };
    for (const c of state.convs) {
      const li = el("li");
      const b = el("button", "msg-conv" + (state.current && state.current.id === c.id ? " is-active" : ""));
      b.type = "button";
      if (state.current && state.current.id === c.id) b.setAttribute("aria-current", "true");
      const top = el("span", "msg-conv-top");
      top.appendChild(el("span", "msg-conv-name", c.name || "（未命名）"));
      if (kinds[c.kind]) top.appendChild(el("span", "msg-tag", kinds[c.kind]));
      if (c.last_message_at && c.last_message) top.appendChild(el("span", "msg-conv-time", fmtTime(c.last_message_at)));
      if (c.unread) {
        const badge = el("span", "msg-badge" + (c.muted ? " is-muted" : ""), c.unread > 99 ? "99+" : c.unread);
        badge.setAttribute("aria-label", `${c.unread} 条未读`);
        top.appendChild(badge);
      }
      b.append(top, el("span", "msg-conv-preview", preview(c)));
      b.addEventListener("click", () => openConversation(c.id).catch(showError));
      li.appendChild(b);
      list.appendChild(li);
    }
    if (!state.convs.length) list.appendChild(el("li", "msg-empty", "还没有会话"));
  }

  // Pane ---------------------------------------------------------------------------------------
  const header = el("header", "msg-header");
  const back = btn("‹ 会话列表", "btn btn-secondary btn-small msg-back", () => {
    shell.classList.remove("show-pane");
    list.querySelector(".is-active")?.focus();
  });
  const title = el("h2", "msg-title");
  const memberCount = el("span", "msg-member-count");
  const settingsBtn = btn("群设置", "btn btn-secondary btn-small", () => openSettings());
  header.append(back, title, memberCount, settingsBtn);
  const announce = el("div", "msg-announce");
  announce.hidden = true;
  const scroller = el("div", "msg-scroller");
  scroller.tabIndex = 0;
  scroller.setAttribute("aria-label", "消息记录");
  const ul = el("ul", "msg-items");
  ul.setAttribute("aria-live", "polite");
  scroller.appendChild(ul);
  const typingLine = el("div", "msg-typing");
  const composer = buildComposer();
  const empty = el("div", "msg-placeholder", "请在左侧选择一个会话开始聊天");
  pane.append(empty);

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 80 && state.hasBefore && !state.loading) loadOlder().catch(showError);
    if (nearBottom() && state.hasAfter && !state.loading) loadNewer().catch(showError);
    if (nearBottom()) markRead();
  });
  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60; }

  async function openConversation(id, aroundSeq) {
    const opening = { id, held: [] };
    state.opening = opening;
    try {
      await loadConversation(id, aroundSeq, opening);
    } finally {
      if (state.opening === opening) state.opening = null;
      // What arrived meanwhile goes on top of the loaded history (merge dedups by seq). If another
      // click superseded this load the handlers still run: they update the list, and their own
      // "is this the open conversation" checks keep the pane right.
      replay(opening.held);
    }
  }

  function replay(held) {
    for (const [fn, ev] of held) {
      try { fn(ev); } catch (err) { console.error(err); }
    }
  }

  async function loadConversation(id, aroundSeq, opening) {
    const conv = await api.get(`${P}/conversations/${id}`, { signal });
    if (state.opening !== opening) return;
    state.current = conv;
    state.replyTo = state.editing = null;
    state.items = [];
    ul.textContent = ""; // not the previous conversation's messages under this one's title
    pane.textContent = "";
    pane.append(header, announce, scroller, typingLine, composer.root);
    title.textContent = conv.name;
    memberCount.textContent = conv.kind === "direct" || conv.kind === "notice" ? "" : `${conv.members.length} 人`;
    settingsBtn.hidden = conv.kind !== "group" && conv.kind !== "department";
    settingsBtn.textContent = conv.kind === "group" ? "群设置" : "成员";
    announce.hidden = !conv.announcement;
    announce.textContent = conv.announcement ? `群公告：${conv.announcement}` : "";
    composer.reset();
    composer.setEnabled(conv.kind !== "notice" && !conv.dissolved);
    shell.classList.add("show-pane");
    const query = aroundSeq ? { around: aroundSeq, limit: PAGE } : { limit: PAGE };
    const page = await api.get(`${P}/conversations/${id}/messages`, { query, signal });
    if (state.current !== conv || state.opening !== opening) return;
    state.items = page.items;
    state.hasBefore = page.has_more_before;
    state.hasAfter = page.has_more_after;
    drawMessages();
    if (aroundSeq) {
      const target = ul.querySelector(`[data-seq="${aroundSeq}"]`);
      if (target) { target.classList.add("is-found"); target.scrollIntoView({ block: "center" }); }
    } else {
      scroller.scrollTop = scroller.scrollHeight;
      markRead();
    }
    ws.send({ type: "presence.watch", user_ids: conv.members.map((m) => m.user_id).slice(0, 500) });
    drawList();
  }

  async function loadOlder() {
    state.loading = true;
    try {
      const first = state.items[0];
      const page = await api.get(`${P}/conversations/${state.current.id}/messages`,
        { query: { before: first.seq, limit: PAGE }, signal });
      const oldHeight = scroller.scrollHeight;
      state.items = page.items.concat(state.items);
      state.hasBefore = page.has_more_before;
      drawMessages();
      scroller.scrollTop = scroller.scrollHeight - oldHeight;
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
    } finally {
      state.loading = false;
    }
  }

  function merge(msgs) {
    // Insert by seq; a message already present (e.g. the ack and the event) replaces, never doubles.
    for (const m of msgs) {
      const i = state.items.findIndex((x) => x.seq === m.seq);
      if (i >= 0) state.items[i] = { ...state.items[i], ...m };
      else state.items.push(fresh(m));
    }
    state.items.sort((a, b) => a.seq - b.seq);
    const stick = nearBottom();
    drawMessages();
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  function fresh(m) {
    // A message that arrives live (send answer or chat.message) carries no per-reader fields yet.
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

  function drawMessages() {
    ul.textContent = "";
    for (const m of state.items) ul.appendChild(drawMessage(m));
  }

  function drawMessage(m) {
    const mine = m.sender_id === me.id;
    const li = el("li", `msg-item${mine ? " is-mine" : ""}${m.kind === "system" ? " is-system" : ""}`);
    li.dataset.seq = m.seq;
    if (m.kind === "system") { li.appendChild(el("span", "msg-system", m.text)); return li; }
    if (m.recalled) {
      li.className = "msg-item is-system is-recalled";
      li.appendChild(el("span", "msg-system", m.recall_notice));
      return li;
    }
    if (m.ding) li.classList.add("is-ding");
    const meta = el("div", "msg-meta");
    const source = SOURCES[m.meta && m.meta.source] || "系统通知";
    meta.append(el("span", "msg-sender", mine ? "我" : m.sender_name || (m.kind === "notice" ? source : "")),
      el("time", "msg-time", fmtTime(m.created_at)));
    if (m.ding) meta.appendChild(el("span", "msg-ding", "DING"));
    if (m.edited_at) meta.appendChild(el("span", "msg-edited", "已编辑"));
    const bubble = el("div", "msg-bubble");
    if (m.reply_to) bubble.appendChild(el("blockquote", "msg-quote", `${m.reply_to.sender_name}：${m.reply_to.text}`));
    if (m.kind === "notice") {
      bubble.appendChild(el("strong", "msg-notice-title", m.meta.title));
      if (m.meta.body) bubble.appendChild(el("div", "msg-text", m.meta.body));
      if (m.meta.link) {
        const a = el("a", "msg-link", "查看详情");
        a.href = `#${m.meta.link}`;
        a.addEventListener("click", (e) => { e.preventDefault(); ctx.navigate(m.meta.link); });
        bubble.appendChild(a);
      }
    } else if (m.attachment) {
      const a = m.attachment;
      if (a.thumb_url) {
        const img = el("img", "msg-thumb");
        img.src = a.thumb_url;
        img.alt = a.filename;
        img.loading = "lazy";
        bubble.appendChild(img);
      }
      const link = el("a", "msg-file", `${a.filename}（${Math.max(1, Math.round(a.size / 1024))} KB）`);
      link.href = a.url;
      link.download = a.filename;
      bubble.appendChild(link);
    } else {
      bubble.appendChild(textWithMentions(m));
    }
    li.append(meta, bubble);
    if (m.reactions && m.reactions.length) {
      const rx = el("div", "msg-reactions");
      for (const r of m.reactions) rx.appendChild(el("span", "msg-reaction", `${r.emoji} ${r.user_ids.length}`));
      li.appendChild(rx);
    }
    li.appendChild(actionsFor(m, mine));
    return li;
  }

  function textWithMentions(m) {
    const div = el("div", "msg-text", m.text);
    if (m.mention_all || (m.mentions || []).includes(me.id)) div.classList.add("is-mentioned");
    return div;
  }

  function readLabel(m) {
    if (!m.unread_count) return "全部已读";
    if (!m.read_count) return "未读";
    return `${m.read_count}人已读`;
  }

  function actionsFor(m, mine) {
    const bar = el("div", "msg-actions");
    if (mine && m.read_count !== undefined) {
      const reads = btn(readLabel(m), `${LINK} msg-reads${m.unread_count ? "" : " is-all"}`, () => showReads(m).catch(showError));
      reads.setAttribute("aria-label", `${readLabel(m)}，查看已读情况`);
      bar.appendChild(reads);
    }
    if (m.ding) {
      if (mine) {
        const label = m.ding_pending === 0 ? "DING 全部已确认" : "DING 确认情况";
        bar.appendChild(btn(label, `${LINK} msg-ding-status${m.ding_pending === 0 ? " is-all" : ""}`,
          () => showDing(m).catch(showError)));
      } else if (m.ding_acked === false) {
        bar.appendChild(btn("收到", "btn btn-primary btn-small msg-ack", async () => {
          try {
            await api.post(`${url(m)}/ding/ack`);
            m.ding_acked = true;
            merge([]);
          } catch (err) { showError(err); }
        }, "确认收到这条 DING"));
      } else if (m.ding_acked === true) {
        bar.appendChild(el("span", "msg-acked", "已确认收到"));
      }
    }
    if (state.current.kind !== "notice") {
      bar.appendChild(btn("回复", LINK, () => { state.editing = null; state.replyTo = m; composer.showContext(); }));
      bar.appendChild(btn(reacted(m, "👍") ? "取消赞" : "赞", LINK,
        () => api.post(`${url(m)}/reactions`, { emoji: "👍", on: !reacted(m, "👍") }).catch(showError)));
    }
    if (mine) {
      if (m.kind === "text") bar.appendChild(btn("编辑", LINK, () => { state.replyTo = null; state.editing = m; composer.showContext(); }));
      if (Date.now() - new Date(m.created_at).getTime() < RECALL_MS) {
        bar.appendChild(btn("撤回", LINK, async () => {
          const ok = await confirmDialog({ title: "撤回消息", message: "撤回后，所有人都看不到这条消息的内容。确定撤回？",
            confirmText: "撤回", danger: true });
          if (ok) api.post(`${url(m)}/recall`).catch(showError);
        }));
      }
    }
    return bar;
  }
  function url(m) { return `${P}/conversations/${m.conversation_id}/messages/${m.seq}`; }
  function reacted(m, emoji) { return (m.reactions || []).some((r) => r.emoji === emoji && r.user_ids.includes(me.id)); }

  function namesBlock(label, people, none) {
    const wrap = el("div", "msg-people");
    wrap.append(el("h3", "msg-people-title", `${label}（${people.length}）`),
      el("p", null, people.map((p) => p.name).join("、") || none));
    return wrap;
  }
  async function showReads(m) {
    const data = await api.get(`${url(m)}/reads`, { signal });
    openDialog({ title: "已读情况", body: [namesBlock("已读", data.read, "暂无"), namesBlock("未读", data.unread, "无")] });
  }
  async function showDing(m) {
    const data = await api.get(`${url(m)}/ding`, { signal });
    m.ding_pending = data.pending.length;
    merge([]);
    openDialog({ title: "DING 确认情况", body: [
      el("p", "msg-ding-summary", data.pending.length ? `还有 ${data.pending.length} 人未确认` : "全部已确认收到"),
      namesBlock("未确认", data.pending, "无"), namesBlock("已确认", data.acked, "暂无")] });
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(async () => {
      const last = state.items[state.items.length - 1];
      const conv = state.convs.find((c) => state.current && c.id === state.current.id);
      if (!last || !conv || conv.last_read_seq >= last.seq || state.hasAfter) return;
      try {
        const r = await api.post(`${P}/conversations/${state.current.id}/read`, { seq: last.seq });
        conv.last_read_seq = Math.max(conv.last_read_seq, r.last_read_seq);
        conv.unread = r.unread;
        drawList();
      } catch (err) { showError(err); }
    }, 300);
  }

  // Composer -------------------------------------------------------------------------------------
  function buildComposer() {
    const wrap = el("div", "msg-composer");
    const context = el("div", "msg-context");
    context.hidden = true;
    const text = el("textarea", "msg-input");
    text.rows = 3;
    text.maxLength = 10000;
    text.setAttribute("aria-label", "消息内容");
    const suggest = el("ul", "msg-suggest");
    suggest.hidden = true;
    const progress = el("progress", "msg-progress");
    progress.max = 100;
    progress.hidden = true;
    progress.setAttribute("aria-label", "上传进度");
    const file = el("input");
    file.type = "file";
    file.hidden = true;
    const dingPick = el("fieldset", "msg-ding-pick");
    dingPick.hidden = true;
    const tools = el("div", "msg-tools");
    const dingBox = el("label", "msg-ding-toggle");
    const dingInput = el("input");
    dingInput.type = "checkbox";
    dingInput.addEventListener("change", () => drawDingPick());
    dingBox.append(dingInput, el("span", null, "DING 提醒"));
    const hint = el("span", "msg-hint", "Enter 发送，Shift+Enter 换行");
    tools.append(btn("附件", "btn btn-secondary btn-small", () => file.click(), "添加附件"), dingBox, hint,
      btn("发送", "btn btn-primary msg-send", () => submit()));
    wrap.append(context, suggest, text, dingPick, progress, tools, file);
    const mentions = new Map();

    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    text.addEventListener("input", () => { autocomplete().catch(showError); sendTyping(); });
    file.addEventListener("change", () => { for (const f of file.files) upload(f); file.value = ""; });
    for (const target of [wrap, scroller]) {
      target.addEventListener("dragover", (e) => { e.preventDefault(); wrap.classList.add("is-drop"); });
      target.addEventListener("dragleave", () => wrap.classList.remove("is-drop"));
      target.addEventListener("drop", (e) => {
        e.preventDefault();
        wrap.classList.remove("is-drop");
        for (const f of e.dataTransfer.files) upload(f);
      });
    }

    // DING recipients: everyone else in the conversation unless some are ticked.
    const dingChosen = new Set();
    function drawDingPick() {
      dingPick.textContent = "";
      dingPick.hidden = !dingInput.checked;
      if (!dingInput.checked || !state.current) return;
      dingPick.appendChild(el("legend", null, "DING 给谁？不选则提醒会话中的所有人"));
      const box = el("div", "msg-ding-people");
      for (const m of state.current.members) {
        if (m.user_id === me.id) continue;
        const label = el("label", "msg-ding-person");
        const cb = el("input");
        cb.type = "checkbox";
        cb.checked = dingChosen.has(m.user_id);
        cb.addEventListener("change", () => { if (cb.checked) dingChosen.add(m.user_id); else dingChosen.delete(m.user_id); });
        label.append(cb, el("span", null, m.name));
        box.appendChild(label);
      }
      dingPick.appendChild(box);
    }

    let typingAt = 0;
    function sendTyping() {
      if (!state.current || Date.now() - typingAt < 2000) return;
      typingAt = Date.now();
      ws.send({ type: "chat.typing", conversation_id: state.current.id });
    }

    async function autocomplete() {
      const caret = text.selectionStart;
      const before = text.value.slice(0, caret);
      const m = before.match(/@([^\s@]{0,20})$/);
      if (!m) { suggest.hidden = true; return; }
      const data = await api.get(`${P}/conversations/${state.current.id}/members`, { query: { q: m[1], limit: 8 }, signal });
      suggest.textContent = "";
      const canAll = ["owner", "admin"].includes(state.current.role);
      const options = data.items.filter((u) => u.user_id !== me.id);
      if (canAll && "所有人".startsWith(m[1])) options.unshift({ user_id: "all", name: "所有人" });
      for (const u of options) {
        const li = el("li", "msg-suggest-item", u.name);
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          text.value = before.slice(0, before.length - m[0].length) + `@${u.name} ` + text.value.slice(caret);
          mentions.set(u.name, u.user_id);
          suggest.hidden = true;
          text.focus();
        });
        suggest.appendChild(li);
      }
      suggest.hidden = !options.length;
    }

    function showContext() {
      context.textContent = "";
      const subject = state.editing || state.replyTo;
      if (!subject) { context.hidden = true; return; }
      context.appendChild(el("span", "msg-context-label", state.editing ? "编辑消息：" : `回复 ${subject.sender_name}：`));
      context.appendChild(el("span", "msg-context-text", subject.text.slice(0, 80)));
      context.appendChild(btn("取消", LINK, () => { state.editing = state.replyTo = null; text.value = ""; showContext(); }));
      if (state.editing) text.value = state.editing.text;
      context.hidden = false;
      text.focus();
    }

    function reset() {
      text.value = "";
      mentions.clear();
      dingChosen.clear();
      dingInput.checked = false;
      drawDingPick();
      suggest.hidden = true;
      showContext();
    }

    async function submit(extra = {}, attempt = 0, clientId = newClientId()) {
      const body = text.value;
      if (!body.trim() && !extra.attachment_id) return;
      const conv = state.current;
      try {
        if (state.editing) {
          await api.put(url(state.editing), { text: body });
          state.editing = null;
        } else {
          const ids = [...mentions.entries()].filter(([n]) => body.includes(`@${n}`)).map(([, id]) => id);
          const payload = {
            text: body, client_id: clientId, mentions: ids.filter((i) => i !== "all"),
            mention_all: ids.includes("all"), ding: dingInput.checked, ...extra,
          };
          if (dingInput.checked && dingChosen.size) payload.ding_user_ids = [...dingChosen];
          if (state.replyTo) payload.reply_to_seq = state.replyTo.seq;
          const msg = await api.post(`${P}/conversations/${conv.id}/messages`, payload);
          if (state.current === conv) merge([msg]);
          state.replyTo = null;
        }
        reset();
        scroller.scrollTop = scroller.scrollHeight;
      } catch (err) {
        // A network failure may have lost the ack: retry with the same client id (never doubles).
        if (attempt < 3 && !(err && err.status && err.status < 500)) {
          setTimeout(() => submit(extra, attempt + 1, clientId), 1000 * (attempt + 1));
        } else showError(err);
      }
    }

    function upload(f) {
      const conv = state.current;
      const form = new FormData();
      form.append("file", f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${P}/conversations/${conv.id}/attachments`);
      xhr.setRequestHeader("x-csrf-token", csrfHeader() || me.csrf_token || "");
      progress.hidden = false;
      progress.value = 0;
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; });
      xhr.addEventListener("load", async () => {
        progress.hidden = true;
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch { /* keep empty */ }
        if (xhr.status !== 201) { showError(data); return; }
        try {
          const msg = await api.post(`${P}/conversations/${conv.id}/messages`, { text: "", client_id: newClientId(), attachment_id: data.id });
          if (state.current === conv) merge([msg]);
        } catch (err) { showError(err); }
      });
      xhr.addEventListener("error", () => { progress.hidden = true; showError({ message: "上传失败，请重试" }); });
      xhr.send(form);
    }

    const readOnly = el("p", "msg-readonly", "此会话只用于接收通知，不能发送消息");
    wrap.appendChild(readOnly);
    function setEnabled(on) {
      text.disabled = !on;
      wrap.classList.toggle("is-disabled", !on);
      readOnly.hidden = on;
      text.placeholder = "输入消息，@ 可提及同事";
    }

    return { root: wrap, showContext, setEnabled, reset };
  }

  // Settings and new group -------------------------------------------------------------------
  function personPicker(chosen) {
    const input = el("input", "msg-search");
    input.type = "search";
    input.placeholder = "输入姓名或拼音查找同事";
    input.setAttribute("aria-label", "查找要添加的成员");
    const found = el("ul", "msg-found");
    const picked = el("p", "msg-picked", "尚未选择成员");
    const drawPicked = () => { picked.textContent = chosen.size ? `已选：${[...chosen.values()].join("、")}` : "尚未选择成员"; };
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        found.textContent = "";
        const q = input.value.trim();
        if (!q) return;
        try {
          const data = await api.get("/api/directory/search", { query: { q, limit: 10 }, signal });
          for (const p of data.items) {
            if (p.id === me.id) continue;
            const li = el("li");
            const b = btn(`${p.name}${p.department ? `（${p.department}）` : ""}`, "msg-found-item", () => {
              chosen.set(p.id, p.name);
              drawPicked();
            });
            li.appendChild(b);
            found.appendChild(li);
          }
        } catch (err) { showError(err); }
      }, 200);
    });
    const wrap = el("div", "msg-picker");
    wrap.append(input, found, picked);
    return wrap;
  }

  function openNewGroup() {
    const name = el("input", "msg-field");
    name.type = "text";
    name.maxLength = 100;
    name.setAttribute("aria-label", "群名称");
    name.placeholder = "群名称，例如：周例会筹备";
    const chosen = new Map();
    const create = btn("创建群聊", "btn btn-primary", async () => {
      try {
        const conv = await api.post(`${P}/conversations`, { name: name.value, member_ids: [...chosen.keys()] });
        ui.close();
        await loadConversations();
        await openConversation(conv.id);
      } catch (err) { showError(err); }
    });
    const ui = openDialog({ title: "新建群聊", body: [name, personPicker(chosen)], actions: [create] });
    name.focus();
  }

  function openSettings() {
    const conv = state.current;
    const manage = conv.kind === "group" && ["owner", "admin"].includes(conv.role);
    const body = [el("p", null, `成员 ${conv.members.length} 人`)];
    const members = el("ul", "msg-members");
    for (const m of conv.members) {
      const li = el("li", null, `${m.name}${m.role === "owner" ? "（群主）" : m.role === "admin" ? "（管理员）" : ""}`);
      if (manage && m.role === "member") {
        li.appendChild(btn("移出", LINK, async () => {
          try {
            await api.del(`${P}/conversations/${conv.id}/members/${m.user_id}`);
            li.remove();
          } catch (err) { showError(err); }
        }, `将${m.name}移出群聊`));
      }
      members.appendChild(li);
    }
    body.push(members);
    const mute = el("label", "msg-check");
    const muteBox = el("input");
    muteBox.type = "checkbox";
    muteBox.checked = conv.muted;
    muteBox.addEventListener("change", () => api.put(`${P}/conversations/${conv.id}/mute`, { muted: muteBox.checked })
      .then(() => { conv.muted = muteBox.checked; loadConversations(); }).catch(showError));
    mute.append(muteBox, el("span", null, "消息免打扰"));
    body.push(mute);
    const actions = [];
    let ui = null;
    if (manage) {
      const name = el("input", "msg-field");
      name.value = conv.name;
      name.setAttribute("aria-label", "群名称");
      const ann = el("textarea", "msg-field");
      ann.value = conv.announcement || "";
      ann.placeholder = "群公告";
      ann.setAttribute("aria-label", "群公告");
      const chosen = new Map();
      // 新成员可查看历史消息: one rule for what a later member reads and is replayed (group setting).
      const history = el("label", "msg-check");
      const historyBox = el("input");
      historyBox.type = "checkbox";
      historyBox.checked = conv.history_visible !== false;
      history.append(historyBox, el("span", null, "新成员可查看历史消息"));
      body.push(name, ann, ...(conv.kind === "group" ? [history] : []), personPicker(chosen));
      actions.push(btn("保存", "btn btn-primary", async () => {
        try {
          await api.put(`${P}/conversations/${conv.id}`, { name: name.value, announcement: ann.value,
            ...(conv.kind === "group" ? { history_visible: historyBox.checked } : {}) });
          if (chosen.size) await api.post(`${P}/conversations/${conv.id}/members`, { user_ids: [...chosen.keys()] });
          ui.close();
          await openConversation(conv.id);
        } catch (err) { showError(err); }
      }));
    }
    if (conv.kind === "group") {
      actions.unshift(btn("退出群聊", "btn btn-danger", async () => {
        if (!(await confirmDialog({ title: "退出群聊", message: "确定退出该群？", confirmText: "退出", danger: true }))) return;
        try {
          await api.post(`${P}/conversations/${conv.id}/leave`);
          ui.close();
          closePane();
          await loadConversations();
        } catch (err) { showError(err); }
      }));
      if (conv.role === "owner") {
        actions.unshift(btn("解散该群", "btn btn-danger", async () => {
          if (!(await confirmDialog({ title: "解散该群", message: "解散后所有成员都不能再发言，确定？", confirmText: "解散", danger: true }))) return;
          try {
            await api.post(`${P}/conversations/${conv.id}/dissolve`);
            ui.close();
          } catch (err) { showError(err); }
        }));
      }
    }
    ui = openDialog({ title: conv.kind === "group" ? "群设置" : "部门群成员", body, actions });
  }

  function closePane() {
    state.current = null;
    pane.textContent = "";
    pane.appendChild(empty);
    shell.classList.remove("show-pane");
  }

  // Live events ------------------------------------------------------------------------------------
  function inCurrent(ev) { return state.current && ev.conversation_id === state.current.id; }
  function patch(seq, fields) {
    const m = state.items.find((x) => x.seq === seq);
    if (m) { Object.assign(m, fields); merge([]); }
  }
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
      drawList();
    } else loadConversations().catch(showError);
    if (inCurrent(ev) && state.typing.delete(ev.message.sender_id)) drawTyping();
    if (inCurrent(ev) && !state.hasAfter) {
      merge([ev.message]);
      if (nearBottom()) markRead();
    }
  });
  on("chat.edit", (ev) => inCurrent(ev) && patch(ev.seq, { text: ev.text, edited_at: ev.edited_at }));
  on("chat.recall", (ev) => {
    const conv = state.convs.find((c) => c.id === ev.conversation_id);
    if (conv && conv.last_message && conv.last_message.seq === ev.seq) {
      conv.last_message = { ...conv.last_message, recalled: true, recall_notice: ev.notice };
      drawList();
    }
    if (inCurrent(ev)) patch(ev.seq, { recalled: true, text: "", recall_notice: ev.notice, attachment: null });
  });
  on("chat.reaction", (ev) => {
    if (!inCurrent(ev)) return;
    const m = state.items.find((x) => x.seq === ev.seq);
    if (!m) return;
    const rx = (m.reactions = m.reactions || []);
    let r = rx.find((x) => x.emoji === ev.emoji);
    if (!r) rx.push((r = { emoji: ev.emoji, user_ids: [] }));
    r.user_ids = r.user_ids.filter((u) => u !== ev.user_id);
    if (ev.op === "add") r.user_ids.push(ev.user_id);
    m.reactions = rx.filter((x) => x.user_ids.length);
    merge([]);
  });
  on("chat.read", (ev) => {
    if (ev.user_id === me.id) {
      const conv = state.convs.find((c) => c.id === ev.conversation_id);
      if (conv) { conv.last_read_seq = Math.max(conv.last_read_seq, ev.seq); conv.unread = ev.unread; drawList(); }
      return;
    }
    if (!inCurrent(ev)) return;
    for (const m of state.items) {
      if (m.sender_id === me.id && m.read_count !== undefined && m.seq > ev.from_seq && m.seq <= ev.seq) {
        m.read_count += 1;
        m.unread_count = Math.max(m.unread_count - 1, 0);
      }
    }
    merge([]);
  });
  on("chat.ding_ack", (ev) => {
    if (!inCurrent(ev)) return;
    if (ev.user_id === me.id) patch(ev.seq, { ding_acked: true });
    else patch(ev.seq, { ding_pending: ev.pending });
  });
  on("chat.member", () => loadConversations().catch(showError));
  on("chat.conversation", (ev) => {
    loadConversations().catch(showError);
    if (inCurrent(ev) && ev.op === "remove") closePane();
  });
  on("chat.typing", (ev) => {
    if (!inCurrent(ev)) return;
    state.typing.set(ev.user_id, { name: ev.name, at: Date.now() });
    drawTyping();
    setTimeout(drawTyping, 3500);
  });
  function drawTyping() {
    const now = Date.now();
    const names = [...state.typing.values()].filter((t) => now - t.at < 3000).map((t) => t.name);
    typingLine.textContent = names.length ? `${names.join("、")} 正在输入…` : "";
  }
  document.addEventListener("visibilitychange",
    () => ws.send({ type: "presence.set", status: document.hidden ? "away" : "online" }), { signal });

  await loadConversations();
  // #/messages/<conversation id>?seq=<n> opens a conversation (at a message).
  const wanted = Number((ctx.params && ctx.params.path && ctx.params.path[0]) || 0);
  if (wanted) await openConversation(wanted, Number(ctx.params.query.seq) || undefined);
}
