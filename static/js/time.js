// 北京时间 on every page: the one formatter of moments (the API sends ISO 8601 in UTC) and of "now".
// Staff read times against 北京时间 whatever the zone of the computer or phone they use (a laptop set
// to another zone on a trip, a misconfigured terminal), so no page formats with the browser's zone:
// each goes through here. Times typed into a form are 北京时间 too (``fromBeijing``).

export const TZ = "Asia/Shanghai";

const formatters = new Map();

/** An Intl formatter for 北京时间 with ``opts`` (zh-CN), made once per set of options. */
export function formatter(opts, locale = "zh-CN") {
  const key = `${locale}|${JSON.stringify(opts)}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(locale, { timeZone: TZ, ...opts }));
  return formatters.get(key);
}

function toDate(value) {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const NUMERIC = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", weekday: "short", hourCycle: "h23" };
const WEEKDAYS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The 北京时间 calendar fields of a moment (default now): numbers, ``weekday`` 0 for Sunday. */
export function beijingParts(value = new Date()) {
  const d = toDate(value);
  if (!d) return null;
  const p = Object.fromEntries(formatter(NUMERIC, "en-GB").formatToParts(d).map((x) => [x.type, x.value]));
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour) % 24,
    minute: Number(p.minute), weekday: WEEKDAYS[p.weekday] };
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-12-07" in 北京时间 (default today). */
export function beijingDate(value = new Date()) {
  const p = beijingParts(value);
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : "";
}

/** "09:30" in 北京时间. */
export function beijingHm(value) {
  const p = beijingParts(value);
  return p ? `${pad(p.hour)}:${pad(p.minute)}` : "";
}

/** "2026-12-07 09:30" in 北京时间; "" for none; what it was given when it is not a moment. */
export function dateTime(value) {
  if (!value) return "";
  const p = beijingParts(value);
  return p ? `${beijingDate(value)} ${beijingHm(value)}` : String(value);
}

/** A date ("2026-12-07") and a time ("17:30") typed as 北京时间, as the ISO string the API takes. */
export function fromBeijing(date, time = "00:00") {
  return `${date}T${time.length === 5 ? `${time}:00` : time}+08:00`;
}

/** "2026-12-07T17:30" (a date box and a time box's "YYYY-MM-DDTHH:MM") typed as 北京时间, as ISO. */
export function fromBeijingLocal(value) {
  if (!value) return null;
  const [date, time] = value.split("T");
  return fromBeijing(date, time || "00:00");
}
