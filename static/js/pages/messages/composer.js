// 消息 · the composer: text with @ mentions (a picker worked by mouse or keyboard: ↑/↓, Enter,
// Esc), reply and edit context, DING with its recipients, attachments (button or drop) with an
// upload progress bar, typing notices, and sends retried with the same client id.
import { el, button, uid, newestWins, toast } from "../../ui.js";
import { newClientId, retryDelay } from "../../api.js";
import { P, linkButton, messageUrl, showError } from "./common.js";

/** ``hooks``: merge(msgs) into the open conversation, sent() after a send (back to the newest). */
export function createComposer(ctx, state, { merge, sent, dropTargets }) {
  const { api, ws, me, signal } = ctx;
  const context = el("div", { class: "msg-context", hidden: true });
  const suggestId = uid("msg-suggest");
  const suggest = el("ul", { class: "msg-suggest", id: suggestId, role: "listbox", "aria-label": "选择要提及的同事", hidden: true });
  const text = el("textarea", {
    class: "msg-input", rows: "3", maxlength: "10000", "aria-label": "消息内容",
    "aria-autocomplete": "list", "aria-controls": suggestId,
  });
  const progress = el("progress", { class: "msg-progress", max: "100", hidden: true, "aria-label": "上传进度" });
  const file = el("input", { type: "file", hidden: true });
  const dingPick = el("fieldset", { class: "msg-ding-pick", hidden: true });
  const dingInput = el("input", { type: "checkbox", onchange: () => drawDingPick() });
  const pendingBar = el("div", { class: "msg-pending", role: "status", hidden: true });
  const sendButton = button("发送", () => submit(), { kind: "primary", class: "msg-send" });
  const readOnly = el("p", { class: "msg-readonly" }, "此会话只用于接收通知，不能发送消息");
  const root = el("div", { class: "msg-composer" },
    context, pendingBar, suggest, text, dingPick, progress,
    el("div", { class: "msg-tools" },
      button("附件", () => file.click(), { class: "btn-small", "aria-label": "添加附件" }),
      el("label", { class: "msg-ding-toggle" }, dingInput, el("span", {}, "DING 提醒")),
      el("span", { class: "msg-hint" }, "Enter 发送，Shift+Enter 换行"),
      sendButton),
    file, readOnly);
  const mentions = new Map(); // name -> user id ("all" for 所有人), for the names picked in this text

  text.addEventListener("keydown", onKey);
  text.addEventListener("input", () => { lookup().catch(showError); sendTyping(); });
  text.addEventListener("blur", () => closeSuggest());
  file.addEventListener("change", () => {
    for (const f of file.files) upload(f);
    file.value = "";
  });
  for (const target of [root, ...dropTargets]) {
    target.addEventListener("dragover", (e) => { e.preventDefault(); root.classList.add("is-drop"); });
    target.addEventListener("dragleave", () => root.classList.remove("is-drop"));
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      root.classList.remove("is-drop");
      for (const f of e.dataTransfer.files) upload(f);
    });
  }

  // @ mentions ----------------------------------------------------------------------------------
  let options = []; // [{user_id, name}] shown in the picker
  let active = -1; // the highlighted option (Enter picks it)
  let dismissedAt = -1; // where the @ closed with Esc starts: not reopened while typing after it

  function mentionQuery() {
    const before = text.value.slice(0, text.selectionStart);
    const m = before.match(/@([^\s@]{0,20})$/);
    return m ? { q: m[1], start: before.length - m[0].length, end: before.length } : null;
  }

  // Each keystroke asks again; only the newest question's answer is drawn, so a slow answer to
  // "@张" cannot replace the list for "@张伟" that came back first.
  const lookup = newestWins(async (stale) => {
    const query = mentionQuery();
    if (!query || query.start !== dismissedAt) dismissedAt = -1;
    if (!query || !state.current || query.start === dismissedAt) {
      closeSuggest();
      return;
    }
    const conv = state.current;
    const data = await api.get(`${P}/conversations/${conv.id}/members`, { query: { q: query.q, limit: 8 }, signal });
    // Drawn only if this is still the question: no newer keystroke, same conversation, the box
    // still focused and the @ not dismissed meanwhile.
    const now = mentionQuery();
    if (stale() || conv !== state.current || document.activeElement !== text || !now || now.start === dismissedAt) return;
    options = data.items.filter((u) => u.user_id !== me.id);
    if (["owner", "admin"].includes(conv.role) && "所有人".startsWith(query.q)) options.unshift({ user_id: "all", name: "所有人" });
    active = options.length ? 0 : -1;
    drawSuggest();
  });

  function drawSuggest() {
    suggest.replaceChildren(...options.map((u, i) => el("li", {
      class: ["msg-suggest-item", i === active && "is-active"], id: `${suggestId}-${i}`, role: "option",
      "aria-selected": String(i === active),
      onmousedown: (e) => { e.preventDefault(); pick(u); },
    }, u.name)));
    suggest.hidden = !options.length;
    if (active >= 0) {
      text.setAttribute("aria-activedescendant", `${suggestId}-${active}`);
      suggest.children[active]?.scrollIntoView({ block: "nearest" });
    } else text.removeAttribute("aria-activedescendant");
  }

  function closeSuggest() {
    options = [];
    active = -1;
    suggest.hidden = true;
    suggest.replaceChildren();
    text.removeAttribute("aria-activedescendant");
  }

  function pick(u) {
    const query = mentionQuery();
    if (!query) return closeSuggest();
    const insert = `@${u.name} `;
    text.value = text.value.slice(0, query.start) + insert + text.value.slice(query.end);
    const caret = query.start + insert.length;
    text.setSelectionRange(caret, caret);
    mentions.set(u.name, u.user_id);
    closeSuggest();
    text.focus();
  }

  function onKey(e) {
    if (e.isComposing) return;
    if (!suggest.hidden && options.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        drawSuggest();
        return;
      }
      if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        pick(options[active]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        dismissedAt = mentionQuery()?.start ?? -1;
        closeSuggest();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      submit();
    }
  }

  // DING recipients: everyone else in the conversation unless some are ticked ---------------------
  const dingChosen = new Set();
  function drawDingPick() {
    dingPick.replaceChildren();
    dingPick.hidden = !dingInput.checked;
    if (!dingInput.checked || !state.current) return;
    dingPick.append(el("legend", {}, "DING 给谁？不选则提醒会话中的所有人"),
      el("div", { class: "msg-ding-people" }, state.current.members.filter((m) => m.user_id !== me.id).map((m) =>
        el("label", { class: "msg-ding-person" },
          el("input", {
            type: "checkbox", checked: dingChosen.has(m.user_id),
            onchange: (e) => (e.target.checked ? dingChosen.add(m.user_id) : dingChosen.delete(m.user_id)),
          }),
          el("span", {}, m.name)))));
  }

  let typingAt = 0;
  function sendTyping() {
    if (!state.current || Date.now() - typingAt < 2000) return;
    typingAt = Date.now();
    ws.send({ type: "chat.typing", conversation_id: state.current.id });
  }

  function showContext() {
    const subject = state.editing || state.replyTo;
    if (!subject) {
      context.replaceChildren();
      context.hidden = true;
      return;
    }
    context.replaceChildren(
      el("span", { class: "msg-context-label" }, state.editing ? "编辑消息：" : `回复 ${subject.sender_name}：`),
      el("span", { class: "msg-context-text" }, subject.text.slice(0, 80)),
      linkButton("取消", () => { state.editing = state.replyTo = null; text.value = ""; showContext(); }));
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
    closeSuggest();
    showContext();
  }

  // The send being made, or waiting for its automatic retry: at most one. Its text, client id and
  // conversation are fixed at the first press, so pressing 发送 (or Enter) again cannot store it a
  // second time under a new client id: while it waits, that press (the button then reads 立即重发)
  // sends it now with the same client id; while it is on its way, the press does nothing. The box
  // is locked meanwhile; 取消 on the 重发中 line gives the text back.
  let pending = null; // { conv, editing, payload, attempt, timer, wait }

  function drawPending() {
    const p = pending;
    text.readOnly = Boolean(p);
    sendButton.textContent = p?.timer ? "立即重发" : "发送";
    if (!p || !p.timer) {
      pendingBar.replaceChildren();
      pendingBar.hidden = true;
      return;
    }
    pendingBar.replaceChildren(
      el("span", { class: "msg-pending-label" }, "重发中："),
      el("span", { class: "msg-context-text" }, p.payload.text.slice(0, 80) || "附件"),
      el("span", { class: "msg-pending-when" }, `系统繁忙，${Math.ceil(p.wait / 1000)} 秒后自动重发`),
      linkButton("取消", () => cancelPending()));
    pendingBar.hidden = false;
  }

  /** 取消: the waiting retry is not sent; its text goes back into the box to change or send anew. */
  function cancelPending() {
    if (!pending?.timer) return; // on its way: too late to take back
    clearTimeout(pending.timer);
    const p = pending;
    pending = null;
    drawPending();
    if (state.current === p.conv) text.value = p.payload.text;
    text.focus();
  }

  function submit(extra = {}) {
    if (pending) {
      if (pending.timer) deliver(pending); // the press is 立即重发: same item, same client id
      return;
    }
    const body = text.value;
    if (!body.trim() && !extra.attachment_id) return;
    const payload = { text: body, ...extra };
    if (!state.editing) {
      const ids = [...mentions.entries()].filter(([n]) => body.includes(`@${n}`)).map(([, id]) => id);
      Object.assign(payload, {
        client_id: newClientId(), mentions: ids.filter((i) => i !== "all"),
        mention_all: ids.includes("all"), ding: dingInput.checked,
      });
      if (dingInput.checked && dingChosen.size) payload.ding_user_ids = [...dingChosen];
      if (state.replyTo) payload.reply_to_seq = state.replyTo.seq;
    }
    pending = { conv: state.current, editing: state.editing, payload, attempt: 0, timer: 0, wait: 0 };
    deliver(pending);
  }

  async function deliver(p) {
    clearTimeout(p.timer);
    p.timer = 0;
    drawPending();
    try {
      if (p.editing) {
        await api.put(messageUrl(p.editing), { text: p.payload.text });
        if (state.editing === p.editing) state.editing = null;
      } else {
        const msg = await api.post(`${P}/conversations/${p.conv.id}/messages`, p.payload);
        if (state.current === p.conv) merge([msg]);
        if (state.current === p.conv) state.replyTo = null;
      }
      pending = null;
      drawPending();
      if (state.current === p.conv) {
        reset();
        sent();
      }
    } catch (err) {
      // A network failure may have lost the ack, and a busy server asks us to come back after its
      // Retry-After, later each time it refuses again (api.js RETRY_POLICY): retry with the same
      // client id (never doubles), the text kept in the box meanwhile.
      const wait = retryDelay(err, p.attempt);
      if (wait === null) {
        pending = null;
        drawPending();
        showError(err);
        return;
      }
      if (err.retryAfter) toast(`系统繁忙，${Math.ceil(wait / 1000)} 秒后自动重发`);
      p.attempt += 1;
      p.wait = wait;
      p.timer = setTimeout(() => deliver(p), wait);
      drawPending();
    }
  }

  async function upload(f) {
    const conv = state.current;
    progress.value = 0;
    progress.hidden = false;
    try {
      const data = await api.upload(`${P}/conversations/${conv.id}/attachments`, f, {
        signal, onProgress: (done) => { progress.value = 100 * done; },
      });
      const msg = await api.post(`${P}/conversations/${conv.id}/messages`,
        { text: "", client_id: newClientId(), attachment_id: data.id });
      if (state.current === conv) {
        merge([msg]);
        sent();
      }
    } catch (err) {
      showError(err);
    } finally {
      progress.hidden = true;
    }
  }

  function setEnabled(on) {
    text.disabled = !on;
    root.classList.toggle("is-disabled", !on);
    readOnly.hidden = on;
    text.placeholder = "输入消息，@ 可提及同事";
  }

  return { root, showContext, setEnabled, reset };
}
