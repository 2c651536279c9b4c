// Dates and times in Chinese order whatever the browser's language: 年-月-日 and 24-hour 时:分.
//
// A native <input type="date"> draws its value in the browser's own order ("12/07/2026", "09:00 AM"
// on an English browser). These are text boxes that take 2026-12-07, 2026/12/7 or 2026年12月7日 (and
// 9:30, 9点30, 0930), show them as 2026-12-07 and 09:30, and say what is wrong in Chinese. A date box
// keeps the native calendar behind its 日历 button. ``input.value`` is what the native input's
// would be ("2026-12-07", "09:30"), so pages read and set it as before.
//
//   const d = dateInput({ id: "mt-date", value: "2026-12-07" });   form.append(d.wrap);  d.input.value
//   const t = timeInput({ id: "mt-from", value: "09:00" });

import { el, loadCss } from "../ui.js";

const DATE_HINT = "请按 年-月-日 填写，例如 2026-12-07";
const TIME_HINT = "请按 时:分 填写（24 小时制），例如 14:30";

/** "2026/12/7", "2026年12月7日", "20261207" → "2026-12-07"; null when it is no date. */
export function normalDate(text) {
  const m = String(text).trim().match(/^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})\s*日?$/);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  return `${m[1]}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** "9:30", "9点30", "9点", "0930" → "09:30"; null when it is no time of day. */
export function normalTime(text) {
  const m = String(text).trim().match(/^(\d{1,2})\s*(?:[:：点时]\s*(\d{1,2})?\s*分?|(\d{2}))?$/);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2] ?? m[3] ?? 0);
  if (h > 23 || min > 59) return null;
  return `${String(h).padStart(2, "0")}:${String(min).padStart(2, "0")}`;
}

function textBox(normal, hint, { value = "", ...attrs }) {
  loadCss("datefield");
  const input = el("input", { type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false", ...attrs });
  input.value = value;
  const tidy = () => {
    if (!input.value.trim()) return input.setCustomValidity(input.required ? hint : "");
    const clean = normal(input.value);
    if (clean) input.value = clean;
    input.setCustomValidity(clean ? "" : hint);
    if (!clean) input.reportValidity();
  };
  // Tidied before anyone else hears of the change (pages listen to "change" for the value).
  input.addEventListener("change", tidy, { capture: true });
  return input;
}

/** A date box (年-月-日) with the native calendar behind a button: {wrap, input}. */
export function dateInput(attrs = {}) {
  const input = textBox(normalDate, DATE_HINT, { placeholder: "年-月-日", maxlength: "12", ...attrs });
  const native = el("input", { type: "date", tabindex: "-1", "aria-hidden": "true", class: "datefield-native" });
  native.addEventListener("change", () => {
    if (!native.value) return;
    input.value = native.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  const open = el("button", {
    type: "button", class: "btn btn-secondary datefield-open", title: "打开日历选择",
    onclick: () => {
      native.value = normalDate(input.value) || "";
      try {
        native.showPicker();
      } catch {
        input.focus(); // no picker here (an old browser): type it
      }
    },
  }, "日历");
  return { input, wrap: el("span", { class: "datefield" }, input, native, open) };
}

/** A 24-hour time box (时:分): {wrap, input}. */
export function timeInput(attrs = {}) {
  const input = textBox(normalTime, TIME_HINT, { placeholder: "时:分", maxlength: "6", ...attrs });
  return { input, wrap: input };
}

/** A deadline: a date box and a time box; ``value()`` is "YYYY-MM-DDTHH:MM" (as datetime-local) or "". */
export function dateTimeInput({ label = "日期", time = "17:30", required = false } = {}) {
  const date = dateInput({ "aria-label": `${label}：日期`, required });
  const clock = timeInput({ "aria-label": `${label}：时间`, value: "", placeholder: `时:分（默认 ${time}）` });
  const value = () => {
    const d = normalDate(date.input.value);
    return d ? `${d}T${normalTime(clock.input.value) || time}` : "";
  };
  return { wrap: el("span", { class: "datefield datetimefield" }, date.wrap, clock.wrap), value, date, clock };
}
