// 待填报: the returns of my unit that wait for me (to fill, to review, to fix after 退回) and those done.

import { el, replace, loading, emptyState, errorState, pagination, debounce, newestWins } from "../../ui.js";
import { head, statusTag, periodLabel, fmtTime, isAbort } from "./common.js";

const BOXES = [["todo", "待办"], ["done", "已办"]];
const LIMIT = 20;

export async function renderReturns(root, ctx) {
  const box = ctx.params.query.box === "done" ? "done" : "todo";
  const page = Math.max(1, Number(ctx.params.query.page) || 1);
  const list = el("section", { class: "panel tb-list", "aria-label": box === "todo" ? "待办的填报" : "已办的填报" }, loading());
  const boxes = el("div", { class: "tb-boxes", role: "group", "aria-label": "填报分类" }, BOXES.map(([key, label]) =>
    el("a", { class: ["btn", key === box ? "btn-primary" : "btn-secondary", "btn-small"], href: key === "todo" ? "#/tianbao" : "#/tianbao?box=done",
      "aria-current": key === box ? "page" : null }, label)));
  replace(root, head("数据填报", "returns"), boxes, list);

  const load = newestWins(async (stale) => {
    const data = await ctx.api.get("/api/tianbao/returns", { query: { box, page }, signal: ctx.signal });
    if (stale()) return;
    const items = data.items || [];
    if (!items.length) {
      replace(list, emptyState(box === "todo"
        ? { title: "没有待填报的任务", text: "上级部门下发给本单位、由您填报或审核的任务会出现在这里。" }
        : { title: "还没有办结的填报", text: "您填报或审核过、已经报送的任务会出现在这里。" }));
      return;
    }
    replace(list, el("ul", { class: "tb-items" }, items.map(returnItem)),
      pagination({ total: data.total ?? items.length, offset: (page - 1) * LIMIT, limit: LIMIT,
        onChange: (offset) => ctx.navigate(`#/tianbao?${new URLSearchParams({ box, page: String(offset / LIMIT + 1) })}`) }));
  });
  ctx.ws.subscribe("tianbao", debounce(() => load().catch(() => {}), 300), { signal: ctx.signal });
  try {
    await load();
  } catch (err) {
    if (!isAbort(err)) replace(list, errorState(err, () => load().catch(() => {})));
  }
}

function returnItem(r) {
  const task = r.task || {};
  const title = task.title || r.task_title || r.title || `填报 #${r.id}`;
  const period = task.period || r.period;
  const deadline = task.deadline || r.deadline;
  const meta = [
    task.collector_name || task.collector || r.collector_name,
    period ? periodLabel(period) : "",
    deadline ? `截止 ${fmtTime(deadline)}` : "",
    r.unit_name ? `本单位：${r.unit_name}` : "",
    r.role === "reviewer" ? "由您审核" : "由您填报",
  ].filter(Boolean).join(" · ");
  return el("li", { class: "tb-item" },
    el("p", { class: "tb-item-line" }, el("a", { class: "tb-item-title", href: `#/tianbao/r/${r.id}` }, title), statusTag(r.status, r.late)),
    el("p", { class: "tb-item-meta" }, meta),
    r.status === "returned" ? el("p", { class: "tb-item-note" }, "上级已退回，请按批注修改后重新报送") : null);
}
