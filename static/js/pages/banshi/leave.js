// 办事 › 我的假期, #/banshi/leave[?year=…]: my leave this year (年休假 by years of service, the days taken
// of each kind, from GET /api/banshi/leave/balance). The agency's personnel office (人事处) also sees
// everyone's annual leave and opens a person (#/banshi/leave?user=<id>) to adjust a balance with a
// reason (audited by the server) or set the date they started work.

import { el, replace, button, field, toast, loading, errorState, emptyState } from "../../ui.js";
import { dateInput, normalDate } from "../../components/datefield.js";
import { balanceBlock } from "./form.js";
import { fmtTime, isAbort } from "./common.js";
import { beijingParts } from "../../time.js";

const PARTS = { grant: "年度额度", adjust: "人事处调整", use: "请假", return: "退回" };

export async function renderLeave(root, ctx) {
  const q = ctx.params.query;
  const now = beijingParts().year; // 北京时间 (time.js)
  const year = /^\d{4}$/.test(q.year || "") ? Number(q.year) : now;
  const years = el("nav", { class: "tabs bs-tabs", "aria-label": "年度" }, el("ul", {}, [now - 1, now, now + 1].map((y) => el("li", {},
    el("a", { class: "tab", href: `#/banshi/leave?year=${y}${q.user ? `&user=${q.user}` : ""}`, "aria-current": y === year ? "page" : null }, `${y} 年`)))));
  const mine = el("div", {}, loading());
  const office = el("div", {});
  replace(root, el("a", { class: "back-link", href: q.user ? `#/banshi/leave?year=${year}` : "#/banshi" }, q.user ? "‹ 返回全体人员" : "‹ 返回办事"),
    el("h1", {}, q.user ? "人员假期" : "我的假期"), years, mine, office);
  if (q.user && /^\d+$/.test(q.user)) {
    replace(mine);
    return personPanel(ctx, office, Number(q.user), year);
  }
  // My own page says whether I am of the personnel office (may_adjust): only then is the list asked for.
  const me = await ctx.api.get(`/api/banshi/leave/people/${ctx.me.id}`, { query: { year }, signal: ctx.signal });
  replace(mine, summary(me.balance));
  if (!me.may_adjust) return;
  try {
    const data = await ctx.api.get("/api/banshi/leave/people", { query: { year }, signal: ctx.signal });
    replace(office, peopleTable(data, year));
  } catch (err) {
    if (!isAbort(err)) replace(office, errorState(err));
  }
}

function summary(b) {
  return el("section", { class: "panel", "aria-labelledby": "bs-lv-h" },
    el("h2", { class: "panel-title", id: "bs-lv-h" }, `${b.year} 年`),
    el("p", { class: "hint" }, b.work_start ? serviceLine(b)
      : "人事处尚未登记您的参加工作时间，年休假按 0 天计；如有疑问请联系人事处。"),
    balanceBlock(b.annual),
    el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
      el("thead", {}, el("tr", {}, ["假别", "已休", "标准", "说明"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, (b.kinds || []).map((k) => el("tr", {},
        el("td", { "data-label": "假别" }, k.label), el("td", { "data-label": "已休", class: "num" }, `${k.used} 天`),
        el("td", { "data-label": "标准" }, k.standard ? `${k.standard} 天` : "—"), el("td", { "data-label": "说明", class: "detail" }, k.note)))))));
}

// 累计工作年限 count to the day (the server's service_counted_to: today, or the end of a past year); a
// threshold reached this year adds its days prorated for the rest of the year (实施办法第五条的折算).
function serviceLine(b) {
  const counted = `参加工作时间 ${b.work_start}，截至 ${b.service_counted_to} 累计工作满 ${b.years_of_service} 年。`;
  const c = b.crossing;
  if (!c) return counted;
  return `${counted}${c.on} 累计工作满 ${c.years} 年，当年增加的 ${c.extra} 天按剩余 ${c.remaining} 个日历日折算为 ${c.days} 天`
    + `（${c.remaining}÷365×${c.extra}，不足 1 整天的部分不享受），已计入本年应休天数。`;
}

function peopleTable(data, year) {
  if (!data.items.length) return emptyState({ title: "暂无人员" });
  return el("section", { class: "panel", "aria-labelledby": "bs-lv-people" },
    el("h2", { class: "panel-title", id: "bs-lv-people" }, "全体人员年休假（人事处）", el("span", { class: "panel-count" }, `共 ${data.items.length} 人`)),
    el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
      el("thead", {}, el("tr", {}, ["姓名", "部门", "参加工作", "应休", "已休", "可休"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, data.items.map((p) => el("tr", {},
        el("td", { "data-label": "姓名" }, el("a", { href: `#/banshi/leave?year=${year}&user=${p.id}` }, p.name)),
        el("td", { "data-label": "部门" }, p.department || ""),
        el("td", { "data-label": "参加工作" }, p.work_start || "未登记"),
        el("td", { "data-label": "应休", class: "num" }, String(p.annual.entitled)),
        el("td", { "data-label": "已休", class: "num" }, String(p.annual.used)),
        el("td", { "data-label": "可休", class: "num" }, (p.annual.forfeited || []).length ? "不享受" : String(p.annual.available))))))));
}

async function personPanel(ctx, box, userId, year) {
  const draw = (h) => {
    const adjust = h.may_adjust ? adjustForm(ctx, userId, year, (fresh) => draw(fresh)) : null;
    const record = h.may_adjust ? recordForm(ctx, userId, year, h.record, (fresh) => draw(fresh)) : null;
    replace(box, el("h2", {}, h.user.name), summary(h.balance),
      el("section", { class: "panel", "aria-labelledby": "bs-lv-entries" },
        el("h2", { class: "panel-title", id: "bs-lv-entries" }, "假期台账"),
        h.entries.length ? el("div", { class: "table-wrap" }, el("table", { class: "table table-stack" },
          el("thead", {}, el("tr", {}, ["时间", "假别", "类别", "天数", "原因", "经办"].map((t) => el("th", { scope: "col" }, t)))),
          el("tbody", {}, h.entries.map((e) => el("tr", {},
            el("td", { "data-label": "时间" }, fmtTime(e.at)), el("td", { "data-label": "假别" }, e.kind_label),
            el("td", { "data-label": "类别" }, PARTS[e.part] || e.part), el("td", { "data-label": "天数", class: "num" }, String(e.days)),
            el("td", { "data-label": "原因" }, e.request_id ? el("a", { href: `#/banshi/r/${e.request_id}` }, e.reason) : e.reason),
            el("td", { "data-label": "经办" }, e.by?.name || "系统")))))) : el("p", { class: "hint" }, "本年度还没有记录。")),
      record, adjust);
  };
  try {
    draw(await ctx.api.get(`/api/banshi/leave/people/${userId}`, { query: { year }, signal: ctx.signal }));
  } catch (err) {
    if (!isAbort(err)) replace(box, errorState(err));
  }
}

function adjustForm(ctx, userId, year, done) {
  const kind = field({ label: "假别", name: "kind", type: "select", value: "annual", options: [
    { value: "annual", label: "年休假（调整余额）" }, { value: "sick", label: "病假" }, { value: "personal", label: "事假" },
    { value: "marriage", label: "婚假" }, { value: "maternity", label: "产假" }, { value: "home_visit", label: "探亲假" },
    { value: "school_vacation", label: "寒暑假" }] });
  const days = field({ label: "天数（增加为正，扣减为负）", name: "days", inputmode: "decimal", required: true });
  const reason = field({ label: "原因", name: "reason", type: "textarea", rows: 2, maxlength: 200, required: true, hint: "调整会记入审计日志" });
  const msg = el("p", { class: "form-msg", role: "alert", hidden: true });
  const save = button("保存调整", async () => {
    msg.hidden = true;
    save.disabled = true;
    try {
      const h = await ctx.api.post(`/api/banshi/leave/people/${userId}`, { year, kind: kind.input.value, days: Number(days.input.value), reason: reason.input.value.trim() });
      toast("已调整", "success");
      done(h);
    } catch (err) {
      save.disabled = false;
      msg.textContent = err.message;
      msg.className = "form-msg form-msg-error";
      msg.hidden = false;
    }
  }, { kind: "primary" });
  return el("section", { class: "panel", "aria-labelledby": "bs-lv-adj" }, el("h2", { class: "panel-title", id: "bs-lv-adj" }, `调整 ${year} 年假期`),
    el("div", { class: "form-grid" }, kind.wrap, days.wrap), reason.wrap, msg, el("div", { class: "actions" }, save));
}

function recordForm(ctx, userId, year, record, done) {
  const start = dateInput({ id: "bs-lv-start", value: record.work_start || "" });
  const note = field({ label: "备注", name: "note", maxlength: 200, value: record.note || "" });
  const save = button("保存", async () => {
    try {
      const h = await ctx.api.put(`/api/banshi/personnel/${userId}`, { work_start: normalDate(start.input.value) || null, note: note.input.value.trim() },
        { query: { year } });
      toast("已保存", "success");
      done(h);
    } catch (err) {
      toast(err.message, "error");
    }
  }, { kind: "secondary" });
  return el("section", { class: "panel", "aria-labelledby": "bs-lv-rec" }, el("h2", { class: "panel-title", id: "bs-lv-rec" }, "人事档案"),
    el("div", { class: "form-grid" }, el("div", { class: "field" }, el("label", { for: "bs-lv-start" }, "参加工作时间"), start.wrap), note.wrap),
    el("div", { class: "actions" }, save));
}
