// 审计日志: newest first, filter by action and person, "加载更多" pages back with next_before;
// 校验 walks the hash chain and names the first altered entry. Read in plain Chinese: what was done
// (labels.js), to whom (the server sends the names of the people and departments entries point at),
// when (local time), and the detail with its keys in words.

import { el, replace, field, button, busy, loading, errorState, formatTime, emptyState } from "../../ui.js";
import { AUDIT_ACTIONS, AUDIT_DETAIL, AUDIT_TARGETS, AUDIT_VALUES, ROLE_LABELS } from "../../labels.js";

const PAGE = 50;

export async function render(root, ctx) {
  const { api, signal } = ctx;
  // Every action the code records has its label (tests/office/test_audit_labels.py).
  const action = field({ label: "操作类型（可不填）", name: "action", type: "select", value: "",
    options: [{ value: "", label: "全部操作" }, ...Object.entries(AUDIT_ACTIONS).map(([value, label]) => ({ value, label }))] });
  const actor = field({ label: "操作人", name: "actor_id", type: "select", value: "", options: [{ value: "", label: "全部人员" }] });
  const verifyOut = el("div", { "aria-live": "polite" });
  const verifyBtn = button("校验日志完整性", () => busy(verifyBtn, "正在校验…", verify), { kind: "secondary" });
  const tbody = el("tbody");
  const more = button("加载更多", null, { kind: "secondary" });
  const listBox = el("div", { "aria-live": "polite" });
  const filters = el("form", { class: "form filters", novalidate: true }, action.wrap, actor.wrap,
    el("div", { class: "actions" }, button("查询", null, { kind: "primary", type: "submit" })));
  replace(root,
    el("section", { class: "panel" },
      el("h2", { class: "panel-title" }, "完整性校验"),
      el("p", { class: "hint" }, "每条日志都与上一条链接加密，任何删改都能被发现。"),
      el("div", { class: "actions" }, verifyBtn), verifyOut),
    el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "日志记录"), filters, listBox));

  api.get("/api/admin/users", { query: { limit: 200 }, signal }).then((data) => {
    for (const u of data.items) actor.input.appendChild(el("option", { value: String(u.id) }, `${u.name}（${u.username}）`));
  }).catch(() => { /* the filter still works without names */ });

  async function verify() {
    try {
      const r = await api.get("/api/admin/audit/verify", { signal });
      replace(verifyOut, r.ok
        ? el("p", { class: "status-line status-ok", role: "status" }, `校验通过：${r.checked} 条日志完整，未发现删改。`)
        : el("div", { class: "notice notice-danger", role: "alert" },
          el("p", { class: "notice-title" }, `发现异常：第 ${r.first_bad_seq} 条日志`),
          el("p", {}, r.reason || "该条及之后的日志可能被删改，请立即报告信息安全负责人。")));
    } catch (err) {
      if (err.name !== "AbortError") replace(verifyOut, errorState(err));
    }
  }

  let before = null;
  async function load(reset) {
    if (reset) {
      before = null;
      tbody.replaceChildren();
      replace(listBox, loading());
    }
    const query = { action: action.input.value.trim(), actor_id: actor.input.value, before, limit: PAGE };
    const data = await api.get("/api/admin/audit", { query, signal });
    if (reset && !data.items.length) {
      replace(listBox, emptyState({ title: "没有符合条件的日志" }));
      return;
    }
    if (reset) replace(listBox, table(tbody), more);
    for (const e of data.items) tbody.appendChild(row(e));
    before = data.next_before;
    more.hidden = data.items.length < PAGE || !before;
  }
  const run = (reset) => load(reset).catch((err) => {
    if (err.name !== "AbortError") replace(listBox, errorState(err, () => run(true)));
  });
  more.addEventListener("click", () => busy(more, "正在加载…", () => run(false)));
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    run(true);
  });
  await run(true);
}

function table(tbody) {
  return el("div", { class: "table-wrap" },
    el("table", { class: "table table-stack" },
      el("caption", { class: "visually-hidden" }, "审计日志，最新的在前"),
      el("thead", {}, el("tr", {}, ["序号", "时间", "操作人", "操作", "对象", "地址", "详情"].map((h) => el("th", { scope: "col" }, h)))),
      tbody));
}

function row(e) {
  const names = e.names || { target: null, detail: {} };
  return el("tr", {},
    el("td", { class: "num", dataset: { label: "序号" } }, String(e.seq)),
    el("td", { class: "nowrap", dataset: { label: "时间" } }, formatTime(e.at)),
    el("td", { dataset: { label: "操作人" } }, e.actor_name || "系统"),
    el("td", { dataset: { label: "操作" } }, AUDIT_ACTIONS[e.action] || e.action),
    el("td", { dataset: { label: "对象" } }, target(e, names)),
    el("td", { class: "nowrap", dataset: { label: "地址" } }, e.ip || "—"),
    el("td", { class: "detail", dataset: { label: "详情" } }, detailText(e.detail || {}, names) || "—"));
}

/** "人员：张伟", "部门：综合处", "公文（编号 12）": names where the server knows them. */
function target(e, names) {
  if (!e.target_type) return "—";
  const kind = AUDIT_TARGETS[e.target_type] || e.target_type;
  const name = names.target || (e.target_type === "role" ? ROLE_LABELS[e.target_id] : null);
  if (name) return `${kind}：${name}`;
  return e.target_id ? `${kind}（编号 ${e.target_id}）` : kind;
}

function detailText(detail, names) {
  const say = (key, v) => {
    if (typeof v === "boolean") return v ? "是" : "否";
    if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) return formatTime(v);
    if ((key === "roles" || key === "role") && ROLE_LABELS[v]) return ROLE_LABELS[v];
    if (Array.isArray(v)) return v.map((x) => say(key, x)).join("、") || "无";
    if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${AUDIT_DETAIL[k] || k} ${say(k, x)}`).join("，");
    return v === null || v === undefined || v === "" ? "无" : AUDIT_VALUES[v] || String(v);
  };
  const shown = (k, v) => (k in names.detail ? [names.detail[k]].flat().join("、") : say(k, v));
  return Object.entries(detail).map(([k, v]) => `${AUDIT_DETAIL[k] || k}：${shown(k, v)}`).join("；");
}
