// The collector's board (#/tianbao/t/<id>): each unit's status, live over /ws (tianbao.return events),
// counts per status, 催报 to the chosen late or unsubmitted units, 撤回 (with a reason, after asking)
// and 结束; a unit's row opens its return for 采纳 or 退回 with comments on cells.

import { el, replace, button, loading, errorState, toast, field, openDialog, confirmDialog, debounce, newestWins, busy } from "../../ui.js";
import { statusTag, periodLabel, fmtTime, isAbort, nameOf, RETURN_STATUS, TASK_STATUS } from "./common.js";
import { beijingParts } from "../../time.js";

const OPEN = new Set(["not_started", "filling", "in_review", "returned"]);
/** "12-07 16:30" this year, "2025-12-07 16:30" before; "—" for none. */
const shortTime = (iso) => {
  const t = fmtTime(iso);
  if (!t) return "—";
  return t.startsWith(`${beijingParts().year}-`) ? t.slice(5) : t;
};

export async function renderBoard(root, ctx, taskId) {
  const { api, signal } = ctx;
  const picks = new Set();
  let data = null;
  const counts = el("div", { class: "tb-counts", "aria-live": "polite" });
  const table = el("div", { class: "panel tb-board" }, loading());
  const head = el("div", {});
  const urgeBtn = button("催报", (e) => urge(e.currentTarget), { kind: "secondary", disabled: true });
  const pickState = el("span", { class: "hint", "aria-live": "polite" });
  // Every unit not yet submitted (or only the late ones), for 催报 to many at once.
  const pickOpen = (lateOnly) => {
    for (const u of data?.units || []) if (OPEN.has(u.status) && (!lateOnly || u.late)) picks.add(u.return_id);
    draw();
  };
  const pickAll = button("选中全部未报送", () => pickOpen(false), { kind: "link" });
  const pickLate = button("只选逾期的", () => pickOpen(true), { kind: "link" });
  replace(root, el("a", { class: "back-link", href: "#/tianbao/tasks" }, "‹ 返回采集任务"), head, counts,
    el("div", { class: "tb-board-tools" }, pickState, pickAll, pickLate, urgeBtn), table);

  const load = newestWins(async (stale) => {
    const d = await api.get(`/api/tianbao/tasks/${taskId}/board`, { signal });
    if (stale()) return;
    data = d;
    draw();
  });

  function draw() {
    const t = data.task || {};
    const c = data.counts || {};
    const units = data.units || [];
    for (const id of [...picks]) if (!units.some((u) => u.return_id === id && OPEN.has(u.status))) picks.delete(id);
    replace(head,
      el("div", { class: "tb-head tb-title-line" }, el("h1", {}, t.title || "报送情况"), el("p", { class: "tb-head-status" }, el("span", { class: `tag tb-status tb-status-${t.status}` }, TASK_STATUS[t.status] || t.status))),
      el("p", { class: "tb-item-meta" }, [periodLabel(t.period), t.deadline ? `截止 ${fmtTime(t.deadline)}` : "", `${units.length} 个单位`].filter(Boolean).join(" · ")),
      t.withdraw_reason ? el("p", { class: "notice notice-warn" }, `已撤回：${t.withdraw_reason}`) : null,
      el("div", { class: "actions tb-task-actions" },
        el("a", { class: "btn btn-secondary", href: `#/tianbao/t/${taskId}/summary` }, "汇总与图表"),
        t.status === "issued" ? button("结束任务", (e) => closeTask(e.currentTarget), { kind: "secondary" }) : null,
        t.status === "issued" ? button("撤回任务", (e) => withdraw(e.currentTarget), { kind: "danger" }) : null));
    const order = ["not_started", "filling", "in_review", "submitted", "returned", "accepted"];
    replace(counts, el("ul", { class: "tb-count-list", "aria-label": "各状态单位数" },
      order.map((s) => el("li", { class: `tb-count tb-count-${s}` }, el("span", { class: "tb-count-n" }, String(c[s] || 0)), el("span", {}, RETURN_STATUS[s]))),
      el("li", { class: "tb-count tb-count-late" }, el("span", { class: "tb-count-n" }, String(c.late || 0)), el("span", {}, "逾期"))));
    if (!units.length) {
      replace(table, el("p", { class: "hint" }, "这项任务还没有填报单位。"));
      return;
    }
    replace(table, el("table", { class: "table table-stack tb-board-table" },
      el("caption", { class: "visually-hidden" }, "各单位报送情况"),
      el("thead", {}, el("tr", {}, ["", "单位", "状态", "填报人 / 审核人", "打开", "报送", "催报"].map((h, i) =>
        el("th", { scope: "col" }, i === 0 ? el("span", { class: "visually-hidden" }, "选择") : h)))),
      el("tbody", {}, units.map(row))));
    drawPicks();
  }

  function row(u) {
    const can = OPEN.has(u.status) && data.task?.status === "issued";
    const pick = can ? el("input", { type: "checkbox", class: "tb-pick", checked: picks.has(u.return_id), "aria-label": `选择 ${u.display_name || u.unit_name} 催报`,
      onchange: (e) => { if (e.target.checked) picks.add(u.return_id); else picks.delete(u.return_id); drawPicks(); } }) : null;
    return el("tr", { dataset: { unit: String(u.unit_id) }, class: u.late ? "tb-row-late" : null },
      el("td", { "data-label": "选择" }, pick),
      el("td", { "data-label": "单位" }, el("a", { href: `#/tianbao/r/${u.return_id}` },
        u.display_name !== u.unit_name ? el("span", { class: "tb-sub" }, u.agency_name) : null, u.unit_name)),
      el("td", { "data-label": "状态" }, el("span", { class: "tb-tags" }, statusTag(u.status, u.late))),
      el("td", { "data-label": "填报人 / 审核人" }, [nameOf(u.filler), nameOf(u.reviewer)].filter(Boolean).join(" / ")),
      el("td", { "data-label": "打开", class: "tb-nowrap" }, shortTime(u.opened_at)),
      el("td", { "data-label": "报送", class: "tb-nowrap" }, shortTime(u.submitted_at)),
      el("td", { "data-label": "催报" }, u.urged_count ? `${u.urged_count} 次` : "—"));
  }

  function drawPicks() {
    const open = data.task?.status === "issued" && (data.units || []).some((u) => OPEN.has(u.status));
    urgeBtn.closest(".tb-board-tools").hidden = !open;
    pickLate.hidden = !(data.units || []).some((u) => u.late && OPEN.has(u.status));
    urgeBtn.disabled = !picks.size;
    pickState.textContent = picks.size ? `已选 ${picks.size} 个单位` : "勾选未报送的单位可催报";
  }

  async function urge(btn) {
    const ids = [...picks];
    if (!(await confirmDialog({ title: "催报", message: `向 ${ids.length} 个单位的填报人和审核人发送催报通知？`, confirmText: "发送催报" }))) return;
    await busy(btn, "正在发送…", async () => {
      try {
        const r = await api.post(`/api/tianbao/tasks/${taskId}/urge`, { return_ids: ids }, { signal });
        toast(`已向 ${r?.sent ?? r?.count ?? ids.length} 个单位催报`, "success");
        picks.clear();
        await load();
      } catch (err) {
        if (!isAbort(err)) toast(err.message, "error");
      }
    });
  }

  async function withdraw(btn) {
    const reason = field({ label: "撤回原因", name: "reason", type: "textarea", rows: 3, maxlength: 200, required: true,
      hint: "撤回后各单位不能再填报，原因会告知各单位。" });
    const msg = el("p", { class: "form-msg form-msg-error", role: "alert", hidden: true });
    const ok = button("撤回任务", async () => {
      if (!reason.input.value.trim()) { msg.textContent = "请填写撤回原因"; msg.hidden = false; reason.input.focus(); return; }
      ok.disabled = true;
      try {
        await api.post(`/api/tianbao/tasks/${taskId}/withdraw`, { version: data.task.version, reason: reason.input.value.trim() }, { signal });
        dlg.close();
        toast("任务已撤回", "success");
        await load();
      } catch (err) {
        ok.disabled = false;
        if (!isAbort(err)) { msg.textContent = err.message; msg.hidden = false; }
      }
    }, { kind: "danger" });
    const dlg = openDialog({ title: "撤回采集任务", body: [el("p", {}, `确定撤回“${data.task.title}”？未报送的单位将停止填报。`), reason.wrap, msg],
      actions: [button("取消", () => dlg.close(), { kind: "secondary" }), ok] });
    reason.input.focus();
    void btn;
  }

  async function closeTask(btn) {
    if (!(await confirmDialog({ title: "结束任务", message: "结束后尚未报送的单位不能再报送。确定结束？", confirmText: "结束任务", danger: true }))) return;
    await busy(btn, "正在处理…", async () => {
      try {
        await api.post(`/api/tianbao/tasks/${taskId}/close`, { version: data.task.version }, { signal });
        toast("任务已结束", "success");
        await load();
      } catch (err) {
        if (!isAbort(err)) toast(err.message, "error");
      }
    });
  }

  // Live: each return's change reloads the board (one query, debounced over a burst).
  const again = debounce(() => load().catch(() => {}), 250);
  ctx.ws.subscribe("tianbao", (ev) => { if (!ev.task_id || Number(ev.task_id) === taskId) again(); }, { signal });
  try {
    await load();
  } catch (err) {
    if (isAbort(err)) return;
    if (!data) throw err;
    replace(table, errorState(err, () => load().catch(() => {})));
  }
}
