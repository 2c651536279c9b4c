// 消息: conversation list, message pane, composer. User data is only ever set with textContent.
const P = "/api/messages";
const PAGE = 40;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function btn(label, cls, onClick) {
  const b = el("button", cls || "msg-btn", label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}
function fmtTime(iso) {
  const d = new Date(iso);
  const now = new Date();
  const hm = d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === now.toDateString() ? hm : `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}
function uuid() {
  return (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
function ensureCss() {
  if (document.querySelector('link[data-page="messages"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/css/messages.css";
  link.dataset.page = "messages";
  document.head.appendChild(link);
}

export async function render(root, ctx) {
  ensureCss();
  const { api, ws, me } = ctx;
  const state = {
    convs: [], current: null, items: [], hasBefore: false, hasAfter: false, loading: false,
    replyTo: null, editing: null, ding: false, typing: new Map(), unsub: [],
  };
  root.textContent = "";
  const shell = el("div", "msg-shell");
  const side = el("aside", "msg-side");
  const pane = el("section", "msg-pane");
  shell.append(side, pane);
  root.appendChild(shell);

  // Sidebar ----------------------------------------------------------------------------------
  const search = el("input", "msg-search");
  search.type = "search";
  search.placeholder = "搜索聊天记录（至少 2 个字）";
  const newGroup = btn("新建群聊", "msg-btn msg-new", () => openNewGroup());
  const total = el("div", "msg-total");
  const list = el("ul", "msg-list");
  const results = el("ul", "msg-list msg-results");
  results.hidden = true;
  side.append(search, newGroup, total, list, results);

  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });

  async function runSearch() {
    const q = search.value.trim();
    if (q.length < 2) { results.hidden = true; list.hidden = false; return; }
    const data = await api.get(`${P}/search?q=${encodeURIComponent(q)}`);
    results.textContent = "";
    for (const hit of data.items) {
      const li = el("li", "msg-hit");
      li.append(el("div", "msg-hit-conv", hit.conversation_name), el("div", "msg-hit-sender", hit.message.sender_name));
      li.appendChild(highlight(hit.message.text, q));
      li.addEventListener("click", () => openConversation(hit.conversation_id, hit.message.seq));
      results.appendChild(li);
    }
    if (!data.items.length) results.appendChild(el("li", "msg-empty", "没有找到相关消息"));
    results.hidden = false;
    list.hidden = true;
  }

  function highlight(text, q) {
    const div = el("div", "msg-hit-text");
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
    const data = await api.get(`${P}/conversations`);
    state.convs = data.items;
    total.textContent = data.total_unread ? `未读 ${data.total_unread}` : "";
    drawList();
  }

  function preview(c) {
    const m = c.last_message;
    if (!m) return "";
    if (m.recalled) return m.recall_notice;
    const who = m.sender_name ? `${m.sender_name}：` : "";
    return who + (m.attachment ? `[${m.kind === "image" ? "图片" : "文件"}] ` : "") + m.text.slice(0, 60);
  }

  function drawList() {
    list.textContent = "";
    const kinds = { department: "部门", group: "群", direct: "", notice: "通知" };
    for (const c of state.convs) {
      const li = el("li", "msg-conv" + (state.current && state.current.id === c.id ? " is-active" : ""));
      const top = el("div", "msg-conv-top");
      const name = el("span", "msg-conv-name", c.name || "（未命名）");
      if (kinds[c.kind]) top.appendChild(el("span", "msg-tag", kinds[c.kind]));
      top.appendChild(name);
      if (c.unread) top.appendChild(el("span", "msg-badge" + (c.muted ? " is-muted" : ""), c.unread > 99 ? "99+" : c.unread));
      li.append(top, el("div", "msg-conv-preview", preview(c)));
      li.addEventListener("click", () => openConversation(c.id));
      list.appendChild(li);
    }
  }

  // Pane ---------------------------------------------------------------------------------------
  const header = el("header", "msg-header");
  const back = btn("‹ 返回", "msg-btn msg-back", () => shell.classList.remove("show-pane"));
  const title = el("h2", "msg-title");
  const settingsBtn = btn("群设置", "msg-btn", () => openSettings());
  header.append(back, title, settingsBtn);
  const announce = el("div", "msg-announce");
  announce.hidden = true;
  const scroller = el("div", "msg-scroller");
  const ul = el("ul", "msg-items");
  scroller.appendChild(ul);
  const typingLine = el("div", "msg-typing");
  const composer = buildComposer();
  const empty = el("div", "msg-placeholder", "选择一个会话开始聊天");
  pane.append(empty);

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 80 && state.hasBefore && !state.loading) loadOlder();
    if (nearBottom() && state.hasAfter && !state.loading) loadNewer();
    if (nearBottom()) markRead();
  });
  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60; }

  async function openConversation(id, aroundSeq) {
    const conv = await api.get(`${P}/conversations/${id}`);
    state.current = conv;
    state.replyTo = state.editing = null;
    pane.textContent = "";
    pane.append(header, announce, scroller, typingLine, composer.root);
    title.textContent = conv.name;
    settingsBtn.hidden = conv.kind !== "group" && conv.kind !== "department";
    announce.hidden = !conv.announcement;
    announce.textContent = conv.announcement ? `群公告：${conv.announcement}` : "";
    composer.setEnabled(conv.kind !== "notice" && !conv.dissolved);
    shell.classList.add("show-pane");
    const q = aroundSeq ? `around=${aroundSeq}&limit=${PAGE}` : `limit=${PAGE}`;
    const page = await api.get(`${P}/conversations/${id}/messages?${q}`);
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
    if (ws.send) ws.send({ type: "presence.watch", user_ids: conv.members.map((m) => m.user_id).slice(0, 500) });
    drawList();
  }

  async function loadOlder() {
    state.loading = true;
    const first = state.items[0];
    const page = await api.get(`${P}/conversations/${state.current.id}/messages?before=${first.seq}&limit=${PAGE}`);
    const oldHeight = scroller.scrollHeight;
    state.items = page.items.concat(state.items);
    state.hasBefore = page.has_more_before;
    drawMessages();
    scroller.scrollTop = scroller.scrollHeight - oldHeight;
    state.loading = false;
  }

  async function loadNewer() {
    state.loading = true;
    const last = state.items[state.items.length - 1];
    const page = await api.get(`${P}/conversations/${state.current.id}/messages?after=${last.seq}&limit=${PAGE}`);
    merge(page.items);
    state.hasAfter = page.has_more_after;
    state.loading = false;
  }

  function merge(msgs) {
    // Insert by seq; a message already present (e.g. the ack and the event) replaces, never doubles.
    for (const m of msgs) {
      const i = state.items.findIndex((x) => x.seq === m.seq);
      if (i >= 0) state.items[i] = { ...state.items[i], ...m };
      else state.items.push(m);
    }
    state.items.sort((a, b) => a.seq - b.seq);
    const stick = nearBottom();
    drawMessages();
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  function drawMessages() {
    ul.textContent = "";
    for (const m of state.items) ul.appendChild(drawMessage(m));
  }

  function drawMessage(m) {
    const mine = m.sender_id === me.id;
    const li = el("li", `msg-item${mine ? " is-mine" : ""}${m.kind === "system" ? " is-system" : ""}`);
    li.dataset.seq = m.seq;
    if (m.kind === "system") { li.textContent = m.text; return li; }
    if (m.recalled) { li.classList.add("is-system"); li.textContent = m.recall_notice; return li; }
    const meta = el("div", "msg-meta");
    meta.append(el("span", "msg-sender", m.sender_name || (m.kind === "notice" ? m.meta.source || "系统" : "")),
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
        a.href = "#" + m.meta.link;
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
      const link = el("a", "msg-file", `${a.filename}（${(a.size / 1024).toFixed(0)} KB）`);
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

  function actionsFor(m, mine) {
    const bar = el("div", "msg-actions");
    if (state.current.kind !== "notice") {
      bar.appendChild(btn("回复", "msg-link-btn", () => { state.replyTo = m; composer.showContext(); }));
      bar.appendChild(btn("👍", "msg-link-btn", () => api.post(`${url(m)}/reactions`, { emoji: "👍", on: !reacted(m, "👍") })));
    }
    if (mine) {
      if (m.read_count !== undefined) {
        bar.appendChild(btn(m.unread_count ? `${m.read_count}人已读` : "全部已读", "msg-link-btn msg-reads",
          (e) => showReads(m, e.currentTarget)));
      }
      if (m.kind === "text") bar.appendChild(btn("编辑", "msg-link-btn", () => { state.editing = m; composer.showContext(); }));
      if (Date.now() - new Date(m.created_at).getTime() < 120000) {
        bar.appendChild(btn("撤回", "msg-link-btn", () => api.post(`${url(m)}/recall`).catch(showError)));
      }
      if (m.ding) bar.appendChild(btn("DING 确认情况", "msg-link-btn", (e) => showDing(m, e.currentTarget)));
    } else if (m.ding && m.ding_acked === false) {
      bar.appendChild(btn("收到", "msg-btn msg-ack", async () => {
        await api.post(`${url(m)}/ding/ack`);
        m.ding_acked = true;
        merge([]);
      }));
    }
    return bar;
  }
  function url(m) { return `${P}/conversations/${m.conversation_id}/messages/${m.seq}`; }
  function reacted(m, emoji) { return (m.reactions || []).some((r) => r.emoji === emoji && r.user_ids.includes(me.id)); }

  function popover(anchor, build) {
    document.querySelectorAll(".msg-popover").forEach((p) => p.remove());
    const pop = el("div", "msg-popover");
    build(pop);
    pop.appendChild(btn("关闭", "msg-btn", () => pop.remove()));
    anchor.closest("li").appendChild(pop);
  }
  async function showReads(m, anchor) {
    const data = await api.get(`${url(m)}/reads`);
    popover(anchor, (pop) => {
      pop.appendChild(el("h4", null, `已读 ${data.read_count}`));
      pop.appendChild(el("p", null, data.read.map((p) => p.name).join("、") || "无"));
      pop.appendChild(el("h4", null, `未读 ${data.unread_count}`));
      pop.appendChild(el("p", null, data.unread.map((p) => p.name).join("、") || "无"));
    });
  }
  async function showDing(m, anchor) {
    const data = await api.get(`${url(m)}/ding`);
    popover(anchor, (pop) => {
      pop.appendChild(el("h4", null, `未确认 ${data.pending.length}`));
      pop.appendChild(el("p", null, data.pending.map((p) => p.name).join("、") || "全部已确认"));
      pop.appendChild(el("h4", null, `已确认 ${data.acked.length}`));
      pop.appendChild(el("p", null, data.acked.map((p) => p.name).join("、") || "无"));
    });
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(async () => {
      const last = state.items[state.items.length - 1];
      const conv = state.convs.find((c) => state.current && c.id === state.current.id);
      if (!last || !conv || conv.last_read_seq >= last.seq || state.hasAfter) return;
      const r = await api.post(`${P}/conversations/${state.current.id}/read`, { seq: last.seq });
      conv.last_read_seq = r.last_read_seq;
      conv.unread = r.unread;
      drawList();
    }, 300);
  }

  function showError(err) {
    const box = el("div", "msg-error", (err && err.message) || "操作失败");
    pane.appendChild(box);
    setTimeout(() => box.remove(), 4000);
  }

  // Composer -------------------------------------------------------------------------------------
  function buildComposer() {
    const wrap = el("div", "msg-composer");
    const context = el("div", "msg-context");
    context.hidden = true;
    const text = el("textarea", "msg-input");
    text.rows = 3;
    text.maxLength = 10000;
    text.placeholder = "输入消息，Enter 发送，Shift+Enter 换行，@ 提及同事";
    const suggest = el("ul", "msg-suggest");
    suggest.hidden = true;
    const progress = el("progress", "msg-progress");
    progress.max = 100;
    progress.hidden = true;
    const file = el("input");
    file.type = "file";
    file.hidden = true;
    const tools = el("div", "msg-tools");
    const dingBox = el("label", "msg-ding-toggle");
    const dingInput = el("input");
    dingInput.type = "checkbox";
    dingInput.addEventListener("change", () => { state.ding = dingInput.checked; });
    dingBox.append(dingInput, document.createTextNode(" DING"));
    tools.append(btn("附件", "msg-btn", () => file.click()), dingBox, btn("发送", "msg-btn msg-send", () => submit()));
    wrap.append(context, suggest, text, progress, tools, file);
    const mentions = new Map();

    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    text.addEventListener("input", () => { autocomplete(); sendTyping(); });
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

    let typingAt = 0;
    function sendTyping() {
      if (!ws.send || Date.now() - typingAt < 2000) return;
      typingAt = Date.now();
      ws.send({ type: "chat.typing", conversation_id: state.current.id });
    }

    async function autocomplete() {
      const caret = text.selectionStart;
      const before = text.value.slice(0, caret);
      const m = before.match(/@([^\s@]{0,20})$/);
      if (!m) { suggest.hidden = true; return; }
      const data = await api.get(`${P}/conversations/${state.current.id}/members?q=${encodeURIComponent(m[1])}&limit=8`);
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
      context.appendChild(el("span", null, state.editing ? "编辑消息：" : `回复 ${subject.sender_name}：`));
      context.appendChild(el("span", "msg-context-text", subject.text.slice(0, 80)));
      context.appendChild(btn("取消", "msg-link-btn", () => { state.editing = state.replyTo = null; text.value = ""; showContext(); }));
      if (state.editing) text.value = state.editing.text;
      context.hidden = false;
      text.focus();
    }

    async function submit(extra = {}, attempt = 0, clientId = uuid()) {
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
            mention_all: ids.includes("all"), ding: state.ding, ...extra,
          };
          if (state.replyTo) payload.reply_to_seq = state.replyTo.seq;
          const msg = await api.post(`${P}/conversations/${conv.id}/messages`, payload);
          if (state.current === conv) merge([msg]);
          state.replyTo = null;
        }
        text.value = "";
        mentions.clear();
        dingInput.checked = state.ding = false;
        showContext();
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
      xhr.setRequestHeader("x-csrf-token", me.csrf_token || "");
      progress.hidden = false;
      progress.value = 0;
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; });
      xhr.addEventListener("load", async () => {
        progress.hidden = true;
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch { /* keep empty */ }
        if (xhr.status !== 201) { showError(data); return; }
        const msg = await api.post(`${P}/conversations/${conv.id}/messages`, { text: "", client_id: uuid(), attachment_id: data.id });
        if (state.current === conv) merge([msg]);
      });
      xhr.addEventListener("error", () => { progress.hidden = true; showError({ message: "上传失败，请重试" }); });
      xhr.send(form);
    }

    function setEnabled(on) {
      text.disabled = !on;
      wrap.classList.toggle("is-disabled", !on);
      text.placeholder = on ? "输入消息，Enter 发送，Shift+Enter 换行，@ 提及同事" : "此会话不能发送消息";
    }

    return { root: wrap, showContext, setEnabled };
  }

  // Settings and new group -------------------------------------------------------------------
  function modal(titleText, build) {
    const back = el("div", "msg-modal-back");
    const box = el("div", "msg-modal");
    box.appendChild(el("h3", null, titleText));
    build(box, () => back.remove());
    box.appendChild(btn("关闭", "msg-btn", () => back.remove()));
    back.appendChild(box);
    root.appendChild(back);
  }

  function personPicker(box, chosen) {
    const input = el("input", "msg-search");
    input.placeholder = "搜索姓名或拼音添加成员";
    const found = el("ul", "msg-suggest");
    const picked = el("div", "msg-picked");
    input.addEventListener("input", async () => {
      found.textContent = "";
      if (!input.value.trim()) return;
      const data = await api.get(`/api/directory/search?q=${encodeURIComponent(input.value.trim())}&limit=10`);
      for (const p of data.items) {
        const li = el("li", "msg-suggest-item", `${p.name}（${p.department || ""}）`);
        li.addEventListener("click", () => {
          chosen.set(p.id, p.name);
          picked.textContent = [...chosen.values()].join("、");
        });
        found.appendChild(li);
      }
    });
    box.append(input, found, picked);
  }

  function openNewGroup() {
    modal("新建群聊", (box, close) => {
      const name = el("input", "msg-search");
      name.placeholder = "群名称";
      box.appendChild(name);
      const chosen = new Map();
      personPicker(box, chosen);
      box.appendChild(btn("创建", "msg-btn msg-send", async () => {
        try {
          const conv = await api.post(`${P}/conversations`, { name: name.value, member_ids: [...chosen.keys()] });
          close();
          await loadConversations();
          openConversation(conv.id);
        } catch (err) { showError(err); }
      }));
    });
  }

  function openSettings() {
    const conv = state.current;
    const manage = conv.kind === "group" && ["owner", "admin"].includes(conv.role);
    modal(conv.kind === "group" ? "群设置" : "部门群", (box, close) => {
      box.appendChild(el("p", null, `成员 ${conv.members.length} 人`));
      const ul = el("ul", "msg-members");
      for (const m of conv.members) {
        const li = el("li", null, `${m.name}${m.role === "owner" ? "（群主）" : m.role === "admin" ? "（管理员）" : ""}`);
        if (manage && m.role === "member") {
          li.appendChild(btn("移出", "msg-link-btn", async () => {
            await api.del(`${P}/conversations/${conv.id}/members/${m.user_id}`).catch(showError);
            li.remove();
          }));
        }
        ul.appendChild(li);
      }
      box.appendChild(ul);
      const mute = el("label");
      const muteBox = el("input");
      muteBox.type = "checkbox";
      muteBox.checked = conv.muted;
      muteBox.addEventListener("change", () => api.put(`${P}/conversations/${conv.id}/mute`, { muted: muteBox.checked }));
      mute.append(muteBox, document.createTextNode(" 消息免打扰"));
      box.appendChild(mute);
      if (manage) {
        const name = el("input", "msg-search");
        name.value = conv.name;
        const ann = el("textarea", "msg-input");
        ann.value = conv.announcement || "";
        ann.placeholder = "群公告";
        box.append(name, ann, btn("保存", "msg-btn", async () => {
          try {
            await api.put(`${P}/conversations/${conv.id}`, { name: name.value, announcement: ann.value });
            close();
            openConversation(conv.id);
          } catch (err) { showError(err); }
        }));
        const chosen = new Map();
        personPicker(box, chosen);
        box.appendChild(btn("添加所选成员", "msg-btn", async () => {
          await api.post(`${P}/conversations/${conv.id}/members`, { user_ids: [...chosen.keys()] }).catch(showError);
          close();
          openConversation(conv.id);
        }));
      }
      if (conv.kind === "group") {
        box.appendChild(btn("退出群聊", "msg-btn msg-danger", async () => {
          if (!confirm("确定退出该群？")) return;
          await api.post(`${P}/conversations/${conv.id}/leave`).catch(showError);
          close();
          state.current = null;
          pane.textContent = "";
          pane.appendChild(empty);
          loadConversations();
        }));
        if (conv.role === "owner") {
          box.appendChild(btn("解散该群", "msg-btn msg-danger", async () => {
            if (!confirm("解散后所有成员都不能再发言，确定？")) return;
            await api.post(`${P}/conversations/${conv.id}/dissolve`).catch(showError);
            close();
          }));
        }
      }
    });
  }

  // Live events ------------------------------------------------------------------------------------
  function inCurrent(ev) { return state.current && ev.conversation_id === state.current.id; }
  function patch(seq, fields) {
    const m = state.items.find((x) => x.seq === seq);
    if (m) { Object.assign(m, fields); merge([]); }
  }
  function on(prefix, fn) {
    const off = ws.on(prefix, fn);
    if (typeof off === "function") state.unsub.push(off);
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
    } else loadConversations();
    if (inCurrent(ev) && !state.hasAfter) {
      merge([ev.message]);
      if (nearBottom()) markRead();
    }
  });
  on("chat.edit", (ev) => inCurrent(ev) && patch(ev.seq, { text: ev.text, edited_at: ev.edited_at }));
  on("chat.recall", (ev) => inCurrent(ev) && patch(ev.seq, { recalled: true, text: "", recall_notice: ev.notice, attachment: null }));
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
  on("chat.ding_ack", (ev) => inCurrent(ev) && ev.user_id === me.id && patch(ev.seq, { ding_acked: true }));
  on("chat.ding_remind", (ev) => showError({ message: `DING 提醒：${ev.sender_name}：${ev.text}` }));
  on("chat.member", () => loadConversations());
  on("chat.conversation", (ev) => {
    loadConversations();
    if (inCurrent(ev) && ev.op === "remove") { state.current = null; pane.textContent = ""; pane.appendChild(empty); }
  });
  on("chat.typing", (ev) => {
    if (!inCurrent(ev)) return;
    state.typing.set(ev.user_id, { name: ev.name, at: Date.now() });
    drawTyping();
    setTimeout(drawTyping, 3500);
  });
  on("hello", (ev) => {
    // After a reconnect the hub replays what we missed; if it can't, reload everything.
    if (ev.resync) { loadConversations(); if (state.current) openConversation(state.current.id); }
  });
  function drawTyping() {
    const now = Date.now();
    const names = [...state.typing.values()].filter((t) => now - t.at < 3000).map((t) => t.name);
    typingLine.textContent = names.length ? `${names.join("、")} 正在输入…` : "";
  }
  if (ws.send) {
    document.addEventListener("visibilitychange", () => ws.send({ type: "presence.set", status: document.hidden ? "away" : "online" }));
  }

  await loadConversations();
  if (ctx.params && ctx.params.conversation) openConversation(Number(ctx.params.conversation), ctx.params.seq && Number(ctx.params.seq));
  return () => state.unsub.forEach((off) => off());
}
