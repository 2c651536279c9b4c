// 消息 · the group dialogs: 新建群聊, 群设置 (members, 免打扰, name, 群公告, 新成员可查看历史消息,
// add members, 退出群聊, 解散该群), members picked with the shared people picker.
import { el, button, openDialog, confirmDialog } from "../../ui.js";
import { picker } from "../../components/picker.js";
import { P, linkButton, showError } from "./common.js";

/** Members to add, picked from the directory (one picker for the whole workspace); ``chosen`` id → name. */
function personPicker(ctx, chosen) {
  return picker({ api: ctx.api, label: "添加成员", kind: "people", multiple: true,
    onChange: (items) => {
      chosen.clear();
      for (const p of items) if (p.id !== ctx.me.id) chosen.set(p.id, p.name);
    } }).element;
}

/** 新建群聊; ``created(conv)`` runs after the server made it. */
export function openNewGroup(ctx, { created }) {
  const name = el("input", {
    type: "text", class: "msg-field", maxlength: "100", "aria-label": "群名称", placeholder: "群名称，例如：周例会筹备",
  });
  const chosen = new Map();
  const create = button("创建群聊", async () => {
    try {
      const conv = await ctx.api.post(`${P}/conversations`, { name: name.value, member_ids: [...chosen.keys()] });
      ui.close();
      await created(conv);
    } catch (err) { showError(err); }
  }, { kind: "primary" });
  const ui = openDialog({ title: "新建群聊", body: [name, personPicker(ctx, chosen)], actions: [create] });
  name.focus();
}

/** 群设置 of the open conversation; ``changed()`` reloads it, ``left()`` closes it. */
export function openSettings(ctx, conv, { changed, left, reloadList }) {
  const { api } = ctx;
  const manage = conv.kind === "group" && ["owner", "admin"].includes(conv.role);
  const members = el("ul", { class: "msg-members" }, conv.members.map((m) => {
    const li = el("li", {}, `${m.name}${m.role === "owner" ? "（群主）" : m.role === "admin" ? "（管理员）" : ""}`);
    if (manage && m.role === "member") {
      li.appendChild(linkButton("移出", async () => {
        try {
          await api.del(`${P}/conversations/${conv.id}/members/${m.user_id}`);
          li.remove();
        } catch (err) { showError(err); }
      }, { "aria-label": `将${m.name}移出群聊` }));
    }
    return li;
  }));
  const muteBox = el("input", { type: "checkbox", checked: conv.muted });
  muteBox.addEventListener("change", () => api.put(`${P}/conversations/${conv.id}/mute`, { muted: muteBox.checked })
    .then(() => { conv.muted = muteBox.checked; reloadList(); }).catch(showError));
  const body = [el("p", {}, `成员 ${conv.members.length} 人`), members,
    el("label", { class: "msg-check" }, muteBox, el("span", {}, "消息免打扰"))];
  const actions = [];
  let ui = null;
  if (manage) {
    const name = el("input", { class: "msg-field", value: conv.name, "aria-label": "群名称" });
    const ann = el("textarea", { class: "msg-field", value: conv.announcement || "", placeholder: "群公告", "aria-label": "群公告" });
    const chosen = new Map();
    // 新成员可查看历史消息: one rule for what a later member reads and is replayed (group setting).
    const historyBox = el("input", { type: "checkbox", checked: conv.history_visible !== false });
    const history = el("label", { class: "msg-check" }, historyBox, el("span", {}, "新成员可查看历史消息"));
    body.push(name, ann, conv.kind === "group" ? history : null, personPicker(ctx, chosen));
    actions.push(button("保存", async () => {
      try {
        await api.put(`${P}/conversations/${conv.id}`, { name: name.value, announcement: ann.value,
          ...(conv.kind === "group" ? { history_visible: historyBox.checked } : {}) });
        if (chosen.size) await api.post(`${P}/conversations/${conv.id}/members`, { user_ids: [...chosen.keys()] });
        ui.close();
        await changed();
      } catch (err) { showError(err); }
    }, { kind: "primary" }));
  }
  if (conv.kind === "group") {
    actions.unshift(button("退出群聊", async () => {
      if (!(await confirmDialog({ title: "退出群聊", message: "确定退出该群？", confirmText: "退出", danger: true }))) return;
      try {
        await api.post(`${P}/conversations/${conv.id}/leave`);
        ui.close();
        await left();
      } catch (err) { showError(err); }
    }, { kind: "danger" }));
    if (conv.role === "owner") {
      actions.unshift(button("解散该群", async () => {
        const ok = await confirmDialog({ title: "解散该群", message: "解散后所有成员都不能再发言，确定？", confirmText: "解散", danger: true });
        if (!ok) return;
        try {
          await api.post(`${P}/conversations/${conv.id}/dissolve`);
          ui.close();
        } catch (err) { showError(err); }
      }, { kind: "danger" }));
    }
  }
  ui = openDialog({ title: conv.kind === "group" ? "群设置" : "部门群成员", body, actions });
}
