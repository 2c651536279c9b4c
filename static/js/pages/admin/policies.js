// 两步验证策略: per role, whether its holders must turn on two-factor sign-in.

import { el, replace, checkbox, loading, errorState, toast } from "../../ui.js";
import { ROLE_LABELS } from "../../labels.js";

export async function render(root, ctx) {
  const { api, signal } = ctx;
  replace(root, loading());
  let items, fixed;
  try {
    ({ items, fixed = [] } = await api.get("/api/admin/role-policies", { signal }));
  } catch (err) {
    if (err.name !== "AbortError") replace(root, errorState(err, () => render(root, ctx)));
    return;
  }
  const boxes = Object.entries(ROLE_LABELS).map(([role, label]) => {
    const box = checkbox({ label: `${label}：必须开启两步验证`, name: `p-${role}`, checked: !!items[role] });
    if (fixed.includes(role)) { // required by the deployment (OFFICE_ADMIN_2FA): not switchable here
      box.input.disabled = true;
      box.wrap.append(el("p", { class: "hint" }, "由部署设置要求（OFFICE_ADMIN_2FA），此处不能取消"));
      return box.wrap;
    }
    box.input.addEventListener("change", async () => {
      const want = box.input.checked;
      box.input.disabled = true;
      try {
        await api.put("/api/admin/role-policies", { role, require_2fa: want });
        toast(`${label}：${want ? "已要求" : "不再要求"}两步验证`, "success");
      } catch (err) {
        box.input.checked = !want;
        toast(err.message, "error");
      } finally {
        box.input.disabled = false;
      }
    });
    return box.wrap;
  });
  replace(root, el("section", { class: "panel" },
    el("h2", { class: "panel-title" }, "哪些角色必须开启两步验证"),
    el("p", { class: "hint" }, "勾选后，该角色的人员下次进入系统时，必须先在手机上设置两步验证才能继续使用。改动立即生效。"),
    el("fieldset", { class: "fieldset" }, el("legend", {}, "角色"), boxes)),
  watermarkPanel(ctx));
}

// 防泄密水印: on by default; only administrators may switch it off, and every change is audited.
function watermarkPanel(ctx) {
  const box = checkbox({ label: "在公文、消息、通讯录等页面显示防泄密水印（姓名、工号、日期）", name: "watermark",
    checked: !!ctx.me.watermark });
  box.input.addEventListener("change", async () => {
    const want = box.input.checked;
    box.input.disabled = true;
    try {
      await ctx.api.put("/api/admin/settings/watermark", { enabled: want });
      await ctx.refreshMe();
      toast(want ? "已开启防泄密水印，刷新页面后生效" : "已关闭防泄密水印（已记入审计日志），刷新页面后生效", "success");
    } catch (err) {
      box.input.checked = !want;
      toast(err.message, "error");
    } finally {
      box.input.disabled = false;
    }
  });
  return el("section", { class: "panel" },
    el("h2", { class: "panel-title" }, "防泄密水印"),
    el("p", { class: "hint" }, "水印可以追查截屏、拍照外传的来源。关闭水印会记入审计日志。"),
    el("fieldset", { class: "fieldset" }, el("legend", {}, "水印"), box.wrap));
}
