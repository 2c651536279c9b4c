// 个人设置: my details, reminders (免打扰 and system notifications: profile/notifications.js), change
// password, two-factor sign-in (set up / enable / disable), and the devices where I am signed in.
// #/profile/2fa opens straight at two-factor; the shell sends users there when their role requires it
// (me.totp_setup_required).

import { el, replace, field, button, busy, formMessage, loading, errorState, confirmDialog, toast, formatTime } from "../ui.js";
import { notificationSection } from "./profile/notifications.js";

export async function render(root, ctx) {
  const { me } = ctx;
  const forced = me.totp_setup_required;
  const totpSection = el("section", { class: "panel", id: "twofactor", "aria-labelledby": "tf-title" });
  replace(root, el("h1", {}, forced ? "请先开启两步验证" : "个人设置"));
  if (forced) {
    root.appendChild(el("div", { class: "notice notice-warn", role: "note" },
      el("p", { class: "notice-title" }, "为什么需要这一步？"),
      el("p", {}, "根据本单位安全规定，您的岗位在登录时除了密码，还要输入手机验证器上的 6 位数字。" +
        "这样即使密码被他人得知，账号也不会被盗用。"),
      el("p", {}, "请准备一部手机，安装一个验证器应用（如 Microsoft Authenticator、Google Authenticator 等，" +
        "不清楚可咨询信息中心），按下面的步骤完成设置，大约需要 2 分钟。完成后即可正常使用通办。")));
    root.appendChild(totpSection);
    renderTotp(totpSection, ctx);
    return;
  }
  const pwdSection = el("section", { class: "panel", "aria-labelledby": "pw-title" });
  const sessSection = el("section", { class: "panel", "aria-labelledby": "ss-title" });
  root.append(infoSection(me), notificationSection(ctx), pwdSection, totpSection, sessSection);
  renderPassword(pwdSection, ctx);
  renderTotp(totpSection, ctx);
  renderSessions(sessSection, ctx);
  if (ctx.params.path[0] === "2fa") totpSection.scrollIntoView({ block: "start" });
}

function infoSection(me) {
  const posts = me.posts.map((p) => `${p.department}${p.title ? " · " + p.title : ""}${p.is_primary ? "" : "（兼职）"}`);
  const rows = [
    ["姓名", me.name], ["用户名", me.username], ["工号", me.staff_no], ["岗位", posts.join("；")],
    ["角色", me.role_labels.join("、")], ["电话", me.phone], ["办公室", me.office], ["邮箱", me.email],
  ];
  return el("section", { class: "panel", "aria-labelledby": "info-title" },
    el("h2", { id: "info-title", class: "panel-title" }, "我的信息"),
    el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v || "未填写")])),
    el("p", { class: "hint" }, "信息有误请联系本单位系统管理员修改。"));
}

// Password ---------------------------------------------------------------------------------------

function renderPassword(box, { api }) {
  const msg = formMessage();
  const cur = field({ label: "当前密码", name: "current", type: "password", autocomplete: "current-password", required: true });
  const nw = field({ label: "新密码", name: "new", type: "password", autocomplete: "new-password", required: true,
    hint: "至少 12 个字符；不要用生日、电话或与用户名相同的内容。可以用一句好记的话。" });
  const again = field({ label: "再次输入新密码", name: "again", type: "password", autocomplete: "new-password", required: true });
  const submit = button("修改密码", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form form-narrow", novalidate: true }, cur.wrap, nw.wrap, again.wrap, msg, el("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    if (!cur.input.value || !nw.input.value) return msg.show("请填写当前密码和新密码");
    if (nw.input.value !== again.input.value) {
      again.input.focus();
      return msg.show("两次输入的新密码不一致");
    }
    await busy(submit, "正在保存…", async () => {
      try {
        await api.post("/api/me/password", { current: cur.input.value, new: nw.input.value });
        form.reset();
        msg.show("密码已修改。其他设备上的登录已退出，本设备不受影响。", "success");
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  replace(box, el("h2", { id: "pw-title", class: "panel-title" }, "修改密码"), form);
}

// Two-factor -------------------------------------------------------------------------------------

function renderTotp(box, ctx) {
  const { me } = ctx;
  const title = el("h2", { id: "tf-title", class: "panel-title" }, "两步验证");
  if (me.totp_enabled) {
    replace(box, title,
      el("p", { class: "status-line status-ok" }, "已开启：登录时需要输入手机验证器上的 6 位数字。"),
      disableForm(box, ctx));
    return;
  }
  const start = button("开始设置两步验证", () => busy(start, "正在生成…", () => setup(box, ctx, title)), { kind: "primary" });
  replace(box, title,
    el("p", { class: "status-line" }, "未开启。开启后，登录时除了密码还要输入手机上显示的 6 位数字，账号更安全。"),
    el("div", { class: "actions" }, start));
}

async function setup(box, ctx, title) {
  const { api } = ctx;
  let data;
  try {
    data = await api.post("/api/me/2fa/setup");
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  const msg = formMessage();
  const code = field({ label: "手机上显示的 6 位数字", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    maxlength: "6", required: true });
  const submit = button("验证并开启", null, { kind: "primary", type: "submit" });
  const form = el("form", { class: "form form-narrow", novalidate: true }, code.wrap, msg, el("div", { class: "actions" }, submit));
  const secret = data.secret.replace(/(.{4})/g, "$1 ").trim();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const value = code.input.value.replace(/\s+/g, "");
    if (!/^\d{6}$/.test(value)) {
      code.input.focus();
      return msg.show("请输入 6 位数字");
    }
    await busy(submit, "正在验证…", async () => {
      try {
        const { recovery_codes: codes } = await api.post("/api/me/2fa/enable", { code: value });
        showRecoveryCodes(box, ctx, title, codes);
      } catch (err) {
        msg.show(err.message);
        code.input.select();
      }
    });
  });
  replace(box, title,
    el("ol", { class: "steps" },
      el("li", {},
        el("p", {}, "打开手机上的验证器应用，选择“添加账号”或“扫描二维码”，扫描下面的二维码："),
        el("img", { class: "qr", src: data.qr_svg, alt: "两步验证二维码（内容与下面的密钥相同）", width: "220", height: "220" }),
        el("p", {}, "无法扫码时，可在应用中手动输入密钥："),
        el("p", { class: "secret", "aria-label": `密钥 ${data.secret.split("").join(" ")}` }, secret)),
      el("li", {}, el("p", {}, "应用中会出现“通办”，并每 30 秒换一组 6 位数字。把当前的数字填在下面："), form)));
  code.input.focus();
}

function showRecoveryCodes(box, ctx, title, codes) {
  const copy = button("复制全部恢复码", async () => {
    try {
      await navigator.clipboard.writeText(codes.join("\n"));
      toast("已复制，请粘贴到安全的地方保存", "success");
    } catch {
      toast("无法自动复制，请手动抄写", "error");
    }
  }, { kind: "secondary" });
  const done = button("我已妥善保存，继续", async () => {
    const wasForced = ctx.me.totp_setup_required;
    const me = await ctx.refreshMe();
    toast("两步验证已开启", "success");
    if (wasForced && !me.totp_setup_required) {
      ctx.ws?.reconnectSoon(); // the server refused live updates (4403) until now
      ctx.navigate("#/home");
    }
    else renderTotp(box, ctx);
  }, { kind: "primary" });
  replace(box, title,
    el("p", { class: "status-line status-ok", role: "status" }, "两步验证已开启。"),
    el("div", { class: "notice notice-warn" },
      el("p", { class: "notice-title" }, "请立即保存以下 10 个恢复码（只显示这一次）"),
      el("p", {}, "手机丢失或更换时，可用任意一个恢复码代替 6 位数字登录；每个只能用一次。建议抄在纸上，放在安全的地方。")),
    el("ol", { class: "codes" }, codes.map((c) => el("li", {}, el("code", {}, c)))),
    el("div", { class: "actions" }, copy, done));
  done.focus();
}

function disableForm(box, ctx) {
  const { api } = ctx;
  const msg = formMessage();
  const pwd = field({ label: "登录密码", name: "password", type: "password", autocomplete: "current-password", required: true });
  const code = field({ label: "6 位验证码或恢复码", name: "code", autocomplete: "one-time-code", required: true });
  const submit = button("关闭两步验证", null, { kind: "danger", type: "submit" });
  const form = el("form", { class: "form form-narrow", novalidate: true },
    el("p", { class: "hint" }, "如需关闭（例如更换手机后重新设置），请输入密码和当前的验证码。"),
    pwd.wrap, code.wrap, msg, el("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    if (!pwd.input.value || !code.input.value.trim()) return msg.show("请填写密码和验证码");
    const ok = await confirmDialog({ title: "关闭两步验证", message: "关闭后只凭密码即可登录，安全性会降低。确定关闭吗？",
      confirmText: "确定关闭", danger: true });
    if (!ok) return;
    await busy(submit, "正在关闭…", async () => {
      try {
        await api.post("/api/me/2fa/disable", { password: pwd.input.value, code: code.input.value.replace(/\s+/g, "") });
        await ctx.refreshMe();
        toast("两步验证已关闭", "success");
        renderTotp(box, ctx);
      } catch (err) {
        msg.show(err.message);
      }
    });
  });
  return el("details", { class: "disclosure" }, el("summary", {}, "关闭两步验证"), form);
}

// Sessions ---------------------------------------------------------------------------------------

function describeAgent(ua) {
  if (!ua) return "未知设备";
  const os = /Windows/.test(ua) ? "Windows 电脑" : /Mac OS X/.test(ua) && !/Mobile/.test(ua) ? "苹果电脑"
    : /iPhone|iPad/.test(ua) ? "苹果手机/平板" : /Android/.test(ua) ? "安卓手机" : /Linux/.test(ua) ? "Linux 电脑" : "其他设备";
  const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox"
    : /Safari\//.test(ua) ? "Safari" : "浏览器";
  return `${os} · ${browser}`;
}

async function renderSessions(box, ctx) {
  const { api, signal } = ctx;
  const title = el("h2", { id: "ss-title", class: "panel-title" }, "登录设备");
  replace(box, title, loading());
  let items;
  try {
    ({ items } = await api.get("/api/me/sessions", { signal }));
  } catch (err) {
    if (err.name === "AbortError") return;
    replace(box, title, errorState(err, () => renderSessions(box, ctx)));
    return;
  }
  const rows = items.map((s) => el("li", { class: "session" },
    el("div", { class: "session-main" },
      el("p", { class: "session-device" }, describeAgent(s.user_agent), s.current ? el("span", { class: "tag tag-ok" }, "本设备") : null),
      el("p", { class: "session-meta" }, `登录于 ${formatTime(s.created_at)} · 最近使用 ${formatTime(s.last_seen_at)}${s.ip ? " · 地址 " + s.ip : ""}`)),
    s.current ? null : button("让该设备退出", async () => {
      const ok = await confirmDialog({ title: "让该设备退出登录", message: `${describeAgent(s.user_agent)}（最近使用 ${formatTime(s.last_seen_at)}）将需要重新登录。确定吗？`,
        confirmText: "确定退出", danger: true });
      if (!ok) return;
      try {
        await api.del(`/api/me/sessions/${s.id}`);
        toast("该设备已退出登录", "success");
        renderSessions(box, ctx);
      } catch (err) {
        toast(err.message, "error");
      }
    }, { kind: "secondary" })));
  replace(box, title,
    el("p", { class: "hint" }, "如果看到不认识的设备，请让它退出，并立即修改密码。"),
    el("ul", { class: "sessions" }, rows));
}
