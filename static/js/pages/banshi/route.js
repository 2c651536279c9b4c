// 办事: the route of a request as people see it (workflow/route_view.route_picture): each step with its
// state, who approved, when and what they wrote, then the whole history folded. Shared by the request
// page and the print view.

import { el } from "../../ui.js";
import { STEP_STATES, TASK_STATES, HISTORY_LABELS, fmtTime } from "./common.js";

export function routeSteps(route, { applicant, submittedAt } = {}) {
  const ol = el("ol", { class: "bs-route" });
  if (applicant) {
    ol.append(el("li", { class: "bs-step bs-step-done bs-step-start" },
      el("div", { class: "bs-step-head" }, el("span", { class: "bs-step-name" }, "发起申请"),
        el("span", { class: "bs-step-state" }, submittedAt ? "已提交" : "未提交")),
      el("div", { class: "bs-task" }, el("span", { class: "bs-who" }, applicant.name),
        el("span", { class: "when" }, fmtTime(submittedAt)))));
  }
  for (const s of route?.steps || []) {
    const li = el("li", { class: `bs-step bs-step-${s.state}`, "aria-current": s.state === "current" ? "step" : null },
      el("div", { class: "bs-step-head" },
        el("span", { class: "bs-step-name" }, s.name),
        el("span", { class: `bs-step-state bs-step-state-${s.state}` }, STEP_STATES[s.state] || s.state),
        s.tasks.length > 1 ? el("span", { class: "hint" }, s.mode === "all" ? "会签" : "或签") : null));
    for (const t of s.tasks) {
      const who = t.acted_by ? `${t.acted_by}（代 ${t.assignee}）` : t.assignee;
      li.append(el("div", { class: `bs-task bs-task-${t.state}` },
        el("span", { class: "bs-who" }, `${who}${t.is_added ? "（加签）" : ""}`),
        el("span", { class: "bs-task-state" }, TASK_STATES[t.state] || t.state),
        el("span", { class: "when" }, t.acted_at ? fmtTime(t.acted_at) : t.due_at ? `限 ${fmtTime(t.due_at)} 前` : ""),
        t.overdue ? el("span", { class: "tag bs-overdue" }, "已超时") : null));
      if (t.opinion) li.append(el("blockquote", { class: "bs-opinion" }, t.opinion));
    }
    // A step not yet reached: the people fixed at submission, greyed until their tasks exist.
    if (!s.tasks.length) {
      for (const name of s.planned || []) {
        li.append(el("div", { class: "bs-task bs-task-planned" },
          el("span", { class: "bs-who" }, name), el("span", { class: "bs-task-state" }, "待办理")));
      }
    }
    ol.append(li);
  }
  return ol;
}

export function historyList(route) {
  const items = route?.history || [];
  return el("details", { class: "disclosure bs-history" }, el("summary", {}, `审批记录（${items.length}）`),
    el("ul", { class: "plain bs-history-list" }, items.map((h) => {
      const who = h.on_behalf_of ? `${h.actor}（代 ${h.on_behalf_of}）` : h.actor;
      return el("li", {}, el("span", { class: "when" }, fmtTime(h.at)), ` ${who} ${HISTORY_LABELS[h.action] || h.action}`,
        h.step ? ` · ${h.step}` : "", h.opinion ? `：${h.opinion}` : "");
    })));
}
