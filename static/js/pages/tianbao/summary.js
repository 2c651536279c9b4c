// A task's summary (#/tianbao/t/<id>/summary): per numeric item the total, each unit's figure as a bar
// chart (inline SVG), the previous period's total and the change; the export as xlsx (a task with
// 敏感 items exports only after two-factor sign-in: the server says needs_2fa).

import { el, replace, button, loading, toast, busy, debounce } from "../../ui.js";
import { csrfHeader } from "../../api.js";
import { barChart, periodLabel, num, isAbort, RETURN_STATUS } from "./common.js";

export async function renderSummary(root, ctx, taskId) {
  const { api, signal } = ctx;
  replace(root, el("a", { class: "back-link", href: `#/tianbao/t/${taskId}` }, "‹ 返回报送情况"), el("h1", {}, "汇总"), loading());
  const data = await api.get(`/api/tianbao/tasks/${taskId}/summary`, { query: { compare: 1 }, signal });
  const charts = [];
  const task = data.task || {};
  const items = data.items || [];
  const counts = data.counts || {};
  const exportBtn = button("导出 Excel", (e) => exportXlsx(e.currentTarget), { kind: "secondary" });
  const statusLine = Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${k === "late" ? "逾期" : RETURN_STATUS[k] || k} ${n}`).join(" · ");
  replace(root,
    el("a", { class: "back-link", href: `#/tianbao/t/${taskId}` }, "‹ 返回报送情况"),
    el("div", { class: "tb-head" }, el("h1", {}, `汇总：${task.title || ""}`), exportBtn),
    el("p", { class: "tb-item-meta" }, [periodLabel(task.period), statusLine].filter(Boolean).join(" · ")),
    el("p", { class: "hint" }, "汇总只计已报送和已采纳的单位。"),
    items.length ? el("div", { class: "tb-sum-grid" }, items.map(itemPanel)) : el("p", { class: "panel hint" }, "这项任务没有可汇总的数字项目。"));
  drawCharts();
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", debounce(() => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    drawCharts();
  }, 150), { signal });

  function itemPanel(it) {
    const money = it.type === "money"; // in 分 on the wire
    const fig = (v) => (v === null || v === undefined ? v : money ? Number(v) / 100 : v);
    const key = String(it.item_id);
    const units = (data.units || []).filter((u) => u.values && key in u.values)
      .map((u) => ({ unit_name: u.display_name, value: fig(u.values[key]) })); // the server's board.unit_display_name
    const levels = it.groups || [];
    const unit = it.unit_label || (money ? "元" : "");
    const change = it.change_pct ?? it.change;
    const changeText = change === null || change === undefined ? "" : `${change > 0 ? "+" : ""}${num(change)}%`;
    const prev = fig(it.previous_total);
    return el("section", { class: "panel tb-sum-item", "aria-label": it.name },
      el("h2", { class: "panel-title" }, it.name, it.code ? el("span", { class: "tb-code" }, ` ${it.code}`) : null),
      el("dl", { class: "tb-sum-figures" },
        // A rate (%) is not added up across units: its mean is shown instead.
        unit === "%" ? el("div", {}, el("dt", {}, "各单位平均"), el("dd", { class: "tb-big" }, `${num(it.count ? Math.round((it.total / it.count) * 100) / 100 : null)} %`))
          : el("div", {}, el("dt", {}, "合计"), el("dd", { class: "tb-big" }, `${num(fig(it.total))} ${unit}`)),
        prev !== undefined && prev !== null && unit !== "%" ? el("div", {}, el("dt", {}, it.previous_period ? `上期（${periodLabel(it.previous_period)}）` : "上期"), el("dd", {}, `${num(prev)} ${unit}`)) : null,
        changeText ? el("div", {}, el("dt", {}, "变化"), el("dd", { class: change >= 0 ? "tb-up" : "tb-down" }, changeText)) : null),
      units.length ? chartFigure(units.map((u) => ({ label: u.unit_name, value: u.value })), { title: `${it.name}：各单位`, unit },
        `${it.name}：各单位数值`) : null,
      units.length ? el("details", { class: "disclosure" }, el("summary", {}, "查看数据表"),
        el("table", { class: "table tb-sum-table" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "单位"), el("th", { scope: "col", class: "num" }, `数值${unit ? `（${unit}）` : ""}`))),
          el("tbody", {}, units.map((u) => el("tr", {}, el("td", {}, u.unit_name), el("td", { class: "num" }, num(u.value))))))) : null,
      levels.length > 1 && levels.some((l) => l.count > 1) ? el("p", { class: "tb-levels" }, "按机关：", levels.map((l) => `${l.name || l.key}：${num(fig(l.total))}${unit}（${l.count} 个单位）`).join("；")) : null);
  }

  // Each chart is drawn for its box's width (text at its own size on a phone and on a desk), and again
  // when the window changes width.
  function chartFigure(rows, opts, caption) {
    const fig = el("figure", { class: "tb-figure" }, el("figcaption", { class: "hint" }, caption));
    charts.push({ fig, rows, opts });
    return fig;
  }

  function drawCharts() {
    for (const c of charts) {
      const width = Math.max(280, Math.min(760, c.fig.clientWidth || root.clientWidth - 64));
      c.fig.querySelector("svg")?.remove();
      c.fig.prepend(barChart(c.rows, { ...c.opts, width }));
    }
  }

  async function exportXlsx(btn) {
    await busy(btn, "正在导出…", async () => {
      try {
        const res = await fetch(`/api/tianbao/tasks/${taskId}/summary.xlsx`, { credentials: "same-origin", headers: { "X-CSRF-Token": csrfHeader() }, signal });
        if (!res.ok) {
          const body = await res.json().catch(() => null);
          toast(body?.error === "needs_2fa" ? "本任务含敏感数据项，需使用两步验证登录后才能导出" : body?.message || "导出失败，请稍后重试", "error");
          return;
        }
        const blob = await res.blob();
        const a = el("a", { href: URL.createObjectURL(blob), download: `${task.title || "汇总"}.xlsx`, hidden: true }, "下载汇总表");
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        toast("已导出", "success");
      } catch (err) {
        if (!isAbort(err)) toast("导出失败，请检查网络后重试", "error");
      }
    });
  }
}
