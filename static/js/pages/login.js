// 登录: password step, then (when the account has two-factor on) the 6-digit code or a recovery code.
// Not a workspace page: the shell calls render(root, {api, onLoggedIn}) when nobody is signed in.

import { el, replace, field, button, busy, formMessage } from "../ui.js";

export async function render(root, { api, onLoggedIn }) {
  const card = el("div", { class: "login-card" });
  replace(root,
    el("div", { class: "login-brand" },
      el("span", { class: "brand-mark brand-mark-lg", "aria-hidden": "true" }, "通"),
      el("div", {},
        el("p", { class: "login-product" }, "通办"),
        el("p", { class: "login-tagline" }, "政务协同办公平台"))),
    el("main", { class: "login-main" }, card),
    el("p", { class: "login-foot" }, "遇到登录问题，请联系本单位信息中心。"));
  passwordStep(card, api, onLoggedIn);
}

function passwordStep(card, api, onLoggedIn) {
  const msg = formMessage();
  const user = field({ label: "用户名", name: "username", autocomplete: "username", required: true, mark: false,
    autocapitalize: "off", spellcheck: "false" });
  const pwd = field({ label: "密码", name: "password", type: "password", autocomplete: "current-password", required: true, mark: false });
  const reveal = el("button", {
    type: "button", class: "btn btn-link reveal", "aria-pressed": "false", "aria-controls": pwd.input.id,
    onclick: () => {
      const show = pwd.input.type === "password";
      pwd.input.type = show ? "text" : "password";
      reveal.setAttribute("aria-pressed", String(show));
      reveal.textContent = show ? "隐藏密码" : "显示密码";
    },
  }, "显示密码");
  pwd.wrap.appendChild(reveal);
  const submit = button("登录", null, { kind: "primary", type: "submit", class: "btn-block" });
  const form = el("form", { class: "form", novalidate: true }, user.wrap, pwd.wrap, msg, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const username = user.input.value.trim();
    const password = pwd.input.value;
    if (!username || !password) {
      msg.show(!username ? "请输入用户名" : "请输入密码");
      (!username ? user.input : pwd.input).focus();
      return;
    }
    await busy(submit, "正在登录…", async () => {
      try {
        const answer = await api.post("/api/auth/login", { username, password });
        if (answer.totp_required) totpStep(card, api, onLoggedIn, username);
        else onLoggedIn(answer.user);
      } catch (err) {
        showError(msg, err);
        pwd.input.select();
        pwd.input.focus();
      }
    });
  });
  replace(card, el("h1", { class: "login-title" }, "登录"), form);
  user.input.focus();
}

function totpStep(card, api, onLoggedIn, username) {
  let recovery = false;
  const msg = formMessage();
  const code = field({
    label: "验证码", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6",
    hint: "打开手机上的验证器应用，输入“通办”显示的 6 位数字。", required: true, mark: false,
  });
  const intro = el("p", { class: "lead" }, `账号 ${username} 已开启两步验证。`);
  const switchBtn = button("手机不在身边？使用恢复码", () => {
    recovery = !recovery;
    const label = code.wrap.querySelector("label");
    label.firstChild.textContent = recovery ? "恢复码" : "验证码";
    code.wrap.querySelector(".hint").textContent = recovery
      ? "输入开启两步验证时保存的恢复码之一（字母组合），每个恢复码只能用一次。"
      : "打开手机上的验证器应用，输入“通办”显示的 6 位数字。";
    code.input.inputMode = recovery ? "text" : "numeric";
    code.input.maxLength = recovery ? 20 : 6;
    code.input.value = "";
    switchBtn.textContent = recovery ? "改用手机验证码" : "手机不在身边？使用恢复码";
    msg.clear();
    code.input.focus();
  }, { kind: "link" });
  const submit = button("验证并登录", null, { kind: "primary", type: "submit", class: "btn-block" });
  const back = button("返回，重新输入密码", async () => {
    await api.post("/api/auth/logout").catch(() => {});
    passwordStep(card, api, onLoggedIn);
  }, { kind: "secondary", class: "btn-block" });
  const form = el("form", { class: "form", novalidate: true }, intro, code.wrap, switchBtn, msg, submit, back);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.clear();
    const value = code.input.value.replace(/\s+/g, "");
    if (!recovery && !/^\d{6}$/.test(value)) {
      msg.show("请输入 6 位数字验证码");
      code.input.focus();
      return;
    }
    if (recovery && value.length < 6) {
      msg.show("请输入完整的恢复码");
      code.input.focus();
      return;
    }
    await busy(submit, "正在验证…", async () => {
      try {
        const answer = await api.post("/api/auth/totp", { code: value });
        onLoggedIn(answer.user);
      } catch (err) {
        if (err.code === "no_pending_login") {
          passwordStep(card, api, onLoggedIn);
          return;
        }
        showError(msg, err);
        code.input.select();
        code.input.focus();
      }
    });
  });
  replace(card, el("h1", { class: "login-title" }, "两步验证"), form);
  code.input.focus();
}

function showError(msg, err) {
  if (err.code === "account_locked" || err.code === "address_locked" || err.status === 423) {
    // The server's message already says how long to wait.
    msg.show(err.message, "locked");
  } else {
    msg.show(err.message || "登录失败，请重试");
  }
}
