// 数据填报 (#18): superiors collect data from units once and reuse it. Screens live in pages/tianbao/:
//
//   #/tianbao[?box=todo|done]        待填报: my unit's returns (to fill, to review, done)   returns.js
//   #/tianbao/r/<id>                 one return: the prefilled form, autosave, xlsx,
//                                    review and the collector's accept / 退回 with comments  form.js
//   #/tianbao/tasks                  采集任务: the tasks my department collects              tasks.js
//   #/tianbao/tasks/new, /t/<id>/edit  a draft: items, units, period, deadline; 下发         tasks.js
//   #/tianbao/t/<id>                 the board: each unit's status live, 催报, 撤回, 结束    board.js
//   #/tianbao/t/<id>/summary         totals per unit and level, earlier period, charts, export  summary.js
//   #/tianbao/items                  数据项: the registry; 登记, 申请新增, 审核                  items.js
//   #/tianbao/burden[?month=]        减负报告: prefilled vs typed, time spent, repeated asks      burden.js
//
// User data is only ever written with textContent; no inline scripts or style attributes (strict CSP).
import { el, replace, errorState, loadCss } from "../ui.js";
import { renderReturns } from "./tianbao/returns.js";
import { renderForm } from "./tianbao/form.js";
import { renderTasks, renderEditor } from "./tianbao/tasks.js";
import { renderBoard } from "./tianbao/board.js";
import { renderSummary } from "./tianbao/summary.js";
import { renderItems } from "./tianbao/items.js";
import { renderBurden } from "./tianbao/burden.js";
import { isAbort } from "./tianbao/common.js";

const id = (s) => (s && /^\d+$/.test(s) ? Number(s) : null);

export async function render(root, ctx) {
  loadCss("banshi"); // the form controls are 办事's
  await loadCss("tianbao");
  root.classList.add("tianbao-page", "banshi-page");
  const [first, second, third] = ctx.params.path;
  try {
    // #/tianbao/returns/<id> is the 工作台's link to the same page.
    if ((first === "r" || first === "returns") && id(second)) await renderForm(root, ctx, id(second));
    else if (first === "tasks" && second === "new") await renderEditor(root, ctx, null);
    else if (first === "tasks") await renderTasks(root, ctx);
    else if (first === "t" && id(second) && third === "edit") await renderEditor(root, ctx, id(second));
    else if (first === "t" && id(second) && third === "summary") await renderSummary(root, ctx, id(second));
    else if (first === "t" && id(second)) await renderBoard(root, ctx, id(second));
    else if (first === "items") await renderItems(root, ctx);
    else if (first === "burden") await renderBurden(root, ctx);
    else await renderReturns(root, ctx);
  } catch (err) {
    if (isAbort(err)) return;
    const title = err?.status === 404 ? "找不到这项内容" : "数据填报";
    replace(root, el("a", { class: "back-link", href: "#/tianbao" }, "‹ 返回数据填报"), el("h1", {}, title),
      errorState(err, () => ctx.navigate(location.hash, { replace: true })));
  }
}
