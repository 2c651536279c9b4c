// 减负报告 (#/tianbao/burden?month=YYYY-MM): for each unit I may see, the tasks it received, the items
// asked, how many came prefilled (reused) versus typed, the minutes from open to submit, and the items
// more than one superior asked for. Leaders also see the collectors ranked by the burden they cause.

import { el, replace, loading, emptyState, errorState, field } from "../../ui.js";
import { head, num, isAbort } from "./common.js";
import { beijingDate, beijingParts } from "../../time.js";

function thisMonth() {
  return beijingDate().slice(0, 7); // 北京时间 (time.js)
}

function monthOptions() {
  const out = [];
  const now = beijingParts(); // 北京时间 (time.js)
  for (let i = 0; i < 24; i += 1) {
    const n = now.year * 12 + now.month - 1 - i;
    const [y, mo] = [Math.floor(n / 12), (n % 12) + 1];
    out.push({ value: `${y}-${String(mo).padStart(2, "0")}`, label: `${y}年${mo}月` });
  }
  return out;
}

export async function renderBurden(root, ctx) {
  const { api, signal } = ctx;
  const month = /^\d{4}-\d{2}$/.test(ctx.params.query.month || "") ? ctx.params.query.month : thisMonth();
  const pick = field({ label: "月份", name: "month", type: "select", value: month, options: monthOptions() });
  pick.input.addEventListener("change", () => ctx.navigate(`#/tianbao/burden?month=${pick.input.value}`), { signal });
  const units = el("div", { "aria-live": "polite" }, loading());
  const ranking = el("div", {});
  replace(root, head("数据填报", "burden"),
    el("p", { class: "lead" }, "基层减负：各单位本月收到多少填报任务、多少项靠预填复用、多少项手工填写、花了多长时间，以及被多个上级重复索要的数据。"),
    el("div", { class: "tb-month" }, pick.wrap), units, ranking);
  try {
    const data = await api.get("/api/tianbao/burden", { query: { month }, signal });
    const list = data.units || [];
    replace(units, list.length ? list.map(unitCard)
      : emptyState({ title: "本月没有填报", text: "本单位本月收到的填报任务会在这里统计。" }));
  } catch (err) {
    if (!isAbort(err)) replace(units, errorState(err));
  }
  // The leaders' view (机关领导 and administrators; the server checks again).
  if (!ctx.me.roles.some((r) => r === "leader" || r === "admin")) return;
  api.get("/api/tianbao/burden/collectors", { query: { month }, signal }).then((d) => {
    const list = d.collectors || [];
    if (!list.length) return;
    replace(ranking, el("section", { class: "panel", "aria-labelledby": "tb-rank" },
      el("h2", { class: "panel-title", id: "tb-rank" }, "采集部门负担排名"),
      el("p", { class: "hint" }, "按各单位为其手工填写的项数排序；重复项为同月其他部门也索要过的数据项。"),
      el("div", { class: "table-wrap", tabindex: "0" }, el("table", { class: "table table-stack tb-rank-table" },
        el("thead", {}, el("tr", {}, ["名次", "采集部门", "任务", "单位", "索要项数", "手填", "预填", "重复项"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, list.map((c, i) => el("tr", {},
          el("td", { "data-label": "名次" }, String(i + 1)), el("td", { "data-label": "采集部门" }, c.name),
          el("td", { "data-label": "任务", class: "num" }, num(c.tasks)), el("td", { "data-label": "单位", class: "num" }, num(c.units)),
          el("td", { "data-label": "索要项数", class: "num" }, num(c.items_asked)), el("td", { "data-label": "手填", class: "num" }, num(c.typed)),
          el("td", { "data-label": "预填", class: "num" }, num(c.prefilled)), el("td", { "data-label": "重复项", class: "num" }, num(c.duplicate_items)))))))));
  }).catch(() => {});
}

function unitCard(u) {
  const pre = Number(u.prefilled) || 0;
  const typed = Number(u.typed) || 0;
  const total = pre + typed;
  const pct = u.prefilled_pct ?? (total ? Math.round((pre * 1000) / total) / 10 : null);
  const minutes = u.open_to_submit_minutes || {};
  const bar = el("div", { class: "tb-reuse-bar", role: "img", "aria-label": `预填 ${pre} 项，手填 ${typed} 项` },
    el("span", { class: "tb-reuse-pre" }), el("span", { class: "tb-reuse-typed" }));
  // Widths through the CSSOM (allowed by the CSP; a style attribute would not be).
  bar.firstChild.style.flexGrow = String(pre);
  bar.lastChild.style.flexGrow = String(typed || (pre ? 0 : 1));
  const dups = u.duplicates || [];
  // The server names the unit as the collector's board does (its agency first: every city has a 统计科).
  const name = u.display_name || u.unit_name;
  return el("section", { class: "panel tb-burden", "aria-label": name },
    el("h2", { class: "panel-title" }, name),
    el("dl", { class: "tb-sum-figures" },
      el("div", {}, el("dt", {}, "收到任务"), el("dd", { class: "tb-big" }, num(u.tasks))),
      el("div", {}, el("dt", {}, "索要数据项"), el("dd", { class: "tb-big" }, num(u.items_asked))),
      el("div", {}, el("dt", {}, "预填复用"), el("dd", { class: "tb-big tb-up" }, `${num(pre)} 项`)),
      el("div", {}, el("dt", {}, "手工填写"), el("dd", { class: "tb-big" }, `${num(typed)} 项`)),
      el("div", {}, el("dt", {}, "复用率"), el("dd", { class: "tb-big" }, pct === null ? "—" : `${num(pct)}%`)),
      // No measured time (nothing submitted yet, or returns seeded in one go) is 无记录, not 0 minutes.
      el("div", {}, el("dt", {}, "打开到报送"), minutes.median === null || minutes.median === undefined
        ? el("dd", {}, "— 无记录")
        : el("dd", {}, `中位 ${num(minutes.median)} 分钟 · 平均 ${num(minutes.average)} 分钟`))),
    total ? bar : null,
    total ? el("p", { class: "tb-reuse-legend" }, el("span", { class: "tb-key tb-key-pre", "aria-hidden": "true" }), "预填复用 ",
      el("span", { class: "tb-key tb-key-typed", "aria-hidden": "true" }), "手工填写") : null,
    dups.length ? el("div", { class: "tb-dups" }, el("h3", {}, `被多个上级重复索要的数据（${dups.length} 项）`),
      el("ul", {}, dups.map((d) => el("li", {}, el("strong", {}, d.name), d.code ? ` ${d.code}` : "", `：${(d.collectors || []).join("、")}`)))) : null);
}
