// 消息 · one message as a list item: sender, time, text or notice or attachment, reactions, and its
// bar (已读 count, DING status or 收到, 回复, 表情, 编辑, 撤回). User data only through textContent.
import { el, openDialog, confirmDialog, replace } from "../../ui.js";
import { REACTIONS, RECALL_MS, SOURCES, fmtTime, linkButton, messageUrl, reactionLabel, showError } from "./common.js";

// The thumbnail's longest side on the server (messaging.attachments.THUMB_SIZE).
const THUMB = 320;

/**
 * ``hooks``: reply(m), edit(m), redraw() after a local change, toggleReactions(m) to open or close
 * the reaction choices under m (state.reacting holds the open one).
 */
export function messageView(ctx, state, hooks) {
  const { api, me, signal } = ctx;

  function draw(m) {
    const mine = m.sender_id === me.id;
    const li = el("li", { class: ["msg-item", mine && "is-mine", m.kind === "system" && "is-system"], dataset: { seq: m.seq } });
    if (m.kind === "system") {
      li.appendChild(el("span", { class: "msg-system" }, m.text));
      return li;
    }
    if (m.recalled) {
      li.className = "msg-item is-system is-recalled";
      li.appendChild(el("span", { class: "msg-system" }, m.recall_notice));
      return li;
    }
    if (m.ding) li.classList.add("is-ding");
    const source = SOURCES[m.meta && m.meta.source] || "系统通知";
    replace(li,
      el("div", { class: "msg-meta" },
        el("span", { class: "msg-sender" }, mine ? "我" : m.sender_name || (m.kind === "notice" ? source : "")),
        el("time", { class: "msg-time" }, fmtTime(m.created_at)),
        m.ding ? el("span", { class: "msg-ding" }, "DING") : null,
        m.edited_at ? el("span", { class: "msg-edited" }, "已编辑") : null),
      el("div", { class: "msg-bubble" },
        m.reply_to ? el("blockquote", { class: "msg-quote" }, `${m.reply_to.sender_name}：${m.reply_to.text}`) : null,
        content(m)),
      reactions(m),
      actions(m, mine),
      state.reacting === m.seq ? choices(m) : null);
    return li;
  }

  function content(m) {
    if (m.kind === "notice") {
      return [
        el("strong", { class: "msg-notice-title" }, m.meta.title),
        m.meta.body ? el("div", { class: "msg-text" }, m.meta.body) : null,
        m.meta.link ? el("a", {
          class: "msg-link", href: `#${m.meta.link}`,
          onclick: (e) => { e.preventDefault(); ctx.navigate(m.meta.link); },
        }, "查看详情") : null,
      ];
    }
    if (m.attachment) {
      const a = m.attachment;
      return [
        a.thumb_url ? thumbnail(a) : null,
        el("a", { class: "msg-file", href: a.url, download: a.filename }, `${a.filename}（${Math.max(1, Math.round(a.size / 1024))} KB）`),
      ];
    }
    const mentioned = m.mention_all || (m.mentions || []).includes(me.id);
    return el("div", { class: ["msg-text", mentioned && "is-mentioned"] }, m.text);
  }

  function reactions(m) {
    if (!m.reactions || !m.reactions.length) return null;
    return el("div", { class: "msg-reactions" }, m.reactions.map((r) => {
      const on = r.user_ids.includes(me.id);
      const label = reactionLabel(r.emoji);
      return el("button", {
        type: "button", class: "msg-reaction", "aria-pressed": String(on), dataset: { focus: `reaction-${r.emoji}` },
        "aria-label": `${label} ${r.user_ids.length} 人${on ? "，再按一次取消" : ""}`,
        onclick: () => react(m, r.emoji, !on),
      }, el("span", { class: "msg-emoji", "aria-hidden": "true" }, r.emoji),
      el("span", { class: "msg-reaction-count", "aria-hidden": "true" }, r.user_ids.length));
    }));
  }

  /** The reaction choices under a message (opened with 表情; Esc closes). */
  function choices(m) {
    const group = el("div", { class: "msg-react-pick", role: "group", "aria-label": "选择表情回应" },
      REACTIONS.map(([emoji, label]) => {
        const on = reacted(m, emoji);
        return el("button", {
          type: "button", class: "msg-react-choice", title: label, "aria-label": label, "aria-pressed": String(on),
          dataset: { focus: `choice-${emoji}` },
          onclick: () => { hooks.toggleReactions(m, { focus: false }); react(m, emoji, !on); },
        }, el("span", { class: "msg-emoji", "aria-hidden": "true" }, emoji));
      }));
    group.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        hooks.toggleReactions(m);
      }
    });
    return group;
  }

  function react(m, emoji, on) {
    api.post(`${messageUrl(m)}/reactions`, { emoji, on }).catch(showError);
  }

  function reacted(m, emoji) {
    return (m.reactions || []).some((r) => r.emoji === emoji && r.user_ids.includes(me.id));
  }

  function actions(m, mine) {
    const bar = el("div", { class: "msg-actions" });
    if (mine && m.read_count !== undefined) {
      bar.appendChild(linkButton(readLabel(m), () => showReads(m).catch(showError), {
        class: ["msg-reads", !m.unread_count && "is-all"], "aria-label": `${readLabel(m)}，查看已读情况`, dataset: { focus: "reads" },
      }));
    }
    if (m.ding) bar.append(...dingControls(m, mine));
    if (state.current.kind !== "notice") {
      bar.appendChild(linkButton("回复", () => hooks.reply(m), { dataset: { focus: "reply" } }));
      bar.appendChild(linkButton("表情", () => hooks.toggleReactions(m), {
        "aria-expanded": String(state.reacting === m.seq), "aria-label": "表情回应", dataset: { focus: "react" },
      }));
    }
    if (mine) {
      if (m.kind === "text") bar.appendChild(linkButton("编辑", () => hooks.edit(m), { dataset: { focus: "edit" } }));
      if (Date.now() - new Date(m.created_at).getTime() < RECALL_MS) {
        bar.appendChild(linkButton("撤回", async () => {
          const ok = await confirmDialog({ title: "撤回消息", message: "撤回后，所有人都看不到这条消息的内容。确定撤回？",
            confirmText: "撤回", danger: true });
          if (ok) api.post(`${messageUrl(m)}/recall`).catch(showError);
        }, { dataset: { focus: "recall" } }));
      }
    }
    return bar;
  }

  function dingControls(m, mine) {
    if (mine) {
      const all = m.ding_pending === 0;
      return [linkButton(all ? "DING 全部已确认" : "DING 确认情况", () => showDing(m).catch(showError),
        { class: ["msg-ding-status", all && "is-all"], dataset: { focus: "ding" } })];
    }
    if (m.ding_acked === false) {
      return [el("button", {
        type: "button", class: "btn btn-primary btn-small msg-ack", "aria-label": "确认收到这条 DING", dataset: { focus: "ack" },
        onclick: async () => {
          try {
            await api.post(`${messageUrl(m)}/ding/ack`);
            m.ding_acked = true;
            hooks.redraw();
          } catch (err) { showError(err); }
        },
      }, "收到")];
    }
    if (m.ding_acked === true) return [el("span", { class: "msg-acked" }, "已确认收到")];
    return [];
  }

  async function showReads(m) {
    const data = await api.get(`${messageUrl(m)}/reads`, { signal });
    openDialog({ title: "已读情况", body: [namesBlock("已读", data.read, "暂无"), namesBlock("未读", data.unread, "无")] });
  }

  async function showDing(m) {
    const data = await api.get(`${messageUrl(m)}/ding`, { signal });
    m.ding_pending = data.pending.length;
    hooks.redraw();
    openDialog({ title: "DING 确认情况", body: [
      el("p", { class: "msg-ding-summary" }, data.pending.length ? `还有 ${data.pending.length} 人未确认` : "全部已确认收到"),
      namesBlock("未确认", data.pending, "无"), namesBlock("已确认", data.acked, "暂无")] });
  }

  return { draw };
}

/**
 * The thumbnail with its box reserved before it loads: the server sends the picture's width and
 * height, and the thumbnail keeps that shape within THUMB pixels, so the list does not grow (and
 * push the reader off the newest message) when the picture arrives.
 */
function thumbnail(a) {
  let width;
  let height;
  if (a.width && a.height) {
    const scale = Math.min(1, THUMB / Math.max(a.width, a.height));
    width = Math.max(1, Math.round(a.width * scale));
    height = Math.max(1, Math.round(a.height * scale));
  }
  return el("img", { class: "msg-thumb", src: a.thumb_url, alt: a.filename, width, height, loading: "lazy", decoding: "async" });
}

function readLabel(m) {
  if (!m.unread_count) return "全部已读";
  if (!m.read_count) return "未读";
  return `${m.read_count}人已读`;
}

function namesBlock(label, people, none) {
  return el("div", { class: "msg-people" },
    el("h3", { class: "msg-people-title" }, `${label}（${people.length}）`),
    el("p", {}, people.map((p) => p.name).join("、") || none));
}
