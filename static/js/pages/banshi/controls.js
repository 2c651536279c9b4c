// 办事: one input control per field type of a form template (banshi/fields.py, design §1). Each
// control is {node, read(), preview(value)?, focus()}: read() gives the raw value the server takes
// (money in 分, dates ISO); preview(value) shows what the server computed (the days of a date range,
// a table's totals, a formula). The server checks everything again; a value the control cannot make
// sense of is sent as typed, so the 422 names the field in the server's words.

import { el, replace, button, uid, toast } from "../../ui.js";
import { dateInput, timeInput, normalDate, normalTime } from "../../components/datefield.js";
import { picker } from "../../components/picker.js";
import { fenToChinese, formatFen, parseYuan, daysText, isNumeric, countedAs, scrollingTable } from "./common.js";

/** The label with its * for a required field. */
function labelText(f) {
  return [f.label, f.required ? el("span", { class: "req", "aria-hidden": "true" }, " *") : null];
}

/** A labelled single control: <div class=field><label/><hint/>control<error/></div>. */
function single(f, id, control, extra = null) {
  const hint = f.help ? el("p", { class: "hint", id: `${id}-hint` }, f.help) : null;
  return el("div", { class: "field bs-field", dataset: { key: f.key } },
    el("label", { for: id }, labelText(f)), hint, control, extra);
}

/** A group of controls under a legend (date range, choices, table, attachments). */
function group(f, ...children) {
  return el("fieldset", { class: "fieldset bs-field bs-group", dataset: { key: f.key } },
    el("legend", {}, labelText(f)), f.help ? el("p", { class: "hint" }, f.help) : null, children);
}

function textInput(id, f, attrs = {}) {
  return el("input", { id, type: "text", name: f.key, required: !!f.required, "aria-describedby": f.help ? `${id}-hint` : null, ...attrs });
}

const numberOrRaw = (text) => {
  const s = String(text).trim();
  if (!s) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
};

export function control(ctx, f, value, changed, opts = {}) {
  if (opts.builtin === "seal" && f.key === "seal_id") return sealControl(ctx, f, value, changed);
  // 差旅费's 报销总额 is computed by the server from the standards (what a client sends is replaced).
  if (opts.builtin === "expense" && f.key === "amount") return computedMoney(f, value);
  const make = CONTROLS[f.type] || CONTROLS.text;
  return make(ctx, f, value, changed, opts);
}

/** A money total the server computes: text with its 大写, like a formula; the client sends nothing for it. */
function computedMoney(f, value) {
  const shown = (fen) => (typeof fen === "number" ? `¥${formatFen(fen)} 元（大写：${fenToChinese(fen)}）` : "—");
  const out = el("output", { class: "bs-formula", "aria-live": "polite" }, shown(value));
  const node = el("div", { class: "field bs-field", dataset: { key: f.key } },
    el("span", { class: "bs-label" }, f.label), out, el("p", { class: "hint" }, f.help || "由系统自动计算"));
  return { node, read: () => undefined, focus: () => {}, preview: (pv) => { out.textContent = shown(pv); } };
}

const CONTROLS = {
  text(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const input = textInput(id, f, { maxlength: f.max_length || 500, value: value ?? "" });
    input.addEventListener("change", changed);
    return { node: single(f, id, input), read: () => input.value.trim(), focus: () => input.focus(), input };
  },

  textarea(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const input = el("textarea", { id, name: f.key, rows: 3, maxlength: f.max_length || 5000, required: !!f.required,
      "aria-describedby": f.help ? `${id}-hint` : null });
    input.value = value ?? "";
    input.addEventListener("change", changed);
    return { node: single(f, id, input), read: () => input.value.trim(), focus: () => input.focus(), input };
  },

  number(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const input = textInput(id, f, { inputmode: "decimal", value: value ?? "", autocomplete: "off" });
    input.addEventListener("change", changed);
    return { node: single(f, id, input), read: () => numberOrRaw(input.value), focus: () => input.focus(), input };
  },

  money(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const input = textInput(id, f, { inputmode: "decimal", autocomplete: "off", placeholder: "0.00",
      value: value === null || value === undefined ? "" : (Number(value) / 100).toFixed(2) });
    const capital = el("p", { class: "bs-capital", id: `${id}-cap`, "aria-live": "polite" });
    input.setAttribute("aria-describedby", [f.help ? `${id}-hint` : "", `${id}-cap`].filter(Boolean).join(" "));
    const show = () => {
      const fen = parseYuan(input.value);
      capital.textContent = !input.value.trim() ? "" : fen === null ? "请填写金额，例如 1234.56" : `大写：${fenToChinese(fen)}`;
      capital.classList.toggle("bs-capital-bad", fen === null && !!input.value.trim());
    };
    input.addEventListener("input", show);
    input.addEventListener("change", () => {
      const fen = parseYuan(input.value);
      if (fen !== null) input.value = (fen / 100).toFixed(2);
      changed();
    });
    show();
    const box = el("div", { class: "bs-money-box" }, el("span", { class: "bs-unit", "aria-hidden": "true" }, "¥"), input,
      el("span", { class: "bs-unit" }, "元"));
    return {
      node: single(f, id, box, capital), input, focus: () => input.focus(),
      read: () => (input.value.trim() ? (parseYuan(input.value) ?? input.value.trim()) : null),
      // A value the server computed for this field shows here; what is being typed is left alone.
      preview: (pv) => {
        if (typeof pv !== "number" || document.activeElement === input) return;
        input.value = (pv / 100).toFixed(2);
        show();
      },
    };
  },

  date(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const d = dateInput({ id, value: value ?? "", required: !!f.required });
    d.input.addEventListener("change", changed);
    return { node: single(f, id, d.wrap), input: d.input, focus: () => d.input.focus(),
      read: () => (d.input.value.trim() ? normalDate(d.input.value) || d.input.value.trim() : null) };
  },

  datetime(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const [dv, tv] = String(value || "").split("T");
    const d = dateInput({ id, value: dv || "", required: !!f.required });
    const t = timeInput({ value: tv || "", "aria-label": `${f.label}：时间` });
    d.input.addEventListener("change", changed);
    t.input.addEventListener("change", changed);
    return {
      node: single(f, id, el("span", { class: "datefield datetimefield" }, d.wrap, t.wrap)), input: d.input,
      focus: () => d.input.focus(),
      read: () => {
        if (!d.input.value.trim()) return null;
        return `${normalDate(d.input.value) || d.input.value.trim()}T${normalTime(t.input.value) || t.input.value.trim() || "00:00"}`;
      },
    };
  },

  daterange(ctx, f, value, changed) {
    const v = value || {};
    const startId = uid(`bs-${f.key}-start`);
    const endId = uid(`bs-${f.key}-end`);
    const start = dateInput({ id: startId, value: v.start || "", required: !!f.required });
    const end = dateInput({ id: endId, value: v.end || "", required: !!f.required });
    // Half days: the first day may start in the afternoon, the last may end at noon; else whole days.
    const half = (label, value, text, now) => el("select", { "aria-label": label, class: "bs-half" },
      el("option", { value: "", selected: now !== value }, "全天"), el("option", { value, selected: now === value }, text));
    const startHalf = f.halves ? half(`${f.label}：开始当天`, "pm", "下午开始", v.start_half) : null;
    const endHalf = f.halves ? half(`${f.label}：结束当天`, "am", "上午结束", v.end_half) : null;
    const days = el("p", { class: "bs-days", "aria-live": "polite" },
      v.days !== undefined ? `共 ${daysText(f, v.days)}` : "");
    for (const n of [start.input, end.input, startHalf, endHalf]) n?.addEventListener("change", changed);
    const node = group(f,
      el("div", { class: "bs-range" },
        el("div", { class: "field" }, el("label", { for: startId }, "开始日期"), el("div", { class: "bs-range-day" }, start.wrap, startHalf)),
        el("div", { class: "field" }, el("label", { for: endId }, "结束日期"), el("div", { class: "bs-range-day" }, end.wrap, endHalf))),
      days);
    return {
      node, input: start.input, focus: () => start.input.focus(),
      read: () => {
        const s = start.input.value.trim();
        const e = end.input.value.trim();
        if (!s && !e) return null;
        const out = { start: normalDate(s) || s, end: normalDate(e) || e };
        if (startHalf?.value) out.start_half = startHalf.value;
        if (endHalf?.value) out.end_half = endHalf.value;
        return out;
      },
      preview: (pv, info) => {
        const as = countedAs(f, info);
        const how = as.count === "calendar" ? "按日历天数计算" : "按工作日历计算，节假日和调休已计入";
        days.textContent = pv && pv.days !== undefined ? `共 ${daysText(as, pv.days)}（${how}）` : "";
      },
      waiting: () => { if (start.input.value && end.input.value) days.textContent = "正在计算天数…"; },
    };
  },

  select(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const input = el("select", { id, name: f.key, required: !!f.required, "aria-describedby": f.help ? `${id}-hint` : null },
      el("option", { value: "" }, "请选择"),
      (f.options || []).map((o) => el("option", { value: o, selected: o === value }, o)));
    input.addEventListener("change", changed);
    return { node: single(f, id, input), input, focus: () => input.focus(), read: () => input.value || null };
  },

  multiselect(ctx, f, value, changed) {
    const chosen = new Set(value || []);
    const boxes = (f.options || []).map((o) => {
      const id = uid(`bs-${f.key}`);
      const cb = el("input", { type: "checkbox", id, value: o, checked: chosen.has(o) });
      cb.addEventListener("change", changed);
      return { cb, wrap: el("div", { class: "check" }, cb, el("label", { for: id }, o)) };
    });
    const node = group(f, el("div", { class: "bs-checks" }, boxes.map((b) => b.wrap)));
    return { node, input: boxes[0]?.cb, focus: () => boxes[0]?.cb.focus(),
      read: () => boxes.filter((b) => b.cb.checked).map((b) => b.cb.value) };
  },

  person(ctx, f, value, changed, opts) {
    return chooser(ctx, f, value, changed, opts, "people");
  },

  department(ctx, f, value, changed, opts) {
    return chooser(ctx, f, value, changed, opts, "departments");
  },

  attachment(ctx, f, value, changed, opts) {
    const known = new Map((opts.files || []).map((x) => [x.id, x]));
    let files = (value || []).map((id) => known.get(id) || { id, name: `附件 #${id}` });
    const id = uid(`bs-${f.key}`);
    const input = el("input", { type: "file", id, multiple: (f.max_files || 20) > 1, class: "visually-hidden" });
    const list = el("ul", { class: "plain bs-files" });
    const status = el("p", { class: "hint", "aria-live": "polite" });
    const draw = () => replace(list, files.map((x) => el("li", { class: "bs-file" },
      el("span", { class: "bs-file-name" }, x.name), x.size ? el("span", { class: "hint" }, sizeText(x.size)) : null,
      button("移除", () => { files = files.filter((y) => y !== x); draw(); changed(); },
        { kind: "link", "aria-label": `移除附件${x.name}` }))));
    input.addEventListener("change", async () => {
      const picked = [...input.files];
      input.value = "";
      for (const file of picked) {
        if (files.length >= (f.max_files || 20)) { toast(`最多上传 ${f.max_files || 20} 个附件`, "error"); break; }
        status.textContent = `正在上传“${file.name}”…`;
        try {
          files.push(await uploadFile(ctx, file));
          draw();
        } catch (err) {
          toast(err.message, "error");
        }
      }
      status.textContent = "";
      changed();
    });
    draw();
    const node = group(f, list, el("span", { class: "file-pick" }, input,
      el("label", { for: id, class: "btn btn-secondary btn-small" }, "＋ 添加附件")), status);
    return { node, input, focus: () => input.focus(), read: () => files.map((x) => x.id) };
  },

  table(ctx, f, value, changed) {
    return tableControl(ctx, f, value, changed);
  },

  formula(ctx, f, value) {
    const out = el("output", { class: "bs-formula", "aria-live": "polite" }, shownFormula(f, value));
    const node = el("div", { class: "field bs-field", dataset: { key: f.key } },
      el("span", { class: "bs-label" }, f.label), f.help ? el("p", { class: "hint" }, f.help) : null, out,
      el("p", { class: "hint" }, "由系统按公式自动计算"));
    return { node, read: () => undefined, focus: () => {}, preview: (pv) => { out.textContent = shownFormula(f, pv); } };
  },

  link(ctx, f, value, changed) {
    const id = uid(`bs-${f.key}`);
    const kind = f.to === "document" ? "document" : "request";
    const input = el("select", { id, name: f.key, required: !!f.required },
      el("option", { value: "" }, "请选择"),
      value ? el("option", { value: String(value.id), selected: true }, value.title || `#${value.id}`) : null);
    const load = kind === "document"
      ? ctx.api.get("/api/docs", { query: { box: "all" }, signal: ctx.signal }).then((d) => d.items.map((x) => [x.id, x.title]))
      : Promise.all([
        ctx.api.get("/api/banshi/requests", { query: { box: "mine", limit: 50 }, signal: ctx.signal }),
        f.link_form ? ctx.api.get("/api/banshi/templates", { signal: ctx.signal }) : null,
      ]).then(([d, t]) => {
        // A link naming a form (link_form, the form's code: 差旅费报销's 出差审批单 → "travel") offers only
        // that form's requests; the server refuses any other (banshi/fields.py), so a 请假 is never offered.
        const forms = t && new Set(t.groups.flatMap((g) => g.items).filter((x) => x.code === f.link_form).map((x) => x.id));
        return d.items.filter((x) => !forms || forms.has(x.template?.id))
          .map((x) => [x.id, `${x.title}${x.serial ? `（${x.serial}）` : ""}`]);
      });
    load.then((items) => {
      for (const [itemId, title] of items) {
        if (value && itemId === value.id) continue;
        input.append(el("option", { value: String(itemId) }, title));
      }
      if (!items.length && !value) input.append(el("option", { value: "", disabled: true }, `还没有可关联的${f.label}`));
    }).catch(() => {});
    input.addEventListener("change", changed);
    const hint = kind === "document" ? "关联一份您能查看的公文" : "关联您发起的另一份申请";
    return { node: single({ ...f, help: f.help || hint }, id, input), input, focus: () => input.focus(),
      read: () => (input.value ? { kind, id: Number(input.value) } : null) };
  },
};

/** 用印申请's seal: a number field on the server, picked here from the agency's seals by name. */
function sealControl(ctx, f, value, changed) {
  const id = uid(`bs-${f.key}`);
  const input = el("select", { id, name: f.key, required: !!f.required }, el("option", { value: "" }, "请选择印章"));
  ctx.api.get("/api/banshi/seals", { signal: ctx.signal }).then((d) => {
    for (const seal of d.items) {
      input.append(el("option", { value: String(seal.id), selected: seal.id === value },
        `${seal.name}${seal.requires_authorisation ? "（须凭用印申请）" : ""}`));
    }
    if (!d.items.length) input.append(el("option", { value: "", disabled: true }, "本机关还没有可用的印章"));
  }).catch(() => {});
  input.addEventListener("change", changed);
  return { node: single(f, id, input), input, focus: () => input.focus(), read: () => (input.value ? Number(input.value) : null) };
}

function shownFormula(f, v) {
  if (v === null || v === undefined || v === "") return "—";
  return f.result === "money" ? `¥${formatFen(v)}（${fenToChinese(Number(v))}）` : String(v);
}

export function sizeText(n) {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

/** Sends one file to /api/banshi/files (raw body, like 公文's attachments) → {id, name, size}. */
export function uploadFile(ctx, file) {
  return ctx.api.post("/api/banshi/files", file, { raw: true, query: { name: file.name } });
}

function chooser(ctx, f, value, changed, opts, kind) {
  const ids = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  const p = picker({ api: ctx.api, label: f.label, kind, multiple: !!f.multiple, agencyId: ctx.me.agency_id,
    hint: f.help || "", required: !!f.required, onChange: changed });
  if (ids.length && opts.names) {
    const lookup = kind === "people" ? opts.names.person : opts.names.department;
    Promise.all(ids.map((i) => lookup(i))).then((names) => p.set(ids.map((i, n) => ({ id: i, name: names[n],
      type: kind === "people" ? "person" : "department" }))));
  }
  const node = el("div", { class: "bs-field bs-picker", dataset: { key: f.key } }, p.element);
  return { node, input: p.input, focus: () => p.focus(),
    read: () => (f.multiple ? p.ids() : (p.ids()[0] ?? null)) };
}

// 明细 (detail table) -------------------------------------------------------------------------------

function tableControl(ctx, f, value, changed) {
  const cols = f.columns || [];
  let rows = ((value && value.rows) || []).map((r) => ({ ...r }));
  const min = f.min_rows || 0;
  const max = f.max_rows || 200;
  while (rows.length < Math.max(min, 1)) rows.push({});
  let computed = value || null; // the server's rows (formulas) and totals
  let outputs = []; // the formula cells drawn, refreshed after each preview without redrawing inputs
  const body = el("tbody");
  const foot = el("tfoot");
  const count = el("p", { class: "hint", "aria-live": "polite" });
  const add = button("＋ 添加一行", () => {
    if (rows.length >= max) return toast(`最多 ${max} 行`, "error");
    rows.push({});
    draw();
    body.lastElementChild?.querySelector("input, select")?.focus();
    changed();
  }, { kind: "secondary", class: "btn-small" });

  function cell(r, i, c) {
    const label = `${f.label}第 ${i + 1} 行：${c.label}`;
    if (c.type === "formula") {
      const out = el("output", { class: "bs-formula", "aria-label": label });
      outputs.push({ i, c, out });
      return out;
    }
    let input;
    if (c.type === "select") {
      input = el("select", { "aria-label": label }, el("option", { value: "" }, "请选择"),
        (c.options || []).map((o) => el("option", { value: o, selected: r[c.key] === o }, o)));
    } else if (c.type === "date") {
      const d = dateInput({ "aria-label": label, value: r[c.key] || "" });
      d.input.addEventListener("change", () => { r[c.key] = d.input.value.trim() ? normalDate(d.input.value) || d.input.value.trim() : null; changed(); });
      return d.wrap;
    } else {
      const shown = c.type === "money" && r[c.key] !== undefined && r[c.key] !== null && typeof r[c.key] === "number"
        ? (r[c.key] / 100).toFixed(2) : r[c.key] ?? "";
      input = el("input", { type: "text", "aria-label": c.type === "money" ? `${label}（元）` : label, value: String(shown),
        inputmode: isNumeric(c) ? "decimal" : null, autocomplete: "off" });
    }
    input.addEventListener("change", () => {
      const raw = input.value.trim();
      r[c.key] = !raw ? null : c.type === "money" ? (parseYuan(raw) ?? raw) : c.type === "number" ? numberOrRaw(raw) : raw;
      drawTotals();
      changed();
    });
    return input;
  }

  function showOutputs() {
    for (const { i, c, out } of outputs) {
      const v = computed?.rows?.[i]?.[c.key];
      out.textContent = v === undefined || v === null ? "—" : c.result === "money" ? formatFen(v) : String(v);
    }
  }

  function draw() {
    outputs = [];
    replace(body, rows.map((r, i) => el("tr", {},
      el("td", { "data-label": "序号", class: "num" }, String(i + 1)),
      cols.map((c) => el("td", { "data-label": c.label }, cell(r, i, c))),
      el("td", { "data-label": "操作", class: "bs-row-remove" }, button("删除", () => {
        rows.splice(i, 1);
        draw();
        changed();
      }, { kind: "link", "aria-label": `删除${f.label}第 ${i + 1} 行`, disabled: rows.length <= min })))));
    add.disabled = rows.length >= max;
    count.textContent = `共 ${rows.length} 行`;
    showOutputs();
    drawTotals();
  }

  function drawTotals() {
    const totalled = cols.filter((c) => c.total && isNumeric(c));
    if (!totalled.length) return replace(foot);
    // Sums of what is typed, at once; the server's totals replace them after each preview.
    const sum = (c) => {
      if (computed?.totals && c.key in computed.totals && c.type === "formula") return computed.totals[c.key];
      return rows.reduce((s, r) => s + (typeof r[c.key] === "number" ? r[c.key] : 0), 0);
    };
    replace(foot, el("tr", { class: "bs-total-row" }, el("th", { scope: "row", "data-label": "" }, "合计"),
      cols.map((c) => el("td", { "data-label": c.label, class: "num" },
        c.total && isNumeric(c) ? (c.type === "money" || c.result === "money" ? formatFen(sum(c)) : String(sum(c))) : "")),
      el("td")));
  }

  draw();
  const table = scrollingTable(el("table", { class: "table table-stack bs-detail-table bs-detail-edit" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "序号"),
      cols.map((c) => el("th", { scope: "col" }, c.type === "money" || c.result === "money" ? `${c.label}（元）` : c.label,
        c.required ? el("span", { class: "req", "aria-hidden": "true" }, " *") : null)),
      el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "操作")))),
    body, foot));
  const node = group(f, table, el("div", { class: "actions bs-table-tools" }, add, count));
  return {
    node, focus: () => body.querySelector("input, select")?.focus(),
    focusCell: (row, column) => {
      const tr = body.children[row]; // banshi/fields.py counts rows from 0 (its message says row + 1)
      const idx = cols.findIndex((c) => c.key === column);
      const target = tr && idx >= 0 ? tr.children[idx + 1]?.querySelector("input, select") : null;
      (target || body.querySelector("input, select"))?.focus();
    },
    read: () => rows.map((r) => Object.fromEntries(cols.filter((c) => c.type !== "formula").map((c) => [c.key, r[c.key] ?? null]))),
    preview: (pv) => {
      computed = pv;
      showOutputs();
      drawTotals();
    },
  };
}
