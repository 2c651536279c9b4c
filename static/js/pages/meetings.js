// 会议: calendar (day/week/month), room booking grid, booking form with live free/busy and the
// slot finder, meeting page (agenda, materials, RSVP, attendance, minutes), the room's sign-in
// screen (#/meetings/signin/<id>: rotating code + QR) and the attendee check-in (#/meetings/checkin/<id>).
//
// User data only ever reaches the page through textContent and attributes (strict CSP: no inline
// scripts or styles, no innerHTML).

import { el, loadCss, newestWins, replace } from "../ui.js";
import { newClientId } from "../api.js";
import { picker } from "../components/picker.js";
import { dateInput, timeInput } from "../components/datefield.js";
import { formatter } from "../time.js";

const RSVP = { needs_action: "未答复", accepted: "参加", declined: "请假", tentative: "待定", delegated: "代参会" };
const ROLE = { chair: "主持", required: "出席", optional: "列席" };
const STATE = { present: "已签到", late: "迟到", absent: "缺席", on_leave: "请假", delegated: "代参会", expected: "未到" };
const STATUS = { confirmed: "已确认", pending: "待审批", cancelled: "已取消", rejected: "已驳回" };
const WEEK = "日一二三四五六";

const fmt = (iso, opts) => formatter(opts).format(new Date(iso)); // 北京时间 (time.js)
const hm = (iso) => fmt(iso, { hour: "2-digit", minute: "2-digit", hour12: false });
const md = (iso) => fmt(iso, { month: "numeric", day: "numeric", weekday: "short" });
// A local (Asia/Shanghai) date + time to an ISO string with the zone, as the API requires.
const local = (date, time) => `${date}T${time}:00+08:00`;
const dayKey = (d) => d.toISOString().slice(0, 10);

function shanghaiToday() {
  const parts = fmt(new Date().toISOString(), { year: "numeric", month: "2-digit", day: "2-digit" }).split("/");
  return new Date(`${parts[0]}-${parts[1]}-${parts[2]}T00:00:00Z`);
}

function errorBox(err) {
  return el("p", { class: "form-error", role: "alert", text: err?.message || "操作失败" });
}

async function guarded(box, fn) {
  try {
    await fn();
  } catch (err) {
    if (err?.name === "AbortError") return;
    replace(box, errorBox(err));
  }
}

export async function render(root, ctx) {
  loadCss("meetings");
  const path = ctx.params?.path || [];
  const [first, second] = path;
  if (first === "signin" && second) return signinScreen(root, ctx, Number(second));
  if (first === "checkin" && second) return checkin(root, ctx, Number(second));
  if (first === "new") return bookingForm(root, ctx);
  if (first === "rooms") return roomGrid(root, ctx);
  if (first && /^\d+$/.test(first)) return meetingPage(root, ctx, Number(first));
  return calendar(root, ctx);
}

function subscribe(ctx, prefix, fn) {
  if (ctx.ws?.subscribe) ctx.ws.subscribe(prefix, fn, { signal: ctx.signal });
  else if (ctx.ws?.on) ctx.ws.on(prefix, fn);
}

function nav(ctx, current = "") {
  const link = (href, text, key) => el("a", { href, class: "tab", "aria-current": key === current ? "page" : null }, text);
  return el("nav", { class: "tabs meet-nav", "aria-label": "会议" }, el("ul", {},
    el("li", {}, link("#/meetings", "我的日程", "calendar")),
    el("li", {}, link("#/meetings/rooms", "会议室", "rooms")),
    el("li", {}, link("#/meetings/new", "预约会议", "new"))));
}

function rangeLabel(start, days) {
  const last = new Date(start); last.setUTCDate(last.getUTCDate() + days - 1);
  const d = (x) => `${x.getUTCMonth() + 1}月${x.getUTCDate()}日`;
  return days === 1 ? `${start.getUTCFullYear()}年${d(start)}` : `${start.getUTCFullYear()}年${d(start)} – ${d(last)}`;
}

// Calendar -----------------------------------------------------------------------------------

async function calendar(root, ctx) {
  const view = ctx.params?.query?.view || "week";
  const anchor = ctx.params?.query?.date ? new Date(`${ctx.params.query.date}T00:00:00Z`) : shanghaiToday();
  let start = new Date(anchor);
  let days = 1;
  if (view === "week") { start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7)); days = 7; }
  if (view === "month") { start.setUTCDate(1); days = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0)).getUTCDate(); }
  const end = new Date(start); end.setUTCDate(end.getUTCDate() + days);
  const step = (n) => { const d = new Date(anchor); if (view === "month") d.setUTCMonth(d.getUTCMonth() + n); else d.setUTCDate(d.getUTCDate() + n * days); return dayKey(d); };
  const go = (v, d) => ctx.navigate(`#/meetings?view=${v}&date=${d}`);
  const body = el("div", { class: "meet-calendar", "aria-live": "polite" }, el("p", { text: "正在加载…" }));
  const approvals = el("section", { class: "meet-approvals" });
  const feed = el("section", { class: "panel meet-feed" });
  replace(root, el("h1", { tabindex: "-1" }, "会议"), nav(ctx, "calendar"),
    el("div", { class: "meet-toolbar" },
      el("div", { class: "meet-group", role: "group", "aria-label": "翻页" },
        el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => go(view, step(-1)) }, "‹ 上一页"),
        el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => go(view, dayKey(shanghaiToday())) }, "今天"),
        el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => go(view, step(1)) }, "下一页 ›")),
      el("p", { class: "meet-range" }, rangeLabel(start, days)),
      el("div", { class: "meet-group", role: "group", "aria-label": "视图" },
        ["day", "week", "month"].map((v) => el("button", { type: "button", class: "btn btn-secondary btn-small btn-toggle",
          "aria-pressed": String(v === view), onclick: () => go(v, dayKey(anchor)) }, { day: "日", week: "周", month: "月" }[v])))),
    approvals, body, feed);
  const load = newestWins((stale) => guarded(body, async () => {
    const q = `start=${encodeURIComponent(local(dayKey(start), "00:00"))}&end=${encodeURIComponent(local(dayKey(end), "00:00"))}`;
    const { items } = await ctx.api.get(`/api/meetings?${q}`, { signal: ctx.signal });
    if (stale()) return; // a reload started after this one owns the calendar
    const cols = [];
    for (let i = 0; i < days; i++) {
      const d = new Date(start); d.setUTCDate(d.getUTCDate() + i);
      const key = dayKey(d);
      const mine = items.filter((m) => fmt(m.start, { year: "numeric", month: "2-digit", day: "2-digit" }).replaceAll("/", "-") === key);
      cols.push(el("div", { class: key === dayKey(shanghaiToday()) ? "meet-day meet-today" : "meet-day" },
        el("h2", { class: "meet-day-title" }, `${d.getUTCMonth() + 1}月${d.getUTCDate()}日 周${WEEK[d.getUTCDay()]}`),
        mine.length ? el("ul", { class: "meet-list" }, mine.map((m) => el("li", { class: `meet-item meet-${m.status}` },
          el("a", { href: `#/meetings/${m.meeting_id}` }, el("span", { class: "meet-time" }, `${hm(m.start)}–${hm(m.end)}`), m.title),
          el("span", { class: "hint" }, [m.room || (m.online ? "线上" : ""), m.rsvp ? RSVP[m.rsvp] : "", m.status !== "confirmed" ? STATUS[m.status] : ""].filter(Boolean).join(" · "))))) :
          el("p", { class: "hint", text: "无会议" })));
    }
    replace(body, el("div", { class: `meet-grid meet-${view}` }, cols));
  }));
  subscribe(ctx, "meeting", () => load()); // before the first load: a change during it still reloads
  await load();
  guarded(approvals, async () => {
    const { items } = await ctx.api.get("/api/meetings/approvals", { signal: ctx.signal });
    if (!items.length) return;
    replace(approvals, el("h2", {}, "待我审批的会议室预约"), el("ul", {}, items.map((a) =>
      el("li", {}, el("a", { href: `#/meetings/${a.meeting_id}` }, `${md(a.start)} ${hm(a.start)} ${a.room} ${a.title}（${a.organizer}）`)))));
  });
  feedPanel(feed, ctx);
}

async function feedPanel(box, ctx) {
  const show = (status, url) => replace(box, el("h2", {}, "日历订阅"),
    el("p", { class: "hint", text: "在 Outlook、Apple 日历或 Thunderbird 中订阅这个地址，会议会自动同步。地址就是凭证，请勿转发；泄露后可重新生成。" }),
    url ? el("p", {}, el("input", { type: "text", readonly: true, value: url, class: "meet-feed-url", "aria-label": "订阅地址" })) : null,
    el("button", { type: "button", class: "btn btn-secondary", onclick: regen }, status.active ? "重新生成地址" : "开通订阅"),
    status.active ? el("button", { type: "button", class: "btn btn-danger", onclick: revoke }, "停用订阅") : null);
  const regen = () => guarded(box, async () => { const r = await ctx.api.post("/api/meetings/feed", {}); show({ active: true }, r.url); });
  const revoke = () => guarded(box, async () => { await ctx.api.del("/api/meetings/feed"); show({ active: false }); });
  await guarded(box, async () => show(await ctx.api.get("/api/meetings/feed", { signal: ctx.signal })));
}

// Room grid ----------------------------------------------------------------------------------

async function roomGrid(root, ctx) {
  const date = ctx.params?.query?.date || dayKey(shanghaiToday());
  // It scrolls inside itself (sticky headers): focusable, so the keyboard can scroll it too.
  const grid = el("div", { class: "meet-rooms", tabindex: "0", role: "region", "aria-label": "会议室占用情况" }, el("p", { text: "正在加载…" }));
  const day = dateInput({ value: date, "aria-label": "日期" });
  day.input.addEventListener("change", () => {
    if (day.input.validity.valid) ctx.navigate(`#/meetings/rooms?date=${day.input.value}`);
  });
  replace(root, el("h1", { tabindex: "-1" }, "会议室"), nav(ctx, "rooms"), el("div", { class: "toolbar" }, day.wrap), grid);
  await guarded(grid, async () => {
    const q = `start=${encodeURIComponent(local(date, "08:00"))}&end=${encodeURIComponent(local(date, "22:00"))}`;
    const { items } = await ctx.api.get(`/api/meetings/rooms?${q}`, { signal: ctx.signal });
    const hours = Array.from({ length: 14 }, (_, i) => 8 + i);
    // Time that has passed cannot be booked (the server refuses it too); the hour under way can,
    // from the next five minutes.
    const now = Date.now();
    const from = (s) => (s < now ? hm(new Date(Math.ceil(now / 300e3) * 300e3).toISOString()) : hm(new Date(s).toISOString()));
    const table = el("table", { class: "meet-room-grid" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "会议室"), hours.map((x) => el("th", { scope: "col" }, `${x}:00`)))),
      el("tbody", {}, items.map((r) => el("tr", {},
        el("th", { scope: "row" }, `${r.name}（${r.capacity}人${r.approval_required ? "，需审批" : ""}）`),
        hours.map((x) => {
          const s = new Date(local(date, `${String(x).padStart(2, "0")}:00`)).getTime();
          const hit = (r.busy || []).find((b) => new Date(b.start).getTime() < s + 3600e3 && new Date(b.end).getTime() > s);
          const past = s + 3600e3 <= now;
          const label = hit ? { busy: "已预约", tentative: "待审批", blocked: "维护" }[hit.kind] : past ? "已过" : "空闲";
          const kind = hit ? `meet-${hit.kind}` : past ? "meet-past" : "meet-free";
          return el("td", { class: `meet-cell ${kind}`, title: label },
            hit || past ? label : el("a", { href: `#/meetings/new?room=${r.id}&date=${date}&time=${from(s)}`,
              "aria-label": `预约${r.name} ${from(s)}` }, "预约"));
        })))));
    replace(grid, items.length ? table : el("p", { class: "hint", text: "本机关还没有登记会议室。" }));
  });
}

// Booking form -------------------------------------------------------------------------------

async function bookingForm(root, ctx) {
  const q = ctx.params?.query || {};
  const people = new Map();
  const title = el("input", { type: "text", required: true, maxlength: "200", id: "mt-title" });
  // 年-月-日 and 24-hour 时:分 whatever the browser's language (components/datefield.js).
  const day = dateInput({ id: "mt-date", value: q.date || dayKey(shanghaiToday()) });
  const date = day.input;
  const from = timeInput({ id: "mt-from", value: q.time || "09:00" }).input;
  const to = timeInput({ id: "mt-to", value: q.time ? `${String(Number(q.time.slice(0, 2)) + 1).padStart(2, "0")}:00` : "10:00" }).input;
  const room = el("select", { id: "mt-room", "aria-describedby": "mt-room-hint" }, el("option", { value: "" }, "不使用会议室（线上或其他地点）"));
  const online = el("input", { type: "url", placeholder: "https://", id: "mt-online" });
  const repeat = el("select", { id: "mt-repeat" }, [["", "不重复"], ["FREQ=WEEKLY", "每周（周例会）"], ["FREQ=DAILY", "每个工作日"], ["FREQ=MONTHLY", "每月"]]
    .map(([v, t]) => el("option", { value: v }, t)));
  const count = el("input", { type: "number", min: "2", max: "260", value: "10", id: "mt-count" });
  const countField = el("div", { class: "field", hidden: true }, el("label", { for: "mt-count" }, "次数"),
    el("p", { class: "hint" }, "遇节假日自动跳过"), count);
  // Only the organiser's agency, as the server admits: another agency's people come by its 会议通知.
  const finder = picker({ api: ctx.api, label: "添加参会人员", kind: "people", multiple: true, agencyId: ctx.me.agency_id,
    isChosen: (p) => people.has(p.id),
    onPick: (p) => {
      if (people.has(p.id)) people.delete(p.id);
      else people.set(p.id, { name: p.name, role: "required" });
      showChosen();
      check();
    } });
  const chosen = el("ul", { class: "meet-chosen", "aria-live": "polite", "aria-label": "已选参会人员" });
  const status = el("div", { class: "meet-check", "aria-live": "polite" });
  const slots = el("div", { class: "meet-slots", "aria-live": "polite" });
  const message = el("div", { role: "alert" });
  const field = (id, text, control, hint) => el("div", { class: "field" }, el("label", { for: id }, text),
    hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null, control);
  const rrule = () => (repeat.value ? `${repeat.value};COUNT=${count.value}` : "");
  const draft = () => ({ start: local(date.value, from.value), end: local(date.value, to.value), rrule: rrule(),
    attendees: [...people.entries()].map(([user_id, p]) => ({ user_id, role: p.role })) });

  const showChosen = () => replace(chosen, ...[...people.entries()].map(([id, p]) => el("li", { class: "meet-person" },
    el("span", { class: "meet-person-name" }, p.name),
    el("select", { "aria-label": `${p.name}的身份`, class: "meet-role", onchange: (e) => { p.role = e.target.value; } },
      Object.entries(ROLE).map(([v, t]) => el("option", { value: v, selected: v === p.role }, t))),
    el("button", { type: "button", class: "btn btn-link btn-small", "aria-label": `移除${p.name}`,
      onclick: () => { people.delete(id); showChosen(); check(); } }, "移除"))));
  let timer = 0;
  let seq = 0;
  let firstRooms = true;
  const check = () => { clearTimeout(timer); timer = setTimeout(() => guarded(status, async () => {
    if (!date.value || !from.value || !to.value) return;
    const mine = ++seq;
    const r = await ctx.api.post("/api/meetings/check", draft(), { signal: ctx.signal });
    if (mine !== seq) return; // a newer check is on its way
    const current = room.value || (firstRooms ? q.room || "" : "");
    firstRooms = false;
    replace(room, el("option", { value: "" }, "不使用会议室（线上或其他地点）"), ...r.rooms.map((x) =>
      el("option", { value: String(x.id), disabled: !x.free, selected: x.free && String(x.id) === String(current) },
        `${x.name}（${x.capacity}人）${x.free ? (x.approval_required ? " · 需审批" : " · 空闲") : ` · ${x.reason}`}`)));
    const free = r.rooms.filter((x) => x.free).length;
    replace(status, 
      r.attendee_conflicts.length
        ? el("p", { class: "meet-warn" }, `以下人员该时段已有安排：${r.attendee_conflicts.map((c) => c.name).join("、")}`)
        : el("p", { class: "meet-ok" }, r.headcount ? `${r.headcount} 位参会人员该时段均有空` : "请添加参会人员"),
      el("p", { class: "hint" }, `该时段空闲会议室 ${free} 间`));
  }), 300); };
  [date, from, to, repeat, count].forEach((x) => x.addEventListener("change", check));
  repeat.addEventListener("change", () => { countField.hidden = !repeat.value; });
  const findSlots = () => guarded(slots, async () => {
    const minutes = (new Date(local(date.value, to.value)) - new Date(local(date.value, from.value))) / 60000;
    const end = new Date(`${date.value}T00:00:00Z`); end.setUTCDate(end.getUTCDate() + 14);
    const r = await ctx.api.post("/api/meetings/slots", { user_ids: [...people.keys()], duration_minutes: minutes,
      window_start: local(date.value, "00:00"), window_end: local(dayKey(end), "00:00"), need_room: !online.value }, { signal: ctx.signal });
    replace(slots, r.items.length ? el("div", {}, el("p", { class: "hint" }, "大家都有空的时间（点选即填入）："),
      el("ul", { class: "meet-slot-list" }, r.items.map((s) => el("li", {}, el("button", { type: "button", class: "btn btn-secondary btn-small",
        onclick: () => { date.value = s.local_start.slice(0, 10); from.value = s.local_start.slice(11, 16); to.value = hm(s.end); check(); } },
        `${md(s.start)} ${hm(s.start)}–${hm(s.end)}`, s.rooms.length ? el("span", { class: "meet-dept" }, s.rooms.map((x) => x.name).join("、")) : null))))) :
      el("p", { class: "hint", text: "两周内没有找到所有人都有空的时段" }));
  });
  const clientId = newClientId(); // one per form: pressing 预约 again after a lost answer books nothing twice
  const submit = (e) => { e.preventDefault(); guarded(message, async () => {
    const body = { ...draft(), title: title.value, online_url: online.value, client_id: clientId };
    if (room.value) body.room_id = Number(room.value);
    const r = await ctx.api.post("/api/meetings", body);
    ctx.navigate(`#/meetings/${r.meeting.id}`);
  }); };
  replace(root, el("h1", { tabindex: "-1" }, "预约会议"), nav(ctx, "new"), el("form", { class: "panel meet-form", onsubmit: submit },
    el("div", { class: "meet-form-grid" },
      el("div", { class: "field meet-span" }, el("label", { for: "mt-title" }, "会议名称", el("span", { class: "req", "aria-hidden": "true" }, " *")), title),
      field("mt-date", "日期", day.wrap), field("mt-from", "开始", from), field("mt-to", "结束", to),
      field("mt-repeat", "重复", repeat), countField),
    el("fieldset", { class: "fieldset meet-people" }, el("legend", {}, "参会人员"),
      finder.element, chosen, status,
      el("div", { class: "meet-finder" },
        el("button", { type: "button", class: "btn btn-secondary", onclick: findSlots }, "查找大家都有空的时间"), slots)),
    el("div", { class: "meet-form-grid" },
      el("div", { class: "field" }, el("label", { for: "mt-room" }, "会议室"),
        el("p", { class: "hint", id: "mt-room-hint" }, "按所选时段和人数列出本机关会议室"), room),
      field("mt-online", "线上会议地址（可选）", online)),
    message, el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary" }, "预约"),
      el("a", { href: "#/meetings", class: "btn btn-secondary" }, "取消"))));
  check();
}

// Meeting page -------------------------------------------------------------------------------

async function meetingPage(root, ctx, id) {
  const load = newestWins((stale) => guarded(root, async () => {
    const m = await ctx.api.get(`/api/meetings/${id}`, { signal: ctx.signal });
    if (stale()) return; // a reload started after this one owns the page
    const place = m.room ? `${m.room.name}${m.room.location ? `（${m.room.location}）` : ""}` : (m.online_url ? "线上会议" : "未指定");
    const fact = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
    const parts = [el("h1", { tabindex: "-1" }, m.title), nav(ctx),
      el("section", { class: "panel meet-summary", "aria-label": "会议信息" },
        el("dl", { class: "facts" },
          fact("时间", `${md(m.start)} ${hm(m.start)}–${hm(m.end)}${m.rrule ? "（周期性会议）" : ""}`),
          fact("地点", place),
          fact("状态", el("span", { class: `tag${m.status === "confirmed" ? " tag-ok" : m.status === "pending" ? "" : " tag-off"}` }, STATUS[m.status] || m.status)),
          m.organizer?.name ? fact("组织者", m.organizer.name) : null),
        m.description ? el("p", { class: "meet-desc", text: m.description }) : null,
        el("div", { class: "actions" },
          m.online_url ? el("a", { href: m.online_url, rel: "noopener noreferrer", target: "_blank", class: "btn btn-primary" }, "进入线上会议") : null,
          el("a", { href: `/api/meetings/${id}.ics`, class: "btn btn-secondary", download: "" }, "加入日历（.ics）")))];
    if (m.me.attendee) parts.push(rsvpBox(ctx, id, m, load));
    if (m.me.approver && m.status === "pending") parts.push(approvalBox(ctx, id, load));
    parts.push(el("section", { class: "panel" }, el("h2", { class: "panel-title" }, "参会人员",
      el("span", { class: "panel-count" }, `${m.attendees.length} 人`)),
      el("ul", { class: "meet-attendees" }, m.attendees.map((a) => el("li", {},
        el("span", {}, el("strong", {}, a.name), el("span", { class: "meet-dept" }, ROLE[a.role] || "")),
        el("span", { class: `meet-state meet-state-${a.rsvp}` }, `${RSVP[a.rsvp] || a.rsvp}${a.reason ? `：${a.reason}` : ""}`))))));
    const agenda = el("section", { class: "panel" });
    const materials = el("section", { class: "panel" });
    if (m.me.attendee || m.me.organizer) { parts.push(agenda, materials); }
    if (m.me.organizer) {
      const att = el("section", { class: "panel meet-organiser", "aria-labelledby": `att-${id}` }, el("h2", { id: `att-${id}` }, "签到情况"));
      parts.push(att, el("section", { class: "panel meet-organiser" }, el("h2", {}, "组织者操作"),
        el("div", { class: "actions" },
          el("a", { href: `#/meetings/signin/${id}`, class: "btn btn-primary" }, "打开签到屏"),
          el("a", { href: `/api/meetings/${id}/attendance.csv`, class: "btn btn-secondary", download: "" }, "导出签到表"),
          m.status !== "cancelled" ? el("button", { type: "button", class: "btn btn-danger", onclick: () => guarded(root, async () => {
            if (!window.confirm("确定取消这个会议？参会人会收到通知。")) return;
            await ctx.api.post(`/api/meetings/${id}/cancel`, {}); load(); }) }, "取消会议") : null)));
      guarded(att, async () => {
        const r = await ctx.api.get(`/api/meetings/${id}/attendance`, { signal: ctx.signal });
        replace(att, el("h2", { id: `att-${id}` }, "签到情况"),
          el("ul", { class: "meet-counts" }, Object.entries(r.counts).filter(([, v]) => v).map(([k, v]) => el("li", {}, `${STATE[k] || k} ${v}`))),
          el("ul", { class: "meet-attendees" }, r.items.map((i) => el("li", {}, el("strong", {}, i.name),
            el("span", { class: `meet-state meet-state-${i.state}` }, `${STATE[i.state] || i.state}${i.signed_local ? ` ${i.signed_local}` : ""}`)))));
      });
    }
    if (m.me.attendee || m.me.organizer) parts.push(minutesBox(ctx, id, m.me.organizer));
    replace(root, ...parts.filter(Boolean));
    if (m.me.attendee || m.me.organizer) {
      guarded(agenda, async () => {
        const { items } = await ctx.api.get(`/api/meetings/${id}/agenda`, { signal: ctx.signal });
        replace(agenda, el("h2", {}, "议程"), items.length ? el("ol", {}, items.map((i) =>
          el("li", {}, `${i.title}${i.presenter_name ? `（汇报：${i.presenter_name}）` : ""} ${i.duration_minutes} 分钟`))) : el("p", { class: "hint", text: "暂无议程" }));
      });
      guarded(materials, async () => {
        const { items } = await ctx.api.get(`/api/meetings/${id}/materials`, { signal: ctx.signal });
        replace(materials, el("h2", {}, "会议材料"), items.length ? el("ul", {}, items.map((x) => el("li", {},
          el("a", x.kind === "link" ? { href: x.url, rel: "noopener noreferrer" } : { href: `/api/meetings/${id}/materials/${x.id}`, download: "" }, x.name)))) :
          el("p", { class: "hint", text: "暂无材料" }));
      });
    }
  }));
  subscribe(ctx, "meeting", (frame) => { if (frame.meeting_id === id) load(); });
  await load();
}

function rsvpBox(ctx, id, m, reload) {
  const reason = el("input", { type: "text", maxlength: "500", id: `rs-reason-${id}` });
  const sub = picker({ api: ctx.api, label: "代参会人", kind: "people" });
  const msg = el("div", { role: "alert" });
  const send = (status) => guarded(msg, async () => {
    const body = { status };
    if (status === "declined") body.reason = reason.value;
    if (status === "delegated") body.substitute_id = sub.ids()[0] ?? null;
    await ctx.api.post(`/api/meetings/${id}/rsvp`, body);
    reload();
  });
  return el("section", { class: "panel meet-rsvp" }, el("h2", {}, `我的答复：${RSVP[m.me.rsvp] || "未答复"}`),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "btn btn-primary", onclick: () => send("accepted") }, "参加"),
      el("button", { type: "button", class: "btn btn-secondary", onclick: () => send("tentative") }, "待定"),
      el("a", { href: `#/meetings/checkin/${id}`, class: "btn btn-secondary" }, "签到")),
    el("details", { class: "disclosure" }, el("summary", {}, "请假或请人代参会"),
      el("div", { class: "meet-rsvp-more" },
        el("div", { class: "field" }, el("label", { for: `rs-reason-${id}` }, "请假原因"), reason),
        el("button", { type: "button", class: "btn btn-secondary", onclick: () => send("declined") }, "请假"),
        sub.element,
        el("button", { type: "button", class: "btn btn-secondary", onclick: () => send("delegated") }, "请人代参会"))),
    msg);
}

function approvalBox(ctx, id, reload) {
  const comment = el("input", { type: "text", placeholder: "意见（驳回必填）", "aria-label": "审批意见" });
  const msg = el("div", { role: "alert" });
  const decide = (approve) => guarded(msg, async () => {
    await ctx.api.post(`/api/meetings/${id}/approval`, { approve, comment: comment.value }); reload(); });
  return el("section", { class: "panel" }, el("h2", {}, "会议室预约审批"), comment,
    el("button", { type: "button", class: "btn btn-primary", onclick: () => decide(true) }, "同意"),
    el("button", { type: "button", class: "btn btn-danger", onclick: () => decide(false) }, "驳回"), msg);
}

function minutesBox(ctx, id, canEdit) {
  const box = el("section", { class: "panel meet-minutes" }, el("h2", {}, "会议纪要"));
  guarded(box, async () => {
    const mm = await ctx.api.get(`/api/meetings/${id}/minutes`);
    const decisions = el("textarea", { rows: "6", id: `mm-dec-${id}`, readonly: !canEdit },
      (mm.decisions || []).map((d) => d.text).join("\n"));
    const host = el("input", { type: "text", value: mm.host_name || "", id: `mm-host-${id}`, readonly: !canEdit });
    const number = el("input", { type: "text", value: mm.number || "", placeholder: "第X期", id: `mm-no-${id}`, readonly: !canEdit });
    const msg = el("div", { role: "alert" });
    const save = () => guarded(msg, async () => {
      await ctx.api.put(`/api/meetings/${id}/minutes`, { host_name: host.value, number: number.value,
        decisions: decisions.value.split("\n").map((t) => t.trim()).filter(Boolean).map((text) => ({ text })),
        tasks: (mm.tasks || []).map((t) => ({ id: t.id, title: t.title, owner_id: t.owner_id, owner_unit: t.owner_unit, due_date: t.due_date })) });
      replace(msg, el("p", { text: "已保存" }));
    });
    replace(box, el("h2", {}, "会议纪要"),
      el("div", { class: "meet-form-grid" },
        el("div", { class: "field" }, el("label", { for: `mm-host-${id}` }, "主持人"), host),
        el("div", { class: "field" }, el("label", { for: `mm-no-${id}` }, "期号"), number)),
      el("div", { class: "field" }, el("label", { for: `mm-dec-${id}` }, "议定事项（每行一项）"), decisions),
      el("div", { class: "actions" },
        canEdit ? el("button", { type: "button", class: "btn btn-primary", onclick: save }, "保存纪要") : null,
        mm.exists ? el("a", { href: `/api/meetings/${id}/minutes.docx`, class: "btn btn-secondary", download: "" }, "下载纪要（Word）") : null), msg);
  });
  return box;
}

// Sign-in ------------------------------------------------------------------------------------

async function signinScreen(root, ctx, id) {
  const code = el("p", { class: "meet-code", "aria-live": "polite" });
  const qr = el("img", { class: "meet-qr", alt: "签到二维码：用手机扫码打开签到页" });
  const info = el("p", { class: "meet-code-info" });
  const titleEl = el("h1", { tabindex: "-1" }, "会议签到");
  // For the projector: the code and QR fill the screen, without the workspace around them.
  document.documentElement.classList.add("projector");
  ctx.signal?.addEventListener("abort", () => document.documentElement.classList.remove("projector"));
  const board = el("div", { class: "meet-signin" }, titleEl, el("p", { class: "meet-code-label" }, "签到码"), code, qr, info,
    el("p", { class: "meet-signin-actions" },
      el("button", { type: "button", class: "btn btn-secondary", onclick: () => board.requestFullscreen?.().catch(() => {}) }, "全屏显示"),
      el("a", { href: `#/meetings/${id}`, class: "btn btn-secondary" }, "返回会议")));
  replace(root, board);
  const refresh = () => guarded(info, async () => {
    const s = await ctx.api.get(`/api/meetings/${id}/signin/screen`, { signal: ctx.signal });
    titleEl.textContent = `${s.title} · 签到`;
    if (!s.open) { code.textContent = "——"; qr.removeAttribute("src"); info.textContent = "未到签到时间（会前 30 分钟开放）"; return; }
    code.textContent = s.code;
    if (qr.getAttribute("src") !== s.qr) qr.src = s.qr;
    info.textContent = `已签到 ${s.signed} / ${s.expected} 人 · 签到码每分钟更新`;
  });
  await refresh();
  const timer = setInterval(refresh, 5000);
  ctx.signal?.addEventListener("abort", () => clearInterval(timer));
}

async function checkin(root, ctx, id) {
  const codeInput = el("input", { type: "text", inputmode: "numeric", maxlength: "6", id: "ck-code", required: true,
    value: ctx.params?.query?.code || "", autocomplete: "one-time-code", "aria-describedby": "ck-code-hint" });
  const msg = el("div", { role: "alert", "aria-live": "assertive" });
  // The code proves one is in the room: typed from the screen, or filled in by scanning its QR.
  const send = (e) => { e.preventDefault(); guarded(msg, async () => {
    const r = await ctx.api.post(`/api/meetings/${id}/signin`, { code: codeInput.value.trim() });
    replace(msg, el("p", { class: "meet-success", text: `签到成功 ${hm(r.signed_at)}` }));
  }); };
  const fromQr = !!ctx.params?.query?.code;
  replace(root, el("h1", { tabindex: "-1" }, "会议签到"), el("form", { class: "panel meet-checkin", onsubmit: send },
    el("div", { class: "field" }, el("label", { for: "ck-code" }, "会议室屏幕上的签到码"),
      el("p", { class: "hint", id: "ck-code-hint" }, fromQr ? "已从二维码填好签到码，点“签到”即可。"
        : "输入会议室屏幕上显示的 6 位数字，或用手机扫描屏幕上的二维码。签到码每分钟更新。"), codeInput),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary" }, "签到")),
    msg), el("p", {}, el("a", { href: `#/meetings/${id}`, class: "back-link" }, "‹ 返回会议")));
}
