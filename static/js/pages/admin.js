// 管理 (system administrators): a tab bar over sub-pages in ./admin/, each a module with the same
// render(root, ctx) contract as a top-level page. #/admin/<tab>[/…]; #/admin opens 部门管理.

import { el, replace } from "../ui.js";

const TABS = [
  { name: "departments", label: "部门管理", load: () => import("./admin/departments.js") },
  { name: "users", label: "人员管理", load: () => import("./admin/users.js") },
  { name: "import", label: "导入导出", load: () => import("./admin/importexport.js") },
  { name: "templates", label: "发文流程", load: () => import("./admin/templates.js") },
  { name: "policies", label: "两步验证策略", load: () => import("./admin/policies.js") },
  { name: "audit", label: "审计日志", load: () => import("./admin/audit.js") },
];

let current = null;

export async function render(root, ctx) {
  const [tabName = "departments", ...rest] = ctx.params.path;
  const tab = TABS.find((t) => t.name === tabName) || TABS[0];
  const body = el("div", { class: "admin-body" });
  replace(root,
    el("h1", {}, `管理 · ${tab.label}`),
    el("nav", { class: "tabs", "aria-label": "管理功能" },
      el("ul", {}, TABS.map((t) => el("li", {},
        el("a", { href: `#/admin/${t.name}`, class: "tab", "aria-current": t === tab ? "page" : null }, t.label))))),
    body);
  current = await tab.load();
  await current.render(body, { ...ctx, params: { ...ctx.params, path: rest } });
}

export function dispose() {
  current?.dispose?.();
  current = null;
}
