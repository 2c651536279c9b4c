// 工作台 (#/home[?box=todo|done|mine][&kind=…][&offset=…]): the first page after sign-in. One 待办 list
// across domains (GET /api/todo, gathered by office/todo.py from what each domain registers): overdue
// first, then urgent, newest first within each, every entry with its deadline and a link to the
// place where it is done; the counts per kind beside it, and 已办 / 我发起的 as tabs.
//
// It stays live: notify.js tells it (todoChanges) when an event that may change a 待办 arrives, after
// a reconnect, and once a minute; the page then asks for the list again.

import { el, emptyState, errorState, loadCss, loading, newestWins, pagination, replace } from "../ui.js";
import { todoChanges } from "../notify.js";
import { formatter } from "../time.js";

const BOXES = [["todo", "待办"], ["done", "已办"], ["mine", "我发起的"]];
const LIMIT = 20;
const EMPTY = {
  todo: ["暂无待办", "需要您办理的公文、收文、督办事项、会议邀请、今日签到和 DING 会出现在这里。"],
  done: ["暂无已办事项", "您办理过的事项会出现在这里。"],
  mine: ["暂无发起的事项", "您起草的公文、登记的收文、组织的会议和发出的 DING 会出现在这里。"],
};
const LEVEL_TAG = { overdue: "已逾期", urgent: "紧急" };

export async function render(root, ctx) {
  loadCss("home");
  const { api, signal, params } = ctx;
  const query = params.query || {};
  const box = BOXES.some(([k]) => k === query.box) ? query.box : "todo";
  const kind = query.kind || "";
  const offset = Math.max(0, Number(query.offset) || 0);
  const href = (changes) => {
    const q = new URLSearchParams(Object.entries({ box, kind, ...changes }).filter(([k, v]) => v && !(k === "box" && v === "todo")));
    return `#/home${q.toString() ? `?${q}` : ""}`;
  };

  const tabs = el("nav", { class: "tabs home-tabs", "aria-label": "工作台分类" },
    el("ul", {}, BOXES.map(([key, label]) => el("li", {},
      el("a", { class: "tab", href: href({ box: key, kind: "", offset: 0 }), "aria-current": key === box ? "page" : null },
        label, key === "todo" ? el("span", { class: "home-tab-count", dataset: { total: "" } }) : null)))));
  const kinds = el("nav", { class: "home-kinds", "aria-label": "按类别" });
  const list = el("section", { class: "panel home-list", "aria-label": BOXES.find(([k]) => k === box)[1] }, loading());
  replace(root,
    el("div", { class: "home-head" }, el("h1", {}, "工作台"), el("p", { class: "home-date" }, todayText())),
    tabs, kinds, list);

  const load = newestWins(async (stale) => {
    const data = await api.get("/api/todo", { query: { box, kind, offset, limit: LIMIT }, signal });
    if (stale()) return;
    drawKinds(data);
    drawList(data);
  });

  function drawKinds(data) {
    const total = data.kinds.reduce((n, k) => n + k.count, 0);
    const count = root.querySelector("[data-total]");
    count.textContent = total ? ` ${total}` : "";
    const chip = (key, label, n) => el("li", {},
      el("a", { class: ["home-kind", n === 0 && box === "todo" && "home-kind-none"], href: href({ kind: key, offset: 0 }),
        "aria-current": key === kind ? "page" : null },
      label, box === "todo" ? el("span", { class: "home-kind-count" }, String(n)) : null));
    // In 待办, the kinds with something waiting (and the one chosen); in 已办 and 我发起的, every kind.
    const shown = data.kinds.filter((k) => box !== "todo" || k.count || k.kind === kind);
    replace(kinds, el("ul", {}, chip("", "全部", total), shown.map((k) => chip(k.kind, k.label, k.count))));
  }

  function drawList(data) {
    if (!data.items.length) {
      const [title, text] = EMPTY[box];
      replace(list, emptyState({ title, text, icon: "empty" }));
      return;
    }
    const now = Date.parse(data.now);
    replace(list,
      el("ul", { class: "todo-list" }, data.items.map((item) => todoItem(item, now, box))),
      pagination({ total: data.total, offset, limit: LIMIT, unit: "项", onChange: (o) => ctx.navigate(href({ offset: o })) }));
  }

  let timer = 0;
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch((err) => err?.name === "AbortError" || replace(list, errorState(err, again))), 200);
  };
  // Listening before the first load: a change committed while it is under way still reloads.
  todoChanges.addEventListener("event", again, { signal });
  todoChanges.addEventListener("change", again, { signal });
  signal.addEventListener("abort", () => clearTimeout(timer));
  try {
    await load();
  } catch (err) {
    if (err?.name === "AbortError") return;
    replace(list, errorState(err, again));
  }
}

function todoItem(item, now, box) {
  const tag = box === "todo" ? LEVEL_TAG[item.level] : null;
  const deadline = item.deadline ? `截止 ${when(item.deadline)}` : "";
  return el("li", { class: ["todo-item", box === "todo" && `todo-${item.level}`] },
    el("div", { class: "todo-main" },
      el("p", { class: "todo-line" },
        el("span", { class: "tag todo-kind" }, item.label),
        tag ? el("span", { class: `tag todo-flag todo-flag-${item.level}` }, tag) : null,
        el("a", { class: "todo-title", href: item.link }, item.title)),
      el("p", { class: "todo-meta" }, metaParts(item.detail, deadline, ago(Date.parse(item.since), now)))),
    // The title is the link for keyboards and screen readers; this is the same place, for a thumb.
    el("a", { class: "btn btn-secondary todo-go", href: item.link, tabindex: "-1", "aria-hidden": "true" }, item.action));
}

// The deadline and the age each stay on one line ("1 分钟前" split after the 1 reads as a stray digit);
// the detail, which can be long, wraps where it must.
function metaParts(detail, deadline, age) {
  const parts = [detail,
    deadline && el("span", { class: "todo-when" }, deadline), age && el("span", { class: "todo-when" }, age)].filter(Boolean);
  return parts.flatMap((p, i) => (i ? [" · ", p] : [p]));
}

const dayFmt = formatter({ month: "long", day: "numeric", weekday: "long" }); // 北京时间 (time.js)
const whenFmt = formatter({ month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });

function todayText() {
  return dayFmt.format(new Date());
}

function when(iso) {
  return whenFmt.format(new Date(iso));
}

function ago(then, now) {
  if (Number.isNaN(then)) return "";
  const minutes = Math.round((now - then) / 60_000);
  if (minutes < 0) return `${when(new Date(then).toISOString())} 开始`;
  if (minutes < 1) return "刚刚";
  if (minutes < 60) return `${minutes} 分钟前`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} 小时前`;
  return when(new Date(then).toISOString());
}
