// 两步验证策略: per role, whether its holders must turn on two-factor sign-in.

import { el, replace, checkbox, loading, errorState, toast } from "../../ui.js";
import { ROLE_LABELS } from "../../labels.js";

export async function render(root, ctx) {
  const { api, signal } = ctx;
  replace(root, loading());
  let items;
  try {
    ({ items } = await api.get("/api/admin/role-policies", { signal }));
  } catch (err) {
    if (err.name !== "AbortError") replace(root, errorState(err, () => render(root, ctx)));
    return;
  }
  const boxes = Object.entries(ROLE_LABELS).map(([role, label]) => {
    const box = checkbox({ label: `${label}：必须开启两步验证`, name: `p-${role}`, checked: !!items[role] });
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
    el("fieldset", { class: "fieldset" }, el("legend", {}, "角色"), boxes)));
}
