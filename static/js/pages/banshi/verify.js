// 办事: 审批单验证, #/banshi/verify?serial=…&digest=… (the address in a printed slip's QR code): asks
// GET /api/banshi/verify and says in plain words whether the slip is what the system signed.

import { el, replace, field, button, loading, errorState } from "../../ui.js";
import { fmtTime, isAbort } from "./common.js";

export async function renderVerify(root, ctx) {
  const q = ctx.params.query;
  const serial = field({ label: "审批编号", name: "serial", value: q.serial || "", maxlength: 40, placeholder: "如 202612070001" });
  const digest = field({ label: "核验码", name: "digest", value: q.digest || "", maxlength: 128,
    hint: "扫描审批单上的二维码会自动填好；也可以手工输入。" });
  const out = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "form form-narrow panel" }, serial.wrap, digest.wrap,
    el("div", { class: "actions" }, button("核验", null, { kind: "primary", type: "submit" })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const params = new URLSearchParams({ serial: serial.input.value.trim(), digest: digest.input.value.trim() });
    ctx.navigate(`#/banshi/verify?${params}`);
  });
  replace(root, el("a", { class: "back-link", href: "#/banshi" }, "‹ 返回办事"), el("h1", {}, "审批单验证"), form, out);
  if (!q.serial) return;
  replace(out, loading("正在核验…"));
  try {
    const r = await ctx.api.get("/api/banshi/verify", { query: { serial: q.serial, digest: q.digest || "" }, signal: ctx.signal });
    replace(out, r.valid ? el("section", { class: "notice bs-verify-ok", role: "status" },
      el("p", { class: "notice-title" }, "✓ 核验通过：这份审批单与系统记录一致"),
      el("dl", { class: "facts" },
        el("dt", {}, "审批编号"), el("dd", {}, r.serial),
        el("dt", {}, "事项"), el("dd", {}, r.title),
        el("dt", {}, "申请人"), el("dd", {}, typeof r.applicant === "object" ? r.applicant?.name : r.applicant),
        el("dt", {}, "通过时间"), el("dd", {}, fmtTime(r.approved_at)),
        r.log_index !== undefined && r.log_index !== null ? [el("dt", {}, "公开日志"), el("dd", {}, `第 ${Number(r.log_index) + 1} 条`)] : null),
      el("h2", {}, "审批经过"),
      el("ol", {}, (r.steps || []).map((s) => el("li", {}, `${s.name}：${s.by}，${fmtTime(s.at)}${s.opinion ? `，意见：${s.opinion}` : ""}`))))
      : el("section", { class: "notice notice-danger", role: "alert" },
        el("p", { class: "notice-title" }, "✗ 核验未通过"),
        el("p", {}, r.reason || "审批编号与核验码不匹配：这份审批单可能被改动过，或不是本系统出具的。")));
  } catch (err) {
    if (!isAbort(err)) replace(out, errorState(err));
  }
}
