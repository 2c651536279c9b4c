// 个人设置 › 提醒: 免打扰 (quiet hours, kept on the server: PUT /api/me/preferences {quiet_hours}) and
// the browser's system notifications (asked here, on a click, as browsers require).

import { el, replace, field, checkbox, button, busy, formMessage } from "../../ui.js";
import { askPermission, quietNow } from "../../notify.js";

export function notificationSection(ctx) {
  const box = el("section", { class: "panel", "aria-labelledby": "nt-title" });
  const { me, api } = ctx;
  const quiet = me.quiet_hours;
  const on = checkbox({ label: "开启免打扰", name: "quiet_on", checked: !!quiet });
  // Plain 时:分 text: a time picker shows "07:00 PM" in many browsers, whatever the page's language.
  const hhmm = { type: "text", inputmode: "numeric", maxlength: 5, autocomplete: "off", placeholder: "时:分", required: true };
  const start = field({ label: "开始时间", name: "quiet_start", value: quiet?.start || "22:00", ...hhmm });
  const end = field({ label: "结束时间", name: "quiet_end", value: quiet?.end || "07:00", ...hhmm });
  const times = el("div", { class: "quiet-times" }, start.wrap, end.wrap);
  const msg = formMessage();
  const submit = button("保存", null, { kind: "primary", type: "submit" });
  const sync = () => { times.hidden = !on.input.checked; };
  on.input.addEventListener("change", sync);
  sync();
  const form = el("form", { class: "form form-narrow", novalidate: true }, on.wrap, times, msg, el("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const body = { quiet_hours: on.input.checked ? { start: start.input.value, end: end.input.value } : null };
    await busy(submit, "正在保存…", async () => {
      try {
        const saved = await api.put("/api/me/preferences", body);
        me.quiet_hours = saved.quiet_hours; // the notifier reads the same object
        msg.show(saved.quiet_hours
          ? `已保存：每天 ${saved.quiet_hours.start} 至 ${saved.quiet_hours.end} 不弹出提醒${quietNow(saved.quiet_hours) ? "（现在正处于免打扰时段）" : ""}。`
          : "已关闭免打扰。", "success");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  const status = el("p", { class: "hint notify-status", role: "status" });
  const allow = button("允许系统通知", async () => {
    status.textContent = describe(await askPermission());
    allow.hidden = permission() !== "default";
  }, { kind: "secondary" });
  status.textContent = describe(permission());
  allow.hidden = permission() !== "default";
  replace(box,
    el("h2", { id: "nt-title", class: "panel-title" }, "提醒"),
    el("p", {}, "有人 @ 您、发来 DING 或有新的待办时，页面下方会弹出提醒；通办不在前台时，可以用系统通知提醒您。"),
    el("div", { class: "actions" }, allow), status,
    el("h3", { class: "quiet-title" }, "免打扰"),
    el("p", { class: "hint" }, "在这段时间里不弹出提醒，也不发系统通知；角标和待办照常更新。" +
      "时间按北京时间，可以跨过午夜，例如 22:00 至次日 07:00。"),
    form);
  return box;
}

function permission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

function describe(state) {
  return {
    granted: "系统通知已允许：通办不在前台时，新的提醒会以系统通知显示。",
    denied: "系统通知已被浏览器阻止；如需开启，请在浏览器的网站设置中允许本网站发送通知。",
    default: "尚未允许系统通知。",
    unsupported: "当前浏览器不支持系统通知（或未使用 HTTPS 访问）。",
  }[state] || "";
}
